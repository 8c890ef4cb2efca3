//! SERVER_STATS: every reply layout since chronyd 2.3, from CMDMON.md §4.10
//! (14 and 22, which no daemon here can produce) and as recorded from the
//! lab's chronyd 4.3 (24), 4.6.1 and 4.9 (25) against `chronyc -c
//! serverstats`; the padding every version accepts; "501 Not authorised"
//! over UDP.

#[path = "common/recorded.rs"]
mod recorded;
#[path = "common/wire.rs"]
#[allow(dead_code)]
mod wire;

use recorded::{hex, FIXTURES};

use chrony_core::reports::{decode, Args, Record, ServerStats};
use chrony_core::Error;
use serde_json::Value;

const SERVER_STATS: u16 = 54;

fn u32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// A SERVER_STATS4 body: 21 Integer64 (high word, then low word).
fn u64s(values: &[u64]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|v| {
            let mut b = ((v >> 32) as u32).to_be_bytes().to_vec();
            b.extend_from_slice(&(*v as u32).to_be_bytes());
            b
        })
        .collect()
}

fn decoded(reply: u16, body: &[u8]) -> Result<ServerStats, Error> {
    decode::<ServerStats>(0, &wire::reply(SERVER_STATS, reply, 0, 7, body))
}

#[test]
fn the_request_fits_the_longest_reply() {
    // 28 + 21 × 8: chronyd 4.4+ rejects anything shorter (status 19), older
    // ones accept the longer request.
    assert_eq!(ServerStats::request(0, &Args::NONE).padded_len(), 196);
    assert_eq!(ServerStats::request(0, &Args::NONE).encode(1, 0).len(), 196);
    // Served on the Unix socket only.
    assert_eq!(ServerStats::SPEC.name, "serverstats");
    let udp = ServerStats::SPEC.udp;
    assert!(!udp);
}

#[test]
fn serverstats_2_3_to_3_5() {
    // ntp_hits, cmd_hits, ntp_drops, cmd_drops, log_drops.
    let s = decoded(14, &u32s(&[10, 20, 30, 40, 50])).unwrap();
    assert_eq!(s.ntp_hits, Some(10));
    assert_eq!(s.cmd_hits, Some(20));
    assert_eq!(s.ntp_drops, Some(30));
    assert_eq!(s.cmd_drops, Some(40));
    assert_eq!(s.log_drops, Some(50));
    for absent in [
        s.nke_hits,
        s.nke_drops,
        s.ntp_auth_hits,
        s.ntp_interleaved_hits,
    ] {
        assert_eq!(absent, None);
    }
    assert_eq!(s.ntp_daemon_rx_timestamps, None);
    // chronyd sends a 48-byte reply for a 196-byte request: a shorter
    // body than that layout is truncated.
    assert!(decoded(14, &u32s(&[1, 2, 3, 4])).is_err());
}

#[test]
fn serverstats2_4_0_and_4_1() {
    let s = decoded(22, &u32s(&[1, 2, 3, 4, 5, 6, 7, 8])).unwrap();
    let got = [
        s.ntp_hits,
        s.nke_hits,
        s.cmd_hits,
        s.ntp_drops,
        s.nke_drops,
        s.cmd_drops,
        s.log_drops,
        s.ntp_auth_hits,
    ];
    assert_eq!(got, [1, 2, 3, 4, 5, 6, 7, 8].map(Some));
    assert_eq!(s.ntp_interleaved_hits, None);
    assert_eq!(s.ntp_timestamps, None);
    assert_eq!(s.ntp_span_seconds, None);
}

#[test]
fn serverstats3_4_2_and_4_3() {
    let s = decoded(24, &u32s(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, u32::MAX])).unwrap();
    assert_eq!(s.ntp_interleaved_hits, Some(9));
    assert_eq!(s.ntp_timestamps, Some(10));
    assert_eq!(s.ntp_span_seconds, Some(u64::from(u32::MAX)));
    assert_eq!(s.ntp_hw_tx_timestamps, None);
}

#[test]
fn serverstats4_4_4_and_later() {
    let mut values: Vec<u64> = (1..=17).map(|v| v << 32 | v).collect();
    values.extend([u64::MAX; 4]); // reserved, all bits set
    let s = decoded(25, &u64s(&values)).unwrap();
    assert_eq!(s.ntp_hits, Some(0x1_0000_0001));
    assert_eq!(s.ntp_span_seconds, Some(0xB_0000_000B));
    assert_eq!(s.ntp_daemon_rx_timestamps, Some(0xC_0000_000C));
    assert_eq!(s.ntp_hw_tx_timestamps, Some(0x11_0000_0011));
    // Python gets every counter, in chronyc's order; a count beyond i64 is
    // refused by name.
    let f = s.fields().unwrap();
    assert_eq!(f.items().len(), 17);
    assert_eq!(f.items()[0].0, "ntp_packets_received");
    assert_eq!(f.items()[1].0, "ntp_packets_dropped");
    values[0] = u64::MAX;
    let e = decoded(25, &u64s(&values)).unwrap().fields().unwrap_err();
    assert!(e.to_string().contains("ntp_packets_received"), "{e}");
}

#[test]
fn status_2_is_unauthorized_and_names_the_fixes() {
    let e = decode::<ServerStats>(0, &wire::reply(SERVER_STATS, 1, 2, 7, &[])).unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");
    assert_eq!(e.error_code(), Some(9));
    let text = e.to_string();
    assert!(text.contains("501 Not authorised"), "{text}");
    assert!(text.contains("Unix socket only"), "{text}");
    assert!(text.contains("opencommands"), "{text}");
    assert!(text.contains("4.7 or later"), "{text}");
}

/// chronyc -c serverstats columns (CMDMON.md §7.1): ntp_hits, ntp_drops,
/// cmd_hits, cmd_drops, log_drops, nke_hits, nke_drops, auth, interleaved,
/// timestamps held, span, then daemon/kernel/hardware RX/TX (4.4+).
fn chronyc_order(s: &ServerStats) -> Vec<Option<u64>> {
    vec![
        s.ntp_hits,
        s.ntp_drops,
        s.cmd_hits,
        s.cmd_drops,
        s.log_drops,
        s.nke_hits,
        s.nke_drops,
        s.ntp_auth_hits,
        s.ntp_interleaved_hits,
        s.ntp_timestamps,
        s.ntp_span_seconds,
        s.ntp_daemon_rx_timestamps,
        s.ntp_daemon_tx_timestamps,
        s.ntp_kernel_rx_timestamps,
        s.ntp_kernel_tx_timestamps,
        s.ntp_hw_rx_timestamps,
        s.ntp_hw_tx_timestamps,
    ]
}

fn check_fixture(text: &str, reply_code: u64, columns: usize) {
    let f: Value = serde_json::from_str(text).unwrap();
    let part = &f["serverstats"];
    assert_eq!(part["reply"]["reply"].as_u64(), Some(reply_code));
    let s: ServerStats = decode(0, &hex(part["reply"]["hex"].as_str().unwrap())).unwrap();
    let row: Vec<u64> = part["chronyc"]
        .as_str()
        .unwrap()
        .trim()
        .split(',')
        .map(|c| c.parse().unwrap())
        .collect();
    assert_eq!(row.len(), columns, "{row:?}");
    let ours = chronyc_order(&s);
    for (i, (theirs, ours)) in row.iter().zip(&ours).enumerate() {
        let ours = ours.unwrap_or_else(|| panic!("column {i} missing"));
        if i == 2 {
            // chronyc's own request came later: counted by then.
            assert!(
                (ours..=ours + 2).contains(theirs),
                "cmd_hits {ours} {theirs}"
            );
        } else if i == 0 || i >= 11 {
            // NTP requests keep arriving (the client polls 64 times a second).
            assert!(
                *theirs >= ours && *theirs <= ours + 64,
                "column {i}: {ours} {theirs}"
            );
        } else {
            assert_eq!(*theirs, ours, "column {i}");
        }
    }
    assert!(ours[columns..].iter().all(Option::is_none));
    // The lab's server serves the client's NTP requests.
    assert!(s.ntp_hits.unwrap() > 0, "{s:?}");
    // The same request over UDP: "501 Not authorised".
    assert_eq!(part["udp"]["status"].as_u64(), Some(2));
    let e = decode::<ServerStats>(0, &hex(part["udp"]["hex"].as_str().unwrap())).unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");
}

#[test]
fn recorded_replies_match_chronyc() {
    for (version, text) in FIXTURES {
        println!("chronyd {version}");
        // SERVER_STATS3 (11 counters) before 4.4, SERVER_STATS4 (17) since.
        if version == "4.3" {
            check_fixture(text, 24, 11);
        } else {
            check_fixture(text, 25, 17);
        }
    }
}
