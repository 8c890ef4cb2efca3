//! Requests: the 20-byte header, a body of any length, the reply layouts the
//! request accepts, and the padding rule (a request is as long as the
//! longest reply it accepts, because chronyd never answers with more bytes
//! than it received).

use std::ffi::CStr;

use super::{PKT_REQUEST, PROTO_VERSION, REPLY_HEADER_LEN, REQUEST_HEADER_LEN};
use crate::outcome::{Facility, RequestKind};

/// Command codes of the monitoring requests (CMDMON.md §4.1).
pub mod cmd {
    /// N_SOURCES
    pub const N_SOURCES: u16 = 14;
    /// SOURCE_DATA
    pub const SOURCE_DATA: u16 = 15;
    /// TRACKING
    pub const TRACKING: u16 = 33;
    /// SOURCESTATS
    pub const SOURCESTATS: u16 = 34;
    /// RTCREPORT
    pub const RTCREPORT: u16 = 35;
    /// MANUAL_LIST
    pub const MANUAL_LIST: u16 = 41;
    /// ACTIVITY
    pub const ACTIVITY: u16 = 44;
    /// SMOOTHING
    pub const SMOOTHING: u16 = 51;
    /// SERVER_STATS
    pub const SERVER_STATS: u16 = 54;
    /// NTP_DATA
    pub const NTP_DATA: u16 = 57;
    /// NTP_SOURCE_NAME
    pub const NTP_SOURCE_NAME: u16 = 65;
    /// AUTH_DATA
    pub const AUTH_DATA: u16 = 67;
    /// CLIENT_ACCESSES_BY_INDEX3
    pub const CLIENT_ACCESSES_BY_INDEX3: u16 = 68;
    /// SELECT_DATA
    pub const SELECT_DATA: u16 = 69;
}

/// Reply codes (CMDMON.md §4.1).
pub mod rpy {
    /// RPY_NULL: no body (every error reply).
    pub const NULL: u16 = 1;
    /// N_SOURCES
    pub const N_SOURCES: u16 = 2;
    /// SOURCE_DATA
    pub const SOURCE_DATA: u16 = 3;
    /// TRACKING
    pub const TRACKING: u16 = 5;
    /// SOURCESTATS
    pub const SOURCESTATS: u16 = 6;
    /// RTC
    pub const RTC: u16 = 7;
    /// MANUAL_LIST (before 3.3)
    pub const MANUAL_LIST: u16 = 11;
    /// ACTIVITY
    pub const ACTIVITY: u16 = 12;
    /// SMOOTHING
    pub const SMOOTHING: u16 = 13;
    /// SERVER_STATS (2.3–3.5)
    pub const SERVER_STATS: u16 = 14;
    /// NTP_DATA (3.0–4.5)
    pub const NTP_DATA: u16 = 16;
    /// MANUAL_LIST2 (3.3 and later)
    pub const MANUAL_LIST2: u16 = 18;
    /// NTP_SOURCE_NAME
    pub const NTP_SOURCE_NAME: u16 = 19;
    /// AUTH_DATA
    pub const AUTH_DATA: u16 = 20;
    /// CLIENT_ACCESSES_BY_INDEX3
    pub const CLIENT_ACCESSES_BY_INDEX3: u16 = 21;
    /// SERVER_STATS2 (4.0–4.1)
    pub const SERVER_STATS2: u16 = 22;
    /// SELECT_DATA
    pub const SELECT_DATA: u16 = 23;
    /// SERVER_STATS3 (4.2–4.3)
    pub const SERVER_STATS3: u16 = 24;
    /// SERVER_STATS4 (4.4 and later)
    pub const SERVER_STATS4: u16 = 25;
    /// NTP_DATA2 (4.6 and later)
    pub const NTP_DATA2: u16 = 26;
}

/// The longest request body this client sends (CLIENT_ACCESSES_BY_INDEX
/// and NTP_DATA need at most 20 + 12 bytes).
pub const MAX_BODY: usize = 40;

/// One answer a request accepts: its reply code and the length of that
/// reply's body. chronyd changed some reports' layouts across versions and
/// answers each request with the layout of its own version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The reply code.
    pub reply: u16,
    /// The body length that reply code carries.
    pub len: usize,
}

/// How the libchrony backend asks for the same thing, by libchrony's report
/// name (CMDMON.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibchronyAsk {
    /// The number of records of a list report.
    Count(&'static CStr),
    /// One record of a report (0 for a single one).
    Record(&'static CStr, u32),
}

/// A request this client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    command: u16,
    name: &'static str,
    kind: RequestKind,
    body: [u8; MAX_BODY],
    body_len: usize,
    replies: &'static [Layout],
    libchrony: Option<LibchronyAsk>,
}

impl Request {
    /// A request for `command` (chronyc calls it `name`) without a body,
    /// accepting `replies`.
    #[must_use]
    pub const fn new(command: u16, name: &'static str, replies: &'static [Layout]) -> Self {
        Request {
            command,
            name,
            kind: RequestKind::Report,
            body: [0; MAX_BODY],
            body_len: 0,
            replies,
            libchrony: None,
        }
    }

    /// N_SOURCES: how many sources chronyd has.
    #[must_use]
    pub const fn n_sources() -> Self {
        Request::new(
            cmd::N_SOURCES,
            "number of sources",
            &[Layout {
                reply: rpy::N_SOURCES,
                len: 4,
            }],
        )
        .via_libchrony(LibchronyAsk::Count(c"sources"))
    }

    /// With `body` (at most [`MAX_BODY`] bytes; more is cut).
    #[must_use]
    pub fn with_body(mut self, body: &[u8]) -> Self {
        let n = body.len().min(MAX_BODY);
        self.body[..n].copy_from_slice(&body[..n]);
        self.body_len = n;
        self
    }

    /// The request for record `index` of a per-source list: the index is
    /// its body, and "no such source" means the list changed.
    #[must_use]
    pub fn record(self, index: u32) -> Self {
        let mut r = self.with_body(&index.to_be_bytes());
        r.kind = RequestKind::Record;
        r
    }

    /// Marks a request for one source of a list being read (by address):
    /// "no such source" then means the list changed, as for
    /// [`Request::record`].
    #[must_use]
    pub fn listed(mut self) -> Self {
        self.kind = RequestKind::Record;
        self
    }

    /// Marks a request whose "not enabled" (or "no RTC") status means that
    /// chronyd does not provide the report, because `facility` is not
    /// configured.
    #[must_use]
    pub(crate) const fn optional(mut self, facility: Facility) -> Self {
        self.kind = RequestKind::Optional(facility);
        self
    }

    /// How the libchrony backend asks for it.
    #[must_use]
    pub const fn via_libchrony(mut self, ask: LibchronyAsk) -> Self {
        self.libchrony = Some(ask);
        self
    }

    /// The command code.
    #[must_use]
    pub fn command(&self) -> u16 {
        self.command
    }

    /// The name chronyc uses for the command, for messages.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What the status table needs to know about it.
    pub(crate) fn kind(&self) -> RequestKind {
        self.kind
    }

    /// The body.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body[..self.body_len]
    }

    /// The reply layouts it accepts.
    #[must_use]
    pub fn replies(&self) -> &'static [Layout] {
        self.replies
    }

    /// The layout of reply code `reply`, if the request accepts it.
    #[must_use]
    pub fn layout(&self, reply: u16) -> Option<Layout> {
        self.replies.iter().copied().find(|l| l.reply == reply)
    }

    /// How libchrony asks for it, when it can.
    #[must_use]
    pub fn libchrony(&self) -> Option<LibchronyAsk> {
        self.libchrony
    }

    /// Padded request length: `max(20 + body, 28 + longest reply body)`.
    #[must_use]
    pub fn padded_len(&self) -> usize {
        let reply = self.replies.iter().map(|l| l.len).max().unwrap_or(0);
        (REQUEST_HEADER_LEN + self.body_len).max(REPLY_HEADER_LEN + reply)
    }

    /// Encodes the request with a sequence number and attempt counter.
    #[must_use]
    pub fn encode(&self, sequence: u32, attempt: u16) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(sequence, attempt, &mut out);
        out
    }

    /// [`Request::encode`] into `out` (cleared first), so that a caller
    /// sending many requests reuses one buffer.
    pub fn encode_into(&self, sequence: u32, attempt: u16, out: &mut Vec<u8>) {
        out.clear();
        out.resize(self.padded_len(), 0);
        out[0] = PROTO_VERSION;
        out[1] = PKT_REQUEST;
        out[4..6].copy_from_slice(&self.command.to_be_bytes());
        out[6..8].copy_from_slice(&attempt.to_be_bytes());
        out[8..12].copy_from_slice(&sequence.to_be_bytes());
        out[REQUEST_HEADER_LEN..REQUEST_HEADER_LEN + self.body_len].copy_from_slice(self.body());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &[Layout] = &[Layout { reply: 9, len: 40 }, Layout { reply: 10, len: 90 }];

    #[test]
    fn padding_covers_the_longest_accepted_reply() {
        assert_eq!(Request::n_sources().padded_len(), 32);
        let r = Request::new(54, "serverstats", TWO);
        assert_eq!(r.padded_len(), 28 + 90);
        assert_eq!(r.layout(9), Some(TWO[0]));
        assert_eq!(r.layout(11), None);
        // A long body wins over a short reply.
        let long = Request::new(1, "x", &[Layout { reply: 1, len: 0 }]).with_body(&[7; 32]);
        assert_eq!(long.padded_len(), 52);
        assert_eq!(long.body(), &[7; 32]);
    }

    #[test]
    fn header_and_body() {
        let b = Request::new(15, "sources", &[Layout { reply: 3, len: 48 }])
            .record(3)
            .encode(0xDEAD_BEEF, 2);
        assert_eq!(b.len(), 76);
        assert_eq!(&b[..12], &[6, 1, 0, 0, 0, 15, 0, 2, 0xDE, 0xAD, 0xBE, 0xEF]);
        assert_eq!(&b[12..24], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
        assert!(b[24..].iter().all(|&x| x == 0));
    }
}
