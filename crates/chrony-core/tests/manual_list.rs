//! MANUAL_LIST: n samples in one reply (MANUAL_LIST2, CMDMON.md §4.14), as
//! recorded from the lab's chronyd 4.3, 4.6.1 and 4.9 after three `chronyc
//! settime` samples, against `chronyc -c manual list`.

// chrony's float decodes exactly into f64, so tests compare exactly.
#![allow(clippy::float_cmp)]

#[path = "common/recorded.rs"]
mod recorded;
#[path = "common/wire.rs"]
#[allow(dead_code)]
mod wire;

use chrony_core::reports::{decode_records, Args, ManualSample, Record};
use chrony_core::{DataFailure, Error};
use recorded::{hex, FIXTURES};
use serde_json::Value;

const MANUAL_LIST: u16 = 41;

/// A MANUAL_LIST2 body: `n`, then 16 slots with the first `samples`.
fn body(n: u32, samples: &[(u32, f64, f64, f64)]) -> Vec<u8> {
    let mut b = n.to_be_bytes().to_vec();
    for (secs, slewed, orig, residual) in samples {
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&secs.to_be_bytes());
        b.extend_from_slice(&500_000_000u32.to_be_bytes());
        for f in [slewed, orig, residual] {
            b.extend_from_slice(&wire::float(*f).to_be_bytes());
        }
    }
    b.resize(4 + 16 * 24, 0);
    b
}

fn decoded(body: &[u8]) -> Result<Vec<ManualSample>, Error> {
    decode_records(&wire::reply(MANUAL_LIST, 18, 0, 5, body))
}

#[test]
fn the_request_fits_sixteen_samples() {
    assert_eq!(ManualSample::request(0, &Args::NONE).padded_len(), 416);
}

#[test]
fn n_samples_of_the_slots() {
    let samples = [
        (1_700_000_000, 0.25, -0.5, 0.0),
        (1_700_000_002, 1.5, -1.0, 0.125),
    ];
    let list = decoded(&body(2, &samples)).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].when.secs, 1_700_000_002);
    assert_eq!(list[1].when.as_f64(), 1_700_000_002.5);
    assert_eq!(list[1].slewed_offset, 1.5);
    assert_eq!(list[1].orig_offset, -1.0);
    assert_eq!(list[1].residual, 0.125);
    assert!(decoded(&body(0, &[])).unwrap().is_empty());
    // All 16 slots.
    assert_eq!(decoded(&body(16, &[])).unwrap().len(), 16);
    let e = decoded(&body(17, &[])).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Data {
                kind: DataFailure::InvalidValue,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("n_samples = 17"), "{e}");
    // A reply shorter than MANUAL_LIST2 is truncated, whatever n says.
    let e = decoded(&body(1, &samples)[..100]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Data {
                kind: DataFailure::InvalidReply,
                ..
            }
        ),
        "{e:?}"
    );
    let names: Vec<_> = list[0]
        .fields()
        .unwrap()
        .items()
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(names, ["when", "slewed_offset", "orig_offset", "residual"]);
}

fn check_fixture(text: &str) {
    let f: Value = serde_json::from_str(text).unwrap();
    let part = &f["manual"];
    let list: Vec<ManualSample> =
        decode_records(&hex(part["reply"]["hex"].as_str().unwrap())).unwrap();
    let rows: Vec<Vec<&str>> = part["chronyc"]
        .as_str()
        .unwrap()
        .lines()
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(list.len(), 3);
    assert_eq!(rows.len(), 3);
    for (i, (s, row)) in list.iter().zip(&rows).enumerate() {
        assert_eq!(row[0], i.to_string());
        // chronyc prints two decimals of each offset; the original offset
        // does not move.
        let orig: f64 = row[3].parse().unwrap();
        assert!(
            (orig - s.orig_offset).abs() <= 0.005 + 1e-9,
            "{row:?} {s:?}"
        );
        let slewed: f64 = row[2].parse().unwrap();
        assert!((slewed - s.slewed_offset).abs() < 0.02, "{row:?} {s:?}");
    }
    assert!(list.windows(2).all(|w| w[0].when.secs < w[1].when.secs));
    let none: Vec<ManualSample> =
        decode_records(&hex(part["empty"]["hex"].as_str().unwrap())).unwrap();
    assert!(none.is_empty());
}

#[test]
fn recorded_replies_match_chronyc() {
    for (version, text) in FIXTURES {
        println!("chronyd {version}");
        check_fixture(text);
    }
}
