//! CLIENT_ACCESSES_BY_INDEX3: the NTP, NTS-KE and command clients chronyd
//! has served (`chronyc clients`, and `-k` for the NTS-KE columns), read a
//! page of up to eight at a time.

use super::{Args, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::{DataFailure, Error, Result};
use crate::protocol::request::{cmd, rpy, Layout, Request};
use crate::protocol::wire::{IpAddr, Reader};

/// Records per page: what the request asks for and chronyd's own cap.
const PAGE: u32 = 8;
/// Offset of the first record in the reply body, and each record's size.
const RECORDS_AT: usize = 12;
const RECORD_LEN: usize = 60;

/// One record of CLIENT_ACCESSES_BY_INDEX3 (command 68, reply 21; chronyd
/// 4.0+, Unix socket only; CMDMON.md §4.15). Intervals are log2 seconds,
/// 127 when unknown; `last_*_ago` are seconds, 4294967295 never.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAccess {
    /// The client's address; chronyc "Hostname".
    pub address: IpAddr,
    /// NTP requests served; chronyc "NTP".
    pub ntp_hits: u32,
    /// NTS-KE connections accepted; chronyc -k "NTS-KE".
    pub nke_hits: u32,
    /// Command requests served; chronyc "Cmd".
    pub cmd_hits: u32,
    /// NTP requests dropped (rate limiting); chronyc "Drop".
    pub ntp_drops: u32,
    /// NTS-KE connections dropped; chronyc -k "Drop".
    pub nke_drops: u32,
    /// Command requests dropped; chronyc "Drop" (command).
    pub cmd_drops: u32,
    /// Average NTP request interval; chronyc "Int".
    pub ntp_interval: i8,
    /// Average NTS-KE connection interval; chronyc -k "Int".
    pub nke_interval: i8,
    /// Average command request interval; chronyc "Int" (command).
    pub cmd_interval: i8,
    /// Interval of the NTP rate limit's timeout; chronyc "IntL".
    pub ntp_timeout_interval: i8,
    /// Seconds since the last NTP request; chronyc "Last".
    pub last_ntp_hit_ago: u32,
    /// Seconds since the last NTS-KE connection; chronyc -k "Last".
    pub last_nke_hit_ago: u32,
    /// Seconds since the last command request; chronyc "Last" (command).
    pub last_cmd_hit_ago: u32,
}

impl ClientAccess {
    fn decode_at(r: &Reader<'_>, slot: usize) -> Result<Self> {
        let at = RECORDS_AT + slot * RECORD_LEN;
        Ok(ClientAccess {
            address: r.ipaddr(at)?,
            ntp_hits: r.u32(at + 20)?,
            nke_hits: r.u32(at + 24)?,
            cmd_hits: r.u32(at + 28)?,
            ntp_drops: r.u32(at + 32)?,
            nke_drops: r.u32(at + 36)?,
            cmd_drops: r.u32(at + 40)?,
            ntp_interval: r.i8(at + 44)?,
            nke_interval: r.i8(at + 45)?,
            cmd_interval: r.i8(at + 46)?,
            ntp_timeout_interval: r.i8(at + 47)?,
            last_ntp_hit_ago: r.u32(at + 48)?,
            last_nke_hit_ago: r.u32(at + 52)?,
            last_cmd_hit_ago: r.u32(at + 56)?,
        })
    }

    /// The page header: table size, where the next page starts, and how
    /// many records this one holds (at most [`PAGE`]).
    fn header(r: &Reader<'_>) -> Result<(u32, u32, u32)> {
        let (n_indices, next_index, n_clients) = (r.u32(0)?, r.u32(4)?, r.u32(8)?);
        if n_clients > PAGE {
            return Err(Error::data(
                DataFailure::InvalidValue,
                format!(
                    "chronyd sent an invalid clients value: n_clients = {n_clients} (a page holds \
                     at most {PAGE})"
                ),
            ));
        }
        Ok((n_indices, next_index, n_clients))
    }
}

impl Record for ClientAccess {
    const SPEC: Spec = Spec {
        name: "clients",
        method: "get_clients",
        dataclass: "ClientAccess",
        shape: Shape::Paged,
        args: &[],
        udp: false,
    };

    /// The page starting at table index `index`: up to eight records, any
    /// number of hits (`min_hits` 0), and **never** a reset of the counters
    /// (`reset` 0: this client only reads).
    fn request(index: u32, _args: &Args) -> Request {
        let mut body = [0u8; 16];
        body[0..4].copy_from_slice(&index.to_be_bytes());
        body[4..8].copy_from_slice(&PAGE.to_be_bytes());
        // min_hits (8..12) and reset (12..16) stay 0.
        Request::new(
            cmd::CLIENT_ACCESSES_BY_INDEX3,
            Self::SPEC.name,
            &[Layout {
                reply: rpy::CLIENT_ACCESSES_BY_INDEX3,
                len: RECORDS_AT + RECORD_LEN * PAGE as usize,
            }],
        )
        .with_body(&body)
    }

    /// The page's first record (see [`Record::decode_records`] for all).
    fn decode(_reply: u16, r: &Reader<'_>) -> Result<Self> {
        Self::header(r)?;
        Self::decode_at(r, 0)
    }

    fn decode_records(_reply: u16, r: &Reader<'_>) -> Result<Vec<Self>> {
        let (_, _, n) = Self::header(r)?;
        (0..n as usize).map(|i| Self::decode_at(r, i)).collect()
    }

    /// The next page starts at `next_index`, unless this page was the last:
    /// `next_index` reached the table size `n_indices` (which differs
    /// between versions), or the page is not full.
    fn next_page(_reply: u16, r: &Reader<'_>) -> Result<Option<u32>> {
        let (n_indices, next_index, n_clients) = Self::header(r)?;
        Ok((next_index < n_indices && n_clients == PAGE).then_some(next_index))
    }

    fn from_fields(_fields: &dyn NamedFields) -> Result<Self> {
        // Not reached: the request has no libchrony form, so the backend
        // refuses the report before asking.
        Err(Error::Library {
            message: "libchrony has no clients report".into(),
            code: None,
        })
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.address("address", self.address)
            .int("ntp_hits", self.ntp_hits)
            .int("ntp_drops", self.ntp_drops)
            .int("ntp_interval", self.ntp_interval)
            .int("ntp_interval_limit", self.ntp_timeout_interval)
            .int("last_ntp_hit_ago", self.last_ntp_hit_ago)
            .int("cmd_hits", self.cmd_hits)
            .int("cmd_drops", self.cmd_drops)
            .int("cmd_interval", self.cmd_interval)
            .int("last_cmd_hit_ago", self.last_cmd_hit_ago)
            .int("nke_hits", self.nke_hits)
            .int("nke_drops", self.nke_drops)
            .int("nke_interval", self.nke_interval)
            .int("last_nke_hit_ago", self.last_nke_hit_ago);
        Ok(f)
    }
}
