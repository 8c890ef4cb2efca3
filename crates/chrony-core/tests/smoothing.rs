//! SMOOTHING: its one layout (CMDMON.md §4.8), as recorded from the lab's
//! chronyd 4.3, 4.6.1 and 4.9 (a client with `smoothtime`) against `chronyc
//! -c smoothing`, and "505 Facility not enabled" without `smoothtime`.

// chrony's float decodes exactly into f64, so tests compare exactly.
#![allow(clippy::float_cmp)]

#[path = "common/recorded.rs"]
mod recorded;
#[path = "common/wire.rs"]
#[allow(dead_code)]
mod wire;

use recorded::{hex, FIXTURES};

use chrony_core::reports::{decode, Record, Smoothing, Value};
use chrony_core::Error;
use serde_json::Value as Json;

const SMOOTHING: u16 = 51;

fn body(flags: u32, floats: [f64; 5]) -> Vec<u8> {
    let mut b = flags.to_be_bytes().to_vec();
    for f in floats {
        b.extend_from_slice(&wire::float(f).to_be_bytes());
    }
    b
}

#[test]
fn flags_and_floats() {
    let buf = wire::reply(
        SMOOTHING,
        13,
        0,
        1,
        &body(0x3 | 0x80, [1e-3, -0.5, 1e-3, 8.0, 120.0]),
    );
    let s: Smoothing = decode(0, &buf).unwrap();
    assert_eq!(s.last_update_ago, 8.0);
    assert_eq!(s.remaining_time, 120.0);
    let f = s.fields().unwrap();
    // Unknown flag bits are ignored; the two known ones are booleans.
    assert_eq!(f.items()[0], ("active", Value::Bool(true)));
    assert_eq!(f.items()[1], ("leap_only", Value::Bool(true)));
    assert_eq!(f.items()[3], ("frequency", Value::Float(-0.5)));
    let names: Vec<_> = f.items().iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "active",
            "leap_only",
            "offset",
            "frequency",
            "wander",
            "last_update_ago",
            "remaining_time"
        ]
    );
    let idle: Smoothing = decode(0, &wire::reply(SMOOTHING, 13, 0, 1, &body(0, [0.0; 5]))).unwrap();
    assert_eq!(
        idle.fields().unwrap().items()[0],
        ("active", Value::Bool(false))
    );
    // 52 bytes or an error.
    let short = wire::reply(SMOOTHING, 13, 0, 1, &body(0, [0.0; 5])[..20]);
    assert!(decode::<Smoothing>(0, &short).is_err());
}

#[test]
fn not_enabled_names_smoothtime() {
    let e = decode::<Smoothing>(0, &wire::reply(SMOOTHING, 1, 6, 1, &[])).unwrap_err();
    assert!(matches!(e, Error::NotAvailable { .. }), "{e:?}");
    assert!(e.to_string().contains("'smoothtime'"), "{e}");
}

fn check_fixture(text: &str) {
    let f: Json = serde_json::from_str(text).unwrap();
    let part = &f["smoothing"];
    let s: Smoothing = decode(0, &hex(part["reply"]["hex"].as_str().unwrap())).unwrap();
    let out: Vec<&str> = part["chronyc"]
        .as_str()
        .unwrap()
        .trim()
        .split(',')
        .collect();
    // chronyc: Active, "(leap second only)" or nothing, offset, frequency,
    // wander, last update, remaining time; a few milliseconds later.
    assert_eq!(out[0], if s.flags & 1 != 0 { "Yes" } else { "No" });
    assert_eq!(out[1], "");
    let wander: f64 = out[4].parse().unwrap();
    assert!((wander - s.wander_ppm).abs() < 1e-6, "{out:?} {s:?}");
    let remaining: f64 = out[6].parse().unwrap();
    assert!((remaining - s.remaining_time).abs() < 1.0, "{out:?} {s:?}");
    let offset: f64 = out[2].parse().unwrap();
    assert!((offset - s.offset).abs() < 1e-6, "{out:?} {s:?}");
    let e = decode::<Smoothing>(0, &hex(part["disabled"]["hex"].as_str().unwrap())).unwrap_err();
    assert!(matches!(e, Error::NotAvailable { .. }), "{e:?}");
}

#[test]
fn recorded_replies_match_chronyc() {
    for (version, text) in FIXTURES {
        println!("chronyd {version}");
        check_fixture(text);
    }
}
