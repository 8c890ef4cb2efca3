//! ACTIVITY: how many sources are online, offline, bursting or unresolved
//! (`chronyc activity`).

use super::{Args, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::Result;
use crate::protocol::request::{cmd, rpy, Layout, LibchronyAsk, Request};
use crate::protocol::wire::Reader;

/// ACTIVITY (command 44, reply 12): the sources by activity
/// (`chronyc activity`, whose five lines these are, in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    /// libchrony `online sources`; chronyc "sources online".
    pub online: i32,
    /// libchrony `offline sources`; chronyc "sources offline".
    pub offline: i32,
    /// libchrony `burst online-return sources`; chronyc "sources doing burst
    /// (return to online)".
    pub burst_online: i32,
    /// libchrony `burst offline-return sources`; chronyc "sources doing
    /// burst (return to offline)".
    pub burst_offline: i32,
    /// libchrony `unresolved sources`; chronyc "sources with unknown
    /// address".
    pub unresolved: i32,
}

impl Record for Activity {
    const SPEC: Spec = Spec {
        name: "activity",
        method: "get_activity",
        dataclass: "Activity",
        shape: Shape::Single,
        args: &[],
        udp: true,
    };

    fn request(_index: u32, _args: &Args) -> Request {
        Request::new(
            cmd::ACTIVITY,
            Self::SPEC.name,
            &[Layout {
                reply: rpy::ACTIVITY,
                len: 20,
            }],
        )
        .via_libchrony(LibchronyAsk::Record(c"activity", 0))
    }

    /// Five signed 32-bit counts (CMDMON.md §4.7), one layout in every
    /// version.
    fn decode(_reply: u16, r: &Reader<'_>) -> Result<Self> {
        Ok(Activity {
            online: r.i32(0)?,
            offline: r.i32(4)?,
            burst_online: r.i32(8)?,
            burst_offline: r.i32(12)?,
            unresolved: r.i32(16)?,
        })
    }

    fn from_fields(f: &dyn NamedFields) -> Result<Self> {
        Ok(Activity {
            online: f.i32("online sources")?,
            offline: f.i32("offline sources")?,
            burst_online: f.i32("burst online-return sources")?,
            burst_offline: f.i32("burst offline-return sources")?,
            unresolved: f.i32("unresolved sources")?,
        })
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.int("online", self.online)
            .int("offline", self.offline)
            .int("burst_online", self.burst_online)
            .int("burst_offline", self.burst_offline)
            .int("unresolved", self.unresolved);
        Ok(f)
    }
}
