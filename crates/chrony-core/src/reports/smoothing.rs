//! SMOOTHING: the state of time smoothing (`chronyc smoothing`), which
//! chronyd provides only with a `smoothtime` directive.

use super::{Args, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::Result;
use crate::outcome::Facility;
use crate::protocol::request::{cmd, rpy, Layout, LibchronyAsk, Request};
use crate::protocol::wire::Reader;

/// Flag bit: smoothing is active.
const FLAG_ACTIVE: u32 = 0x1;
/// Flag bit: only leap seconds are smoothed (`smoothtime … leaponly`).
const FLAG_LEAP_ONLY: u32 = 0x2;

/// SMOOTHING (command 51, reply 13, CMDMON.md §4.8): the offset of the
/// smoothed time served to NTP clients. Without `smoothtime` chronyd
/// answers "505 Facility not enabled" ([`crate::Error::NotAvailable`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smoothing {
    /// libchrony `flags` (`active`, `leaponly`); chronyc "Active" and the
    /// "(leap second only)" remark. Other bits are ignored, as chronyc does.
    pub flags: u32,
    /// libchrony `offset`, seconds; chronyc "Offset".
    pub offset: f64,
    /// libchrony `frequency offset`, ppm; chronyc "Frequency".
    pub freq_ppm: f64,
    /// libchrony `wander`, ppm per second; chronyc "Wander".
    pub wander_ppm: f64,
    /// libchrony `last update ago`, seconds; chronyc "Last update".
    pub last_update_ago: f64,
    /// libchrony `remaining time`, seconds; chronyc "Remaining time".
    pub remaining_time: f64,
}

impl Record for Smoothing {
    const SPEC: Spec = Spec {
        name: "smoothing",
        method: "get_smoothing",
        dataclass: "Smoothing",
        shape: Shape::Optional,
        args: &[],
        udp: true,
    };

    fn request(_index: u32, _args: &Args) -> Request {
        Request::new(
            cmd::SMOOTHING,
            Self::SPEC.name,
            &[Layout {
                reply: rpy::SMOOTHING,
                len: 24,
            }],
        )
        .optional(Facility::Smoothing)
        .via_libchrony(LibchronyAsk::Record(c"smoothing", 0))
    }

    /// One layout since chrony 2.1: flags, then five floats.
    fn decode(_reply: u16, r: &Reader<'_>) -> Result<Self> {
        Ok(Smoothing {
            flags: r.u32(0)?,
            offset: r.float(4)?,
            freq_ppm: r.float(8)?,
            wander_ppm: r.float(12)?,
            last_update_ago: r.float(16)?,
            remaining_time: r.float(20)?,
        })
    }

    fn from_fields(f: &dyn NamedFields) -> Result<Self> {
        Ok(Smoothing {
            flags: f.u32("flags")?,
            offset: f.float("offset")?,
            freq_ppm: f.float("frequency offset")?,
            wander_ppm: f.float("wander")?,
            last_update_ago: f.float("last update ago")?,
            remaining_time: f.float("remaining time")?,
        })
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.flag("active", self.flags & FLAG_ACTIVE != 0)
            .flag("leap_only", self.flags & FLAG_LEAP_ONLY != 0)
            .float("offset", self.offset)?
            .float("frequency", self.freq_ppm)?
            .float("wander", self.wander_ppm)?
            .float("last_update_ago", self.last_update_ago)?
            .float("remaining_time", self.remaining_time)?;
        Ok(f)
    }
}
