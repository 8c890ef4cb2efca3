//! Property tests of the decoders of issue 10's reports (SERVER_STATS with
//! its four layouts, SMOOTHING, NTP_SOURCE_NAME, MANUAL_LIST) and issue 11's
//! (NTP_DATA and NTP_DATA2, SELECT_DATA, AUTH_DATA, CLIENT_ACCESSES_BY_INDEX3
//! pages): whatever the reply, a decoder returns the values CMDMON.md gives
//! or one of this crate's data errors, and never panics. (`fuzz_decoders.rs`
//! holds the same properties for the first reports.)

#[path = "common/wire.rs"]
#[allow(dead_code)]
mod wire;

use chrony_core::protocol::reply::check;
use chrony_core::protocol::wire::Reader;
use chrony_core::reports::Args;
use chrony_core::reports::{
    decode, decode_records, AuthData, ClientAccess, ManualSample, NtpData, Record, SelectData,
    ServerStats, Smoothing, SourceName,
};
use chrony_core::{DataFailure, Error};
use proptest::prelude::*;

/// Body lengths of the SERVER_STATS replies (CMDMON.md §4.10).
fn serverstats_len(reply: u16) -> Option<usize> {
    match reply {
        14 => Some(20),
        22 => Some(32),
        24 => Some(44),
        25 => Some(168),
        _ => None,
    }
}

fn be32(b: &[u8], i: usize) -> u64 {
    u64::from(u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]))
}

/// The first counter (ntp_hits) and cmd_hits, read by the table.
fn expected_hits(reply: u16, b: &[u8]) -> (u64, u64) {
    match reply {
        14 => (be32(b, 0), be32(b, 4)),
        25 => (
            be32(b, 0) << 32 | be32(b, 4),
            be32(b, 16) << 32 | be32(b, 20),
        ),
        _ => (be32(b, 0), be32(b, 8)),
    }
}

fn is_data_error(e: &Error) -> bool {
    matches!(e, Error::Data { .. })
}

/// The errors a reply may cause: its status's, or a data error.
fn ours(e: &Error) -> bool {
    matches!(
        e,
        Error::Data { .. } | Error::Unauthorized { .. } | Error::NotAvailable { .. }
    )
}

fn has_kind<T>(r: &Result<T, Error>, want: DataFailure) -> bool {
    matches!(r, Err(Error::Data { kind, .. }) if *kind == want)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn serverstats_any_layout_and_length(
        reply in prop_oneof![Just(14u16), Just(22), Just(24), Just(25), Just(1), any::<u16>()],
        body in prop::collection::vec(any::<u8>(), 0..220),
    ) {
        let buf = wire::reply(54, reply, 0, 9, &body);
        let r = decode::<ServerStats>(0, &buf);
        match serverstats_len(reply) {
            Some(len) if body.len() >= len => {
                let s = r.unwrap();
                let (ntp, cmd) = expected_hits(reply, &body);
                prop_assert_eq!(s.ntp_hits, Some(ntp));
                prop_assert_eq!(s.cmd_hits, Some(cmd));
                prop_assert_eq!(s.nke_hits.is_some(), reply != 14);
                prop_assert_eq!(s.ntp_timestamps.is_some(), reply == 24 || reply == 25);
                prop_assert_eq!(s.ntp_hw_tx_timestamps.is_some(), reply == 25);
                // Python's fields: each counter or a data error naming it.
                if let Err(e) = Record::fields(&s) {
                    prop_assert!(is_data_error(&e));
                }
            }
            Some(_) => prop_assert!(has_kind(&r, DataFailure::InvalidReply), "{:?}", r),
            None => prop_assert!(has_kind(&r, DataFailure::NewServer), "{:?}", r),
        }
    }

    #[test]
    fn serverstats_any_status_is_an_error(status in 1u16..64, reply in any::<u16>()) {
        let buf = wire::reply(54, reply, status, 9, &[0; 168]);
        let e = decode::<ServerStats>(0, &buf).unwrap_err();
        prop_assert!(ours(&e), "{:?}", e);
    }

    #[test]
    fn smoothing_any_body(
        reply in prop_oneof![Just(13u16), any::<u16>()],
        body in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let r = decode::<Smoothing>(0, &wire::reply(51, reply, 0, 9, &body));
        if reply != 13 {
            prop_assert!(has_kind(&r, DataFailure::NewServer), "{:?}", r);
        } else if body.len() < 24 {
            prop_assert!(has_kind(&r, DataFailure::InvalidReply), "{:?}", r);
        } else {
            let s = r.unwrap();
            prop_assert_eq!(u64::from(s.flags), be32(&body, 0));
            // Non-finite values cannot come from chrony's float; the fields
            // are checked anyway.
            prop_assert!(s.fields().is_ok());
        }
    }

    #[test]
    fn sourcename_any_body(body in prop::collection::vec(any::<u8>(), 0..300)) {
        let r = decode::<SourceName>(0, &wire::reply(65, 19, 0, 9, &body));
        if body.len() < 256 {
            prop_assert!(has_kind(&r, DataFailure::InvalidReply), "{:?}", r);
        } else {
            let end = body[..256].iter().position(|&b| b == 0);
            match (end, r) {
                (Some(end), Ok(name)) => {
                    prop_assert_eq!(name.0.as_bytes(), &body[..end]);
                    prop_assert!(body[..end].iter().all(u8::is_ascii_graphic));
                }
                (_, Err(e)) => prop_assert!(
                    matches!(e, Error::Data { kind: DataFailure::InvalidValue, .. }),
                    "{:?}", e
                ),
                (None, Ok(name)) => prop_assert!(false, "no NUL, yet {:?}", name),
            }
        }
    }

    #[test]
    fn manual_list_any_body(
        n in prop_oneof![0u32..=16, any::<u32>()],
        rest in prop::collection::vec(any::<u8>(), 0..420),
    ) {
        let mut body = n.to_be_bytes().to_vec();
        body.extend_from_slice(&rest);
        let r = decode_records::<ManualSample>(&wire::reply(41, 18, 0, 9, &body));
        if body.len() < 388 {
            prop_assert!(has_kind(&r, DataFailure::InvalidReply), "{:?}", r);
        } else if n > 16 {
            prop_assert!(has_kind(&r, DataFailure::InvalidValue), "{:?}", r);
        } else {
            let list = r.unwrap();
            prop_assert_eq!(list.len(), n as usize);
            for (i, s) in list.iter().enumerate() {
                let off = 4 + 24 * i;
                prop_assert_eq!(u64::from(s.when.nanos), be32(&body, off + 8).min(999_999_999));
                if let Err(e) = s.fields() {
                    prop_assert!(is_data_error(&e));
                }
            }
        }
    }

    #[test]
    fn serverstats_arbitrary_datagrams_never_panic(
        buf in prop::collection::vec(any::<u8>(), 0..260),
    ) {
        if let Err(e) = decode::<ServerStats>(0, &buf) {
            prop_assert!(ours(&e), "{:?}", e);
        }
        if let Err(e) = decode::<Smoothing>(0, &buf) {
            prop_assert!(ours(&e), "{:?}", e);
        }
        if let Err(e) = decode::<SourceName>(0, &buf) {
            prop_assert!(ours(&e), "{:?}", e);
        }
        if let Err(e) = decode_records::<ManualSample>(&buf) {
            prop_assert!(ours(&e), "{:?}", e);
        }
    }
}

/// The outcome every decoder must give for a body of `len` bytes after reply
/// code `reply` when the request accepts `layouts` (reply code, body length):
/// `None` to decode, else the data failure expected.
fn layout_outcome(reply: u16, len: usize, layouts: &[(u16, usize)]) -> Option<DataFailure> {
    match layouts.iter().find(|(r, _)| *r == reply) {
        None => Some(DataFailure::NewServer),
        Some((_, need)) if len < *need => Some(DataFailure::InvalidReply),
        Some(_) => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn ntpdata_any_layout_and_length(
        reply in prop_oneof![Just(16u16), Just(26), Just(1), any::<u16>()],
        body in prop::collection::vec(any::<u8>(), 0..180),
    ) {
        let r = decode::<NtpData>(0, &wire::reply(57, reply, 0, 9, &body));
        if let Some(kind) = layout_outcome(reply, body.len(), &[(16, 124), (26, 144)]) {
            prop_assert!(has_kind(&r, kind), "{:?}", r);
        } else {
            let d = r.unwrap();
            prop_assert_eq!(d.timestamp_counts.is_some(), reply == 26);
            prop_assert_eq!(u64::from(d.total_good_count), be32(&body, 108));
            prop_assert_eq!(d.flags, u16::from_be_bytes([body[92], body[93]]));
            prop_assert_eq!(d.poll, i8::from_be_bytes([body[46]]));
            // Every value is kept: enums and flags never fail; only a
            // float chrony's format cannot hold would.
            if let Err(e) = d.fields() {
                prop_assert!(is_data_error(&e));
            }
        }
    }

    #[test]
    fn selectdata_any_body(
        reply in prop_oneof![Just(23u16), Just(1), any::<u16>()],
        body in prop::collection::vec(any::<u8>(), 0..60),
    ) {
        let r = decode::<SelectData>(3, &wire::reply(69, reply, 0, 9, &body));
        if reply == 1 {
            // A record request answered with RPY_NULL: the source at that
            // index is gone (the list changed), as for SOURCE_DATA.
            prop_assert!(has_kind(&r, DataFailure::UnexpectedStatus(4)), "{:?}", r);
        } else if let Some(kind) = layout_outcome(reply, body.len(), &[(23, 48)]) {
            prop_assert!(has_kind(&r, kind), "{:?}", r);
        } else {
            let s = r.unwrap();
            prop_assert_eq!(s.state_char, body[24]);
            prop_assert_eq!(s.authentication, body[25] != 0);
            prop_assert_eq!(s.eff_options, u16::from_be_bytes([body[30], body[31]]));
            if let Err(e) = s.fields() {
                prop_assert!(is_data_error(&e));
            }
        }
    }

    #[test]
    fn authdata_any_body(
        reply in prop_oneof![Just(20u16), any::<u16>()],
        body in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let r = decode::<AuthData>(0, &wire::reply(67, reply, 0, 9, &body));
        if let Some(kind) = layout_outcome(reply, body.len(), &[(20, 24)]) {
            prop_assert!(has_kind(&r, kind), "{:?}", r);
        } else {
            let a = r.unwrap();
            prop_assert_eq!(u64::from(a.last_ke_ago), be32(&body, 12));
            prop_assert_eq!(a.nak, body[20] != 0 || body[21] != 0);
            prop_assert!(a.fields().is_ok());
        }
    }

    #[test]
    fn clients_any_page(
        reply in prop_oneof![Just(21u16), any::<u16>()],
        header in (any::<u32>(), any::<u32>(), prop_oneof![0u32..=8, any::<u32>()]),
        rest in prop::collection::vec(any::<u8>(), 0..500),
    ) {
        let (n_indices, next_index, n_clients) = header;
        let mut body = Vec::new();
        for w in [n_indices, next_index, n_clients] {
            body.extend_from_slice(&w.to_be_bytes());
        }
        body.extend_from_slice(&rest);
        let buf = wire::reply(68, reply, 0, 9, &body);
        let r = decode_records::<ClientAccess>(&buf);
        match layout_outcome(reply, body.len(), &[(21, 492)]) {
            Some(kind) => prop_assert!(has_kind(&r, kind), "{:?}", r),
            None if n_clients > 8 => {
                prop_assert!(has_kind(&r, DataFailure::InvalidValue), "{:?}", r);
            }
            None => {
                let page = r.unwrap();
                prop_assert_eq!(page.len(), n_clients as usize);
                for c in &page {
                    prop_assert!(c.fields().is_ok());
                }
                let req = ClientAccess::request(0, &Args::NONE);
                let (code, reader): (u16, Reader<'_>) = check(&req, &buf).unwrap();
                let next = ClientAccess::next_page(code, &reader).unwrap();
                let more = next_index < n_indices && n_clients == 8;
                prop_assert_eq!(next, more.then_some(next_index));
            }
        }
    }

    #[test]
    fn per_source_reports_on_arbitrary_datagrams_never_panic(
        buf in prop::collection::vec(any::<u8>(), 0..560),
    ) {
        if let Err(e) = decode::<NtpData>(0, &buf) {
            prop_assert!(ours(&e), "{:?}", e);
        }
        if let Err(e) = decode::<SelectData>(0, &buf) {
            prop_assert!(ours(&e), "{:?}", e);
        }
        if let Err(e) = decode::<AuthData>(0, &buf) {
            prop_assert!(ours(&e), "{:?}", e);
        }
        if let Err(e) = decode_records::<ClientAccess>(&buf) {
            prop_assert!(ours(&e), "{:?}", e);
        }
    }
}
