//! NTP_SOURCE_NAME: the request names a source by address (family 3 for an
//! unresolved one), the reply is a NUL-padded name (CMDMON.md §4.13);
//! recorded from the lab's chronyd 4.3, 4.6.1 and 4.9 for every NTP source
//! against `chronyc -c -N sources -a`.

#[path = "common/recorded.rs"]
mod recorded;
#[path = "common/wire.rs"]
#[allow(dead_code)]
mod wire;

use recorded::{hex, FIXTURES};

use chrony_core::reports::{decode_with, Args, Record, SourceName};
use chrony_core::{DataFailure, Error, IpAddr};
use serde_json::Value;

const NTP_SOURCE_NAME: u16 = 65;

fn name_body(name: &[u8]) -> Vec<u8> {
    let mut b = name.to_vec();
    b.resize(256, 0);
    b
}

fn decoded(body: &[u8]) -> Result<SourceName, Error> {
    let args = Args::with_address(IpAddr::Id(1));
    decode_with(0, &args, &wire::reply(NTP_SOURCE_NAME, 19, 0, 3, body))
}

#[test]
fn the_request_carries_the_address() {
    let req = SourceName::request(0, &Args::with_address(IpAddr::Id(7)));
    let packet = req.encode(1, 0);
    assert_eq!(packet.len(), 284);
    // Body at 20: the IPAddr, family 3 at its offset 16.
    assert_eq!(&packet[20..24], &7u32.to_be_bytes());
    assert_eq!(&packet[36..38], &3u16.to_be_bytes());
    let v4 = SourceName::request(0, &Args::with_address(IpAddr::V4([192, 0, 2, 1].into())));
    assert_eq!(&v4.body()[..4], &[192, 0, 2, 1]);
    assert_eq!(&v4.body()[16..18], &1u16.to_be_bytes());
}

#[test]
fn names_up_to_the_nul() {
    assert_eq!(
        decoded(&name_body(b"ntp.example.org")).unwrap().0,
        "ntp.example.org"
    );
    assert_eq!(decoded(&name_body(b"")).unwrap().0, "");
    // 255 characters fit; 256 have no NUL left: refused, as chronyc does.
    assert_eq!(decoded(&name_body(&[b'a'; 255])).unwrap().0.len(), 255);
    let e = decoded(&[b'a'; 256]).unwrap_err();
    assert!(e.to_string().contains("no terminating NUL"), "{e}");
    for bad in [&b"a b"[..], b"caf\xc3\xa9", b"tab\there"] {
        let e = decoded(&name_body(bad)).unwrap_err();
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
    }
    assert!(decoded(&name_body(b"x")[..255]).is_err());
}

fn check_fixture(text: &str) {
    let f: Value = serde_json::from_str(text).unwrap();
    let part = &f["sourcename"];
    let rows: Vec<Vec<String>> = part["chronyc"]
        .as_str()
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    let replies = part["replies"].as_array().unwrap();
    // Every NTP source: the client's 127.0.0.1, ::1 (with IPv6), 127.0.0.2,
    // the peer 127.0.0.3 and the unresolved one.
    assert!(replies.len() >= 4, "{replies:?}");
    let mut families = Vec::new();
    for r in replies {
        let address = hex(r["address"].as_str().unwrap());
        families.push(u16::from_be_bytes([address[16], address[17]]));
        let index = usize::try_from(r["request_index"].as_u64().unwrap()).unwrap();
        let name: SourceName =
            decode_with(0, &Args::NONE, &hex(r["hex"].as_str().unwrap())).unwrap();
        assert_eq!(name.0, rows[index][2], "source {index}");
    }
    assert!(families.contains(&3), "an unresolved source: {families:?}");
}

#[test]
fn recorded_replies_match_chronyc() {
    for (version, text) in FIXTURES {
        println!("chronyd {version}");
        check_fixture(text);
    }
}
