//! SOURCE_DATA: one record per source (`chronyc sources`).

use super::{Args, Field, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::Result;
use crate::protocol::request::{cmd, rpy, Layout, LibchronyAsk, Request};
use crate::protocol::wire::Reader;
use std::net::Ipv4Addr;

use crate::protocol::wire::{refid_name, IpAddr};
use crate::reports::{SourceMode, SourceState};

/// SOURCE_DATA (command 15, reply 3): one source (`chronyc sources`).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// libchrony `address` (or `reference ID` for a reference clock, whose
    /// ref-id chronyd carries in the IPv4 field); chronyc "Name/IP address".
    pub address: IpAddr,
    /// libchrony `poll`, log2 seconds, **signed** (libchrony 0.2 returns it
    /// unsigned); chronyc "Poll".
    pub poll: i16,
    /// libchrony `stratum`; chronyc "Stratum".
    pub stratum: u16,
    /// libchrony `state`; chronyc "S".
    pub state: SourceState,
    /// libchrony `mode`; chronyc "M".
    pub mode: SourceMode,
    /// libchrony `flags`; always 0 since chrony 4.0.
    pub flags: u16,
    /// libchrony `reachability`: the 8-bit reach register; chronyc "Reach"
    /// (octal).
    pub reachability: u16,
    /// libchrony `last sample ago`, seconds; chronyc "LastRx".
    /// 4294967295 when never sampled.
    pub last_sample_ago: u32,
    /// libchrony `original last sample offset`, seconds; chronyc "Last
    /// sample" (in brackets).
    pub orig_latest_meas: f64,
    /// libchrony `adjusted last sample offset`, seconds; chronyc "Last
    /// sample".
    pub latest_meas: f64,
    /// libchrony `last sample error`, seconds; chronyc "Last sample" (after
    /// `+/-`).
    pub latest_meas_err: f64,
}

impl Source {
    /// For a reference clock, the ref-id chronyd carries in the address.
    #[must_use]
    pub fn refclock_id(&self) -> Option<u32> {
        match (self.mode, self.address) {
            (SourceMode::Refclock, IpAddr::V4(a)) => Some(u32::from(a)),
            _ => None,
        }
    }

    /// Whether a per-address report ([`super::Shape::PerAddress`]) lists
    /// this source: an NTP source (a reference clock has no address to ask
    /// by), and one not resolved yet (`ID#…`) only when `unresolved`.
    #[must_use]
    pub fn listed_by_address(&self, unresolved: bool) -> bool {
        self.mode != SourceMode::Refclock && (unresolved || !matches!(self.address, IpAddr::Id(_)))
    }

    /// The source's name as chronyc -n prints it: the ref-id name of a
    /// reference clock, else the address (`ID#…` when unresolved). The
    /// ref-id name follows pychrony's rule ([`refid_name`]); chronyc drops
    /// non-printable bytes instead, which differs only for ref-ids that are
    /// not ASCII.
    #[must_use]
    pub fn name(&self) -> String {
        match self.refclock_id() {
            Some(id) => refid_name(id),
            None => self.address.text(),
        }
    }
}

impl Record for Source {
    const SPEC: Spec = Spec {
        name: "sources",
        method: "get_sources",
        dataclass: "Source",
        shape: Shape::PerSource,
        args: &[],
        udp: true,
    };

    fn request(index: u32, _args: &Args) -> Request {
        Request::new(
            cmd::SOURCE_DATA,
            Self::SPEC.name,
            &[Layout {
                reply: rpy::SOURCE_DATA,
                len: 48,
            }],
        )
        .record(index)
        .via_libchrony(LibchronyAsk::Record(c"sources", index))
    }

    /// One layout since chrony 1.29 (CMDMON.md §4).
    fn decode(_reply: u16, r: &Reader<'_>) -> Result<Self> {
        Ok(Source {
            address: r.ipaddr(0)?,
            poll: r.i16(20)?,
            stratum: r.u16(22)?,
            state: r.u16(24)?.into(),
            mode: r.u16(26)?.into(),
            flags: r.u16(28)?,
            reachability: r.u16(30)?,
            last_sample_ago: r.u32(32)?,
            orig_latest_meas: r.float(36)?,
            latest_meas: r.float(40)?,
            latest_meas_err: r.float(44)?,
        })
    }

    fn from_fields(f: &dyn NamedFields) -> Result<Self> {
        // A reference clock's record (mode 2) names its first field `reference
        // ID` and gives the ref-id, which chronyd carries in the IPv4 field; the
        // native backend reports that as an IPv4 address, so does this one.
        let address = if f.has("address") {
            f.address("address")?
        } else {
            IpAddr::V4(Ipv4Addr::from(f.u32("reference ID")?))
        };
        Ok(Source {
            address,
            poll: f.poll("poll")?,
            stratum: f.u16("stratum")?,
            state: f.u16("state")?.into(),
            mode: f.u16("mode")?.into(),
            flags: f.u16("flags")?,
            reachability: f.u16("reachability")?,
            last_sample_ago: f.u32("last sample ago")?,
            orig_latest_meas: f.float("original last sample offset")?,
            latest_meas: f.float("adjusted last sample offset")?,
            latest_meas_err: f.float("last sample error")?,
        })
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.text("address", self.name())
            .int("poll", self.poll)
            .ranged("stratum", self.stratum, 15)?
            .member("state", Field::SOURCE_STATE, self.state.into())
            .member("mode", Field::SOURCE_MODE, self.mode.into())
            .int("flags", self.flags)
            .ranged("reachability", self.reachability, 255)?
            .int("last_sample_ago", self.last_sample_ago)
            .float("orig_latest_meas", self.orig_latest_meas)?
            .float("latest_meas", self.latest_meas)?
            .float("latest_meas_err", self.latest_meas_err)?;
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn refclock_names() {
        let s = Source {
            address: IpAddr::V4(Ipv4Addr::from(0x5348_4D30)),
            poll: -6,
            stratum: 0,
            state: SourceState::Nonselectable,
            mode: SourceMode::Refclock,
            flags: 0,
            reachability: 0,
            last_sample_ago: u32::MAX,
            orig_latest_meas: 0.0,
            latest_meas: 0.0,
            latest_meas_err: 0.0,
        };
        assert_eq!(s.name(), "SHM0");
        let client = Source {
            mode: SourceMode::Client,
            ..s
        };
        assert_eq!(client.name(), "83.72.77.48");
    }
}
