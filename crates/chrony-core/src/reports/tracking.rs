//! TRACKING: the system clock's performance (`chronyc tracking`).

use super::{Args, Field, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::Result;
use crate::protocol::request::{cmd, rpy, Layout, LibchronyAsk, Request};
use crate::protocol::wire::Reader;
use crate::protocol::wire::{refid_name, IpAddr, Timespec};
use crate::reports::LeapStatus;

/// TRACKING (command 33, reply 5): the system clock's performance
/// (`chronyc tracking`).
#[derive(Debug, Clone, PartialEq)]
pub struct Tracking {
    /// libchrony `reference ID`; chronyc "Reference ID" (hex).
    pub reference_id: u32,
    /// libchrony `address`: the selected NTP source's address; UNSPEC for a
    /// reference clock, the local reference or when unsynchronised.
    /// chronyc "Reference ID" (in parentheses).
    pub address: IpAddr,
    /// libchrony `stratum`; chronyc "Stratum". 0 when unsynchronised.
    pub stratum: u16,
    /// libchrony `leap status`; chronyc "Leap status".
    pub leap_status: LeapStatus,
    /// libchrony `reference time`; chronyc "Ref time (UTC)". Zero when
    /// unsynchronised.
    pub ref_time: Timespec,
    /// libchrony `current correction`, seconds; chronyc "System time"
    /// (positive: the system clock is slow).
    pub current_correction: f64,
    /// libchrony `last offset`, seconds; chronyc "Last offset".
    pub last_offset: f64,
    /// libchrony `RMS offset`, seconds; chronyc "RMS offset".
    pub rms_offset: f64,
    /// libchrony `frequency offset`, ppm; chronyc "Frequency" (negative:
    /// the clock runs slow).
    pub frequency: f64,
    /// libchrony `residual frequency`, ppm; chronyc "Residual freq".
    pub residual_frequency: f64,
    /// libchrony `skew`, ppm; chronyc "Skew".
    pub skew: f64,
    /// libchrony `root delay`, seconds; chronyc "Root delay".
    pub root_delay: f64,
    /// libchrony `root dispersion`, seconds; chronyc "Root dispersion".
    pub root_dispersion: f64,
    /// libchrony `last update interval`, seconds; chronyc "Update interval".
    pub last_update_interval: f64,
}

impl Tracking {
    /// The reference ID's name by pychrony's rule (see [`refid_name`]).
    #[must_use]
    pub fn reference_id_name(&self) -> String {
        refid_name(self.reference_id)
    }
}

impl Record for Tracking {
    const SPEC: Spec = Spec {
        name: "tracking",
        method: "get_tracking",
        dataclass: "TrackingStatus",
        shape: Shape::Single,
        args: &[],
        udp: true,
    };

    fn request(_index: u32, _args: &Args) -> Request {
        Request::new(
            cmd::TRACKING,
            Self::SPEC.name,
            &[Layout {
                reply: rpy::TRACKING,
                len: 76,
            }],
        )
        .via_libchrony(LibchronyAsk::Record(c"tracking", 0))
    }

    /// One layout since chrony 1.29 (CMDMON.md §4).
    fn decode(_reply: u16, r: &Reader<'_>) -> Result<Self> {
        Ok(Tracking {
            reference_id: r.u32(0)?,
            address: r.ipaddr(4)?,
            stratum: r.u16(24)?,
            leap_status: r.u16(26)?.into(),
            ref_time: r.timespec(28)?,
            current_correction: r.float(40)?,
            last_offset: r.float(44)?,
            rms_offset: r.float(48)?,
            frequency: r.float(52)?,
            residual_frequency: r.float(56)?,
            skew: r.float(60)?,
            root_delay: r.float(64)?,
            root_dispersion: r.float(68)?,
            last_update_interval: r.float(72)?,
        })
    }

    fn from_fields(f: &dyn NamedFields) -> Result<Self> {
        Ok(Tracking {
            reference_id: f.u32("reference ID")?,
            address: f.address("address")?,
            stratum: f.u16("stratum")?,
            leap_status: f.u16("leap status")?.into(),
            ref_time: f.timespec("reference time")?,
            current_correction: f.float("current correction")?,
            last_offset: f.float("last offset")?,
            rms_offset: f.float("RMS offset")?,
            frequency: f.float("frequency offset")?,
            residual_frequency: f.float("residual frequency")?,
            skew: f.float("skew")?,
            root_delay: f.float("root delay")?,
            root_dispersion: f.float("root dispersion")?,
            last_update_interval: f.float("last update interval")?,
        })
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.int("reference_id", self.reference_id)
            .text("reference_id_name", self.reference_id_name())
            .text("reference_ip", self.address.text())
            .ranged("stratum", self.stratum, 15)?
            .member("leap_status", Field::LEAP_STATUS, self.leap_status.into())
            .float("ref_time", self.ref_time.as_f64())?
            .float("offset", self.current_correction)?
            .float("last_offset", self.last_offset)?
            .float("rms_offset", self.rms_offset)?
            .float("frequency", self.frequency)?
            .float("residual_freq", self.residual_frequency)?
            .float("skew", self.skew)?
            .float("root_delay", self.root_delay)?
            .float("root_dispersion", self.root_dispersion)?
            .float("update_interval", self.last_update_interval)?;
        Ok(f)
    }
}
