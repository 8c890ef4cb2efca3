//! Errors of opening sockets, worded once: what failed, where, and the fix.

use std::fs;
use std::io::{self, ErrorKind};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use crate::error::{ConnectionFailure, Error};

pub(crate) fn conn_err(kind: ConnectionFailure, msg: String, e: io::Error) -> Error {
    Error::connection(kind, msg, Some(e))
}

/// The start of every message about a socket that cannot be opened: the
/// words pychrony 2.0.3 uses, so code matching on them keeps working. Our
/// hint follows.
pub(crate) fn failed_to_connect(shown: impl std::fmt::Display) -> String {
    format!("Failed to connect to {shown}. Is chronyd running?")
}

pub(crate) fn permission_denied(what: &str, path: &Path, e: io::Error) -> Error {
    Error::Permission {
        // "Permission denied connecting to <path>." is pychrony 2.0.3's start.
        message: format!(
            "Permission denied {what} {}. chronyd's Unix socket is usable only by root and the \
             user chronyd runs as (the client must create its own socket in that directory). Run as \
             one of them, or use the UDP command port (e.g. address \"127.0.0.1\"), which serves \
             every monitoring report",
            path.display()
        ),
        source: Some(e),
    }
}

/// Connecting to the server socket failed: every case is a connection that
/// could not be opened (code -1), told apart by the hint.
pub(crate) fn unix_connect_error(server: &Path, e: io::Error) -> Error {
    let shown = server.display();
    let start = failed_to_connect(&shown);
    let hint = match e.kind() {
        ErrorKind::PermissionDenied => return permission_denied("connecting to", server, e),
        ErrorKind::NotFound => format!(
            "No socket exists at {shown}: give chronyd's command socket ('bindcmdaddress' in \
             chrony.conf)"
        ),
        _ if fs::metadata(server).is_ok_and(|m| !m.file_type().is_socket()) => {
            format!("{shown} is not a socket: give the path of chronyd's command socket")
        }
        ErrorKind::ConnectionRefused => format!(
            "The socket exists but nothing listens on it ({e}): chronyd has stopped, or uses \
             another socket"
        ),
        _ => format!("Connecting to the socket failed: {e}"),
    };
    conn_err(ConnectionFailure::Unreachable, format!("{start} {hint}"), e)
}

/// Auto-detect's last candidate, `last`, refused the first request too.
pub(crate) fn auto_detect_refused(tried: &[String], last: &str) -> Error {
    Error::connection(
        ConnectionFailure::Refused,
        format!(
            "Failed to connect to chronyd (auto-detect): chronyd did not respond on any default \
             address. Tried: {}, {last} (refused). Is chronyd running? Its Unix socket must be \
             reachable by this user, or its UDP command port enabled ('cmdport', default 323)",
            tried.join(", "),
        ),
        None,
    )
}
