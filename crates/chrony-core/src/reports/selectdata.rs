//! SELECT_DATA: how chronyd's source selection sees each source (`chronyc
//! selectdata -a`).

use super::{Args, Field, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::Result;
use crate::protocol::request::{cmd, rpy, Layout, LibchronyAsk, Request};
use crate::protocol::wire::{refid_name, IpAddr, Reader};

/// The option bits `SelectOptions` knows: noselect, prefer, trust, require.
const OPTION_BITS: u16 = 0xF;

/// SELECT_DATA (command 69, reply 23; chronyd 4.0+, Unix socket only): one
/// source, by index, reference clocks and unresolved sources included.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectData {
    /// libchrony `reference ID`; the name of a reference clock.
    pub ref_id: u32,
    /// libchrony `address`; UNSPEC for a reference clock; chronyc "Name/IP
    /// Address".
    pub address: IpAddr,
    /// libchrony `state`: chronyc's state letter ("S"), e.g. `*` best, `+`
    /// combined, `x` falseticker.
    pub state_char: u8,
    /// libchrony `authentication`; chronyc "Auth" (Y/N).
    pub authentication: bool,
    /// libchrony `leap status`; chronyc "Leap".
    pub leap: u8,
    /// libchrony `configured options` (0x1 noselect, 0x2 prefer, 0x4 trust,
    /// 0x8 require); chronyc "COpts".
    pub conf_options: u16,
    /// libchrony `effective options` (as `authselectmode` leaves them);
    /// chronyc "EOpts".
    pub eff_options: u16,
    /// libchrony `last sample ago`, seconds (0 without samples); chronyc
    /// "Last".
    pub last_sample_ago: u32,
    /// libchrony `score`; chronyc "Score".
    pub score: f64,
    /// libchrony `low limit`, seconds; chronyc "Interval" (low end).
    pub lo_limit: f64,
    /// libchrony `high limit`, seconds; chronyc "Interval" (high end).
    pub hi_limit: f64,
}

impl SelectData {
    /// The source's name as chronyc -n prints it: the address, or the
    /// ref-id name of a reference clock (UNSPEC address).
    #[must_use]
    pub fn name(&self) -> String {
        if self.address.is_unspec() {
            refid_name(self.ref_id)
        } else {
            self.address.text()
        }
    }
}

impl Record for SelectData {
    const SPEC: Spec = Spec {
        name: "selectdata",
        method: "get_select_data",
        dataclass: "SelectData",
        shape: Shape::PerSource,
        args: &[],
        udp: false,
    };

    fn request(index: u32, _args: &Args) -> Request {
        Request::new(
            cmd::SELECT_DATA,
            Self::SPEC.name,
            &[Layout {
                reply: rpy::SELECT_DATA,
                len: 48,
            }],
        )
        .record(index)
        .via_libchrony(LibchronyAsk::Record(c"selectdata", index))
    }

    /// One layout since chrony 4.0 (CMDMON.md §4.11).
    fn decode(_reply: u16, r: &Reader<'_>) -> Result<Self> {
        Ok(SelectData {
            ref_id: r.u32(0)?,
            address: r.ipaddr(4)?,
            state_char: r.u8(24)?,
            authentication: r.u8(25)? != 0,
            leap: r.u8(26)?,
            conf_options: r.u16(28)?,
            eff_options: r.u16(30)?,
            last_sample_ago: r.u32(32)?,
            score: r.float(36)?,
            lo_limit: r.float(40)?,
            hi_limit: r.float(44)?,
        })
    }

    fn from_fields(f: &dyn NamedFields) -> Result<Self> {
        // libchrony's `state` enum lacks `L` and `r`; the value read is the
        // letter itself, whatever libchrony names it.
        Ok(SelectData {
            ref_id: f.u32("reference ID")?,
            address: f.address("address")?,
            state_char: f.u8("state")?,
            authentication: f.u8("authentication")? != 0,
            leap: f.u8("leap status")?,
            conf_options: f.u16("configured options")?,
            eff_options: f.u16("effective options")?,
            last_sample_ago: f.u32("last sample ago")?,
            score: f.float("score")?,
            lo_limit: f.float("low limit")?,
            hi_limit: f.float("high limit")?,
        })
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.int("reference_id", self.ref_id)
            .text("address", self.name())
            .member_or_char("state", Field::SELECT_STATE, self.state_char)
            .flag("authentication", self.authentication)
            .member_or_int("leap_status", Field::LEAP_STATUS, self.leap.into())
            .flags(
                "configured_options",
                Field::SELECT_OPTIONS,
                self.conf_options,
                OPTION_BITS,
            )
            .flags(
                "effective_options",
                Field::SELECT_OPTIONS,
                self.eff_options,
                OPTION_BITS,
            )
            .int("last_sample_ago", self.last_sample_ago)
            .float("score", self.score)?
            .float("low_limit", self.lo_limit)?
            .float("high_limit", self.hi_limit)?;
        Ok(f)
    }
}
