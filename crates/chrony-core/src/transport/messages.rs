//! Errors of opening sockets, worded once: what failed, where, and the fix.

use std::fs;
use std::io::{self, ErrorKind};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use crate::error::{ConnectionFailure, Error};

pub(crate) fn conn_err(kind: ConnectionFailure, msg: String, e: io::Error) -> Error {
    Error::connection(kind, msg, Some(e))
}

pub(crate) fn permission_denied(what: &str, path: &Path, e: io::Error) -> Error {
    Error::Permission {
        message: format!(
            "permission denied {what} {}: chronyd's Unix socket is usable only by root and the \
             user chronyd runs as (the client must create its own socket in that directory). Run as \
             one of them, or use the UDP command port (e.g. address \"127.0.0.1\"), which serves \
             every monitoring report",
            path.display()
        ),
        source: Some(e),
    }
}

pub(crate) fn unix_connect_error(server: &Path, e: io::Error) -> Error {
    let shown = server.display();
    match e.kind() {
        ErrorKind::PermissionDenied => permission_denied("connecting to", server, e),
        ErrorKind::NotFound => conn_err(
            ConnectionFailure::Unreachable,
            format!(
                "no chronyd socket at {shown}: is chronyd running, and is this its command socket \
                 ('bindcmdaddress' in chrony.conf)?"
            ),
            e,
        ),
        _ => {
            let not_socket = fs::metadata(server).is_ok_and(|m| !m.file_type().is_socket());
            if not_socket {
                conn_err(
                    ConnectionFailure::Refused,
                    format!("{shown} is not a socket: give the path of chronyd's command socket"),
                    e,
                )
            } else {
                conn_err(
                    ConnectionFailure::Refused,
                    format!("chronyd's socket {shown} refused the connection ({e}): chronyd is not running there"),
                    e,
                )
            }
        }
    }
}

/// Auto-detect found no default address that could be opened.
pub(crate) fn auto_detect_unreachable(tried: &[String]) -> Error {
    Error::connection(
        ConnectionFailure::Unreachable,
        format!(
            "cannot connect to chronyd (auto-detect); tried {}. Is chronyd running?",
            tried.join(", ")
        ),
        None,
    )
}

/// Auto-detect's last candidate, `last`, refused the first request too.
pub(crate) fn auto_detect_refused(tried: &[String], last: &str) -> Error {
    Error::connection(
        ConnectionFailure::Refused,
        format!(
            "cannot reach chronyd (auto-detect); tried {}, {last} (refused). Is chronyd \
             running? Its Unix socket must be reachable by this user, or its UDP \
             command port enabled ('cmdport', default 323)",
            tried.join(", "),
        ),
        None,
    )
}
