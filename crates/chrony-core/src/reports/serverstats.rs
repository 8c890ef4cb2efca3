//! SERVER_STATS: what chronyd served as an NTP and NTS-KE server and on its
//! command sockets (`chronyc serverstats`).

use super::{Args, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::Result;
use crate::protocol::request::{cmd, rpy, Layout, LibchronyAsk, Request};
use crate::protocol::wire::Reader;

/// SERVER_STATS (command 54; replies 14, 22, 24 and 25 by chronyd version,
/// CMDMON.md §4.10): counters since chronyd started. A counter the server's
/// reply layout does not carry is `None`.
///
/// Wire order (and this struct's): ntp_hits, nke_hits, cmd_hits, ntp_drops,
/// nke_drops, cmd_drops, log_drops, ntp_auth_hits, ntp_interleaved_hits,
/// ntp_timestamps, ntp_span_seconds, then the six timestamp counters.
/// chronyc prints them in another order (see the Python dataclass).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerStats {
    /// libchrony `received NTP requests`; chronyc "NTP packets received".
    pub ntp_hits: Option<u64>,
    /// libchrony `accepted NTS-KE connections`; chronyc "NTS-KE connections
    /// accepted" (4.0+).
    pub nke_hits: Option<u64>,
    /// libchrony `received command requests`; chronyc "Command packets
    /// received" (Unix-socket requests included).
    pub cmd_hits: Option<u64>,
    /// libchrony `dropped NTP requests`; chronyc "NTP packets dropped".
    pub ntp_drops: Option<u64>,
    /// libchrony `dropped NTS-KE connections`; chronyc "NTS-KE connections
    /// dropped" (4.0+).
    pub nke_drops: Option<u64>,
    /// libchrony `dropped command requests`; chronyc "Command packets
    /// dropped".
    pub cmd_drops: Option<u64>,
    /// libchrony `dropped client log records`; chronyc "Client log records
    /// dropped".
    pub log_drops: Option<u64>,
    /// libchrony `received authenticated NTP requests`; chronyc
    /// "Authenticated NTP packets" (4.0+).
    pub ntp_auth_hits: Option<u64>,
    /// libchrony `received interleaved NTP requests`; chronyc "Interleaved
    /// NTP packets" (4.2+).
    pub ntp_interleaved_hits: Option<u64>,
    /// libchrony `held NTP timestamps`; chronyc "NTP timestamps held"
    /// (4.2+).
    pub ntp_timestamps: Option<u64>,
    /// libchrony `NTP timestamp span`, seconds; chronyc "NTP timestamp
    /// span" (4.2+).
    pub ntp_span_seconds: Option<u64>,
    /// chronyc "NTP daemon RX timestamps" (4.4+).
    pub ntp_daemon_rx_timestamps: Option<u64>,
    /// chronyc "NTP daemon TX timestamps" (4.4+).
    pub ntp_daemon_tx_timestamps: Option<u64>,
    /// chronyc "NTP kernel RX timestamps" (4.4+).
    pub ntp_kernel_rx_timestamps: Option<u64>,
    /// chronyc "NTP kernel TX timestamps" (4.4+).
    pub ntp_kernel_tx_timestamps: Option<u64>,
    /// chronyc "NTP hardware RX timestamps" (4.4+).
    pub ntp_hw_rx_timestamps: Option<u64>,
    /// chronyc "NTP hardware TX timestamps" (4.4+).
    pub ntp_hw_tx_timestamps: Option<u64>,
}

/// The reply layouts: 5, 8 and 11 u32 counters, or 21 Integer64 (17
/// counters and 4 reserved words).
const LAYOUTS: &[Layout] = &[
    Layout {
        reply: rpy::SERVER_STATS,
        len: 5 * 4,
    },
    Layout {
        reply: rpy::SERVER_STATS2,
        len: 8 * 4,
    },
    Layout {
        reply: rpy::SERVER_STATS3,
        len: 11 * 4,
    },
    Layout {
        reply: rpy::SERVER_STATS4,
        len: 21 * 8,
    },
];

/// libchrony's names of the counters, in wire order of the newest layout
/// (the last six are the timestamp counters of SERVER_STATS4).
const LIBCHRONY_NAMES: [&str; 17] = [
    "received NTP requests",
    "accepted NTS-KE connections",
    "received command requests",
    "dropped NTP requests",
    "dropped NTS-KE connections",
    "dropped command requests",
    "dropped client log records",
    "received authenticated NTP requests",
    "received interleaved NTP requests",
    "held NTP timestamps",
    "NTP timestamp span",
    "served daemon RX timestamps",
    "served daemon TX timestamps",
    "served kernel RX timestamps",
    "served kernel TX timestamps",
    "served hardware RX timestamps",
    "served hardware TX timestamps",
];

impl ServerStats {
    /// The counters in wire order of the newest layout.
    fn from_ordered(v: &[Option<u64>; 17]) -> Self {
        ServerStats {
            ntp_hits: v[0],
            nke_hits: v[1],
            cmd_hits: v[2],
            ntp_drops: v[3],
            nke_drops: v[4],
            cmd_drops: v[5],
            log_drops: v[6],
            ntp_auth_hits: v[7],
            ntp_interleaved_hits: v[8],
            ntp_timestamps: v[9],
            ntp_span_seconds: v[10],
            ntp_daemon_rx_timestamps: v[11],
            ntp_daemon_tx_timestamps: v[12],
            ntp_kernel_rx_timestamps: v[13],
            ntp_kernel_tx_timestamps: v[14],
            ntp_hw_rx_timestamps: v[15],
            ntp_hw_tx_timestamps: v[16],
        }
    }
}

impl Record for ServerStats {
    const SPEC: Spec = Spec {
        name: "serverstats",
        method: "get_server_stats",
        dataclass: "ServerStats",
        shape: Shape::Single,
        args: &[],
        udp: false,
    };

    fn request(_index: u32, _args: &Args) -> Request {
        Request::new(cmd::SERVER_STATS, Self::SPEC.name, LAYOUTS)
            .via_libchrony(LibchronyAsk::Record(c"serverstats", 0))
    }

    /// Each layout by its reply code (CMDMON.md §4.10): SERVER_STATS (2.3–3.5)
    /// has ntp_hits, cmd_hits, ntp_drops, cmd_drops, log_drops; the later
    /// ones follow the order of this struct, as u32 (22, 24) or Integer64
    /// (25).
    fn decode(reply: u16, r: &Reader<'_>) -> Result<Self> {
        let mut v = [None; 17];
        match reply {
            rpy::SERVER_STATS => {
                // Its own order, without the NTS-KE counters.
                for (slot, i) in [0, 2, 3, 5, 6].into_iter().zip(0..) {
                    v[slot] = Some(u64::from(r.u32(4 * i)?));
                }
            }
            rpy::SERVER_STATS4 => {
                for (i, slot) in v.iter_mut().enumerate() {
                    *slot = Some(r.u64(8 * i)?);
                }
            }
            _ => {
                let n = if reply == rpy::SERVER_STATS2 { 8 } else { 11 };
                for (i, slot) in v.iter_mut().take(n).enumerate() {
                    *slot = Some(u64::from(r.u32(4 * i)?));
                }
            }
        }
        Ok(Self::from_ordered(&v))
    }

    /// libchrony lists exactly the fields of the reply it received, so a
    /// field it lacks is a counter that layout does not carry.
    fn from_fields(f: &dyn NamedFields) -> Result<Self> {
        let mut v = [None; 17];
        for (slot, name) in v.iter_mut().zip(LIBCHRONY_NAMES) {
            if f.has(name) {
                *slot = Some(f.u64(name)?);
            }
        }
        Ok(Self::from_ordered(&v))
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.count("ntp_packets_received", self.ntp_hits)?
            .count("ntp_packets_dropped", self.ntp_drops)?
            .count("command_packets_received", self.cmd_hits)?
            .count("command_packets_dropped", self.cmd_drops)?
            .count("client_log_records_dropped", self.log_drops)?
            .count("nts_ke_connections_accepted", self.nke_hits)?
            .count("nts_ke_connections_dropped", self.nke_drops)?
            .count("authenticated_ntp_packets", self.ntp_auth_hits)?
            .count("interleaved_ntp_packets", self.ntp_interleaved_hits)?
            .count("ntp_timestamps_held", self.ntp_timestamps)?
            .count("ntp_timestamp_span", self.ntp_span_seconds)?
            .count("ntp_daemon_rx_timestamps", self.ntp_daemon_rx_timestamps)?
            .count("ntp_daemon_tx_timestamps", self.ntp_daemon_tx_timestamps)?
            .count("ntp_kernel_rx_timestamps", self.ntp_kernel_rx_timestamps)?
            .count("ntp_kernel_tx_timestamps", self.ntp_kernel_tx_timestamps)?
            .count("ntp_hardware_rx_timestamps", self.ntp_hw_rx_timestamps)?
            .count("ntp_hardware_tx_timestamps", self.ntp_hw_tx_timestamps)?;
        Ok(f)
    }
}
