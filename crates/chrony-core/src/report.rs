//! Typed reports. Each field carries the wire value with the meaning of
//! libchrony's field of the same name (CMDMON.md §6); the docs give the
//! libchrony name, the unit and the chronyc column it matches.

use crate::error::{DataFailure, Error, Result};
use crate::protocol::wire::{refid_name, IpAddr, Timespec};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this client does not know (a newer chronyd); the caller decides.
            Unknown(u16),
        }

        impl From<u16> for $name {
            fn from(v: u16) -> Self {
                match v {
                    $($value => $name::$variant,)+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for u16 {
            fn from(v: $name) -> u16 {
                match v {
                    $($name::$variant => $value,)+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

wire_enum! {
    /// Leap status (libchrony `leap status`; chronyc "Leap status").
    LeapStatus {
        /// 0: normal.
        Normal = 0,
        /// 1: a leap second will be inserted.
        Insert = 1,
        /// 2: a leap second will be deleted.
        Delete = 2,
        /// 3: not synchronised.
        Unsync = 3,
    }
}

wire_enum! {
    /// Source state (libchrony `state`; chronyc column "S").
    SourceState {
        /// 0 `*`: selected, synchronising to it.
        Selected = 0,
        /// 1 `?`: not selectable (unreachable, no samples, noselect…).
        Nonselectable = 1,
        /// 2 `x`: falseticker.
        Falseticker = 2,
        /// 3 `~`: too variable.
        Jittery = 3,
        /// 4 `+`: combined with the selected source.
        Unselected = 4,
        /// 5 `-`: selectable but not combined.
        Selectable = 5,
    }
}

wire_enum! {
    /// Source mode (libchrony `mode`; chronyc column "M").
    SourceMode {
        /// 0 `^`: a server.
        Client = 0,
        /// 1 `=`: a symmetric peer.
        Peer = 1,
        /// 2 `#`: a reference clock.
        Refclock = 2,
    }
}

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

    /// The source's name as chronyc -n prints it: the ref-id name of a
    /// reference clock, else the address (`ID#…` when unresolved). The
    /// ref-id name follows pychrony's rule ([`refid_name`]); chronyc drops
    /// non-printable bytes instead, which differs only for ref-ids that are
    /// not ASCII.
    #[must_use]
    pub fn name(&self) -> String {
        match self.refclock_id() {
            Some(id) => refid_name(id),
            None => self.address.to_string(),
        }
    }
}

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
            self.address.to_string()
        }
    }
}

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

/// Checks that a decoded float is finite, naming the report and field.
pub fn check_finite(report: &str, field: &str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::data(
            DataFailure::InvalidValue,
            format!(
                "chronyd sent an invalid {report} value: {field} = {value} (not a finite number)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn enums_keep_unknown_values() {
        assert_eq!(LeapStatus::from(3), LeapStatus::Unsync);
        assert_eq!(LeapStatus::from(7), LeapStatus::Unknown(7));
        assert_eq!(u16::from(LeapStatus::Unknown(7)), 7);
        assert_eq!(SourceState::from(5), SourceState::Selectable);
        assert_eq!(u16::from(SourceState::Jittery), 3);
        assert_eq!(SourceMode::from(2), SourceMode::Refclock);
        assert_eq!(SourceMode::from(9), SourceMode::Unknown(9));
    }

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
        assert!(check_finite("tracking", "skew", f64::NAN).is_err());
        assert!(check_finite("tracking", "skew", 1.0).is_ok());
    }
}
