//! RTCREPORT: the real-time clock (`chronyc rtcdata`).

use super::{Args, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::Result;
use crate::outcome::Facility;
use crate::protocol::request::{cmd, rpy, Layout, LibchronyAsk, Request};
use crate::protocol::wire::Reader;
use crate::protocol::wire::Timespec;

/// RTCREPORT (command 35, reply 7): the real-time clock (`chronyc rtcdata`).
#[derive(Debug, Clone, PartialEq)]
pub struct RtcData {
    /// libchrony `reference time`; chronyc "RTC ref time (UTC)".
    pub ref_time: Timespec,
    /// libchrony `samples`; chronyc "Number of samples".
    pub samples: u16,
    /// libchrony `runs`; chronyc "Number of runs".
    pub runs: u16,
    /// libchrony `span`, seconds; chronyc "Sample span period".
    pub span: u32,
    /// libchrony `offset`, seconds (RTC ahead of system time); chronyc "RTC
    /// is fast by".
    pub offset: f64,
    /// libchrony `frequency offset`, ppm; chronyc "RTC gains time at".
    pub freq_offset: f64,
}

impl Record for RtcData {
    const SPEC: Spec = Spec {
        name: "rtcdata",
        method: "get_rtc_data",
        dataclass: "RTCData",
        shape: Shape::Optional,
        args: &[],
        udp: true,
    };

    fn request(_index: u32, _args: &Args) -> Request {
        Request::new(
            cmd::RTCREPORT,
            Self::SPEC.name,
            &[Layout {
                reply: rpy::RTC,
                len: 28,
            }],
        )
        .optional(Facility::Rtc)
        .via_libchrony(LibchronyAsk::Record(c"rtcdata", 0))
    }

    /// One layout since chrony 1.29 (CMDMON.md §4).
    fn decode(_reply: u16, r: &Reader<'_>) -> Result<Self> {
        Ok(RtcData {
            ref_time: r.timespec(0)?,
            samples: r.u16(12)?,
            runs: r.u16(14)?,
            span: r.u32(16)?,
            offset: r.float(20)?,
            freq_offset: r.float(24)?,
        })
    }

    fn from_fields(f: &dyn NamedFields) -> Result<Self> {
        Ok(RtcData {
            ref_time: f.timespec("reference time")?,
            samples: f.u16("samples")?,
            runs: f.u16("runs")?,
            span: f.u32("span")?,
            offset: f.float("offset")?,
            freq_offset: f.float("frequency offset")?,
        })
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.float("ref_time", self.ref_time.as_f64())?
            .int("samples", self.samples)
            .int("runs", self.runs)
            .int("span", self.span)
            .float("offset", self.offset)?
            .float("freq_offset", self.freq_offset)?;
        Ok(f)
    }
}
