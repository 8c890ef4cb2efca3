//! The reply encoder of the Rust tests: whole reply datagrams (28-byte
//! header + body) and every report body, written from the layout tables of
//! CMDMON.md (§3 primitives, §4 replies), not from the crate's decoder, so
//! that a decoder bug is not mirrored here. The fake chronyd (`common`), the
//! fault, differential and decoder tests all encode through this module.

use chrony_core::{IpAddr, RtcData, Source, SourceStats, Timespec, Tracking};

/// Protocol version of every reply chronyd 4.x sends.
pub const PROTO_VERSION: u8 = 6;
/// Packet type of a reply.
pub const PKT_REPLY: u8 = 2;
/// Length of the reply header.
pub const REPLY_HEADER_LEN: usize = 28;

/// A reply datagram: version 6, type reply, `command`, `reply` code,
/// `status` and `sequence` in the header, then `body`.
#[must_use]
pub fn reply(command: u16, reply: u16, status: u16, sequence: u32, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; REPLY_HEADER_LEN];
    out[0] = PROTO_VERSION;
    out[1] = PKT_REPLY;
    // 2..4: reserved; 10..16: pad; 20..28: pad.
    out[4..6].copy_from_slice(&command.to_be_bytes());
    out[6..8].copy_from_slice(&reply.to_be_bytes());
    out[8..10].copy_from_slice(&status.to_be_bytes());
    out[16..20].copy_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Bits of the float's coefficient (two's complement), and its exponent range.
const COEF_BITS: i32 = 25;
const EXP_MIN: i32 = -64;
const EXP_MAX: i32 = 63;

/// chrony's 32-bit float for `x`, as chronyd encodes it: value
/// `coef × 2^(exp − 25)` with a 7-bit exponent and a 25-bit coefficient,
/// both two's complement. NaN and magnitudes below 1e-100 become 0, values
/// too large saturate, values too small lose low bits (down to 0).
#[must_use]
pub fn float(x: f64) -> u32 {
    if x.is_nan() || x.abs() < 1e-100 {
        return 0;
    }
    let max_coef: i64 = if x < 0.0 { 1 << 24 } else { (1 << 24) - 1 };
    // |coef| in [2^23, 2^24): the largest exponent that keeps all 24 bits.
    let mut exp = x.abs().log2().floor() as i32 + 2;
    let coef_at = |exp: i32| (x.abs() * 2f64.powi(COEF_BITS - exp)).round() as i64;
    let mut coef = coef_at(exp);
    if coef > max_coef {
        // Rounding (or log2's own rounding) carried into bit 24.
        exp += 1;
        coef = coef_at(exp);
    }
    if exp > EXP_MAX {
        exp = EXP_MAX;
        coef = max_coef;
    } else if exp < EXP_MIN {
        exp = EXP_MIN;
        coef = coef_at(EXP_MIN);
    }
    let signed = if x < 0.0 { -coef } else { coef };
    ((exp as u32 & 0x7F) << 25) | (signed as u32 & 0x01FF_FFFF)
}

fn put_u16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put_float(b: &mut Vec<u8>, v: f64) {
    put_u32(b, float(v));
}

/// Timespec: high and low 32 bits of the seconds, then nanoseconds.
fn put_timespec(b: &mut Vec<u8>, t: Timespec) {
    put_u32(b, (t.secs >> 32) as u32);
    put_u32(b, t.secs as u32);
    put_u32(b, t.nanos);
}

/// IPAddr, 20 bytes: 16 address bytes, the family (0 unspec, 1 IPv4, 2 IPv6,
/// 3 unresolved-name id), 2 bytes pad.
#[must_use]
pub fn ip_addr(a: &IpAddr) -> [u8; 20] {
    let mut out = [0u8; 20];
    let family: u16 = match a {
        IpAddr::Unspec => 0,
        IpAddr::V4(v4) => {
            out[..4].copy_from_slice(&v4.octets());
            1
        }
        IpAddr::V6(v6) => {
            out[..16].copy_from_slice(&v6.octets());
            2
        }
        IpAddr::Id(id) => {
            out[..4].copy_from_slice(&id.to_be_bytes());
            3
        }
    };
    out[16..18].copy_from_slice(&family.to_be_bytes());
    out
}

/// TRACKING body, 76 bytes.
#[must_use]
pub fn tracking_body(t: &Tracking) -> Vec<u8> {
    let mut b = Vec::with_capacity(76);
    put_u32(&mut b, t.reference_id);
    b.extend_from_slice(&ip_addr(&t.address));
    put_u16(&mut b, t.stratum);
    put_u16(&mut b, t.leap_status.into());
    put_timespec(&mut b, t.ref_time);
    for f in [
        t.current_correction,
        t.last_offset,
        t.rms_offset,
        t.frequency,
        t.residual_frequency,
        t.skew,
        t.root_delay,
        t.root_dispersion,
        t.last_update_interval,
    ] {
        put_float(&mut b, f);
    }
    assert_eq!(b.len(), 76);
    b
}

/// SOURCE_DATA body, 48 bytes.
#[must_use]
pub fn source_body(s: &Source) -> Vec<u8> {
    let mut b = Vec::with_capacity(48);
    b.extend_from_slice(&ip_addr(&s.address));
    b.extend_from_slice(&s.poll.to_be_bytes());
    put_u16(&mut b, s.stratum);
    put_u16(&mut b, s.state.into());
    put_u16(&mut b, s.mode.into());
    put_u16(&mut b, s.flags);
    put_u16(&mut b, s.reachability);
    put_u32(&mut b, s.last_sample_ago);
    for f in [s.orig_latest_meas, s.latest_meas, s.latest_meas_err] {
        put_float(&mut b, f);
    }
    assert_eq!(b.len(), 48);
    b
}

/// SOURCESTATS body, 56 bytes.
#[must_use]
pub fn sourcestats_body(s: &SourceStats) -> Vec<u8> {
    let mut b = Vec::with_capacity(56);
    put_u32(&mut b, s.reference_id);
    b.extend_from_slice(&ip_addr(&s.address));
    put_u32(&mut b, s.samples);
    put_u32(&mut b, s.runs);
    put_u32(&mut b, s.span);
    for f in [s.std_dev, s.resid_freq, s.skew, s.offset, s.offset_err] {
        put_float(&mut b, f);
    }
    assert_eq!(b.len(), 56);
    b
}

/// RTC body, 28 bytes.
#[must_use]
pub fn rtc_body(r: &RtcData) -> Vec<u8> {
    let mut b = Vec::with_capacity(28);
    put_timespec(&mut b, r.ref_time);
    put_u16(&mut b, r.samples);
    put_u16(&mut b, r.runs);
    put_u32(&mut b, r.span);
    put_float(&mut b, r.offset);
    put_float(&mut b, r.freq_offset);
    assert_eq!(b.len(), 28);
    b
}
