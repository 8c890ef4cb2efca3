//! Replies: header checks, the status, the reply code and the length; each
//! report decodes its own body (`crate::reports`).

use super::request::{rpy, Request};
use super::wire::Reader;
use super::{PKT_REPLY, PROTO_VERSION, REPLY_HEADER_LEN};
use crate::error::{DataFailure, Error, Result};
use crate::outcome;

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

/// Checks a reply already matched to `req`: the protocol version, the
/// status, that the reply code is one `req` accepts and that the body is at
/// least as long as that code's layout. Returns the reply code and a reader
/// over the body, for the report's decoder.
///
/// # Errors
///
/// The status's error (see [`crate::outcome`]), or [`Error::Data`] for a
/// reply that is not a reply packet, has an unexpected reply code (a newer
/// chronyd) or is truncated.
pub fn check<'a>(req: &Request, buf: &'a [u8]) -> Result<(u16, Reader<'a>)> {
    let hdr = parse_header(buf)
        .ok_or_else(|| Error::invalid_reply("reply from chronyd is not a valid reply packet"))?;
    check_status(req, &hdr)?;
    let Some(layout) = req.layout(hdr.reply) else {
        let expected = req.replies().first().map_or(0, |l| l.reply);
        return Err(outcome::wrong_reply(
            req.name(),
            req.kind(),
            hdr.reply,
            expected,
            hdr.reply == rpy::NULL,
        ));
    };
    let body = &buf[REPLY_HEADER_LEN..];
    if body.len() < layout.len {
        return Err(Error::invalid_reply(format!(
            "{} reply from chronyd is truncated: {} bytes where {} were expected",
            req.name(),
            buf.len(),
            REPLY_HEADER_LEN + layout.len
        )));
    }
    Ok((hdr.reply, Reader::new(body, req.name())))
}

/// Decodes the reply to [`Request::n_sources`]: the number of sources.
///
/// # Errors
///
/// Those of [`check`].
pub fn decode_count(buf: &[u8]) -> Result<u32> {
    let (_, r) = check(&Request::n_sources(), buf)?;
    r.u32(0)
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

fn check_status(req: &Request, hdr: &ReplyHeader) -> Result<()> {
    if hdr.version != PROTO_VERSION {
        return Err(outcome::version_mismatch(
            req.name(),
            hdr.version,
            PROTO_VERSION,
            hdr.status,
        ));
    }
    outcome::status_error(req.name(), req.kind(), hdr.status)
}

/// Builds a reply datagram, for the crate's own tests (the integration
/// tests have their own encoder).
#[cfg(test)]
#[must_use]
pub(crate) fn build(command: u16, reply: u16, status: u16, sequence: u32, body: &[u8]) -> Vec<u8> {
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
