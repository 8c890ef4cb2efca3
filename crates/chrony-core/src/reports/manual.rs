//! MANUAL_LIST: the samples entered with `chronyc settime` (`chronyc manual
//! list`), all of them in one reply.

use super::{Args, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::{DataFailure, Error, Result};
use crate::protocol::request::{cmd, rpy, Layout, Request};
use crate::protocol::wire::{Reader, Timespec};

/// At most this many samples fit in the reply (MAX_MANUAL_LIST_SAMPLES).
const MAX_SAMPLES: u32 = 16;
/// Bytes per sample slot.
const SLOT: usize = 24;

/// One sample of MANUAL_LIST2 (command 41, reply 18, chronyd 3.3+;
/// CMDMON.md §4.14). libchrony 0.2 has no such report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ManualSample {
    /// When the sample was entered; chronyc "Date Time(UTC)".
    pub when: Timespec,
    /// The sample's offset, seconds, corrected for the clock's later
    /// slewing; chronyc "Slewed".
    pub slewed_offset: f64,
    /// The offset as entered, seconds; chronyc "Original".
    pub orig_offset: f64,
    /// The residual of the regression through the samples, seconds;
    /// chronyc "Residual".
    pub residual: f64,
}

impl Record for ManualSample {
    const SPEC: Spec = Spec {
        name: "manual list",
        method: "get_manual_list",
        dataclass: "ManualSample",
        shape: Shape::InReply,
        args: &[],
        udp: true,
    };

    fn request(_index: u32, _args: &Args) -> Request {
        Request::new(
            cmd::MANUAL_LIST,
            Self::SPEC.name,
            &[Layout {
                reply: rpy::MANUAL_LIST2,
                len: 4 + SLOT * MAX_SAMPLES as usize,
            }],
        )
    }

    /// One 24-byte slot: Timespec `when`, then three floats.
    fn decode(_reply: u16, r: &Reader<'_>) -> Result<Self> {
        Ok(ManualSample {
            when: r.timespec(0)?,
            slewed_offset: r.float(12)?,
            orig_offset: r.float(16)?,
            residual: r.float(20)?,
        })
    }

    /// `n_samples`, then that many of the 16 slots.
    fn decode_records(reply: u16, r: &Reader<'_>) -> Result<Vec<Self>> {
        let n = r.u32(0)?;
        if n > MAX_SAMPLES {
            return Err(Error::data(
                DataFailure::InvalidValue,
                format!(
                    "chronyd sent an invalid manual list value: n_samples = {n} (expected 0 to \
                     {MAX_SAMPLES})"
                ),
            ));
        }
        (0..n as usize)
            .map(|i| {
                let slot = r.bytes_at(4 + SLOT * i, SLOT)?;
                Self::decode(reply, &Reader::new(slot, Self::SPEC.name))
            })
            .collect()
    }

    fn from_fields(_fields: &dyn NamedFields) -> Result<Self> {
        // Not reached: the request has no libchrony form, so the backend
        // refuses the report before asking.
        Err(Error::Library {
            message: "libchrony has no manual list report".into(),
            code: None,
        })
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.float("when", self.when.as_f64())?
            .float("slewed_offset", self.slewed_offset)?
            .float("orig_offset", self.orig_offset)?
            .float("residual", self.residual)?;
        Ok(f)
    }
}
