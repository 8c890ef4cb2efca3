//! The project's chronyd lab (`tests/lab/chronylab.py`) driven from Rust
//! tests, and the rule for missing prerequisites: fail under CI, skip (with
//! a message) elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// A missing prerequisite: fails in CI, skips (with a message) elsewhere.
pub fn require<T>(what: &str, found: std::result::Result<T, String>) -> Option<T> {
    match found {
        Ok(v) => Some(v),
        Err(why) if in_ci() => panic!("{what} is required in CI (CI is set): {why}"),
        Err(why) => {
            println!("SKIPPED: {what} is not available: {why}");
            None
        }
    }
}

/// Private chronyd instances started by `tests/lab/chronylab.py`, stopped
/// (and their directory removed) on drop.
pub struct Lab {
    pub dir: String,
    pub json: serde_json::Value,
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

fn lab_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/lab/chronylab.py")
}

impl Lab {
    pub fn start(profiles: &[&str]) -> std::result::Result<Lab, String> {
        let script = lab_script();
        if !script.is_file() {
            return Err(format!("the lab script {} is missing", script.display()));
        }
        let out = Command::new(python())
            .arg(&script)
            .arg("start")
            .args(profiles)
            .output()
            .map_err(|e| format!("cannot run {} {}: {e}", python(), script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "chronylab.py start {} failed ({}): {}",
                profiles.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("chronylab.py printed no JSON: {e}"))?;
        let dir = json["dir"]
            .as_str()
            .ok_or("chronylab.py printed no \"dir\"")?
            .to_owned();
        Ok(Lab { dir, json })
    }

    pub fn socket(&self, name: &str) -> String {
        self.json["instances"][name]["socket"]
            .as_str()
            .unwrap_or_else(|| panic!("lab instance {name} has no socket: {}", self.json))
            .to_owned()
    }

    pub fn udp(&self, name: &str) -> String {
        let port = self.json["instances"][name]["cmdport"]
            .as_u64()
            .unwrap_or_else(|| panic!("lab instance {name} has no cmdport: {}", self.json));
        format!("127.0.0.1:{port}")
    }

    pub fn control(&self, action: &str, name: &str) {
        let out = Command::new(python())
            .arg(lab_script())
            .args([action, "--dir", &self.dir, name])
            .output()
            .expect("run chronylab.py");
        assert!(
            out.status.success(),
            "chronylab.py {action} {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(python())
            .arg(lab_script())
            .args(["stop", "--dir", &self.dir])
            .output();
    }
}
