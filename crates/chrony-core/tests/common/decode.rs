//! The reports' requests and replies as one enum each, for
//! tests that decode recorded or generated datagrams without knowing their
//! report in advance: they go through the crate's own per-report decoders
//! (`chrony_core::reports::decode`).

use chrony_core::protocol::reply::decode_count;
use chrony_core::reports::decode as decode_as;
use chrony_core::reports::Activity;
use chrony_core::{Error, RtcData, Source, SourceStats, Tracking};

/// A request of one of the reports (or the count of sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Tracking,
    NSources,
    SourceData(u32),
    SourceStats(u32),
    RtcReport,
    Activity,
}

/// What a reply decodes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Tracking(Tracking),
    NSources(u32),
    SourceData(Source),
    SourceStats(SourceStats),
    Rtc(RtcData),
    Activity(Activity),
}

/// Decodes `buf` as the reply to `req`, with every check the clients make.
pub fn decode(req: Request, buf: &[u8]) -> Result<Reply, Error> {
    Ok(match req {
        Request::Tracking => Reply::Tracking(decode_as(0, buf)?),
        Request::NSources => Reply::NSources(decode_count(buf)?),
        Request::SourceData(i) => Reply::SourceData(decode_as(i, buf)?),
        Request::SourceStats(i) => Reply::SourceStats(decode_as(i, buf)?),
        Request::RtcReport => Reply::Rtc(decode_as(0, buf)?),
        Request::Activity => Reply::Activity(decode_as(0, buf)?),
    })
}
