//! The decoders on reply datagrams recorded from a real chronyd 4.3
//! (`tests/fixtures/chronyd-4.3.json`, made by `tests/lab/capture_fixtures.py`),
//! checked against what chronyc printed for the same daemon.

// Fixture values are compared exactly where chronyc's printed digits are exact.
#![allow(clippy::float_cmp)]

#[path = "common/decode.rs"]
mod decode;

use chrony_core::protocol::reply::is_no_such_source;
use chrony_core::{Error, IpAddr, LeapStatus, Source, SourceMode, SourceState, SourceStats};
use decode::{decode, Reply, Request};
use serde_json::Value;

fn fixture() -> Value {
    let text = include_str!("fixtures/chronyd-4.3.json");
    serde_json::from_str(text).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn request(entry: &Value) -> Request {
    let index = entry["request_index"]
        .as_u64()
        .map(|i| u32::try_from(i).unwrap());
    match (entry["command"].as_u64().unwrap(), index) {
        (33, _) => Request::Tracking,
        (14, _) => Request::NSources,
        (15, Some(i)) => Request::SourceData(i),
        (34, Some(i)) => Request::SourceStats(i),
        (35, _) => Request::RtcReport,
        (44, _) => Request::Activity,
        other => panic!("unexpected fixture entry {other:?}"),
    }
}

fn decoded(entries: &Value) -> Vec<Result<Reply, Error>> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| decode(request(e), &hex(e["hex"].as_str().unwrap())))
        .collect()
}

fn csv(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

fn state_char(s: SourceState) -> &'static str {
    match s {
        SourceState::Selected => "*",
        SourceState::Nonselectable => "?",
        SourceState::Falseticker => "x",
        SourceState::Jittery => "~",
        SourceState::Unselected => "+",
        SourceState::Selectable => "-",
        SourceState::Unknown(_) => "",
    }
}

#[test]
fn recorded_with_chronyd_43() {
    let f = fixture();
    assert!(f["chronyd_version"]
        .as_str()
        .unwrap()
        .contains("version 4.3"));
}

#[test]
fn client_replies_match_chronyc() {
    let f = fixture();
    let replies = decoded(&f["replies"]);
    let chronyc = &f["chronyc"];

    let Ok(Reply::Tracking(t)) = &replies[0] else {
        panic!("tracking")
    };
    let row = &csv(chronyc["tracking"].as_str().unwrap())[0];
    assert_eq!(format!("{:08X}", t.reference_id), row[0]);
    assert_eq!(t.reference_id_name(), row[1]); // GPS: a reference clock, no address
    assert!(t.address.is_unspec());
    assert_eq!(t.stratum.to_string(), row[2]);
    assert_eq!(t.leap_status, LeapStatus::Normal);
    assert_eq!(
        format!("{}.{:09}", t.ref_time.secs, t.ref_time.nanos),
        row[3]
    );

    let Ok(Reply::NSources(n)) = replies[1] else {
        panic!("n_sources")
    };
    assert_eq!(n, 6);
    let sources: Vec<&Source> = replies[2..8]
        .iter()
        .map(|r| match r {
            Ok(Reply::SourceData(s)) => s,
            other => panic!("{other:?}"),
        })
        .collect();
    let rows = csv(chronyc["sources"].as_str().unwrap());
    assert_eq!(rows.len(), sources.len());
    for (s, row) in sources.iter().zip(&rows) {
        assert_eq!(s.name(), row[2]);
        let mode = match s.mode {
            SourceMode::Client => "^",
            SourceMode::Peer => "=",
            SourceMode::Refclock => "#",
            SourceMode::Unknown(_) => "",
        };
        assert_eq!(mode, row[0]);
        assert_eq!(s.stratum.to_string(), row[3], "{}", row[2]);
        if s.last_sample_ago == u32::MAX {
            // Never sampled: nothing moves, so every column must match.
            assert_eq!(row[6], "4294967295");
            assert_eq!(state_char(s.state), row[1]);
            assert_eq!(format!("{:o}", s.reachability), row[5]);
            assert_eq!(s.latest_meas, 0.0);
            assert_eq!(s.poll.to_string(), row[4]);
        }
    }
    // Worked cases: negative poll, IPv6, an unresolved source, a reference clock.
    assert_eq!(sources[1].address, IpAddr::V4([127, 0, 0, 1].into()));
    assert_eq!(sources[1].poll, -6);
    assert_eq!(sources[2].address.to_string(), "::1");
    assert_eq!(sources[5].address, IpAddr::Id(1));
    assert_eq!(sources[0].refclock_id(), Some(0x4750_5300));
    assert_eq!(sources[4].mode, SourceMode::Peer);

    let stats: Vec<&SourceStats> = replies[8..14]
        .iter()
        .map(|r| match r {
            Ok(Reply::SourceStats(s)) => s,
            other => panic!("{other:?}"),
        })
        .collect();
    let rows = csv(chronyc["sourcestats"].as_str().unwrap());
    for (s, row) in stats.iter().zip(&rows) {
        assert_eq!(s.name(), row[0]);
        if s.samples == 0 {
            assert_eq!(
                row[1..],
                [
                    "0",
                    "0",
                    "0",
                    "0.000",
                    "2000.000",
                    "0.000000000",
                    "4.000000000"
                ]
            );
            assert_eq!((s.std_dev, s.skew), (4.0, 2000.0));
        }
    }
    assert!(stats[0].address.is_unspec());
    assert_eq!(stats[0].name(), "GPS");

    let rtc = replies[14].as_ref().unwrap_err();
    assert!(matches!(rtc, Error::NotAvailable { .. }), "{rtc}");
}

#[test]
fn index_past_the_end_is_no_such_source() {
    for r in decoded(&fixture()["error_replies"]) {
        assert!(is_no_such_source(&r.unwrap_err()));
    }
}

#[test]
fn unsynchronised_daemon_matches_chronyc_exactly() {
    let f = fixture();
    let replies = decoded(&f["empty"]["replies"]);
    let Ok(Reply::Tracking(t)) = &replies[0] else {
        panic!("tracking")
    };
    let row = &csv(f["empty"]["chronyc"]["tracking"].as_str().unwrap())[0];
    let ours = [
        format!("{:08X}", t.reference_id),
        t.address.to_string(),
        t.stratum.to_string(),
        format!("{:.9}", t.ref_time.as_f64()),
        format!("{:.9}", t.current_correction),
        format!("{:.9}", t.last_offset),
        format!("{:.9}", t.rms_offset),
        format!("{:.3}", t.frequency),
        format!("{:.3}", t.residual_frequency),
        format!("{:.3}", t.skew),
        format!("{:.9}", t.root_delay),
        format!("{:.9}", t.root_dispersion),
        format!("{:.1}", t.last_update_interval),
    ];
    assert_eq!(ours[..], row[..13]);
    assert_eq!(t.leap_status, LeapStatus::Unsync);
    assert!(matches!(replies[1], Ok(Reply::NSources(0))));
    assert!(matches!(replies[2], Err(Error::NotAvailable { .. })));
}

#[test]
fn activity_matches_chronyc() {
    let f = fixture();
    let replies = decoded(&f["replies"]);
    let activity = replies
        .iter()
        .find_map(|r| match r {
            Ok(Reply::Activity(a)) => Some(*a),
            _ => None,
        })
        .expect("an ACTIVITY reply");
    // chronyc -c activity: online, offline, burst online, burst offline,
    // unresolved (its five lines, in order).
    let row = &csv(f["chronyc"]["activity"].as_str().unwrap())[0];
    let ours = [
        activity.online,
        activity.offline,
        activity.burst_online,
        activity.burst_offline,
        activity.unresolved,
    ];
    assert_eq!(ours.map(|v| v.to_string()).to_vec(), *row);
    // The lab's client: four NTP sources online and one unresolved; its
    // reference clock is not an NTP source, so ACTIVITY does not count it.
    assert_eq!(activity.unresolved, 1);
    assert_eq!(activity.online, 4);
}
