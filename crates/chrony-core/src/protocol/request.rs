//! Requests: the 20-byte header, the body, and the padding rule (a request is
//! as long as the reply it asks for, because chronyd never answers with more
//! bytes than it received).

use super::{PKT_REQUEST, PROTO_VERSION, REPLY_HEADER_LEN, REQUEST_HEADER_LEN};

/// Command codes (CMDMON.md §4.1).
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
}

/// A request this client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// TRACKING (33).
    Tracking,
    /// N_SOURCES (14).
    NSources,
    /// SOURCE_DATA (15) for a source index.
    SourceData(u32),
    /// SOURCESTATS (34) for a source index.
    SourceStats(u32),
    /// RTCREPORT (35).
    RtcReport,
}

impl Request {
    /// The command code.
    #[must_use]
    pub fn command(self) -> u16 {
        match self {
            Request::Tracking => cmd::TRACKING,
            Request::NSources => cmd::N_SOURCES,
            Request::SourceData(_) => cmd::SOURCE_DATA,
            Request::SourceStats(_) => cmd::SOURCESTATS,
            Request::RtcReport => cmd::RTCREPORT,
        }
    }

    /// The reply code a successful answer carries.
    #[must_use]
    pub fn reply_code(self) -> u16 {
        match self {
            Request::Tracking => rpy::TRACKING,
            Request::NSources => rpy::N_SOURCES,
            Request::SourceData(_) => rpy::SOURCE_DATA,
            Request::SourceStats(_) => rpy::SOURCESTATS,
            Request::RtcReport => rpy::RTC,
        }
    }

    /// Body length of the successful reply.
    #[must_use]
    pub fn reply_body_len(self) -> usize {
        match self {
            Request::Tracking => 76,
            Request::NSources => 4,
            Request::SourceData(_) => 48,
            Request::SourceStats(_) => 56,
            Request::RtcReport => 28,
        }
    }

    /// The name chronyc uses for the command, for messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Request::Tracking => "tracking",
            Request::NSources => "number of sources",
            Request::SourceData(_) => "sources",
            Request::SourceStats(_) => "sourcestats",
            Request::RtcReport => "rtcdata",
        }
    }

    fn body(self) -> Option<[u8; 4]> {
        match self {
            Request::SourceData(i) | Request::SourceStats(i) => Some(i.to_be_bytes()),
            _ => None,
        }
    }

    /// Padded request length: `max(20 + request body, 28 + reply body)`.
    #[must_use]
    pub fn padded_len(self) -> usize {
        let body = self.body().map_or(0, |b| b.len());
        (REQUEST_HEADER_LEN + body).max(REPLY_HEADER_LEN + self.reply_body_len())
    }

    /// Encodes the request with a sequence number and attempt counter.
    #[must_use]
    pub fn encode(self, sequence: u32, attempt: u16) -> Vec<u8> {
        let mut out = vec![0u8; self.padded_len()];
        out[0] = PROTO_VERSION;
        out[1] = PKT_REQUEST;
        out[4..6].copy_from_slice(&self.command().to_be_bytes());
        out[6..8].copy_from_slice(&attempt.to_be_bytes());
        out[8..12].copy_from_slice(&sequence.to_be_bytes());
        if let Some(body) = self.body() {
            out[REQUEST_HEADER_LEN..REQUEST_HEADER_LEN + body.len()].copy_from_slice(&body);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_match_the_protocol_table() {
        assert_eq!(Request::NSources.padded_len(), 32);
        assert_eq!(Request::SourceData(0).padded_len(), 76);
        assert_eq!(Request::Tracking.padded_len(), 104);
        assert_eq!(Request::SourceStats(0).padded_len(), 84);
        assert_eq!(Request::RtcReport.padded_len(), 56);
    }

    #[test]
    fn header_and_body() {
        let b = Request::SourceData(3).encode(0xDEAD_BEEF, 2);
        assert_eq!(&b[..12], &[6, 1, 0, 0, 0, 15, 0, 2, 0xDE, 0xAD, 0xBE, 0xEF]);
        assert_eq!(&b[12..24], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
        assert!(b[24..].iter().all(|&x| x == 0));
    }
}
