//! The libchrony backend: the same four reports as [`crate::Client`], read
//! through chrony's C client library instead of the native codec.
//!
//! libchrony is loaded at run time by `libchrony-sys` (`LIBCHRONY_PATH`, else
//! `libchrony.so.0` / `libchrony.so`); when it cannot be loaded,
//! [`LibchronyClient::connect`] returns [`Error::Library`] saying what to
//! install.
//!
//! libchrony sends a request and decodes the reply, nothing more: it has no
//! timeout, never resends, and its receive blocks. This module adds what the
//! native backend does around it: before each `chrony_process_response` it
//! polls the socket with the native deadlines (`timeout`, doubled per resend,
//! `retries` resends, the whole call within `timeout × (2^(retries+1) − 1)`),
//! checks the interrupt callback at least every 50 ms, and resends by issuing
//! the request again (libchrony then picks a new sequence number and ignores
//! late replies to the old one).
//!
//! Before libchrony reads a datagram, the backend peeks at its header: a
//! socket error is then reported here (a `recv` in libchrony would clear it
//! and block), and the reply's status completes libchrony's coarser error
//! codes (which status was "unexpected", "no such source" vs. other
//! statuses), so that errors have the native kinds and codes.
//!
//! Values are read by libchrony's field names (CMDMON.md §6) into the types of
//! [`crate::report`], correcting libchrony 0.1/0.2's known defects:
//!
//! * sources `poll` comes back without sign extension (65530 for −6):
//!   [`poll_from_libchrony`] restores the sign;
//! * a Timespec's high word 0x7FFFFFFF (a server with 32-bit `time_t`) is
//!   taken as seconds and nanoseconds are not clamped:
//!   [`timespec_from_libchrony`] applies chronyd's rules;
//! * string fields share one static buffer across all sessions: field reads
//!   are serialised process-wide and each string is copied at once;
//! * addresses come back as text ([`address_from_libchrony`] parses them
//!   back; `?`, libchrony's text for an unknown family, is UNSPEC as in
//!   chronyd), and a reference clock's `sources` record carries a
//!   `reference ID` instead of an `address`, which becomes the IPv4 form the
//!   native backend reports;
//! * a reply in another protocol version is ignored, so the call would time
//!   out: seen in the peeked header, it gives the native "old server" /
//!   "new server" error;
//! * status 4 (no such source) is only `CHRONY_UNEXPECTED_STATUS`, and a
//!   post-4.8 chronyd's RPY_NULL for a vanished source `CHRONY_NEW_SERVER`:
//!   with the peeked status both restart the list from a fresh count, as the
//!   native backend does;
//! * `chrony_open_socket` parses ports with `atoi` (`:70000` wraps to 4464,
//!   `:x` means port 0): addresses are validated with
//!   [`Endpoint::parse`] first and passed on in canonical form.
//!
//! Differences that remain: host names are not accepted (libchrony takes IP
//! addresses only); without an address the defaults are libchrony's own
//! (`/var/run/chrony/chronyd.sock`, `127.0.0.1:323`, `[::1]:323`, the first
//! that opens wins);
//! requests are sent one at a time, never pipelined.
//!
//! On a Unix socket libchrony 0.2 binds its client socket at
//! `<server dir>/libchrony.<12 random>/<16 random>/sock`. The socket and its
//! directories are removed by `chrony_close_socket`, which
//! [`LibchronyClient::close`] and drop call (only in the process that opened
//! it: a forked child closes its copy of the descriptor and leaves the
//! parent's socket in place).

use std::ffi::{c_int, CStr, CString};
use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use libchrony_sys as raw;

use crate::address::{Endpoint, MAX_SOCKET_PATH};
use crate::error::{ConnectionFailure, DataFailure, Error, Result};
use crate::gate::{Closable, Gate, ProcessGuard, ProcessLock};
use crate::options::{ClientOptions, TransportKind};
use crate::outcome::{self, INTERRUPT_SLICE, SEND_SLICE};
use crate::protocol::reply::{is_no_such_source, parse_header, request_kind, status, ReplyHeader};
use crate::protocol::request::{rpy, Request};
use crate::protocol::wire::{IpAddr, Timespec};
use crate::protocol::PROTO_VERSION;
use crate::report::{RtcData, Source, SourceStats, Tracking};

/// How often a multi-record report is read again from a fresh count when the
/// source list changes under it (as in the native backend).
const SOURCE_LIST_ATTEMPTS: u32 = 4;
/// More sources than this in an N_SOURCES reply is garbage, not a list.
const MAX_SOURCES: u32 = 65_536;

/// The addresses libchrony 0.2 tries, in this order, when given none. They
/// are tried one by one here so that the one in use is known.
pub const DEFAULT_ADDRESSES: [&str; 3] =
    ["/var/run/chrony/chronyd.sock", "127.0.0.1:323", "[::1]:323"];

/// libchrony 0.1/0.2 format address fields into one static buffer shared by
/// every session: field reads of all sessions take this lock.
static FIELD_LOCK: ProcessLock = ProcessLock::new();

/// Restores the sign of the sources `poll` field, which libchrony 0.1/0.2
/// return as the unsigned 16-bit wire value (65530 for −6). Values already
/// negative (a fixed libchrony) pass unchanged; anything outside the 16-bit
/// range is not a poll value.
#[must_use]
pub fn poll_from_libchrony(value: i64) -> Option<i16> {
    if (i64::from(i16::MIN)..=i64::from(u16::MAX)).contains(&value) {
        Some(value as u16 as i16)
    } else {
        None
    }
}

/// Applies chronyd's Timespec rules that libchrony 0.1/0.2 skip: a high word
/// of 0x7FFFFFFF marks a server with 32-bit `time_t` (high part zero), and
/// nanoseconds are clamped to 999 999 999.
#[must_use]
pub fn timespec_from_libchrony(ts: raw::timespec) -> Timespec {
    // libchrony builds tv_sec as `high << 32 | low`; reinterpreting the bits
    // gives the two wire words back. A 32-bit `long` kept only the low word.
    // (`c_long` is i64 here but i32 on 32-bit targets: the conversion is
    // needed there.)
    #[allow(clippy::useless_conversion)]
    let secs = i64::from(ts.tv_sec) as u64;
    let high = if std::mem::size_of_val(&ts.tv_sec) < 8 {
        0
    } else {
        (secs >> 32) as u32
    };
    let nanos = u32::try_from(ts.tv_nsec).unwrap_or(if ts.tv_nsec < 0 { 0 } else { u32::MAX });
    Timespec::from_words(high, secs as u32, nanos)
}

/// Parses libchrony's text for an address field back into an [`IpAddr`]:
/// no text (UNSPEC) and `?` (an unknown family) are UNSPEC, `ID#nnnnnnnnnn`
/// is an unresolved source, otherwise an IPv4 or IPv6 address. `None` for
/// anything else.
#[must_use]
pub fn address_from_libchrony(text: Option<&str>) -> Option<IpAddr> {
    let Some(text) = text else {
        return Some(IpAddr::Unspec);
    };
    if text == "?" {
        return Some(IpAddr::Unspec);
    }
    if let Some(id) = text.strip_prefix("ID#") {
        return if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            id.parse().ok().map(IpAddr::Id)
        } else {
            None
        };
    }
    if let Ok(a) = text.parse::<Ipv4Addr>() {
        return Some(IpAddr::V4(a));
    }
    text.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// The text handed to `chrony_open_socket` for an address, and its kind.
/// Validated by [`Endpoint::parse`]; host names are refused because libchrony
/// does not resolve them.
fn libchrony_address(text: &str) -> Result<(String, TransportKind)> {
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

fn kind_of(text: &str) -> TransportKind {
    if text.starts_with('/') {
        TransportKind::UnixSocket
    } else {
        TransportKind::CommandPort
    }
}

fn library_error(lib: &raw::Library, what: &str, code: raw::chrony_err) -> Error {
    Error::Library {
        message: format!(
            "libchrony ({}) failed {what}: {} (chrony_err {code})",
            lib.path(),
            error_string(lib, code)
        ),
        code: i32::try_from(code).ok(),
    }
}

fn error_string(lib: &raw::Library, code: raw::chrony_err) -> String {
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

/// One libchrony session on one socket.
struct Session {
    lib: &'static raw::Library,
    ptr: NonNull<raw::chrony_session>,
    fd: c_int,
    /// The process that opened the socket; only it removes the client socket.
    pid: u32,
}

// SAFETY: a session is heap memory plus a socket, with no thread affinity;
// LibchronyClient uses it from one thread at a time (its Gate), and the one
// piece of state libchrony shares between sessions (the string buffer) is
// guarded by FIELD_LOCK.
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
    fn open(lib: &'static raw::Library, text: &str, shown: &str) -> Result<Session> {
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

    fn issue(&self, req: Request) -> raw::chrony_err {
        // Report names as NUL-terminated bytes (libchrony's names, CMDMON.md §6).
        let (report, record): (&[u8], u32) = match req {
            Request::Tracking => (b"tracking\0", 0),
            Request::NSources => {
                // SAFETY: the session is live and the name NUL-terminated and
                // static.
                return unsafe {
                    (self.lib.chrony_request_report_number_records)(
                        self.ptr.as_ptr(),
                        c"sources".as_ptr(),
                    )
                };
            }
            Request::SourceData(i) => (b"sources\0", i),
            Request::SourceStats(i) => (b"sourcestats\0", i),
            Request::RtcReport => (b"rtcdata\0", 0),
        };
        // The index is at most MAX_SOURCES, far below c_int::MAX.
        let record = c_int::try_from(record).unwrap_or(c_int::MAX);
        // SAFETY: the session is live and the name NUL-terminated and static.
        unsafe {
            (self.lib.chrony_request_record)(self.ptr.as_ptr(), report.as_ptr().cast(), record)
        }
    }

    fn needs_response(&self) -> bool {
        // SAFETY: the session is live.
        unsafe { (self.lib.chrony_needs_response)(self.ptr.as_ptr()) }
    }

    fn process_response(&self) -> raw::chrony_err {
        // SAFETY: the session is live, and the caller has just seen a datagram
        // queued on the socket, so libchrony's blocking recv returns at once.
        unsafe { (self.lib.chrony_process_response)(self.ptr.as_ptr()) }
    }

    fn record_count(&self) -> c_int {
        // SAFETY: the session is live.
        unsafe { (self.lib.chrony_get_report_number_records)(self.ptr.as_ptr()) }
    }

    /// Waits until the socket is readable, at most `timeout`.
    fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
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
    fn peek(&self) -> io::Result<Option<ReplyHeader>> {
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
}

/// A reply in another protocol version: the server's own version byte tells
/// whether it is older or newer (as in the native backend).
fn version_error(req: Request, h: ReplyHeader) -> Error {
    outcome::version_mismatch(req.name(), h.version, PROTO_VERSION, h.status)
}

/// The error for a failed `chrony_open_socket`, by `errno`: worded as the
/// native backend's (pychrony 2.0.3's "Failed to connect to ..." first, our
/// hint after), with the same kinds and codes.
fn open_error(text: &str, shown: &str, e: io::Error) -> Error {
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

/// A libchrony session, or none until one is opened in this process.
struct Slot(Option<Session>);

impl Closable for Slot {
    fn close(&mut self) {
        self.0 = None;
    }
}

/// A connection to chronyd through libchrony. Safe to share between
/// threads: calls are serialised on an internal lock.
pub struct LibchronyClient {
    lib: &'static raw::Library,
    /// The session, lent to one call at a time; `None` until (re)opened.
    session: Gate<Slot>,
    /// What `chrony_open_socket` gets (canonical form).
    open_text: String,
    /// What `address()` reports: the address given, or the default that won.
    address: String,
    kind: TransportKind,
    options: ClientOptions,
}

impl std::fmt::Debug for LibchronyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibchronyClient")
            .field("address", &self.address)
            .field("kind", &self.kind)
            .field("library", &self.lib.path())
            .field("open", &self.is_open())
            .finish_non_exhaustive()
    }
}

impl LibchronyClient {
    /// Loads libchrony (once per process) and connects to chronyd at
    /// `address`: `/path/to/unix.sock`, `192.0.2.1`, `192.0.2.1:323`,
    /// `2001:db8::1`, `[2001:db8::1]:323` (the forms of
    /// `chrony_open_socket`; no host names). With `None`, libchrony's
    /// defaults in its order: `/var/run/chrony/chronyd.sock`, then UDP
    /// `127.0.0.1:323`, then `[::1]:323`; the first that opens wins.
    pub fn connect(address: Option<&str>, options: ClientOptions) -> Result<Self> {
        Self::connect_with(raw::Library::get(), address, options)
    }

    fn connect_with(
        lib: std::result::Result<&'static raw::Library, raw::LoadError>,
        address: Option<&str>,
        options: ClientOptions,
    ) -> Result<Self> {
        let lib = lib.map_err(|e| Error::Library {
            message: format!("the libchrony backend is unavailable: {e}"),
            code: None,
        })?;
        let (session, open_text, address, kind) = if let Some(text) = address {
            let (open_text, kind) = libchrony_address(text)?;
            let session = Session::open(lib, &open_text, text)?;
            (session, open_text, text.to_owned(), kind)
        } else {
            let (session, text) = Self::open_default(lib)?;
            (session, text.to_owned(), text.to_owned(), kind_of(text))
        };
        Ok(LibchronyClient {
            lib,
            session: Gate::new(Slot(Some(session)), || Slot(None)),
            open_text,
            address,
            kind,
            options,
        })
    }

    /// Opens the first of libchrony's defaults that opens.
    fn open_default(lib: &'static raw::Library) -> Result<(Session, &'static str)> {
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
        // pychrony 2.0.3's words first, as for the native backend.
        Err(Error::connection(
            ConnectionFailure::Unreachable,
            format!(
                "Failed to connect to chronyd (auto-detect). Tried: {}. Is chronyd running? \
                 (libchrony backend: libchrony's own default addresses)",
                tried.join(", ")
            ),
            None,
        ))
    }

    /// The address in use: the one given, or the default that opened.
    #[must_use]
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// The kind of socket in use.
    #[must_use]
    pub fn transport_kind(&self) -> TransportKind {
        self.kind
    }

    /// True until [`LibchronyClient::close`].
    #[must_use]
    pub fn is_open(&self) -> bool {
        !self.session.is_closed()
    }

    /// Ends the session and closes the socket with `chrony_close_socket`,
    /// which removes libchrony's client socket and directories. Idempotent,
    /// and never waits: a call in progress closes it when it ends.
    pub fn close(&self) {
        self.session.close();
    }

    /// Runs one report read on the session, with the call's deadline, which
    /// starts before the wait for other calls on this connection (the rule
    /// of both backends).
    fn call<T>(
        &self,
        interrupt: &dyn Fn() -> bool,
        read: impl FnOnce(&mut Call<'_>) -> Result<T>,
    ) -> Result<T> {
        let policy = self.options.policy();
        let mut slot = self
            .session
            .acquire(policy.started, policy.deadline, interrupt)?;
        if slot.closed() {
            return Err(outcome::closed(&self.address));
        }
        // A forked child (or a fresh state) opens a session of its own: the
        // parent's socket stays the parent's.
        if slot.0.as_ref().is_none_or(|s| s.pid != std::process::id()) {
            slot.0 = None;
            slot.0 = Some(Session::open(self.lib, &self.open_text, &self.address)?);
        }
        let Some(session) = slot.0.as_mut() else {
            return Err(Error::Library {
                message: "internal error: no libchrony session".into(),
                code: None,
            });
        };
        let mut call = Call {
            client: self,
            session,
            started: policy.started,
            deadline: policy.deadline,
            interrupt,
            last_check: Instant::now(),
        };
        read(&mut call)
    }

    /// TRACKING (`chronyc tracking`), stopping with [`Error::Interrupted`]
    /// when `interrupt` returns true (it is polled at least every 50 ms).
    pub fn tracking_interruptible(&self, interrupt: &dyn Fn() -> bool) -> Result<Tracking> {
        self.call(interrupt, |c| {
            c.exchange(Request::Tracking)?;
            read_tracking(&c.fields("tracking"))
        })
    }

    /// N_SOURCES then SOURCE_DATA for every index (`chronyc sources`).
    pub fn sources_interruptible(&self, interrupt: &dyn Fn() -> bool) -> Result<Vec<Source>> {
        self.call(interrupt, |c| {
            c.records(Request::SourceData, "sources", read_source)
        })
    }

    /// N_SOURCES then SOURCESTATS for every index (`chronyc sourcestats`).
    pub fn source_stats_interruptible(
        &self,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Vec<SourceStats>> {
        self.call(interrupt, |c| {
            c.records(Request::SourceStats, "sourcestats", read_sourcestats)
        })
    }

    /// RTCREPORT (`chronyc rtcdata`). [`Error::NotAvailable`] when chronyd
    /// does not track the RTC.
    pub fn rtc_data_interruptible(&self, interrupt: &dyn Fn() -> bool) -> Result<RtcData> {
        self.call(interrupt, |c| {
            c.exchange(Request::RtcReport)?;
            read_rtc(&c.fields("rtcdata"))
        })
    }
}

/// One report read in progress: the session, the deadline, the interrupt.
struct Call<'a> {
    client: &'a LibchronyClient,
    session: &'a mut Session,
    started: Instant,
    deadline: Instant,
    interrupt: &'a dyn Fn() -> bool,
    last_check: Instant,
}

impl Call<'_> {
    /// Sends `req` and waits until libchrony has accepted its reply, resending
    /// on the doubling timeout, within the call's deadline.
    fn exchange(&mut self, req: Request) -> Result<()> {
        let options = self.client.options;
        let mut attempt: u32 = 0;
        let mut reopened = false;
        loop {
            let code = self.session.issue(req);
            if code != raw::CHRONY_OK {
                let e = io::Error::last_os_error();
                match (code, e.kind()) {
                    // The queue is full (chronyd stopped): count the request
                    // as sent and lost; it is resent when its wait is over.
                    (
                        raw::CHRONY_SEND_FAILED,
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted,
                    ) => {}
                    // chronyd restarted: the socket still points at the old
                    // server socket. libchrony cannot reconnect it, so open a
                    // fresh session on the same path, once per call.
                    (
                        raw::CHRONY_SEND_FAILED,
                        ErrorKind::ConnectionRefused | ErrorKind::NotConnected,
                    ) if !reopened && self.client.kind == TransportKind::UnixSocket => {
                        reopened = true;
                        *self.session = Session::open(
                            self.client.lib,
                            &self.client.open_text,
                            &self.client.address,
                        )?;
                        continue;
                    }
                    (raw::CHRONY_SEND_FAILED, _) => return Err(self.send_error(req, e)),
                    _ => {
                        return Err(library_error(
                            self.client.lib,
                            &format!("to send the {} request", req.name()),
                            code,
                        ))
                    }
                }
            } else if !self.session.needs_response() {
                return Ok(());
            }
            let sent = code == raw::CHRONY_OK;
            let wait = options
                .timeout
                .checked_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
                .unwrap_or(Duration::MAX);
            let expires = Instant::now()
                .checked_add(wait)
                .map_or(self.deadline, |t| t.min(self.deadline));
            if self.await_reply(req, expires, sent)? {
                return Ok(());
            }
            if attempt >= options.retries || Instant::now() >= self.deadline {
                return Err(self.timed_out(req));
            }
            attempt += 1;
        }
    }

    /// Waits for the reply until `expires`: `Ok(true)` when libchrony accepted
    /// it, `Ok(false)` when the wait is over. When the request could not be
    /// sent (`sent` false), libchrony awaits nothing and must not be asked to
    /// process a datagram: the wait only sleeps (late replies to an earlier
    /// attempt stay queued, and libchrony ignores them later).
    fn await_reply(&mut self, req: Request, expires: Instant, sent: bool) -> Result<bool> {
        loop {
            let now = Instant::now();
            if now >= expires {
                return Ok(false);
            }
            let slice = (expires - now).min(INTERRUPT_SLICE);
            let ready = if sent {
                self.session
                    .wait_readable(slice)
                    .map_err(|e| self.recv_error(e))?
            } else {
                std::thread::sleep(slice);
                false
            };
            // The check may be costly (the Python bridge takes the GIL), so
            // it runs at most once per slice, not once per datagram.
            if self.last_check.elapsed() >= INTERRUPT_SLICE {
                self.last_check = Instant::now();
                if (self.interrupt)() {
                    return Err(Error::Interrupted);
                }
            }
            if !ready {
                continue;
            }
            let header = match self.session.peek() {
                Ok(h) => h,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                    continue
                }
                Err(e) => return Err(self.recv_error(e)),
            };
            let code = self.session.process_response();
            if code != raw::CHRONY_OK {
                let os_error = io::Error::last_os_error();
                return Err(self.reply_error(req, code, header, os_error));
            }
            if !self.session.needs_response() {
                return Ok(true);
            }
            // libchrony ignores a reply of another protocol version, which
            // would leave this request to time out. Only chronyd sends replies
            // to this socket, so such a reply to this command is the server
            // telling its version: report it as the native backend does.
            if let Some(h) =
                header.filter(|h| h.command == req.command() && h.version != PROTO_VERSION)
            {
                return Err(version_error(req, h));
            }
            // Not our reply (stale sequence, other command): keep waiting.
        }
    }

    /// Reads a multi-record report: the count, then every record. When a
    /// record is gone (the list changed), starts again from a fresh count.
    fn records<T>(
        &mut self,
        make: fn(u32) -> Request,
        report: &'static str,
        read: fn(&Fields<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut attempt = 0;
        'list: loop {
            attempt += 1;
            self.exchange(Request::NSources)?;
            let count = self.session.record_count();
            let n = u32::try_from(count)
                .ok()
                .filter(|n| *n <= MAX_SOURCES)
                .ok_or_else(|| {
                    Error::data(
                        DataFailure::InvalidValue,
                        format!(
                            "libchrony reported {count} sources; a count outside 0..={MAX_SOURCES} \
                             is not a plausible list"
                        ),
                    )
                })?;
            let mut out = Vec::with_capacity(n as usize);
            for index in 0..n {
                match self.exchange(make(index)) {
                    Err(e) if is_no_such_source(&e) && attempt < SOURCE_LIST_ATTEMPTS => {
                        continue 'list
                    }
                    other => other?,
                }
                out.push(read(&self.fields(report))?);
            }
            return Ok(out);
        }
    }

    fn fields(&self, report: &'static str) -> Fields<'_> {
        Fields {
            session: self.session,
            report,
            _guard: FIELD_LOCK.lock(),
        }
    }

    /// The error for a libchrony error code returned while processing a
    /// reply, completed by the reply's header (peeked before libchrony read
    /// it): libchrony's codes are coarser than chronyd's statuses, so the
    /// status decides, through the native backend's table. Without a header
    /// (none could be peeked) the code stands for a typical status.
    fn reply_error(
        &self,
        req: Request,
        code: raw::chrony_err,
        header: Option<ReplyHeader>,
        os_error: io::Error,
    ) -> Error {
        let name = req.name();
        let kind = request_kind(req);
        let typical = match code {
            raw::CHRONY_UNAUTHORIZED => status::UNAUTH,
            raw::CHRONY_DISABLED => status::NOTENABLED,
            raw::CHRONY_OLD_SERVER => status::INVALID,
            raw::CHRONY_NEW_SERVER => status::BADPKTVERSION,
            // Not a status the table knows: "unexpected" whatever it was.
            raw::CHRONY_UNEXPECTED_STATUS => u16::MAX,
            raw::CHRONY_INVALID_RESPONSE => {
                return Error::invalid_reply(format!(
                    "{name} reply from chronyd at {} is truncated (libchrony: {})",
                    self.client.address,
                    error_string(self.client.lib, code)
                ))
            }
            raw::CHRONY_RECV_FAILED => return self.recv_error(os_error),
            other => {
                return library_error(
                    self.client.lib,
                    &format!("to process the {name} reply"),
                    other,
                )
            }
        };
        let status = header.map_or(typical, |h| h.status);
        match (outcome::status_error(name, kind, status), header) {
            (Err(e), _) => e,
            // Status SUCCESS, yet libchrony refused the reply: its reply
            // code is not the one libchrony expects.
            (Ok(()), Some(h)) if code == raw::CHRONY_NEW_SERVER => {
                outcome::wrong_reply(name, kind, h.reply, req.reply_code(), h.reply == rpy::NULL)
            }
            (Ok(()), _) => library_error(
                self.client.lib,
                &format!("to process the {name} reply"),
                code,
            ),
        }
    }

    fn send_error(&self, req: Request, e: io::Error) -> Error {
        outcome::send_failed(req.name(), &self.client.address, e)
    }

    fn recv_error(&self, e: io::Error) -> Error {
        outcome::recv_failed(&self.client.address, e)
    }

    fn timed_out(&self, req: Request) -> Error {
        let options = self.client.options;
        outcome::timed_out(
            req.name(),
            &self.client.address,
            self.started.elapsed(),
            options.timeout,
            options.retries,
        )
    }
}

/// The fields of the record libchrony last accepted, read by name. Holds
/// the process-wide field lock (see [`FIELD_LOCK`]).
struct Fields<'a> {
    session: &'a Session,
    report: &'static str,
    _guard: ProcessGuard<'static>,
}

impl Fields<'_> {
    fn lib(&self) -> &'static raw::Library {
        self.session.lib
    }

    fn ptr(&self) -> *mut raw::chrony_session {
        self.session.ptr.as_ptr()
    }

    /// The index of the field `name`: libchrony's exact lookup, then a
    /// case-insensitive match (early libchrony capitalised its names).
    fn find(&self, name: &str) -> Option<c_int> {
        let c_name = CString::new(name).ok()?;
        // SAFETY: the session is live; c_name is NUL-terminated and outlives
        // the call.
        let index = unsafe { (self.lib().chrony_get_field_index)(self.ptr(), c_name.as_ptr()) };
        if index >= 0 {
            return Some(index);
        }
        // SAFETY: the session is live.
        let n = unsafe { (self.lib().chrony_get_record_number_fields)(self.ptr()) };
        (0..n).find(|&i| {
            // SAFETY: the session is live; `i` is in range; the result is NULL
            // or a NUL-terminated name valid while the session lives.
            let p = unsafe { (self.lib().chrony_get_field_name)(self.ptr(), i) };
            // SAFETY: checked non-null; NUL-terminated (see above).
            !p.is_null()
                && unsafe { CStr::from_ptr(p) }
                    .to_bytes()
                    .eq_ignore_ascii_case(name.as_bytes())
        })
    }

    fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The index of `name`, which must have libchrony type `want`.
    fn field(&self, name: &str, want: raw::chrony_field_type) -> Result<c_int> {
        let incompatible = |detail: String| {
            Error::Library {
            message: format!(
                "libchrony ({}) returned a {} record {detail}; this backend reads the field names and \
                 types of libchrony 0.1/0.2",
                self.lib().path(),
                self.report
            ),
            code: None,
        }
        };
        let index = self
            .find(name)
            .ok_or_else(|| incompatible(format!("without a field named {name:?}")))?;
        // SAFETY: the session is live; an index out of range gives TYPE_NONE.
        let got = unsafe { (self.lib().chrony_get_field_type)(self.ptr(), index) };
        if got == want {
            Ok(index)
        } else {
            Err(incompatible(format!(
                "whose field {name:?} has type {got} where {want} was expected"
            )))
        }
    }

    fn uint(&self, name: &str) -> Result<u64> {
        let index = self.field(name, raw::CHRONY_TYPE_UINTEGER)?;
        // SAFETY: the session is live and `index` a valid field.
        Ok(unsafe { (self.lib().chrony_get_field_uinteger)(self.ptr(), index) })
    }

    fn out_of_range(&self, name: &str, value: impl std::fmt::Display) -> Error {
        Error::data(
            DataFailure::InvalidValue,
            format!(
                "libchrony returned an invalid {} value: {name} = {value} (out of the field's range)",
                self.report
            ),
        )
    }

    fn u16(&self, name: &str) -> Result<u16> {
        let v = self.uint(name)?;
        u16::try_from(v).map_err(|_| self.out_of_range(name, v))
    }

    fn u32(&self, name: &str) -> Result<u32> {
        let v = self.uint(name)?;
        u32::try_from(v).map_err(|_| self.out_of_range(name, v))
    }

    fn poll(&self, name: &str) -> Result<i16> {
        let index = self.field(name, raw::CHRONY_TYPE_INTEGER)?;
        // SAFETY: the session is live and `index` a valid field.
        let v = unsafe { (self.lib().chrony_get_field_integer)(self.ptr(), index) };
        poll_from_libchrony(v).ok_or_else(|| self.out_of_range(name, v))
    }

    fn float(&self, name: &str) -> Result<f64> {
        let index = self.field(name, raw::CHRONY_TYPE_FLOAT)?;
        // SAFETY: the session is live and `index` a valid field.
        Ok(unsafe { (self.lib().chrony_get_field_float)(self.ptr(), index) })
    }

    fn timespec(&self, name: &str) -> Result<Timespec> {
        let index = self.field(name, raw::CHRONY_TYPE_TIMESPEC)?;
        // SAFETY: the session is live and `index` a valid field; the struct
        // is returned by value.
        let ts = unsafe { (self.lib().chrony_get_field_timespec)(self.ptr(), index) };
        Ok(timespec_from_libchrony(ts))
    }

    fn address(&self, name: &str) -> Result<IpAddr> {
        let index = self.field(name, raw::CHRONY_TYPE_STRING)?;
        // SAFETY: the session is live and `index` a valid field. The result
        // is NULL or a NUL-terminated string in libchrony's static buffer,
        // copied below before any other libchrony call; FIELD_LOCK (held by
        // self) keeps other sessions from overwriting it meanwhile.
        let p = unsafe { (self.lib().chrony_get_field_string)(self.ptr(), index) };
        let text = if p.is_null() {
            None
        } else {
            // SAFETY: non-null and NUL-terminated (see above).
            Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        };
        address_from_libchrony(text.as_deref())
            .ok_or_else(|| self.out_of_range(name, format!("{:?}", text.unwrap_or_default())))
    }
}

fn read_tracking(f: &Fields<'_>) -> Result<Tracking> {
    Ok(Tracking {
        reference_id: f.u32("reference ID")?,
        address: f.address("address")?,
        stratum: f.u16("stratum")?,
        leap_status: f.u16("leap status")?.into(),
        ref_time: f.timespec("reference time")?,
        current_correction: f.float("current correction")?,
        last_offset: f.float("last offset")?,
        rms_offset: f.float("RMS offset")?,
        frequency: f.float("frequency offset")?,
        residual_frequency: f.float("residual frequency")?,
        skew: f.float("skew")?,
        root_delay: f.float("root delay")?,
        root_dispersion: f.float("root dispersion")?,
        last_update_interval: f.float("last update interval")?,
    })
}

fn read_source(f: &Fields<'_>) -> Result<Source> {
    // A reference clock's record (mode 2) names its first field `reference
    // ID` and gives the ref-id, which chronyd carries in the IPv4 field; the
    // native backend reports that as an IPv4 address, so does this one.
    let address = if f.has("address") {
        f.address("address")?
    } else {
        IpAddr::V4(Ipv4Addr::from(f.u32("reference ID")?))
    };
    Ok(Source {
        address,
        poll: f.poll("poll")?,
        stratum: f.u16("stratum")?,
        state: f.u16("state")?.into(),
        mode: f.u16("mode")?.into(),
        flags: f.u16("flags")?,
        reachability: f.u16("reachability")?,
        last_sample_ago: f.u32("last sample ago")?,
        orig_latest_meas: f.float("original last sample offset")?,
        latest_meas: f.float("adjusted last sample offset")?,
        latest_meas_err: f.float("last sample error")?,
    })
}

fn read_sourcestats(f: &Fields<'_>) -> Result<SourceStats> {
    Ok(SourceStats {
        reference_id: f.u32("reference ID")?,
        address: f.address("address")?,
        samples: f.u32("samples")?,
        runs: f.u32("runs")?,
        span: f.u32("span")?,
        std_dev: f.float("standard deviation")?,
        resid_freq: f.float("residual frequency")?,
        skew: f.float("skew")?,
        offset: f.float("offset")?,
        offset_err: f.float("offset error")?,
    })
}

fn read_rtc(f: &Fields<'_>) -> Result<RtcData> {
    Ok(RtcData {
        ref_time: f.timespec("reference time")?,
        samples: f.u16("samples")?,
        runs: f.u16("runs")?,
        span: f.u32("span")?,
        offset: f.float("offset")?,
        freq_offset: f.float("frequency offset")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_is_sign_extended() {
        // libchrony 0.2 gives 65530 for a poll of -6 (INT16 without sign
        // extension); a fixed libchrony would give -6.
        assert_eq!(poll_from_libchrony(65530), Some(-6));
        assert_eq!(poll_from_libchrony(65535), Some(-1));
        assert_eq!(poll_from_libchrony(32768), Some(i16::MIN));
        assert_eq!(poll_from_libchrony(-6), Some(-6));
        assert_eq!(poll_from_libchrony(6), Some(6));
        assert_eq!(poll_from_libchrony(0), Some(0));
        assert_eq!(poll_from_libchrony(65536), None);
        assert_eq!(poll_from_libchrony(-32769), None);
    }

    #[test]
    fn timespec_marker_and_nanosecond_clamp() {
        // libchrony 0.2 returns (0x7FFFFFFF << 32 | low) for a 32-bit time_t
        // server, and nanoseconds as sent.
        let ts = raw::timespec {
            tv_sec: ((0x7FFF_FFFFu64 << 32) | 0x6553_F100) as libc::c_long,
            tv_nsec: 1_500_000_000,
        };
        let t = timespec_from_libchrony(ts);
        assert_eq!(t.secs, 0x6553_F100);
        assert_eq!(t.nanos, 999_999_999);
        // Ordinary values pass unchanged, including times past 2106.
        let ts = raw::timespec {
            tv_sec: (1u64 << 32 | 5) as libc::c_long,
            tv_nsec: 123,
        };
        let t = timespec_from_libchrony(ts);
        assert_eq!((t.secs, t.nanos), ((1 << 32) + 5, 123));
        assert!(timespec_from_libchrony(raw::timespec::default()).is_zero());
    }

    #[test]
    fn addresses_parse_back() {
        assert_eq!(address_from_libchrony(None), Some(IpAddr::Unspec));
        assert_eq!(address_from_libchrony(Some("?")), Some(IpAddr::Unspec));
        assert_eq!(
            address_from_libchrony(Some("192.0.2.1")),
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        );
        assert_eq!(
            address_from_libchrony(Some("2001:db8::1")),
            Some(IpAddr::V6("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(
            address_from_libchrony(Some("::ffff:192.0.2.1")),
            Some(IpAddr::V6("::ffff:192.0.2.1".parse().unwrap()))
        );
        assert_eq!(
            address_from_libchrony(Some("ID#0000000001")),
            Some(IpAddr::Id(1))
        );
        assert_eq!(
            address_from_libchrony(Some("ID#4294967295")),
            Some(IpAddr::Id(u32::MAX))
        );
        for bad in ["", "ID#", "ID#x", "ID#4294967296", "ID#+1", "host", "1.2.3"] {
            assert_eq!(address_from_libchrony(Some(bad)), None, "{bad:?}");
        }
    }

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

    #[test]
    fn a_missing_library_is_a_library_error_naming_the_fix() {
        let missing: std::result::Result<&'static raw::Library, raw::LoadError> =
            Err(raw::Library::load_from("/nonexistent/libchrony.so.0").unwrap_err());
        let e = LibchronyClient::connect_with(missing, Some("127.0.0.1"), ClientOptions::default())
            .unwrap_err();
        assert!(matches!(e, Error::Library { code: None, .. }), "{e:?}");
        assert_eq!(e.error_code(), None);
        let text = e.to_string();
        assert!(text.contains("/nonexistent/libchrony.so.0"), "{text}");
        assert!(text.contains("dnf install libchrony"), "{text}");
        assert!(text.contains("LIBCHRONY_PATH"), "{text}");
    }

    #[test]
    fn the_client_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<LibchronyClient>();
    }
}
