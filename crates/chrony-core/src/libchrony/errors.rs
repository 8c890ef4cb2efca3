//! libchrony's errors in this crate's terms: its `chrony_err` codes, a
//! failed `chrony_open_socket`, and a reply it refused, completed by the
//! reply's peeked header so that errors have the native backend's kinds,
//! codes and words (through [`crate::outcome`]).

use std::ffi::CStr;
use std::io;
use std::path::Path;

use libchrony_sys as raw;

use crate::address::MAX_SOCKET_PATH;
use crate::error::{ConnectionFailure, Error};
use crate::outcome;
use crate::protocol::reply::{status, ReplyHeader};
use crate::protocol::request::{rpy, Request};
use crate::protocol::PROTO_VERSION;

/// libchrony returned `code` while doing `what` ("to start a session").
pub(super) fn library_error(lib: &raw::Library, what: &str, code: raw::chrony_err) -> Error {
    Error::Library {
        message: format!(
            "libchrony ({}) failed {what}: {} (chrony_err {code})",
            lib.path(),
            error_string(lib, code)
        ),
        code: i32::try_from(code).ok(),
    }
}

/// libchrony's own text for `code`.
pub(super) fn error_string(lib: &raw::Library, code: raw::chrony_err) -> String {
    // SAFETY: chrony_get_error_string accepts any value and returns a pointer
    // to a static NUL-terminated string ("Unknown error" when out of range).
    let text = unsafe { (lib.chrony_get_error_string)(code) };
    if text.is_null() {
        return "unknown error".into();
    }
    // SAFETY: non-null, static and NUL-terminated (see above).
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

/// A reply in another protocol version: the server's own version byte tells
/// whether it is older or newer (as in the native backend).
pub(super) fn version_error(req: &Request, h: ReplyHeader) -> Error {
    outcome::version_mismatch(req.name(), h.version, PROTO_VERSION, h.status)
}

/// The error for a failed `chrony_open_socket`, by `errno`: worded as the
/// native backend's (pychrony 2.0.3's "Failed to connect to ..." first, our
/// hint after), with the same kinds and codes.
pub(super) fn open_error(text: &str, shown: &str, e: io::Error) -> Error {
    use crate::transport::messages;
    let unix = text.starts_with('/');
    if e.raw_os_error() == Some(libc::EINVAL) {
        if unix {
            let dir = Path::new(text)
                .parent()
                .map_or_else(String::new, |d| d.display().to_string());
            return Error::invalid_argument(format!(
                "libchrony cannot use the Unix socket path {shown} ({e}): the socket must be in a \
                 directory other than /, and the client socket libchrony creates beside it, \
                 {dir}/libchrony.XXXXXXXXXXXX/XXXXXXXXXXXXXXXX/sock, must fit in {MAX_SOCKET_PATH} bytes"
            ));
        }
        return Error::invalid_argument(format!(
            "libchrony rejected the chronyd address {shown:?} ({e}): expected an IP address, \
             optionally with a port (192.0.2.1:323, [2001:db8::1]:323)"
        ));
    }
    if unix {
        // Same wording as the native backend's connect errors.
        messages::unix_connect_error(Path::new(shown), e)
    } else {
        Error::connection(
            ConnectionFailure::Unreachable,
            format!(
                "{} Cannot open libchrony's socket to chronyd's command port: {e}",
                messages::failed_to_connect(shown)
            ),
            Some(e),
        )
    }
}

/// The error for a libchrony error code returned while processing a
/// reply, completed by the reply's header (peeked before libchrony read
/// it): libchrony's codes are coarser than chronyd's statuses, so the
/// status decides, through the status table both backends share. Without a
/// header (none could be peeked) the code stands for a typical status.
pub(super) fn reply_error(
    lib: &raw::Library,
    address: &str,
    req: &Request,
    code: raw::chrony_err,
    header: Option<ReplyHeader>,
    os_error: io::Error,
) -> Error {
    let name = req.name();
    let kind = req.kind();
    let typical = match code {
        raw::CHRONY_UNAUTHORIZED => status::UNAUTH,
        raw::CHRONY_DISABLED => status::NOTENABLED,
        raw::CHRONY_OLD_SERVER => status::INVALID,
        raw::CHRONY_NEW_SERVER => status::BADPKTVERSION,
        // Not a status the table knows: "unexpected" whatever it was.
        raw::CHRONY_UNEXPECTED_STATUS => u16::MAX,
        raw::CHRONY_INVALID_RESPONSE => {
            return Error::invalid_reply(format!(
                "{name} reply from chronyd at {address} is truncated (libchrony: {})",
                error_string(lib, code)
            ))
        }
        raw::CHRONY_RECV_FAILED => return outcome::recv_failed(address, os_error),
        other => return library_error(lib, &format!("to process the {name} reply"), other),
    };
    let status = header.map_or(typical, |h| h.status);
    match (outcome::status_error(name, kind, status), header) {
        (Err(e), _) => e,
        // Status SUCCESS, yet libchrony refused the reply: its reply
        // code is not the one libchrony expects.
        (Ok(()), Some(h)) if code == raw::CHRONY_NEW_SERVER => outcome::wrong_reply(
            name,
            kind,
            h.reply,
            req.replies().first().map_or(0, |l| l.reply),
            h.reply == rpy::NULL,
        ),
        (Ok(()), _) => library_error(lib, &format!("to process the {name} reply"), code),
    }
}
