//! Property tests of the decoders: `reply::decode` for every request kind,
//! `parse_header`, `Endpoint::parse` and the float codec.
//!
//! The expected outcome of every input is computed here from CMDMON.md
//! (header checks, status table, reply codes, body layouts), independently of
//! the crate's decoders, and compared with what they return. Nothing may
//! panic; a malformed reply is a `Data` error, a status code one of the kinds
//! the status table names, and a valid reply decodes to the values put in.

// chrony's floats decode exactly into f64; the reference values here are
// computed exactly too, so comparing them exactly is right.
#![allow(clippy::float_cmp)]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

#[path = "common/decode.rs"]
mod decode;

use chrony_core::protocol::reply::parse_header;
use chrony_core::protocol::wire::decode_float;
use chrony_core::{
    DataFailure, Endpoint, Error, IpAddr, LeapStatus, RtcData, Source, SourceMode, SourceState,
    SourceStats, Timespec, Tracking,
};
use decode::{decode, Reply, Request};
use proptest::prelude::*;

mod common;
use common::wire;

// ---------------------------------------------------------------------------
// The specification, written out from CMDMON.md.

/// (command, success reply code, body length) of each request (§4.1).
fn layout(req: Request) -> (u16, u16, usize) {
    match req {
        Request::NSources => (14, 2, 4),
        Request::SourceData(_) => (15, 3, 48),
        Request::Tracking => (33, 5, 76),
        Request::SourceStats(_) => (34, 6, 56),
        Request::RtcReport => (35, 7, 28),
        Request::Activity => (44, 12, 20),
    }
}

/// What `decode` returned, reduced to what the spec fixes.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Ok,
    Data(DataFailure),
    NotAvailable,
    Unauthorized,
    /// Any other error kind: never expected from a decoder.
    Other(String),
}

fn outcome(r: &Result<Reply, Error>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(e) => {
            // Every error says something.
            assert!(!e.to_string().is_empty());
            match e {
                Error::Data { kind, .. } => Outcome::Data(*kind),
                Error::NotAvailable { .. } => Outcome::NotAvailable,
                Error::Unauthorized { .. } => Outcome::Unauthorized,
                other => Outcome::Other(format!("{other:?}")),
            }
        }
    }
}

/// The outcome CMDMON.md prescribes for `buf` as the reply to `req` (its
/// command and sequence already matched by the transport).
fn expected(req: Request, buf: &[u8]) -> Outcome {
    if buf.len() < 28 || buf[1] != 2 || buf[2] != 0 || buf[3] != 0 {
        return Outcome::Data(DataFailure::InvalidReply);
    }
    let version = buf[0];
    let reply = u16::from_be_bytes([buf[6], buf[7]]);
    let status = u16::from_be_bytes([buf[8], buf[9]]);
    if version != 6 {
        return Outcome::Data(if version < 6 {
            DataFailure::OldServer
        } else {
            DataFailure::NewServer
        });
    }
    match status {
        0 => {}
        2 => return Outcome::Unauthorized,
        3 => return Outcome::Data(DataFailure::OldServer),
        6 | 13 => return Outcome::NotAvailable,
        18 | 19 => return Outcome::Data(DataFailure::NewServer),
        s => return Outcome::Data(DataFailure::UnexpectedStatus(s)),
    }
    let (_, code, body_len) = layout(req);
    if reply != code {
        let record = matches!(req, Request::SourceData(_) | Request::SourceStats(_));
        return Outcome::Data(if record && reply == 1 {
            // A source that vanished mid-request (post-4.8 chronyd).
            DataFailure::UnexpectedStatus(4)
        } else {
            DataFailure::NewServer
        });
    }
    if buf.len() < 28 + body_len {
        return Outcome::Data(DataFailure::InvalidReply);
    }
    Outcome::Ok
}

/// The reply variant must be the one for the request.
fn assert_variant(req: Request, r: &Reply) {
    let ok = matches!(
        (req, r),
        (Request::Tracking, Reply::Tracking(_))
            | (Request::NSources, Reply::NSources(_))
            | (Request::SourceData(_), Reply::SourceData(_))
            | (Request::SourceStats(_), Reply::SourceStats(_))
            | (Request::RtcReport, Reply::Rtc(_))
            | (Request::Activity, Reply::Activity(_))
    );
    assert!(ok, "{req:?} decoded as {r:?}");
}

/// Decodes and checks the outcome against the spec; returns the reply.
fn check(req: Request, buf: &[u8]) -> Option<Reply> {
    let r = decode(req, buf);
    assert_eq!(outcome(&r), expected(req, buf), "{req:?} {buf:02x?}");
    let reply = r.ok()?;
    assert_variant(req, &reply);
    Some(reply)
}

/// chrony's float by §3.1, computed without the crate.
fn ref_float(w: u32) -> f64 {
    let mut e = i64::from(w >> 25);
    if e >= 64 {
        e -= 128;
    }
    let mut c = i64::from(w & 0x01FF_FFFF);
    if c >= 1 << 24 {
        c -= 1 << 25;
    }
    // |c| < 2^25 and 2^(e-25) are both exact in f64, and so is the product.
    (c as f64) * 2f64.powi((e - 25) as i32)
}

// ---------------------------------------------------------------------------
// Strategies: wire bytes and the values they must decode to.

fn any_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::Tracking),
        Just(Request::NSources),
        any::<u32>().prop_map(Request::SourceData),
        any::<u32>().prop_map(Request::SourceStats),
        Just(Request::RtcReport),
        Just(Request::Activity),
    ]
}

/// A float word: any bits, or a value as chronyd encodes it.
fn float_word() -> impl Strategy<Value = (u32, f64)> {
    prop_oneof![
        any::<u32>().prop_map(|w| (w, ref_float(w))),
        (-1e9f64..1e9).prop_map(|x| {
            let w = wire::float(x);
            (w, decode_float(wire::float(x)))
        }),
        any::<f64>().prop_map(|x| {
            let w = wire::float(x);
            (w, decode_float(wire::float(x)))
        }),
    ]
}

fn floats<const N: usize>() -> impl Strategy<Value = ([u32; N], [f64; N])> {
    prop::collection::vec(float_word(), N).prop_map(|v| {
        let mut words = [0u32; N];
        let mut values = [0f64; N];
        for (i, (w, x)) in v.into_iter().enumerate() {
            words[i] = w;
            values[i] = x;
        }
        (words, values)
    })
}

/// An IPAddr (§3.4) with random bytes beyond the family's length, which the
/// decoder must ignore.
fn ip_addr() -> impl Strategy<Value = ([u8; 20], IpAddr)> {
    (
        prop_oneof![Just(0u16), Just(1), Just(2), Just(3), any::<u16>()],
        any::<[u8; 16]>(),
        any::<[u8; 2]>(),
    )
        .prop_map(|(family, addr, pad)| {
            let mut b = [0u8; 20];
            b[..16].copy_from_slice(&addr);
            b[16..18].copy_from_slice(&family.to_be_bytes());
            b[18..].copy_from_slice(&pad);
            let first4 = [addr[0], addr[1], addr[2], addr[3]];
            let value = match family {
                1 => IpAddr::V4(Ipv4Addr::from(first4)),
                2 => IpAddr::V6(Ipv6Addr::from(addr)),
                3 => IpAddr::Id(u32::from_be_bytes(first4)),
                _ => IpAddr::Unspec,
            };
            (b, value)
        })
}

/// A Timespec (§3.2): the 32-bit time_t marker, and nsec beyond 10^9.
fn timespec() -> impl Strategy<Value = ([u8; 12], Timespec)> {
    (
        prop_oneof![Just(0u32), Just(0x7FFF_FFFF), any::<u32>()],
        any::<u32>(),
        prop_oneof![0u32..1_000_000_000, any::<u32>()],
    )
        .prop_map(|(high, low, nsec)| {
            let mut b = [0u8; 12];
            b[..4].copy_from_slice(&high.to_be_bytes());
            b[4..8].copy_from_slice(&low.to_be_bytes());
            b[8..].copy_from_slice(&nsec.to_be_bytes());
            let high = if high == 0x7FFF_FFFF { 0 } else { high };
            let t = Timespec {
                secs: (u64::from(high) << 32) | u64::from(low),
                nanos: nsec.min(999_999_999),
            };
            (b, t)
        })
}

fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_be_bytes()).collect()
}

fn tracking() -> impl Strategy<Value = (Vec<u8>, Reply)> {
    (
        any::<u32>(),
        ip_addr(),
        any::<u16>(),
        prop_oneof![0u16..4, any::<u16>()],
        timespec(),
        floats::<9>(),
    )
        .prop_map(
            |(ref_id, (ip, addr), stratum, leap, (ts, ref_time), (w, f))| {
                let mut b = ref_id.to_be_bytes().to_vec();
                b.extend_from_slice(&ip);
                b.extend_from_slice(&stratum.to_be_bytes());
                b.extend_from_slice(&leap.to_be_bytes());
                b.extend_from_slice(&ts);
                b.extend_from_slice(&words(&w));
                let t = Tracking {
                    reference_id: ref_id,
                    address: addr,
                    stratum,
                    leap_status: LeapStatus::from(leap),
                    ref_time,
                    current_correction: f[0],
                    last_offset: f[1],
                    rms_offset: f[2],
                    frequency: f[3],
                    residual_frequency: f[4],
                    skew: f[5],
                    root_delay: f[6],
                    root_dispersion: f[7],
                    last_update_interval: f[8],
                };
                (b, Reply::Tracking(t))
            },
        )
}

fn source() -> impl Strategy<Value = (Vec<u8>, Reply)> {
    (
        ip_addr(),
        any::<i16>(),
        any::<[u16; 5]>(),
        any::<u32>(),
        floats::<3>(),
    )
        .prop_map(|((ip, addr), poll, u, since, (w, f))| {
            let mut b = ip.to_vec();
            b.extend_from_slice(&poll.to_be_bytes());
            for v in u {
                b.extend_from_slice(&v.to_be_bytes());
            }
            b.extend_from_slice(&since.to_be_bytes());
            b.extend_from_slice(&words(&w));
            let s = Source {
                address: addr,
                poll,
                stratum: u[0],
                state: SourceState::from(u[1]),
                mode: SourceMode::from(u[2]),
                flags: u[3],
                reachability: u[4],
                last_sample_ago: since,
                orig_latest_meas: f[0],
                latest_meas: f[1],
                latest_meas_err: f[2],
            };
            (b, Reply::SourceData(s))
        })
}

fn sourcestats() -> impl Strategy<Value = (Vec<u8>, Reply)> {
    (any::<u32>(), ip_addr(), any::<[u32; 3]>(), floats::<5>()).prop_map(
        |(ref_id, (ip, addr), n, (w, f))| {
            let mut b = ref_id.to_be_bytes().to_vec();
            b.extend_from_slice(&ip);
            b.extend_from_slice(&words(&n));
            b.extend_from_slice(&words(&w));
            let s = SourceStats {
                reference_id: ref_id,
                address: addr,
                samples: n[0],
                runs: n[1],
                span: n[2],
                std_dev: f[0],
                resid_freq: f[1],
                skew: f[2],
                offset: f[3],
                offset_err: f[4],
            };
            (b, Reply::SourceStats(s))
        },
    )
}

fn rtc() -> impl Strategy<Value = (Vec<u8>, Reply)> {
    (timespec(), any::<[u16; 2]>(), any::<u32>(), floats::<2>()).prop_map(
        |((ts, ref_time), sr, span, (w, f))| {
            let mut b = ts.to_vec();
            b.extend_from_slice(&sr[0].to_be_bytes());
            b.extend_from_slice(&sr[1].to_be_bytes());
            b.extend_from_slice(&span.to_be_bytes());
            b.extend_from_slice(&words(&w));
            let r = RtcData {
                ref_time,
                samples: sr[0],
                runs: sr[1],
                span,
                offset: f[0],
                freq_offset: f[1],
            };
            (b, Reply::Rtc(r))
        },
    )
}

/// A valid successful reply to some request, with random trailing bytes
/// (which must be ignored), and the reply it must decode to.
fn valid_reply() -> impl Strategy<Value = (Request, Vec<u8>, Reply)> {
    let body_and_request = prop_oneof![
        tracking().prop_map(|(b, r)| (Request::Tracking, b, r)),
        any::<u32>().prop_map(|n| (
            Request::NSources,
            n.to_be_bytes().to_vec(),
            Reply::NSources(n)
        )),
        (any::<u32>(), source()).prop_map(|(i, (b, r))| (Request::SourceData(i), b, r)),
        (any::<u32>(), sourcestats()).prop_map(|(i, (b, r))| (Request::SourceStats(i), b, r)),
        rtc().prop_map(|(b, r)| (Request::RtcReport, b, r)),
    ];
    (
        body_and_request,
        any::<u32>(),
        prop_oneof![Just(Vec::new()), prop::collection::vec(any::<u8>(), 0..64)],
    )
        .prop_map(|((req, body, reply), seq, trailer)| {
            let (command, code, body_len) = layout(req);
            assert_eq!(body.len(), body_len);
            let mut buf = wire::reply(command, code, 0, seq, &body);
            buf.extend_from_slice(&trailer);
            (req, buf, reply)
        })
}

/// A datagram with a plausible header (each field right or random) and a
/// random body: reaches every branch of the header and status checks.
fn header_like(req: Request) -> impl Strategy<Value = Vec<u8>> {
    let (command, code, body_len) = layout(req);
    (
        prop_oneof![4 => Just(6u8), 1 => any::<u8>()],
        prop_oneof![4 => Just(2u8), 1 => any::<u8>()],
        prop_oneof![4 => Just([0u8; 2]), 1 => any::<[u8; 2]>()],
        prop_oneof![Just(code), Just(1u16), 0u16..30, any::<u16>()],
        prop_oneof![3 => Just(0u16), 2 => 0u16..=22, 1 => any::<u16>()],
        any::<u32>(),
        prop_oneof![
            Just(body_len),
            0..body_len + 8,
            Just(body_len.saturating_sub(1))
        ],
    )
        .prop_flat_map(move |(v, t, res, reply, status, seq, len)| {
            prop::collection::vec(any::<u8>(), len).prop_map(move |body| {
                let mut buf = wire::reply(command, reply, status, seq, &body);
                buf[0] = v;
                buf[1] = t;
                buf[2..4].copy_from_slice(&res);
                buf
            })
        })
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn random_bytes_never_panic(
        req in any_request(),
        bytes in prop::collection::vec(any::<u8>(), 0..1100),
    ) {
        check(req, &bytes);
    }

    #[test]
    fn header_like_datagrams_follow_the_status_table(
        (req, buf) in any_request().prop_flat_map(|req| (Just(req), header_like(req))),
    ) {
        check(req, &buf);
    }

    #[test]
    fn valid_replies_decode_to_the_values_put_in((req, buf, want) in valid_reply()) {
        let got = check(req, &buf);
        prop_assert_eq!(got, Some(want));
    }

    #[test]
    fn parse_header_reads_exactly_the_header(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let h = parse_header(&bytes);
        let ok = bytes.len() >= 28 && bytes[1] == 2 && bytes[2] == 0 && bytes[3] == 0;
        prop_assert_eq!(h.is_some(), ok);
        if let Some(h) = h {
            prop_assert_eq!(h.version, bytes[0]);
            prop_assert_eq!(h.command, u16::from_be_bytes([bytes[4], bytes[5]]));
            prop_assert_eq!(h.reply, u16::from_be_bytes([bytes[6], bytes[7]]));
            prop_assert_eq!(h.status, u16::from_be_bytes([bytes[8], bytes[9]]));
            prop_assert_eq!(
                h.sequence,
                u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]])
            );
        }
    }

    #[test]
    fn parse_header_on_arbitrary_strings(s in any::<String>()) {
        // Text is bytes too; most of it is not a reply.
        let h = parse_header(s.as_bytes());
        let b = s.as_bytes();
        prop_assert_eq!(h.is_some(), b.len() >= 28 && b[1] == 2 && b[2] == 0 && b[3] == 0);
    }

    #[test]
    fn float_decoding_is_exact(w in any::<u32>()) {
        let x = decode_float(w);
        prop_assert!(x.is_finite());
        prop_assert_eq!(x, ref_float(w));
        // Every decoded value encodes back to itself (chronyd's encoder).
        prop_assert_eq!(decode_float(wire::float(x)), x, "word {:#010x}", w);
    }

    #[test]
    fn float_round_trip_within_2_pow_minus_23(
        mantissa in 1.0f64..2.0,
        exp in -60i32..=60,
        negative in any::<bool>(),
    ) {
        let x = mantissa * 2f64.powi(exp) * if negative { -1.0 } else { 1.0 };
        let y = decode_float(wire::float(x));
        prop_assert!(
            (y - x).abs() <= x.abs() * 2f64.powi(-23),
            "{} -> {} (relative error {:e})", x, y, ((y - x) / x).abs()
        );
    }

    #[test]
    fn float_encoding_never_panics(x in any::<f64>()) {
        let y = decode_float(wire::float(x));
        prop_assert!(y.is_finite());
        if x.is_nan() || x.abs() < 1e-100 {
            prop_assert_eq!(y, 0.0);
        } else if x.abs() >= 2f64.powi(-89) {
            // Not below the smallest magnitude: the sign survives.
            prop_assert_eq!(y < 0.0, x < 0.0);
            prop_assert!(y != 0.0);
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn truncated_valid_replies_are_data_errors((req, buf, _) in valid_reply()) {
        let full = 28 + layout(req).2;
        for k in 0..full {
            let r = decode(req, &buf[..k]);
            prop_assert_eq!(
                outcome(&r),
                Outcome::Data(DataFailure::InvalidReply),
                "{:?} truncated to {}", req, k
            );
        }
        for k in full..=buf.len() {
            prop_assert!(decode(req, &buf[..k]).is_ok());
        }
    }

    #[test]
    fn bit_flips_anywhere_follow_the_spec(
        (req, buf, _) in valid_reply(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..8),
    ) {
        let mut bad = buf.clone();
        for (at, bit) in &flips {
            let i = at.index(bad.len());
            bad[i] ^= 1 << bit;
        }
        check(req, &bad);
    }

    #[test]
    fn bit_flips_in_the_header_follow_the_spec(
        (req, buf, _) in valid_reply(),
        flips in prop::collection::vec((0usize..28, 0u8..8), 1..4),
    ) {
        let mut bad = buf.clone();
        for (i, bit) in &flips {
            bad[*i] ^= 1 << bit;
        }
        check(req, &bad);
    }

    #[test]
    fn bit_flips_in_the_body_still_decode(
        (req, buf, _) in valid_reply(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..8),
    ) {
        // Every bit pattern of a body is a value: no body is malformed.
        let mut bad = buf.clone();
        let body = bad.len() - 28;
        for (at, bit) in &flips {
            bad[28 + at.index(body)] ^= 1 << bit;
        }
        prop_assert!(check(req, &bad).is_some());
    }
}

// ---------------------------------------------------------------------------
// Endpoint::parse.

fn assert_endpoint_consistent(text: &str) {
    match Endpoint::parse(text) {
        Ok(Endpoint::Unix(p)) => {
            assert!(text.starts_with('/'), "{text:?}");
            assert!(text.len() <= 107 && !text.contains('\0'), "{text:?}");
            assert_eq!(p.to_str(), Some(text));
        }
        Ok(Endpoint::Udp(a)) => {
            assert_ne!(a.port(), 0, "{text:?}");
            assert!(!text.starts_with('/'), "{text:?}");
        }
        Ok(Endpoint::Host { host, port }) => {
            assert_ne!(port, 0, "{text:?}");
            assert!(!host.is_empty() && !host.contains(':'), "{text:?}");
            assert!(text.starts_with(&host), "{text:?}");
            assert!(host.parse::<std::net::IpAddr>().is_err(), "{text:?}");
        }
        Err(e) => {
            assert!(
                matches!(e, Error::InvalidArgument { .. }),
                "{text:?}: {e:?}"
            );
            assert_eq!(e.error_code(), Some(7));
        }
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn endpoint_parse_on_arbitrary_strings(s in any::<String>()) {
        assert_endpoint_consistent(&s);
    }

    #[test]
    fn endpoint_parse_on_address_like_strings(s in "[\\[\\]:/0-9a-fA-F.%x \\x00-]{0,48}") {
        assert_endpoint_consistent(&s);
    }

    #[test]
    fn endpoint_parse_round_trips_socket_addresses(
        addr in any::<SocketAddr>(),
    ) {
        // Scope ids (`%1`) are not an accepted form; flow info has no text.
        let mut addr = addr;
        if let SocketAddr::V6(ref mut a) = addr {
            a.set_scope_id(0);
            a.set_flowinfo(0);
        }
        let text = addr.to_string();
        let parsed = Endpoint::parse(&text);
        if addr.port() == 0 {
            prop_assert!(parsed.is_err());
        } else {
            match parsed {
                Ok(Endpoint::Udp(a)) => prop_assert_eq!(a, addr),
                other => prop_assert!(false, "{} parsed as {:?}", text, other),
            }
            // Without a port: the default, 323.
            let bare = addr.ip().to_string();
            prop_assert_eq!(
                Endpoint::parse(&bare).unwrap(),
                Endpoint::Udp(SocketAddr::new(addr.ip(), 323))
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Fixed inputs at the edges (and the place for any input a property ever
// found crashing).

#[test]
fn edge_inputs() {
    let reqs = [
        Request::Tracking,
        Request::NSources,
        Request::SourceData(0),
        Request::SourceStats(u32::MAX),
        Request::RtcReport,
        Request::Activity,
    ];
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0; 27],
        vec![0; 28],
        vec![0xFF; 28],
        vec![0xFF; 2000],
    ];
    for req in reqs {
        let (command, code, len) = layout(req);
        // Right header, no body; body one byte short; RPY_NULL success;
        // every status; version 5 with status 18 (an old chronyd).
        inputs.push(wire::reply(command, code, 0, 1, &[]));
        inputs.push(wire::reply(command, code, 0, 1, &vec![0; len - 1]));
        inputs.push(wire::reply(command, 1, 0, 1, &[]));
        for s in 0..=u16::from(u8::MAX) {
            inputs.push(wire::reply(command, 1, s, 1, &[]));
        }
        let mut v5 = wire::reply(command, 1, 18, 1, &[]);
        v5[0] = 5;
        inputs.push(v5);
    }
    for req in reqs {
        for buf in &inputs {
            check(req, buf);
        }
    }
}

#[test]
fn worked_float_words_from_the_spec() {
    assert_eq!(decode_float(0x0000_0000), 0.0);
    assert_eq!(decode_float(0x0480_0000), 1.0);
    assert_eq!(decode_float(0x0300_0000), -1.0);
    assert_eq!(decode_float(0x18FA_0000), 2000.0);
    assert_eq!(decode_float(0xCB6C_FB7B), -9_634_949.0 * 2f64.powi(-52));
    // Extremes: largest, most negative, smallest non-zero.
    assert_eq!(decode_float(0x7EFF_FFFF), ref_float(0x7EFF_FFFF));
    assert_eq!(decode_float(0x7F00_0000), -(2f64.powi(62)));
    assert_eq!(decode_float(0x8000_0001), 2f64.powi(-89));
}
