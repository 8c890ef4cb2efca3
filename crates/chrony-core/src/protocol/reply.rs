//! Replies: header checks, status mapping and the body decoders.

use super::request::{rpy, Request};
use super::wire::Reader;
use super::{PKT_REPLY, PROTO_VERSION, REPLY_HEADER_LEN};
use crate::error::{DataFailure, Error, Result};
use crate::outcome::{self, RequestKind};
use crate::report::{RtcData, Source, SourceStats, Tracking};

// The status table is shared with the libchrony backend; these paths stay.
pub use crate::outcome::{status, status_text};

/// The fields of a reply header that matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyHeader {
    /// Protocol version of the server.
    pub version: u8,
    /// Echo of the request's command code.
    pub command: u16,
    /// Reply code: tells the body layout.
    pub reply: u16,
    /// Status code.
    pub status: u16,
    /// Echo of the request's sequence number.
    pub sequence: u32,
}

/// Reads a datagram's header if it can be a reply at all: at least 28 bytes,
/// `pkt_type` 2 and zero reserved bytes. Anything else is not a reply to
/// anybody and is ignored (as chronyc and libchrony do).
#[must_use]
pub fn parse_header(buf: &[u8]) -> Option<ReplyHeader> {
    if buf.len() < REPLY_HEADER_LEN || buf[1] != PKT_REPLY || buf[2] != 0 || buf[3] != 0 {
        return None;
    }
    Some(ReplyHeader {
        version: buf[0],
        command: u16::from_be_bytes([buf[4], buf[5]]),
        reply: u16::from_be_bytes([buf[6], buf[7]]),
        status: u16::from_be_bytes([buf[8], buf[9]]),
        sequence: u32::from_be_bytes([buf[16], buf[17], buf[18], buf[19]]),
    })
}

/// A decoded reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// TRACKING
    Tracking(Tracking),
    /// N_SOURCES
    NSources(u32),
    /// SOURCE_DATA
    SourceData(Source),
    /// SOURCESTATS
    SourceStats(SourceStats),
    /// RTC
    Rtc(RtcData),
}

/// Checks the version and status of a reply already matched to `req`, then
/// decodes its body by its reply code.
pub fn decode(req: Request, buf: &[u8]) -> Result<Reply> {
    let hdr = parse_header(buf)
        .ok_or_else(|| Error::invalid_reply("reply from chronyd is not a valid reply packet"))?;
    check_status(req, &hdr)?;
    if hdr.reply != req.reply_code() {
        return Err(outcome::wrong_reply(
            req.name(),
            request_kind(req),
            hdr.reply,
            req.reply_code(),
            hdr.reply == rpy::NULL,
        ));
    }
    let body = &buf[REPLY_HEADER_LEN..];
    if body.len() < req.reply_body_len() {
        return Err(Error::invalid_reply(format!(
            "{} reply from chronyd is truncated: {} bytes where {} were expected",
            req.name(),
            buf.len(),
            REPLY_HEADER_LEN + req.reply_body_len()
        )));
    }
    let r = Reader::new(body, req.name());
    Ok(match req {
        Request::Tracking => Reply::Tracking(Tracking::decode(&r)?),
        Request::NSources => Reply::NSources(r.u32(0)?),
        Request::SourceData(_) => Reply::SourceData(Source::decode(&r)?),
        Request::SourceStats(_) => Reply::SourceStats(SourceStats::decode(&r)?),
        Request::RtcReport => Reply::Rtc(RtcData::decode(&r)?),
    })
}

/// What the status table needs to know about a request.
pub(crate) fn request_kind(req: Request) -> RequestKind {
    match req {
        Request::SourceData(_) | Request::SourceStats(_) => RequestKind::Record,
        Request::RtcReport => RequestKind::Rtc,
        Request::Tracking | Request::NSources => RequestKind::Report,
    }
}

/// True when an error is chronyd's "no such source" (the list changed).
#[must_use]
pub fn is_no_such_source(err: &Error) -> bool {
    matches!(
        err,
        Error::Data {
            kind: DataFailure::UnexpectedStatus(status::NOSUCHSOURCE),
            ..
        }
    )
}

fn check_status(req: Request, hdr: &ReplyHeader) -> Result<()> {
    if hdr.version != PROTO_VERSION {
        return Err(outcome::version_mismatch(
            req.name(),
            hdr.version,
            PROTO_VERSION,
            hdr.status,
        ));
    }
    outcome::status_error(req.name(), request_kind(req), hdr.status)
}

/// Builds a reply datagram: for tests and fake servers.
#[must_use]
pub fn build(command: u16, reply: u16, status: u16, sequence: u32, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; REPLY_HEADER_LEN];
    out[0] = PROTO_VERSION;
    out[1] = PKT_REPLY;
    out[4..6].copy_from_slice(&command.to_be_bytes());
    out[6..8].copy_from_slice(&reply.to_be_bytes());
    out[8..10].copy_from_slice(&status.to_be_bytes());
    out[16..20].copy_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
// chrony's float decodes exactly into f64, so tests compare exactly.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;
    use crate::protocol::request::cmd;
    use crate::protocol::wire::{encode_float, IpAddr};
    use crate::report::{LeapStatus, SourceMode, SourceState};

    fn source_body(poll: i16) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&IpAddr::V4([127, 0, 0, 1].into()).encode());
        b.extend_from_slice(&poll.to_be_bytes());
        for v in [2u16, 0, 0, 0, 0o377] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&u32::MAX.to_be_bytes());
        for f in [1e-3, -2e-3, 5e-4] {
            b.extend_from_slice(&encode_float(f).to_be_bytes());
        }
        b
    }

    #[test]
    fn decodes_a_source_with_negative_poll() {
        let buf = build(cmd::SOURCE_DATA, rpy::SOURCE_DATA, 0, 7, &source_body(-6));
        let Reply::SourceData(s) = decode(Request::SourceData(0), &buf).unwrap() else {
            panic!("wrong reply")
        };
        assert_eq!(s.poll, -6);
        assert_eq!(s.reachability, 0o377);
        assert_eq!(s.state, SourceState::Selected);
        assert_eq!(s.mode, SourceMode::Client);
        assert_eq!(s.last_sample_ago, u32::MAX);
        assert!((s.latest_meas + 2e-3).abs() < 1e-9);
    }

    #[test]
    fn status_mapping() {
        let req = Request::RtcReport;
        let e = |st| decode(req, &build(cmd::RTCREPORT, rpy::NULL, st, 1, &[])).unwrap_err();
        assert!(matches!(e(13), Error::NotAvailable { .. }));
        assert!(matches!(e(2), Error::Unauthorized { .. }));
        assert_eq!(e(3).error_code(), Some(12));
        assert_eq!(e(18).error_code(), Some(13));
        assert_eq!(e(19).error_code(), Some(13));
        assert_eq!(e(1).error_code(), Some(11));
        assert!(is_no_such_source(&e(4)));
        assert_eq!(e(99).error_code(), Some(11));
    }

    #[test]
    fn rejects_short_wrong_and_foreign_replies() {
        let short = build(cmd::TRACKING, rpy::TRACKING, 0, 1, &[0; 10]);
        assert_eq!(
            decode(Request::Tracking, &short).unwrap_err().error_code(),
            Some(14)
        );
        let wrong = build(cmd::TRACKING, rpy::RTC, 0, 1, &[0; 76]);
        assert_eq!(
            decode(Request::Tracking, &wrong).unwrap_err().error_code(),
            Some(13)
        );
        let mut v5 = build(cmd::TRACKING, rpy::NULL, 18, 1, &[]);
        v5[0] = 5;
        assert_eq!(
            decode(Request::Tracking, &v5).unwrap_err().error_code(),
            Some(12)
        );
        v5[0] = 7;
        assert_eq!(
            decode(Request::Tracking, &v5).unwrap_err().error_code(),
            Some(13)
        );
        assert!(parse_header(&[0; 27]).is_none());
        let mut req_type = build(cmd::TRACKING, rpy::TRACKING, 0, 1, &[0; 76]);
        req_type[1] = 1;
        assert!(parse_header(&req_type).is_none());
        let null_src = build(cmd::SOURCE_DATA, rpy::NULL, 0, 1, &[]);
        assert!(is_no_such_source(
            &decode(Request::SourceData(1), &null_src).unwrap_err()
        ));
    }

    #[test]
    fn decodes_tracking_of_unsynchronised_daemon() {
        let mut body = vec![0u8; 76];
        body[26..28].copy_from_slice(&3u16.to_be_bytes());
        body[64..68].copy_from_slice(&encode_float(1.0).to_be_bytes());
        let Reply::Tracking(t) = decode(Request::Tracking, &build(33, 5, 0, 1, &body)).unwrap()
        else {
            panic!("wrong reply")
        };
        assert_eq!(t.leap_status, LeapStatus::Unsync);
        assert_eq!(t.root_delay, 1.0);
        assert!(t.ref_time.is_zero());
        assert!(t.address.is_unspec());
    }
}
