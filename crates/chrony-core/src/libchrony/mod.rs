//! The libchrony backend: the reports libchrony 0.2 has, read
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
//!   are serialised process-wide and each string is copied at once; so are
//!   requests and reply processing, since for ntpdata and authdata libchrony
//!   formats an address there itself (`fields::string_lock`);
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
//! * ntpdata's `flags` names bits 0x4 and 0x2 `testC` and `testB`, the wrong
//!   way round (chronyd's 0x4 is testB): the raw bits are read, never the
//!   names, so both backends give chronyd's assignment;
//! * ntpdata and authdata are asked for by source index, and libchrony gives
//!   an empty record (no fields) for a reference clock: the backend reads
//!   the `sources` record of each index first and skips reference clocks
//!   (and, for ntpdata, unresolved sources) as the native backend does, and
//!   skips any empty record still met;
//! * `chrony_open_socket` parses ports with `atoi` (`:70000` wraps to 4464,
//!   `:x` means port 0): addresses are validated with
//!   [`Endpoint::parse`](crate::Endpoint::parse) first and passed on in
//!   canonical form.
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

mod errors;
mod fields;
mod session;

use std::io::{self, ErrorKind};
use std::time::Instant;

use libchrony_sys as raw;

use crate::error::{Error, Result};
use crate::gate::{Closable, Gate};
use crate::options::{ClientOptions, TransportKind};
use crate::outcome::RequestKind;
use crate::outcome::{self, INTERRUPT_SLICE};
use crate::protocol::reply::is_no_such_source;
use crate::protocol::request::Request;
use crate::protocol::PROTO_VERSION;
use crate::report::{RtcData, Source, SourceStats, Tracking};
use crate::reports::{source_count, Args, Record, Shape, SourceMode, SOURCE_LIST_ATTEMPTS};
use errors::{library_error, reply_error, version_error};
use fields::Fields;
pub use fields::{address_from_libchrony, poll_from_libchrony, timespec_from_libchrony};
pub use session::DEFAULT_ADDRESSES;
use session::{kind_of, libchrony_address, Session};

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
            let (session, text) = Session::open_default(lib)?;
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

    /// The one record of report `R`, stopping with [`Error::Interrupted`]
    /// when `interrupt` returns true (it is polled at least every 50 ms).
    ///
    /// # Errors
    ///
    /// As the native backend; [`Error::Library`] when libchrony has no such
    /// report.
    pub fn record<R: Record>(&self, interrupt: &dyn Fn() -> bool) -> Result<R> {
        self.record_with(&Args::NONE, interrupt)
    }

    /// [`LibchronyClient::record`] with the report's own arguments.
    ///
    /// # Errors
    ///
    /// As [`LibchronyClient::record`].
    pub fn record_with<R: Record>(&self, args: &Args, interrupt: &dyn Fn() -> bool) -> Result<R> {
        let req = R::request(0, args);
        unsupported::<R>(&req)?;
        self.call(interrupt, |c| {
            c.exchange(req)?;
            R::from_fields(&c.fields(R::SPEC.name))
        })
    }

    /// Every record of the per-source report `R`: the count, then every
    /// index. When a record is gone (the list changed), starts again from a
    /// fresh count.
    ///
    /// # Errors
    ///
    /// As [`LibchronyClient::record`].
    pub fn records<R: Record>(&self, interrupt: &dyn Fn() -> bool) -> Result<Vec<R>> {
        self.records_with(&Args::NONE, interrupt)
    }

    /// [`LibchronyClient::records`] with the report's own arguments.
    ///
    /// # Errors
    ///
    /// As [`LibchronyClient::record`].
    pub fn records_with<R: Record>(
        &self,
        args: &Args,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Vec<R>> {
        unsupported::<R>(&R::request(0, args))?;
        self.call(interrupt, |c| c.records::<R>(args))
    }

    /// The records of the report `R` whose one reply holds a list
    /// (`manual list`). libchrony 0.2 has no such report (its requests give
    /// one record each), so this is always [`Error::Library`].
    ///
    /// # Errors
    ///
    /// [`Error::Library`] naming the report.
    pub fn in_reply_with<R: Record>(
        &self,
        args: &Args,
        _interrupt: &dyn Fn() -> bool,
    ) -> Result<Vec<R>> {
        unsupported::<R>(&R::request(0, args))?;
        Err(Error::Library {
            message: format!(
                "the libchrony backend cannot read the {} report: libchrony gives one record per \
                 request, not a list in one reply; use the native backend (backend=\"native\")",
                R::SPEC.name
            ),
            code: None,
        })
    }

    /// TRACKING (`chronyc tracking`).
    pub fn tracking_interruptible(&self, interrupt: &dyn Fn() -> bool) -> Result<Tracking> {
        self.record(interrupt)
    }

    /// N_SOURCES then SOURCE_DATA for every index (`chronyc sources`).
    pub fn sources_interruptible(&self, interrupt: &dyn Fn() -> bool) -> Result<Vec<Source>> {
        self.records(interrupt)
    }

    /// N_SOURCES then SOURCESTATS for every index (`chronyc sourcestats`).
    pub fn source_stats_interruptible(
        &self,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Vec<SourceStats>> {
        self.records(interrupt)
    }

    /// RTCREPORT (`chronyc rtcdata`). [`Error::NotAvailable`] when chronyd
    /// does not track the RTC.
    pub fn rtc_data_interruptible(&self, interrupt: &dyn Fn() -> bool) -> Result<RtcData> {
        self.record(interrupt)
    }
}

/// [`Error::Library`] for a report libchrony 0.2 does not have.
fn unsupported<R: Record>(req: &Request) -> Result<()> {
    if req.libchrony().is_some() {
        return Ok(());
    }
    Err(Error::Library {
        message: format!(
            "the libchrony backend cannot read the {} report: libchrony has no such report; \
             use the native backend (backend=\"native\")",
            R::SPEC.name
        ),
        code: None,
    })
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
            let code = {
                let _strings = fields::string_lock();
                self.session.issue(&req)
            };
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
            let wait = options.wait(attempt);
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
            let code = {
                let _strings = fields::string_lock();
                self.session.process_response()
            };
            if code != raw::CHRONY_OK {
                let os_error = io::Error::last_os_error();
                return Err(reply_error(
                    self.client.lib,
                    &self.client.address,
                    &req,
                    code,
                    header,
                    os_error,
                ));
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
                return Err(version_error(&req, h));
            }
            // Not our reply (stale sequence, other command): keep waiting.
        }
    }

    /// Reads a list report as its shape says ([`Shape::PerAddress`]: see
    /// [`Call::per_address`]; paged reports have no libchrony form).
    fn records<R: Record>(&mut self, args: &Args) -> Result<Vec<R>> {
        match R::SPEC.shape {
            Shape::PerAddress { unresolved } => self.per_address::<R>(args, unresolved),
            _ => self.per_source::<R>(args),
        }
    }

    /// Reads a per-source report: the count, then every record. When a
    /// record is gone (the list changed), starts again from a fresh count.
    fn per_source<R: Record>(&mut self, args: &Args) -> Result<Vec<R>> {
        let mut attempt = 0;
        'list: loop {
            attempt += 1;
            self.exchange(Request::n_sources())?;
            let n = source_count(self.session.record_count())?;
            let mut out = Vec::with_capacity(n as usize);
            for index in 0..n {
                match self.exchange(R::request(index, args)) {
                    Err(e) if is_no_such_source(&e) && attempt < SOURCE_LIST_ATTEMPTS => {
                        continue 'list
                    }
                    other => other?,
                }
                out.push(R::from_fields(&self.fields(R::SPEC.name))?);
            }
            return Ok(out);
        }
    }

    /// Reads a per-address report (ntpdata, authdata). libchrony asks for
    /// these by source index: it sends SOURCESTATS for the index and then
    /// the report's request for the address that names. For each index this
    /// first reads the `sources` record (the address and mode, as the native
    /// backend does), so that reference clocks (and, unless `unresolved`,
    /// sources not resolved yet) are skipped: libchrony would give an empty
    /// record for a reference clock, which is not a record of the report.
    /// An empty record still met (a source replaced in between) is skipped
    /// too. With an `address` argument only that source is returned, and
    /// none is chronyd's "no such source", as from the native backend.
    fn per_address<R: Record>(&mut self, args: &Args, unresolved: bool) -> Result<Vec<R>> {
        let wanted = args.address_given();
        let mut attempt = 0;
        'list: loop {
            attempt += 1;
            self.exchange(Request::n_sources())?;
            let n = source_count(self.session.record_count())?;
            let mut out = Vec::new();
            for index in 0..n {
                let read = |c: &mut Self| -> Result<Option<R>> {
                    c.exchange(Source::request(index, &Args::NONE))?;
                    let source = Source::from_fields(&c.fields(Source::SPEC.name))?;
                    let take = match wanted {
                        Some(w) => w == source.address && source.mode != SourceMode::Refclock,
                        None => source.listed_by_address(unresolved),
                    };
                    if !take {
                        return Ok(None);
                    }
                    c.exchange(R::request(index, args))?;
                    if c.session.field_count() == 0 {
                        return Ok(None);
                    }
                    Ok(Some(
                        R::from_fields(&c.fields(R::SPEC.name))?.at_address(source.address),
                    ))
                };
                match read(self) {
                    Err(e) if is_no_such_source(&e) && attempt < SOURCE_LIST_ATTEMPTS => {
                        continue 'list
                    }
                    other => out.extend(other?),
                }
            }
            if out.is_empty() && wanted.is_some() {
                return Err(outcome::no_such_source(R::SPEC.name, RequestKind::Report));
            }
            return Ok(out);
        }
    }

    fn fields(&self, report: &'static str) -> Fields<'_> {
        Fields::new(self.session, report)
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

#[cfg(test)]
mod tests {
    use super::*;

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
