//! SOURCESTATS: one record per source (`chronyc sourcestats`).

use super::{Args, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::Result;
use crate::protocol::request::{cmd, rpy, Layout, LibchronyAsk, Request};
use crate::protocol::wire::Reader;
use crate::protocol::wire::{refid_name, IpAddr};

/// SOURCESTATS (command 34, reply 6): one source's statistics
/// (`chronyc sourcestats`).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceStats {
    /// libchrony `reference ID`.
    pub reference_id: u32,
    /// libchrony `address`; UNSPEC for a reference clock; chronyc
    /// "Name/IP Address".
    pub address: IpAddr,
    /// libchrony `samples`; chronyc "NP".
    pub samples: u32,
    /// libchrony `runs`; chronyc "NR".
    pub runs: u32,
    /// libchrony `span`, seconds; chronyc "Span".
    pub span: u32,
    /// libchrony `standard deviation`, seconds; chronyc "Std Dev".
    pub std_dev: f64,
    /// libchrony `residual frequency`, ppm; chronyc "Frequency".
    pub resid_freq: f64,
    /// libchrony `skew`, ppm; chronyc "Freq Skew".
    pub skew: f64,
    /// libchrony `offset`, seconds; chronyc "Offset".
    pub offset: f64,
    /// libchrony `offset error`, seconds (est_offset_err; chronyc does not
    /// print it).
    pub offset_err: f64,
}

impl SourceStats {
    /// The name as chronyc -n prints it: the address, or the ref-id name
    /// (pychrony's rule, see [`Source::name`]) when the address is UNSPEC (a
    /// reference clock).
    #[must_use]
    pub fn name(&self) -> String {
        if self.address.is_unspec() {
            refid_name(self.reference_id)
        } else {
            self.address.text()
        }
    }
}

impl Record for SourceStats {
    const SPEC: Spec = Spec {
        name: "sourcestats",
        method: "get_source_stats",
        dataclass: "SourceStats",
        shape: Shape::PerSource,
        args: &[],
        udp: true,
    };

    fn request(index: u32, _args: &Args) -> Request {
        Request::new(
            cmd::SOURCESTATS,
            Self::SPEC.name,
            &[Layout {
                reply: rpy::SOURCESTATS,
                len: 56,
            }],
        )
        .record(index)
        .via_libchrony(LibchronyAsk::Record(c"sourcestats", index))
    }

    /// One layout since chrony 1.29 (CMDMON.md §4).
    fn decode(_reply: u16, r: &Reader<'_>) -> Result<Self> {
        Ok(SourceStats {
            reference_id: r.u32(0)?,
            address: r.ipaddr(4)?,
            samples: r.u32(24)?,
            runs: r.u32(28)?,
            span: r.u32(32)?,
            std_dev: r.float(36)?,
            resid_freq: r.float(40)?,
            skew: r.float(44)?,
            offset: r.float(48)?,
            offset_err: r.float(52)?,
        })
    }

    fn from_fields(f: &dyn NamedFields) -> Result<Self> {
        Ok(SourceStats {
            reference_id: f.u32("reference ID")?,
            address: f.address("address")?,
            samples: f.u32("samples")?,
            runs: f.u32("runs")?,
            span: f.u32("span")?,
            std_dev: f.float("standard deviation")?,
            resid_freq: f.float("residual frequency")?,
            skew: f.float("skew")?,
            offset: f.float("offset")?,
            offset_err: f.float("offset error")?,
        })
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.int("reference_id", self.reference_id)
            .text("address", self.name())
            .int("samples", self.samples)
            .int("runs", self.runs)
            .int("span", self.span)
            .float("std_dev", self.std_dev)?
            .float("resid_freq", self.resid_freq)?
            .float("skew", self.skew)?
            .float("offset", self.offset)?
            .float("offset_err", self.offset_err)?;
        Ok(f)
    }
}
