//! One libchrony session on one socket: which address libchrony is given,
//! opening it (`chrony_open_socket`, `chrony_init_session`), issuing a
//! request, waiting for and peeking at a reply, letting libchrony process
//! it, and closing (only in the process that opened it).

use std::ffi::{c_int, CString};
use std::io::{self, ErrorKind};
use std::ptr::NonNull;
use std::time::Duration;

use libchrony_sys as raw;

use super::errors::{library_error, open_error};
use crate::address::Endpoint;
use crate::error::{ConnectionFailure, Error, Result};
use crate::options::TransportKind;
use crate::outcome::SEND_SLICE;
use crate::protocol::reply::{parse_header, ReplyHeader};
use crate::protocol::request::{LibchronyAsk, Request};

/// The addresses libchrony 0.2 tries, in this order, when given none. They
/// are tried one by one here so that the one in use is known.
pub const DEFAULT_ADDRESSES: [&str; 3] =
    ["/var/run/chrony/chronyd.sock", "127.0.0.1:323", "[::1]:323"];

/// The text handed to `chrony_open_socket` for an address, and its kind.
/// Validated by [`Endpoint::parse`]; host names are refused because libchrony
/// does not resolve them.
pub(super) fn libchrony_address(text: &str) -> Result<(String, TransportKind)> {
    match Endpoint::parse(text)? {
        Endpoint::Unix(path) => Ok((path.display().to_string(), TransportKind::UnixSocket)),
        // SocketAddr prints `192.0.2.1:323` and `[2001:db8::1]:323`, the two
        // forms libchrony splits correctly.
        Endpoint::Udp(addr) => Ok((addr.to_string(), TransportKind::CommandPort)),
        Endpoint::Host { host, .. } => Err(Error::invalid_argument(format!(
            "invalid chronyd address {text:?} for the libchrony backend: {host:?} is a host name, and \
             libchrony (chrony_open_socket) takes only a Unix socket path or an IP address; give the \
             IP address, or use the native backend, which resolves names"
        ))),
    }
}

pub(super) fn kind_of(text: &str) -> TransportKind {
    if text.starts_with('/') {
        TransportKind::UnixSocket
    } else {
        TransportKind::CommandPort
    }
}

/// One libchrony session on one socket.
pub(super) struct Session {
    pub(super) lib: &'static raw::Library,
    pub(super) ptr: NonNull<raw::chrony_session>,
    fd: c_int,
    /// The process that opened the socket; only it removes the client socket.
    pub(super) pid: u32,
}

// SAFETY: a session is heap memory plus a socket, with no thread affinity;
// LibchronyClient uses it from one thread at a time (its Gate), and the one
// piece of state libchrony shares between sessions (the string buffer) is
// guarded by the field lock (fields.rs).
unsafe impl Send for Session {}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from chrony_init_session and is freed only here.
        unsafe { (self.lib.chrony_deinit_session)(self.ptr.as_ptr()) };
        if self.pid == std::process::id() {
            // SAFETY: `fd` came from chrony_open_socket and is closed only
            // here; this also removes the client socket and its directories.
            unsafe { (self.lib.chrony_close_socket)(self.fd) };
        } else {
            // SAFETY: as above, but in a forked child: close our copy of the
            // descriptor without removing the parent's client socket.
            unsafe { libc::close(self.fd) };
        }
    }
}

impl Session {
    /// Opens a socket with `chrony_open_socket(text)` and a session on it.
    /// `shown` names the address in messages.
    pub(super) fn open(lib: &'static raw::Library, text: &str, shown: &str) -> Result<Session> {
        let c_text = CString::new(text).map_err(|_| {
            Error::invalid_argument(format!(
                "invalid chronyd address {shown:?}: it contains a NUL byte"
            ))
        })?;
        // SAFETY: c_text is a valid NUL-terminated string that outlives the call.
        let fd = unsafe { (lib.chrony_open_socket)(c_text.as_ptr()) };
        if fd < 0 {
            return Err(open_error(text, shown, io::Error::last_os_error()));
        }
        let mut ptr = std::ptr::null_mut();
        // SAFETY: `ptr` is a valid out-pointer and `fd` an open socket from
        // chrony_open_socket.
        let code = unsafe { (lib.chrony_init_session)(&raw mut ptr, fd) };
        let Some(ptr) = NonNull::new(ptr).filter(|_| code == raw::CHRONY_OK) else {
            // SAFETY: the socket is ours and not used after this.
            unsafe { (lib.chrony_close_socket)(fd) };
            return Err(library_error(lib, "to start a session", code));
        };
        let session = Session {
            lib,
            ptr,
            fd,
            pid: std::process::id(),
        };
        session.set_send_timeout(shown)?;
        Ok(session)
    }

    /// libchrony's socket blocks on send when chronyd's queue is full (a
    /// stopped chronyd on the Unix socket); a send timeout keeps that within
    /// the call's deadline.
    fn set_send_timeout(&self, shown: &str) -> Result<()> {
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: SEND_SLICE.as_micros() as libc::suseconds_t,
        };
        // SAFETY: `tv` is a valid timeval and the length given is its size;
        // `fd` is the session's open socket.
        let r = unsafe {
            libc::setsockopt(
                self.fd,
                libc::SOL_SOCKET,
                libc::SO_SNDTIMEO,
                std::ptr::addr_of!(tv).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            let e = io::Error::last_os_error();
            Err(Error::connection(
                ConnectionFailure::SendFailed,
                format!("cannot configure libchrony's socket to chronyd at {shown}: {e}"),
                Some(e),
            ))
        }
    }

    pub(super) fn issue(&self, req: &Request) -> raw::chrony_err {
        match req.libchrony() {
            // SAFETY: the session is live and the name a static C string.
            Some(LibchronyAsk::Count(report)) => unsafe {
                (self.lib.chrony_request_report_number_records)(self.ptr.as_ptr(), report.as_ptr())
            },
            Some(LibchronyAsk::Record(report, record)) => {
                // The index is at most MAX_SOURCES, far below c_int::MAX.
                let record = c_int::try_from(record).unwrap_or(c_int::MAX);
                // SAFETY: the session is live and the name a static C string.
                unsafe {
                    (self.lib.chrony_request_record)(self.ptr.as_ptr(), report.as_ptr(), record)
                }
            }
            // The callers check `libchrony()` first (see `unsupported`).
            None => raw::CHRONY_UNKNOWN_REPORT,
        }
    }

    pub(super) fn needs_response(&self) -> bool {
        // SAFETY: the session is live.
        unsafe { (self.lib.chrony_needs_response)(self.ptr.as_ptr()) }
    }

    pub(super) fn process_response(&self) -> raw::chrony_err {
        // SAFETY: the session is live, and the caller has just seen a datagram
        // queued on the socket, so libchrony's blocking recv returns at once.
        unsafe { (self.lib.chrony_process_response)(self.ptr.as_ptr()) }
    }

    /// The number of fields of the record libchrony last accepted (0 for
    /// the empty record it gives for a reference clock's ntpdata/authdata).
    pub(super) fn field_count(&self) -> c_int {
        // SAFETY: the session is live.
        unsafe { (self.lib.chrony_get_record_number_fields)(self.ptr.as_ptr()) }
    }

    pub(super) fn record_count(&self) -> c_int {
        // SAFETY: the session is live.
        unsafe { (self.lib.chrony_get_report_number_records)(self.ptr.as_ptr()) }
    }

    /// Waits until the socket is readable, at most `timeout`.
    pub(super) fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // Round up: a wait rounded down to 0 ms would spin.
        let ms = c_int::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(c_int::MAX);
        // SAFETY: `pfd` is one valid pollfd and nfds is 1.
        let r = unsafe { libc::poll(&raw mut pfd, 1, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            };
        }
        // POLLERR/POLLHUP count as readable: the peek then reports the error.
        Ok(r > 0)
    }

    /// Looks at the next datagram without taking it. `Ok(None)`: it cannot
    /// be a reply (libchrony will ignore it too).
    pub(super) fn peek(&self) -> io::Result<Option<ReplyHeader>> {
        let mut buf = [0u8; 64];
        // SAFETY: `buf` is a live writable buffer of the length given; recv
        // writes at most that many bytes. MSG_PEEK leaves the datagram queued
        // for libchrony and MSG_DONTWAIT never blocks.
        let n = unsafe {
            libc::recv(
                self.fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        match usize::try_from(n) {
            Ok(n) => Ok(parse_header(&buf[..n.min(buf.len())])),
            Err(_) => Err(io::Error::last_os_error()),
        }
    }

    /// Opens the first of libchrony's defaults that opens.
    pub(super) fn open_default(lib: &'static raw::Library) -> Result<(Session, &'static str)> {
        let mut tried = Vec::new();
        for candidate in DEFAULT_ADDRESSES {
            match Session::open(lib, candidate, candidate) {
                Ok(s) => return Ok((s, candidate)),
                Err(e) => {
                    // The OS's reason is enough here: the full message would
                    // repeat "Failed to connect to ..." for every candidate.
                    let reason = match &e {
                        Error::Permission { .. } => "permission denied".to_owned(),
                        Error::Connection {
                            source: Some(io), ..
                        } => io.to_string(),
                        other => other.to_string(),
                    };
                    tried.push(format!("{candidate} ({reason})"));
                }
            }
        }
        Err(crate::outcome::auto_detect_unreachable(
            &tried,
            " (libchrony backend: libchrony's own default addresses)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_validated_and_canonical() {
        assert_eq!(
            libchrony_address("/run/chrony/chronyd.sock").unwrap(),
            ("/run/chrony/chronyd.sock".into(), TransportKind::UnixSocket)
        );
        assert_eq!(
            libchrony_address("127.0.0.1").unwrap(),
            ("127.0.0.1:323".into(), TransportKind::CommandPort)
        );
        assert_eq!(
            libchrony_address("::1").unwrap().0,
            "[::1]:323",
            "libchrony needs brackets to take a port"
        );
        assert_eq!(libchrony_address("[::1]").unwrap().0, "[::1]:323");
        // libchrony's atoi would wrap 70000 to 4464 and read "x" as 0.
        for bad in ["127.0.0.1:70000", "127.0.0.1:x", "127.0.0.1:0", ""] {
            assert_eq!(
                libchrony_address(bad).unwrap_err().error_code(),
                Some(7),
                "{bad:?}"
            );
        }
        let e = libchrony_address("localhost").unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }));
        assert!(e.to_string().contains("host name"), "{e}");
    }
}
