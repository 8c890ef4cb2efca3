//! The client socket's private directories beside chronyd's socket, and
//! opening a Unix-socket connection through them.

use std::fs::{self, DirBuilder};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use super::messages::{conn_err, permission_denied, unix_connect_error};
use super::random::Random;
use crate::error::{ConnectionFailure, Result};

/// Prefix of the client socket directories this library creates.
pub const CLIENT_DIR_PREFIX: &str = "pychrony.";

/// The client socket's private directories beside the server socket:
/// `<server dir>/pychrony.<pid>.<random>/<random>/sock`. Removed on drop, by
/// the process that created them only (a forked child never removes its
/// parent's).
#[derive(Debug)]
pub(crate) struct ClientDir {
    outer: PathBuf,
    inner: PathBuf,
    sock: PathBuf,
    pid: u32,
}

impl ClientDir {
    fn remove(&self) {
        if self.pid == std::process::id() {
            let _ = fs::remove_file(&self.sock);
            let _ = fs::remove_dir(&self.inner);
            let _ = fs::remove_dir(&self.outer);
        }
    }
}

impl Drop for ClientDir {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Connects to chronyd's socket at `server` from a client socket bound in
/// a fresh private directory beside it.
pub(crate) fn open_unix(server: &Path, rng: &mut Random) -> Result<(UnixDatagram, ClientDir)> {
    // Probe first with an unbound socket: the error tells why the server
    // socket is unusable before we create anything beside it.
    let probe = UnixDatagram::unbound().map_err(|e| {
        conn_err(
            ConnectionFailure::Unreachable,
            format!("cannot create a Unix socket: {e}"),
            e,
        )
    })?;
    if let Err(e) = probe.connect(server) {
        return Err(unix_connect_error(server, e));
    }
    drop(probe);
    let dir = server
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("/"));
    let pid = std::process::id();
    let outer = dir.join(format!("{CLIENT_DIR_PREFIX}{pid}.{}", rng.alnum(12)));
    let make_dir = |p: &Path| -> Result<()> {
        DirBuilder::new().mode(0o711).create(p).map_err(|e| {
            if e.kind() == ErrorKind::PermissionDenied {
                permission_denied("creating the client socket directory in", dir, e)
            } else {
                conn_err(
                    ConnectionFailure::Unreachable,
                    format!(
                        "cannot create the client socket directory {}: {e}",
                        p.display()
                    ),
                    e,
                )
            }
        })?;
        // The umask may have narrowed the mode; chronyd's user must be able
        // to traverse both directories to reach the socket.
        fs::set_permissions(p, fs::Permissions::from_mode(0o711)).map_err(|e| {
            conn_err(
                ConnectionFailure::Unreachable,
                format!("cannot set the mode of {}: {e}", p.display()),
                e,
            )
        })
    };
    make_dir(&outer)?;
    let inner = outer.join(rng.alnum(16));
    let sock_path = inner.join("sock");
    let client_dir = ClientDir {
        outer,
        inner,
        sock: sock_path,
        pid,
    };
    make_dir(&client_dir.inner)?;
    remove_stale_dirs(dir, &client_dir.outer);
    let sock = UnixDatagram::bind(&client_dir.sock).map_err(|e| {
        conn_err(
            ConnectionFailure::Unreachable,
            format!(
                "cannot bind the client socket {}: {e}",
                client_dir.sock.display()
            ),
            e,
        )
    })?;
    // chronyd (often not root) replies by writing to this socket.
    fs::set_permissions(&client_dir.sock, fs::Permissions::from_mode(0o666)).map_err(|e| {
        conn_err(
            ConnectionFailure::Unreachable,
            format!("cannot set the mode of the client socket: {e}"),
            e,
        )
    })?;
    sock.connect(server)
        .map_err(|e| unix_connect_error(server, e))?;
    Ok((sock, client_dir))
}

/// Removes `pychrony.<pid>.*` directories beside the server socket that were
/// left by processes that no longer exist (killed before they could clean
/// up). Only real directories owned by the same user as `ours` are touched;
/// never those of live processes or other programs.
fn remove_stale_dirs(dir: &Path, ours: &Path) {
    let Ok(our_meta) = fs::symlink_metadata(ours) else {
        return;
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(CLIENT_DIR_PREFIX) else {
            continue;
        };
        let Some((pid, _)) = rest.split_once('.') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let path = entry.path();
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() && m.uid() == our_meta.uid() => {
                let _ = fs::remove_dir_all(&path);
            }
            _ => {}
        }
    }
}
