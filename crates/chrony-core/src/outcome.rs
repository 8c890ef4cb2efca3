//! What a request's outcome means, worded once for both backends: the
//! status table (CMDMON.md §2.6) and the messages for a request that timed
//! out, could not be sent or received, or ran on a closed connection.
//!
//! The native backend (`transport`, `protocol::reply`) and the libchrony
//! backend see the same outcomes through different machinery; both build
//! their errors here, so a failure has the same kind, code and words
//! whichever backend met it. This module is a leaf: it knows [`Error`] and
//! nothing above it, so that either backend may import it.

use std::io::{self, ErrorKind};
use std::time::Duration;

use crate::error::{ConnectionFailure, DataFailure, Error, Result};

/// While waiting, both backends run the caller's interrupt check at least
/// this often.
pub(crate) const INTERRUPT_SLICE: Duration = Duration::from_millis(50);
/// A send that finds chronyd's socket queue full (a stopped chronyd) is
/// given up after at most this long and tried again later within the call's
/// deadline, in both backends.
pub(crate) const SEND_SLICE: Duration = Duration::from_millis(20);

/// Status codes (CMDMON.md §2.6) this client treats specially.
pub mod status {
    /// SUCCESS
    pub const SUCCESS: u16 = 0;
    /// UNAUTH: not allowed on this transport.
    pub const UNAUTH: u16 = 2;
    /// INVALID: unknown command (server older than the command).
    pub const INVALID: u16 = 3;
    /// NOSUCHSOURCE: index out of range (the source list changed).
    pub const NOSUCHSOURCE: u16 = 4;
    /// NOTENABLED: facility not enabled.
    pub const NOTENABLED: u16 = 6;
    /// NORTC: RTC driver not running.
    pub const NORTC: u16 = 13;
    /// BADPKTVERSION: protocol version mismatch.
    pub const BADPKTVERSION: u16 = 18;
    /// BADPKTLENGTH: request shorter than the server requires.
    pub const BADPKTLENGTH: u16 = 19;
}

/// chronyc's text for a status code.
#[must_use]
pub fn status_text(code: u16) -> &'static str {
    match code {
        0 => "200 OK",
        1 => "500 Failure",
        2 => "501 Not authorised",
        3 => "502 Invalid command",
        4 => "503 No such source",
        5 => "504 Duplicate or stale logon detected",
        6 => "505 Facility not enabled in daemon",
        7 => "507 Bad subnet",
        8 => "208 Access allowed",
        9 => "209 Access denied",
        10 => "510 No command access from this host",
        11 => "511 Source already present",
        12 => "512 Too many sources present",
        13 => "513 RTC driver not running",
        14 => "514 Can't write RTC parameters",
        15 => "519 Client logging is not active in the daemon",
        16 => "516 Sample index out of range",
        17 => "515 Invalid address family",
        18 => "517 Protocol version mismatch",
        19 => "518 Packet length mismatch",
        21 => "521 Invalid name",
        _ => "520 Got unexpected error from daemon",
    }
}

/// What sort of request a reply answered: the one distinction the status
/// table makes besides the status itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// A report of its own (tracking, the number of sources).
    Report,
    /// One record of a list, by index (sources, sourcestats): "no such
    /// source" means the list changed while it was read.
    Record,
    /// A report chronyd provides only when a facility is configured: "not
    /// enabled" (or "no RTC") means it does not provide the report.
    Optional(Facility),
}

/// The facility an optional report needs, for the "not available" message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Facility {
    /// RTCREPORT: RTC tracking.
    Rtc,
    /// SMOOTHING: time smoothing (`smoothtime`).
    Smoothing,
}

/// Why an optional report is unavailable, and how to enable it.
fn unavailable(name: &str, facility: Facility, text: &str) -> String {
    match facility {
        Facility::Rtc => format!(
            "RTC tracking is unavailable: chronyd answered the {name} request with {text}. chronyd \
             has no RTC driver (as in most VMs and containers) or neither 'rtcfile' nor 'rtcsync' \
             with an RTC it can read is configured; add 'rtcfile' to chrony.conf on a machine with an RTC"
        ),
        Facility::Smoothing => format!(
            "time smoothing is not enabled: chronyd answered the {name} request with {text}. \
             Add a 'smoothtime' directive to chrony.conf to enable it"
        ),
    }
}

/// The error for a reply whose status is not SUCCESS; `Ok` for SUCCESS.
/// `name` is the request's name as chronyc calls it.
pub(crate) fn status_error(name: &str, kind: RequestKind, code: u16) -> Result<()> {
    let text = status_text(code);
    if let (status::NORTC | status::NOTENABLED, RequestKind::Optional(facility)) = (code, kind) {
        return Err(Error::NotAvailable {
            message: unavailable(name, facility, text),
        });
    }
    Err(match code {
        status::SUCCESS => return Ok(()),
        status::UNAUTH => Error::Unauthorized {
            message: format!(
                "chronyd refused the {name} request ({text}): chronyd serves this command on its \
                 Unix socket only. Connect through the Unix socket (as root or chrony's user), or, \
                 on chronyd 4.7 or later, list the command in 'opencommands' in chrony.conf to \
                 open it on the UDP command port"
            ),
        },
        status::INVALID => Error::data(
            DataFailure::OldServer,
            format!(
                "chronyd does not know the {name} request ({text}): it is older than this command; \
                 upgrade chrony"
            ),
        ),
        status::NOSUCHSOURCE => no_such_source(name, kind),
        // libchrony reports both as CHRONY_DISABLED, whatever the request.
        status::NORTC | status::NOTENABLED => Error::NotAvailable {
            message: format!(
                "chronyd answered the {name} request with {text}: the facility is not enabled in chronyd"
            ),
        },
        status::BADPKTVERSION | status::BADPKTLENGTH => Error::data(
            DataFailure::NewServer,
            format!(
                "chronyd rejected the {name} request ({text}): it is newer than this client; upgrade \
                 pychrony-rs"
            ),
        ),
        other => Error::data(
            DataFailure::UnexpectedStatus(other),
            format!("chronyd answered the {name} request with status {other} ({text})"),
        ),
    })
}

/// chronyd's "no such source" (status 4, or a post-4.8 chronyd's empty
/// reply for a record that vanished): the kind the source-list readers
/// restart on.
pub(crate) fn no_such_source(name: &str, kind: RequestKind) -> Error {
    let text = status_text(status::NOSUCHSOURCE);
    Error::data(
        DataFailure::UnexpectedStatus(status::NOSUCHSOURCE),
        if kind == RequestKind::Record {
            format!(
                "chronyd answered the {name} request with status {text}: the source list changed \
                 while it was read"
            )
        } else {
            format!("chronyd answered the {name} request with status {text}")
        },
    )
}

/// A successful reply with the wrong reply code `got` (`null`: the empty
/// RPY_NULL). For a record, an empty reply is how chronyd after 4.8 says
/// the source vanished during the request; otherwise the server is newer.
pub(crate) fn wrong_reply(
    name: &str,
    kind: RequestKind,
    got: u16,
    expected: u16,
    null: bool,
) -> Error {
    if null && kind == RequestKind::Record {
        return no_such_source(name, kind);
    }
    Error::data(
        DataFailure::NewServer,
        format!(
            "chronyd answered the {name} request with reply code {got} where {expected} was \
             expected; it is probably newer than this client: upgrade pychrony-rs"
        ),
    )
}

/// A reply in protocol version `theirs` where this client speaks `ours`.
/// The version byte is the server's own: a lower one (chrony ≤ 1.29 speaks
/// 5, and answers a version-6 request with status 18) is an older server, a
/// higher one a newer server, whatever the status.
pub(crate) fn version_mismatch(name: &str, theirs: u8, ours: u8, code: u16) -> Error {
    Error::data(
        if theirs > ours {
            DataFailure::NewServer
        } else {
            DataFailure::OldServer
        },
        format!(
            "chronyd answered the {name} request with protocol version {theirs} (status {}); this \
             client speaks version {ours}, used by chrony 1.29.1 and later",
            status_text(code)
        ),
    )
}

/// No reply to the `what` request at `peer` within the call's deadline.
pub(crate) fn timed_out(
    what: &str,
    peer: &str,
    elapsed: Duration,
    timeout: Duration,
    retries: u32,
) -> Error {
    Error::connection(
        ConnectionFailure::TimedOut,
        format!(
            "chronyd did not answer the {what} request at {peer} (gave up after {:.3} s: timeout \
             {:.3} s, {retries} retries). Is chronyd running and serving commands there? A stopped or \
             overloaded chronyd, 'cmdport 0', or a host not allowed by 'cmdallow' gives no reply",
            elapsed.as_secs_f64(),
            timeout.as_secs_f64(),
        ),
        None,
    )
}

/// Sending the `what` request to `peer` failed with `e` (not a full queue,
/// which both backends retry).
pub(crate) fn send_failed(what: &str, peer: &str, e: io::Error) -> Error {
    let kind = match e.kind() {
        ErrorKind::ConnectionRefused | ErrorKind::NotConnected => ConnectionFailure::Refused,
        // Anything else, including a server socket gone since the open
        // (chronyd stopped): the open worked, the send did not.
        _ => ConnectionFailure::SendFailed,
    };
    Error::connection(
        kind,
        format!("sending the {what} request to chronyd at {peer} failed: {e}. Is chronyd running?"),
        Some(e),
    )
}

/// Receiving from `peer` failed with `e` (not a timeout or an interrupted
/// wait). `ECONNREFUSED` is a UDP peer's ICMP "port unreachable" for a
/// request: nothing listens there.
pub(crate) fn recv_failed(peer: &str, e: io::Error) -> Error {
    if e.kind() == ErrorKind::ConnectionRefused {
        Error::connection(
            ConnectionFailure::Refused,
            format!(
                "chronyd refused the request at {peer} (connection refused): nothing listens there. \
                 Is chronyd running, and is its command port enabled ('cmdport')?"
            ),
            Some(e),
        )
    } else {
        Error::connection(
            ConnectionFailure::RecvFailed,
            format!("receiving from chronyd at {peer} failed: {e}"),
            Some(e),
        )
    }
}

/// A call on a connection its owner closed.
pub(crate) fn closed(address: &str) -> Error {
    Error::connection(
        ConnectionFailure::Closed,
        format!("the connection to chronyd at {address} is closed; open a new one"),
        None,
    )
}

/// Auto-detect found no default address that could be opened; `tried`
/// names each with why, `note` says whose defaults they were (if not ours).
pub(crate) fn auto_detect_unreachable(tried: &[String], note: &str) -> Error {
    Error::connection(
        ConnectionFailure::Unreachable,
        format!(
            "Failed to connect to chronyd (auto-detect). Tried: {}. Is chronyd running?{note}",
            tried.join(", ")
        ),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_kind_and_code() {
        let kind_of = |kind, code| status_error("tracking", kind, code).map_err(|e| e.error_code());
        assert_eq!(kind_of(RequestKind::Report, status::SUCCESS), Ok(()));
        for (code, want) in [
            (1, 11),
            (2, 9),
            (3, 12),
            (4, 11),
            (6, 10),
            (13, 10),
            (17, 11),
        ] {
            assert_eq!(
                kind_of(RequestKind::Report, code),
                Err(Some(want)),
                "{code}"
            );
        }
        assert_eq!(kind_of(RequestKind::Report, 18), Err(Some(13)));
        assert_eq!(kind_of(RequestKind::Report, 19), Err(Some(13)));
        let rtc = status_error(
            "rtcdata",
            RequestKind::Optional(Facility::Rtc),
            status::NORTC,
        )
        .unwrap_err();
        assert!(
            rtc.to_string().starts_with("RTC tracking is unavailable"),
            "{rtc}"
        );
        assert!(
            rtc.to_string().contains("513 RTC driver not running"),
            "{rtc}"
        );
    }

    #[test]
    fn smoothing_not_enabled_names_smoothtime() {
        let e = status_error(
            "smoothing",
            RequestKind::Optional(Facility::Smoothing),
            status::NOTENABLED,
        )
        .unwrap_err();
        assert!(matches!(e, Error::NotAvailable { .. }), "{e:?}");
        assert!(e.to_string().contains("'smoothtime'"), "{e}");
        assert!(e.to_string().contains("505 Facility not enabled"), "{e}");
    }

    #[test]
    fn an_empty_reply_is_a_vanished_record_only_for_records() {
        let e = wrong_reply("sources", RequestKind::Record, 1, 3, true);
        assert!(matches!(
            e,
            Error::Data {
                kind: DataFailure::UnexpectedStatus(status::NOSUCHSOURCE),
                ..
            }
        ));
        let e = wrong_reply("tracking", RequestKind::Report, 1, 5, true);
        assert!(matches!(
            e,
            Error::Data {
                kind: DataFailure::NewServer,
                ..
            }
        ));
    }

    #[test]
    fn the_version_byte_tells_old_from_new() {
        for (theirs, want) in [(5, DataFailure::OldServer), (7, DataFailure::NewServer)] {
            let e = version_mismatch("tracking", theirs, 6, status::BADPKTVERSION);
            assert!(
                matches!(e, Error::Data { kind, .. } if kind == want),
                "{e:?}"
            );
            assert!(
                e.to_string()
                    .contains(&format!("protocol version {theirs}")),
                "{e}"
            );
        }
    }

    #[test]
    fn refused_sends_and_receives_are_refused() {
        let refused = || io::Error::from(ErrorKind::ConnectionRefused);
        for e in [
            send_failed("tracking", "127.0.0.1:323", refused()),
            recv_failed("127.0.0.1:323", refused()),
        ] {
            assert!(matches!(
                e,
                Error::Connection {
                    kind: ConnectionFailure::Refused,
                    ..
                }
            ));
        }
        let e = recv_failed("127.0.0.1:323", io::Error::from(ErrorKind::BrokenPipe));
        assert!(matches!(
            e,
            Error::Connection {
                kind: ConnectionFailure::RecvFailed,
                ..
            }
        ));
        assert!(closed("/run/chrony/chronyd.sock")
            .to_string()
            .contains("is closed; open a new one"));
    }
}
