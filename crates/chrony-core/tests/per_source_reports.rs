//! The reports of issue 11: NTP_DATA (reply 16 on 4.3, NTP_DATA2 26 on
//! 4.6+), SELECT_DATA, AUTH_DATA and CLIENT_ACCESSES_BY_INDEX3, decoded from
//! the replies recorded from the lab's chronyd 4.3, 4.6.1 and 4.9 against
//! that version's `chronyc -c` (CMDMON.md §4.9, §4.11, §4.12, §4.15); and
//! the engine's per-address and paged reads against the fake chronyd
//! (sources skipped, requests, restarts, pages, never a reset).

mod common;
#[path = "common/recorded.rs"]
mod recorded;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{cmd, rpy, sample_source, Daemon, Fake, Out, Seen, Via};
use recorded::{hex, FIXTURES};

use chrony_core::reports::{
    decode, decode_records, decode_with, Args, AuthData, ClientAccess, Field, NtpData, Record,
    SelectData, Value as FieldValue,
};
use chrony_core::{Client, ClientOptions, IpAddr, SourceMode};
use serde_json::Value;

fn csv(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

fn parts<'a>(f: &'a Value, report: &str) -> &'a [Value] {
    f[report].as_array().unwrap()
}

fn address_of(entry: &Value) -> IpAddr {
    let bytes: [u8; 20] = hex(entry["address"].as_str().unwrap()).try_into().unwrap();
    IpAddr::decode(&bytes)
}

fn each_fixture(check: impl Fn(&str, &Value)) {
    for (version, text) in FIXTURES {
        println!("chronyd {version}");
        check(version, &serde_json::from_str(text).unwrap());
    }
}

fn tss(c: u8) -> &'static str {
    match c {
        b'D' => "Daemon",
        b'K' => "Kernel",
        b'H' => "Hardware",
        _ => "Invalid",
    }
}

#[test]
fn ntpdata_recorded_replies_match_chronyc() {
    each_fixture(|version, f| {
        let new_layout = version != "4.3";
        let (mut authenticated, mut interleaved) = (false, false);
        for part in parts(f, "ntpdata") {
            let rows = csv(part["chronyc"].as_str().unwrap());
            let replies = part["replies"].as_array().unwrap();
            for r in replies {
                let address = address_of(r);
                assert_eq!(r["reply"], if new_layout { 26 } else { 16 });
                let args = Args::with_address(address);
                let d: NtpData = decode_with(0, &args, &hex(r["hex"].as_str().unwrap())).unwrap();
                assert_eq!(d.remote_address, address);
                assert_eq!(d.timestamp_counts.is_some(), new_layout);
                let fields = d.fields().unwrap();
                assert_eq!(fields.items().len(), 31);
                // chronyc ntpdata lists the resolved NTP sources only.
                let Some(row) = rows.iter().find(|row| row[0] == address.to_string()) else {
                    assert!(matches!(address, IpAddr::Id(_)), "{address} not in chronyc");
                    assert_eq!((d.mode, d.version, d.tx_tss_char), (0, 0, 0));
                    continue;
                };
                let local = if d.local_address.is_unspec() {
                    "[UNSPEC]".to_owned()
                } else {
                    d.local_address.to_string()
                };
                assert_eq!(row[2], d.remote_port.to_string());
                assert_eq!(row[3], local);
                assert_eq!(row[6], d.version.to_string());
                assert_eq!(row[8], d.stratum.to_string());
                assert_eq!(row[9], d.poll.to_string());
                assert_eq!(row[11], d.precision.to_string());
                assert_eq!(row[15], format!("{:08X}", d.ref_id));
                assert_eq!(row[26], if d.flags & 0x4000 != 0 { "Yes" } else { "No" });
                assert_eq!(row[27], if d.flags & 0x8000 != 0 { "Yes" } else { "No" });
                assert_eq!(row[28], tss(d.tx_tss_char));
                assert_eq!(row[29], tss(d.rx_tss_char));
                // Counters only grow in the milliseconds before chronyc ran.
                let mut counts = vec![d.total_tx_count, d.total_rx_count];
                counts.extend(d.timestamp_counts.iter().flatten());
                assert_eq!(row.len(), if new_layout { 38 } else { 34 });
                assert!(row[30].parse::<u32>().unwrap() >= d.total_tx_count);
                if let Some([ktx, krx, _, _]) = d.timestamp_counts {
                    assert!(row[34].parse::<u32>().unwrap() >= ktx);
                    assert!(row[35].parse::<u32>().unwrap() >= krx);
                }
                authenticated |= d.flags & 0x8000 != 0;
                interleaved |= d.flags & 0x4000 != 0;
            }
        }
        assert!(
            authenticated && interleaved,
            "the secure instance's sources"
        );
    });
}

#[test]
fn selectdata_recorded_replies_match_chronyc() {
    const LETTERS: [(u16, &str); 4] = [(1, "N"), (2, "P"), (4, "T"), (8, "R")];
    let options = |o: u16| -> Vec<String> {
        let mut v: Vec<String> = LETTERS
            .iter()
            .map(|(bit, l)| {
                if o & bit != 0 {
                    (*l).into()
                } else {
                    "-".into()
                }
            })
            .collect();
        v.push("-".into());
        v
    };
    each_fixture(|_, f| {
        let mut refclock = false;
        for part in parts(f, "selectdata") {
            let rows = csv(part["chronyc"].as_str().unwrap());
            let replies = part["replies"].as_array().unwrap();
            assert_eq!(rows.len(), replies.len());
            for (r, row) in replies.iter().zip(&rows) {
                let index = u32::try_from(r["request_index"].as_u64().unwrap()).unwrap();
                let s: SelectData = decode(index, &hex(r["hex"].as_str().unwrap())).unwrap();
                s.fields().unwrap();
                assert_eq!(row[0], char::from(s.state_char).to_string());
                assert_eq!(row[1], s.name());
                assert_eq!(row[2], if s.authentication { "Y" } else { "N" });
                assert_eq!(row[3..8], options(s.conf_options));
                assert_eq!(row[8..13], options(s.eff_options));
                refclock |= s.address.is_unspec();
            }
        }
        assert!(refclock, "the reference clock is listed");
    });
}

#[test]
fn authdata_recorded_replies_match_chronyc() {
    each_fixture(|_, f| {
        let mut keyed = false;
        for part in parts(f, "authdata") {
            let rows = csv(part["chronyc"].as_str().unwrap());
            let replies = part["replies"].as_array().unwrap();
            assert_eq!(rows.len(), replies.len());
            for (r, row) in replies.iter().zip(&rows) {
                let address = address_of(r);
                let a: AuthData = decode_with(
                    0,
                    &Args::with_address(address),
                    &hex(r["hex"].as_str().unwrap()),
                )
                .map(|a: AuthData| a.at_address(address))
                .unwrap();
                let mode = match a.mode {
                    0 => "-",
                    1 => "SK",
                    2 => "NTS",
                    _ => "?",
                };
                // chronyc: name, mode, key ID, type, length, last, attempts,
                // NAK, cookies, cookie length.
                let ours = [
                    a.address.to_string(),
                    mode.into(),
                    a.key_id.to_string(),
                    a.key_type.to_string(),
                    a.key_length.to_string(),
                    a.last_ke_ago.to_string(),
                    a.ke_attempts.to_string(),
                    u8::from(a.nak).to_string(),
                    a.cookies.to_string(),
                    a.cookie_length.to_string(),
                ];
                assert_eq!(row[..], ours[..]);
                keyed |= a.mode == 1 && a.key_id == 7;
            }
        }
        assert!(keyed, "the key-authenticated source");
    });
}

#[test]
fn clients_recorded_pages_match_chronyc() {
    each_fixture(|_, f| {
        let part = &f["clients"];
        let mut records = Vec::new();
        for r in part["replies"].as_array().unwrap() {
            let page: Vec<ClientAccess> = decode_records(&hex(r["hex"].as_str().unwrap())).unwrap();
            records.extend(page);
        }
        let rows = csv(part["chronyc"].as_str().unwrap());
        let nke = csv(part["chronyc_nke"].as_str().unwrap());
        assert_eq!(rows.len(), records.len());
        assert!(!records.is_empty());
        for ((c, row), k) in records.iter().zip(&rows).zip(&nke) {
            assert_eq!(row[0], c.address.to_string());
            assert!(row[1].parse::<u32>().unwrap() >= c.ntp_hits);
            assert_eq!(row[2], c.ntp_drops.to_string());
            assert_eq!(row[4], c.ntp_timeout_interval.to_string());
            assert_eq!(
                row[6..],
                [
                    c.cmd_hits.to_string(),
                    c.cmd_drops.to_string(),
                    c.cmd_interval.to_string(),
                    c.last_cmd_hit_ago.to_string()
                ]
            );
            assert_eq!(
                k[6..],
                [
                    c.nke_hits.to_string(),
                    c.nke_drops.to_string(),
                    c.nke_interval.to_string(),
                    c.last_nke_hit_ago.to_string()
                ]
            );
            c.fields().unwrap();
        }
    });
}

// -- the engine, against the fake --------------------------------------------

fn options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_millis(200),
        retries: 2,
    }
}

/// An NTP_DATA body for `address` (leap, version, mode of a server).
fn ntpdata_body(address: &[u8], two: bool) -> Vec<u8> {
    let mut b = vec![0u8; if two { 144 } else { 124 }];
    b[..20].copy_from_slice(&address[..20]);
    b[43] = 4;
    b[44] = 4;
    b[92..94].copy_from_slice(&0x83FFu16.to_be_bytes());
    b[94] = b'K';
    b[95] = b'?';
    b
}

/// A daemon with an NTP source, a reference clock, an unresolved source and
/// another NTP source, answering NTP_DATA and AUTH_DATA by address.
fn per_address_daemon() -> (Daemon, Vec<IpAddr>) {
    let mut d = Daemon::sample(4);
    d.sources[1].mode = SourceMode::Refclock;
    d.sources[2].address = IpAddr::Id(1);
    let addresses = d.sources.iter().map(|s| s.address).collect();
    (d, addresses)
}

fn answer_by_address(d: &Daemon, seen: &Seen, gone: &Mutex<u32>) -> Vec<u8> {
    let address = seen.bytes.get(20..40).unwrap_or_default();
    let known = d
        .sources
        .iter()
        .any(|s| s.mode != SourceMode::Refclock && common::wire::ip_addr(&s.address) == address);
    let mut gone = gone.lock().unwrap();
    match seen.command {
        _ if (seen.command == cmd::NTP_DATA || seen.command == cmd::AUTH_DATA) && *gone > 0 => {
            *gone -= 1;
            seen.status(4)
        }
        cmd::NTP_DATA if known => seen.reply(rpy::NTP_DATA2, 0, &ntpdata_body(address, true)),
        cmd::AUTH_DATA if known => {
            let mut b = vec![0u8; 24];
            b[1] = 1;
            b[4..8].copy_from_slice(&9u32.to_be_bytes());
            seen.reply(rpy::AUTH_DATA, 0, &b)
        }
        cmd::NTP_DATA | cmd::AUTH_DATA => seen.status(4),
        _ => d.answer(seen),
    }
}

fn by_address_fake(vanish: u32) -> (Fake, Vec<IpAddr>) {
    let (d, addresses) = per_address_daemon();
    let gone = Arc::new(Mutex::new(vanish));
    let fake = Fake::start(move |seen: &Seen| vec![Out::now(answer_by_address(&d, seen, &gone))]);
    (fake, addresses)
}

#[test]
fn ntpdata_and_authdata_ask_every_ntp_source_by_address() {
    let (fake, addresses) = by_address_fake(0);
    let client = Client::connect(Some(&fake.address(Via::Unix)), options()).unwrap();
    let ntp: Vec<NtpData> = client.records_with(&Args::NONE, &|| false).unwrap();
    // The reference clock and (for ntpdata, as chronyc) the unresolved
    // source are left out.
    let got: Vec<IpAddr> = ntp.iter().map(|d| d.remote_address).collect();
    assert_eq!(got, [addresses[0], addresses[3]]);
    assert_eq!(ntp[0].timestamp_counts, Some([0; 4]));
    let asked: Vec<Vec<u8>> = fake
        .requests()
        .iter()
        .filter(|s| s.command == cmd::NTP_DATA)
        .map(|s| s.bytes[20..40].to_vec())
        .collect();
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[1], common::wire::ip_addr(&addresses[3]));
    // Requests are padded to the longest reply (NTP_DATA2: 172 bytes).
    assert!(fake
        .requests()
        .iter()
        .all(|s| s.command != cmd::NTP_DATA || s.bytes.len() == 172));

    let auth: Vec<AuthData> = client.records_with(&Args::NONE, &|| false).unwrap();
    let got: Vec<IpAddr> = auth.iter().map(|a| a.address).collect();
    assert_eq!(got, [addresses[0], addresses[2], addresses[3]]);
    assert!(auth.iter().all(|a| a.mode == 1 && a.key_id == 9));
}

#[test]
fn with_an_address_only_that_source_is_asked() {
    let (fake, addresses) = by_address_fake(0);
    let client = Client::connect(Some(&fake.address(Via::Unix)), options()).unwrap();
    let args = Args::with_address(addresses[3]);
    let [d]: [NtpData; 1] = client
        .records_with(&args, &|| false)
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(d.remote_address, addresses[3]);
    let commands: Vec<u16> = fake.requests().iter().map(|s| s.command).collect();
    assert_eq!(commands, [cmd::NTP_DATA]);
    let [a]: [AuthData; 1] = client
        .records_with(&Args::with_address(IpAddr::Id(1)), &|| false)
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(a.address, IpAddr::Id(1));
    // An address no source has: chronyd's "no such source".
    let e = client
        .records_with::<NtpData>(
            &Args::with_address(IpAddr::V4([192, 0, 2, 99].into())),
            &|| false,
        )
        .unwrap_err();
    assert!(e.to_string().contains("503 No such source"), "{e}");
}

#[test]
fn a_source_vanishing_restarts_the_list() {
    let (fake, addresses) = by_address_fake(1);
    let client = Client::connect(Some(&fake.address(Via::Unix)), options()).unwrap();
    let ntp: Vec<NtpData> = client.records_with(&Args::NONE, &|| false).unwrap();
    assert_eq!(ntp.len(), 2);
    assert_eq!(ntp[1].remote_address, addresses[3]);
    let counts = fake
        .requests()
        .iter()
        .filter(|s| s.command == cmd::N_SOURCES)
        .count();
    assert_eq!(counts, 2, "read again from a fresh count");
}

#[test]
fn unknown_values_are_kept_as_plain_values() {
    let body = ntpdata_body(&common::wire::ip_addr(&sample_source(1).address), false);
    let d: NtpData = decode(
        0,
        &common::wire::reply(cmd::NTP_DATA, rpy::NTP_DATA, 0, 1, &body),
    )
    .unwrap();
    let fields = d.fields().unwrap();
    let get = |name: &str| {
        fields
            .items()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(
        get("rx_timestamping"),
        FieldValue::MemberOrChar(Field::TIMESTAMP_SOURCE, b'?')
    );
    assert_eq!(get("mode"), FieldValue::MemberOrInt(Field::NTP_MODE, 4));
    // The flag's unknown bits (0x0400..0x2000) are dropped; 0x8000 is the bool.
    assert_eq!(get("tests"), FieldValue::Member(Field::NTP_TESTS, 0x3FF));
    assert_eq!(get("authenticated"), FieldValue::Bool(true));
    assert_eq!(get("total_kernel_tx"), FieldValue::Absent);
}

/// A client table of `records` entries spread over `n_indices` slots (every
/// other slot empty), served as chronyd does: up to eight records from the
/// first index asked for, `next_index` after the last one given.
fn clients_fake(records: u32, n_indices: u32) -> Fake {
    Fake::start(move |seen: &Seen| {
        if seen.command != cmd::CLIENT_ACCESSES_BY_INDEX3 {
            return vec![Out::now(seen.status(3))];
        }
        let first = seen.index;
        let mut body = vec![0u8; 492];
        let mut n = 0u32;
        let mut index = first;
        while index < n_indices && n < 8 {
            if index.is_multiple_of(2) && index / 2 < records {
                let at = 12 + 60 * n as usize;
                let address = IpAddr::V4([10, 0, 0, u8::try_from(index / 2).unwrap()].into());
                body[at..at + 20].copy_from_slice(&common::wire::ip_addr(&address));
                body[at + 20..at + 24].copy_from_slice(&(index + 1).to_be_bytes());
                body[at + 44..at + 48].copy_from_slice(&[0xFB, 127, 127, 127]);
                body[at + 48..at + 60].copy_from_slice(&[0xFF; 12]);
                n += 1;
            }
            index += 1;
        }
        body[0..4].copy_from_slice(&n_indices.to_be_bytes());
        body[4..8].copy_from_slice(&index.to_be_bytes());
        body[8..12].copy_from_slice(&n.to_be_bytes());
        vec![Out::now(seen.reply(
            rpy::CLIENT_ACCESSES_BY_INDEX3,
            0,
            &body,
        ))]
    })
}

#[test]
fn clients_are_read_page_by_page_and_never_reset() {
    let fake = clients_fake(20, 64);
    let client = Client::connect(Some(&fake.address(Via::Unix)), options()).unwrap();
    let all: Vec<ClientAccess> = client.records_with(&Args::NONE, &|| false).unwrap();
    assert_eq!(all.len(), 20);
    for (i, c) in all.iter().enumerate() {
        assert_eq!(
            c.address,
            IpAddr::V4([10, 0, 0, u8::try_from(i).unwrap()].into())
        );
        assert_eq!(c.ntp_interval, -5);
        assert_eq!(c.cmd_interval, 127);
        assert_eq!(c.last_cmd_hit_ago, u32::MAX);
    }
    let requests = fake.requests();
    let firsts: Vec<u32> = requests.iter().map(|s| s.index).collect();
    // Each page resumes after the last slot the one before looked at.
    assert_eq!(firsts, [0, 15, 31]);
    for s in &requests {
        assert_eq!(s.bytes.len(), 520);
        // n_clients 8, min_hits 0, reset 0: read only.
        assert_eq!(&s.bytes[24..36], &[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
}

#[test]
fn a_full_table_ends_where_chronyd_says() {
    // 4.9 reported a table of 8 slots where 4.3 had 16: never assume one.
    let fake = clients_fake(8, 16);
    let client = Client::connect(Some(&fake.address(Via::Unix)), options()).unwrap();
    let all: Vec<ClientAccess> = client.records_with(&Args::NONE, &|| false).unwrap();
    assert_eq!(all.len(), 8);
    assert_eq!(fake.requests().len(), 2, "the second page comes back short");
    let fake = clients_fake(4, 8);
    let client = Client::connect(Some(&fake.address(Via::Unix)), options()).unwrap();
    let all: Vec<ClientAccess> = client.records_with(&Args::NONE, &|| false).unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(fake.requests().len(), 1);
    let none = clients_fake(0, 8);
    let client = Client::connect(Some(&none.address(Via::Unix)), options()).unwrap();
    assert!(client
        .records_with::<ClientAccess>(&Args::NONE, &|| false)
        .unwrap()
        .is_empty());
}

#[test]
fn a_page_that_does_not_advance_is_an_error() {
    let fake = Fake::start(|seen: &Seen| {
        let mut body = vec![0u8; 492];
        body[0..4].copy_from_slice(&64u32.to_be_bytes());
        body[4..8].copy_from_slice(&seen.index.to_be_bytes());
        body[8..12].copy_from_slice(&8u32.to_be_bytes());
        vec![Out::now(seen.reply(
            rpy::CLIENT_ACCESSES_BY_INDEX3,
            0,
            &body,
        ))]
    });
    let client = Client::connect(Some(&fake.address(Via::Unix)), options()).unwrap();
    let e = client
        .records_with::<ClientAccess>(&Args::NONE, &|| false)
        .unwrap_err();
    assert!(e.to_string().contains("would not advance"), "{e}");
    assert_eq!(ClientAccess::SPEC.name, "clients");
}

#[test]
fn the_requests_of_a_stage_are_pipelined() {
    // The fake answers the NTP_DATA requests only in pairs: a client that
    // waited for each reply before the next request would have to resend.
    let (d, addresses) = per_address_daemon();
    let held: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let fake = Fake::start(move |seen: &Seen| {
        if seen.command != cmd::NTP_DATA {
            return vec![Out::now(d.answer(seen))];
        }
        let answer = answer_by_address(&d, seen, &Mutex::new(0));
        let mut held = held.lock().unwrap();
        held.push(answer);
        if held.len() < 2 {
            return Vec::new();
        }
        held.drain(..).map(Out::now).collect()
    });
    let client = Client::connect(Some(&fake.address(Via::Unix)), options()).unwrap();
    let ntp: Vec<NtpData> = client.records_with(&Args::NONE, &|| false).unwrap();
    assert_eq!(ntp.len(), 2);
    assert_eq!(ntp[1].remote_address, addresses[3]);
    let ntp_requests: Vec<Seen> = fake
        .requests()
        .into_iter()
        .filter(|s| s.command == cmd::NTP_DATA)
        .collect();
    assert_eq!(ntp_requests.len(), 2);
    assert!(
        ntp_requests.iter().all(|s| s.attempt == 0),
        "nothing resent"
    );
}
