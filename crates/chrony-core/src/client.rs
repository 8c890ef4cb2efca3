//! The client: connecting (with the default-address fallback), and the four
//! reports.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::address::Endpoint;
use crate::error::{ConnectionFailure, DataFailure, Error, Result};
use crate::protocol::reply::{decode, is_no_such_source, Reply};
use crate::protocol::request::Request;
use crate::report::{RtcData, Source, SourceStats, Tracking};
use crate::transport::{messages, Policy, Transport};

/// How often a multi-record report is read again from a fresh count when the
/// source list changes under it.
const SOURCE_LIST_ATTEMPTS: u32 = 4;
/// More sources than this in an N_SOURCES reply is garbage, not a list.
const MAX_SOURCES: u32 = 65_536;

/// Timing options. `Default` is chronyc's: 1 s, 2 retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Wait for a reply before the request is resent with a fresh sequence
    /// number; each resend doubles the wait.
    pub timeout: Duration,
    /// Number of resends.
    pub retries: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(1),
            retries: 2,
        }
    }
}

impl ClientOptions {
    /// The longest one call may take: `timeout × (2^(retries+1) − 1)`
    /// (7 s by default).
    #[must_use]
    pub fn call_budget(&self) -> Duration {
        let factor = 1u32
            .checked_shl(self.retries.saturating_add(1))
            .map_or(u32::MAX, |f| f - 1);
        self.timeout.checked_mul(factor).unwrap_or(Duration::MAX)
    }

    pub(crate) fn policy(&self) -> Policy {
        let now = Instant::now();
        let budget = self.call_budget();
        // The engine gives up a little before the bound (1 ms, or a tenth of
        // a tiny budget), so that the whole call, with the caller's own
        // overhead (e.g. the Python layer), stays within it.
        let margin = (budget / 10).min(Duration::from_millis(1));
        Policy {
            timeout: self.timeout,
            retries: self.retries,
            deadline: now
                .checked_add(budget.saturating_sub(margin))
                .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365)),
        }
    }
}

/// Which kind of socket a client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// chronyd's Unix socket: every command allowed.
    UnixSocket,
    /// The UDP command port: monitoring commands only.
    CommandPort,
}

struct State {
    transport: Option<Transport>,
    address: String,
    kind: TransportKind,
    /// Auto-detect only: UDP candidates still to try if the current one is
    /// refused at once on its first request.
    fallback: Vec<Endpoint>,
    /// Auto-detect only: a Unix socket that refused this user, for messages.
    denied: Option<String>,
    /// Auto-detect only, until the first request is answered: each candidate
    /// tried and why it was passed over, for the message when all fail.
    tried: Vec<String>,
}

/// Which implementation talks to chronyd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The native protocol client of this crate (the default).
    #[default]
    Native,
    /// chrony's C library libchrony, loaded at run time (cargo feature
    /// `libchrony`; without it, connecting gives [`Error::Library`]).
    Libchrony,
}

/// What `address()`, `transport_kind()` and `is_open()` report. Kept apart
/// from [`State`], whose lock a call holds for its whole exchange, so that
/// these never wait for a call in progress.
#[derive(Debug, Clone)]
struct Shown {
    address: String,
    kind: TransportKind,
    open: bool,
}

struct Native {
    state: Mutex<State>,
    shown: Mutex<Shown>,
}

impl Native {
    fn shown(&self) -> Shown {
        lock(&self.shown).clone()
    }
}

// One per connection, so the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Native(Native),
    #[cfg(feature = "libchrony")]
    Libchrony(crate::libchrony::LibchronyClient),
}

/// A connection to chronyd. Safe to share between threads: calls are
/// serialised on an internal lock.
pub struct Client {
    inner: Inner,
    options: ClientOptions,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.address())
            .field("kind", &self.transport_kind())
            .field("open", &self.is_open())
            .finish_non_exhaustive()
    }
}

/// Runs `$native` on the native backend, or `$other` on the libchrony one.
macro_rules! dispatch {
    ($self:ident, $n:ident => $native:expr, $lib:ident => $other:expr) => {
        match &$self.inner {
            Inner::Native($n) => $native,
            #[cfg(feature = "libchrony")]
            Inner::Libchrony($lib) => $other,
        }
    };
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the state half-written
    // (every field is replaced whole), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A few words on why a candidate address was passed over.
fn short_reason(e: &Error) -> &'static str {
    match e {
        Error::Permission { .. } => "permission denied",
        Error::Connection {
            kind: ConnectionFailure::Refused,
            ..
        } => "refused",
        Error::Connection {
            kind: ConnectionFailure::Unreachable,
            ..
        } => "no socket",
        _ => "failed",
    }
}

fn kind_of(ep: &Endpoint) -> TransportKind {
    match ep {
        Endpoint::Unix(_) => TransportKind::UnixSocket,
        _ => TransportKind::CommandPort,
    }
}

impl Client {
    /// Connects to chronyd at `address` (any form [`Endpoint::parse`]
    /// accepts), or, with `None`, to the first default that works:
    /// `/run/chrony/chronyd.sock`, `/var/run/chrony/chronyd.sock` (a Unix
    /// socket wins when its connect succeeds), then UDP `127.0.0.1:323` and
    /// `[::1]:323` (a UDP candidate wins unless its first request is refused
    /// at once). An explicit address has no fallback.
    pub fn connect(address: Option<&str>, options: ClientOptions) -> Result<Client> {
        Self::connect_with(address, options, Backend::Native)
    }

    /// [`Client::connect`] with a choice of backend. The libchrony backend
    /// takes the address forms libchrony accepts (no host names) and
    /// libchrony's own default list.
    pub fn connect_with(
        address: Option<&str>,
        options: ClientOptions,
        backend: Backend,
    ) -> Result<Client> {
        match backend {
            Backend::Native => Self::connect_native(address, options),
            #[cfg(feature = "libchrony")]
            Backend::Libchrony => Ok(Client {
                inner: Inner::Libchrony(crate::libchrony::LibchronyClient::connect(address, options)?),
                options,
            }),
            #[cfg(not(feature = "libchrony"))]
            Backend::Libchrony => Err(Error::Library {
                message: "this build of chrony-core has no libchrony backend (cargo feature `libchrony`); \
                          use the native backend"
                    .into(),
                code: None,
            }),
        }
    }

    fn connect_native(address: Option<&str>, options: ClientOptions) -> Result<Client> {
        let deadline = options.policy().deadline;
        let state = match address {
            Some(text) => {
                let ep = Endpoint::parse(text)?;
                let transport = Transport::open(&ep, deadline)?;
                State {
                    transport: Some(transport),
                    address: text.to_owned(),
                    kind: kind_of(&ep),
                    fallback: Vec::new(),
                    denied: None,
                    tried: Vec::new(),
                }
            }
            None => Self::auto_detect(deadline)?,
        };
        Ok(Client {
            inner: Inner::Native(Native {
                shown: Mutex::new(Shown {
                    address: state.address.clone(),
                    kind: state.kind,
                    open: true,
                }),
                state: Mutex::new(state),
            }),
            options,
        })
    }

    fn auto_detect(deadline: Instant) -> Result<State> {
        let mut denied = None;
        let mut tried = Vec::new();
        let mut candidates = Endpoint::defaults().into_iter();
        while let Some(ep) = candidates.next() {
            match Transport::open(&ep, deadline) {
                Ok(t) => {
                    return Ok(State {
                        transport: Some(t),
                        address: ep.to_string(),
                        kind: kind_of(&ep),
                        fallback: candidates.collect(),
                        denied,
                        tried,
                    })
                }
                Err(e) => {
                    if matches!(e, Error::Permission { .. }) && denied.is_none() {
                        denied = Some(ep.to_string());
                    }
                    tried.push(format!("{ep} ({})", short_reason(&e)));
                }
            }
        }
        Err(messages::auto_detect_unreachable(&tried))
    }

    /// The options in use.
    #[must_use]
    pub fn options(&self) -> ClientOptions {
        self.options
    }

    /// The address in use: the one given, or the default candidate that won.
    #[must_use]
    pub fn address(&self) -> String {
        dispatch!(self, n => n.shown().address, lib => lib.address())
    }

    /// The kind of socket in use.
    #[must_use]
    pub fn transport_kind(&self) -> TransportKind {
        dispatch!(self, n => n.shown().kind, lib => lib.transport_kind())
    }

    /// True until [`Client::close`].
    #[must_use]
    pub fn is_open(&self) -> bool {
        dispatch!(self, n => n.shown().open, lib => lib.is_open())
    }

    /// Closes the socket and removes the client socket files. Idempotent.
    pub fn close(&self) {
        dispatch!(self, n => {
            // Marked closed at once; the socket goes when a call in progress
            // (bounded by its deadline) lets go of it.
            lock(&n.shown).open = false;
            lock(&n.state).transport = None;
        }, lib => lib.close());
    }

    /// Runs one report read, switching to the next UDP default when the
    /// first request of an auto-detected candidate is refused.
    fn call<T>(
        &self,
        interrupt: &dyn Fn() -> bool,
        read: impl Fn(&mut Transport, &Policy, &dyn Fn() -> bool) -> Result<T>,
    ) -> Result<T> {
        let policy = self.options.policy();
        #[allow(irrefutable_let_patterns)] // refutable with the libchrony feature
        let Inner::Native(native) = &self.inner
        else {
            // The public methods hand libchrony clients to their own code
            // before calling this; say so rather than panic if that changes.
            return Err(Error::Library {
                message: "internal error: native request on a libchrony connection".into(),
                code: None,
            });
        };
        let mut st = lock(&native.state);
        loop {
            let Some(transport) = st.transport.as_mut() else {
                return Err(Error::connection(
                    ConnectionFailure::Unreachable,
                    format!(
                        "the connection to chronyd at {} is closed; open a new one",
                        st.address
                    ),
                    None,
                ));
            };
            let result = read(transport, &policy, interrupt);
            let refused = matches!(
                result,
                Err(Error::Connection {
                    kind: ConnectionFailure::Refused,
                    ..
                })
            );
            if refused && !st.fallback.is_empty() {
                let refused_at = format!("{} (refused)", st.address);
                st.tried.push(refused_at);
                let ep = st.fallback.remove(0);
                if let Ok(t) = Transport::open(&ep, policy.deadline) {
                    st.address = ep.to_string();
                    st.kind = kind_of(&ep);
                    st.transport = Some(t);
                    let mut shown = lock(&native.shown);
                    shown.address.clone_from(&st.address);
                    shown.kind = st.kind;
                }
                continue;
            }
            st.fallback.clear();
            let tried = std::mem::take(&mut st.tried);
            if refused && !tried.is_empty() {
                return Err(messages::auto_detect_refused(&tried, &st.address));
            }
            return match (result, &st.denied) {
                (Err(Error::Connection { kind, message, source }), Some(denied)) => Err(Error::Connection {
                    kind,
                    message: format!(
                        "{message} (auto-detect chose {} because the Unix socket {denied} refused this user)",
                        st.address
                    ),
                    source,
                }),
                (r, _) => r,
            };
        }
    }

    /// TRACKING (`chronyc tracking`).
    pub fn tracking(&self) -> Result<Tracking> {
        self.tracking_interruptible(&|| false)
    }

    /// [`Client::tracking`], stopping with [`Error::Interrupted`] when
    /// `interrupt` returns true (it is polled at least every 50 ms).
    pub fn tracking_interruptible(&self, interrupt: &dyn Fn() -> bool) -> Result<Tracking> {
        #[cfg(feature = "libchrony")]
        if let Inner::Libchrony(lib) = &self.inner {
            return lib.tracking_interruptible(interrupt);
        }
        self.call(interrupt, |t, p, i| {
            match single(t, p, i, Request::Tracking)? {
                Reply::Tracking(r) => Ok(r),
                other => Err(mismatch(&other)),
            }
        })
    }

    /// RTCREPORT (`chronyc rtcdata`). [`Error::NotAvailable`] when chronyd
    /// does not track the RTC.
    pub fn rtc_data(&self) -> Result<RtcData> {
        self.rtc_data_interruptible(&|| false)
    }

    /// [`Client::rtc_data`] with an interrupt check.
    pub fn rtc_data_interruptible(&self, interrupt: &dyn Fn() -> bool) -> Result<RtcData> {
        #[cfg(feature = "libchrony")]
        if let Inner::Libchrony(lib) = &self.inner {
            return lib.rtc_data_interruptible(interrupt);
        }
        self.call(interrupt, |t, p, i| {
            match single(t, p, i, Request::RtcReport)? {
                Reply::Rtc(r) => Ok(r),
                other => Err(mismatch(&other)),
            }
        })
    }

    /// N_SOURCES then SOURCE_DATA for every index (`chronyc sources`).
    pub fn sources(&self) -> Result<Vec<Source>> {
        self.sources_interruptible(&|| false)
    }

    /// [`Client::sources`] with an interrupt check.
    pub fn sources_interruptible(&self, interrupt: &dyn Fn() -> bool) -> Result<Vec<Source>> {
        #[cfg(feature = "libchrony")]
        if let Inner::Libchrony(lib) = &self.inner {
            return lib.sources_interruptible(interrupt);
        }
        self.call(interrupt, |t, p, i| {
            records(t, p, i, Request::SourceData, |r| match r {
                Reply::SourceData(s) => Ok(s),
                other => Err(mismatch(&other)),
            })
        })
    }

    /// N_SOURCES then SOURCESTATS for every index (`chronyc sourcestats`).
    pub fn source_stats(&self) -> Result<Vec<SourceStats>> {
        self.source_stats_interruptible(&|| false)
    }

    /// [`Client::source_stats`] with an interrupt check.
    pub fn source_stats_interruptible(
        &self,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Vec<SourceStats>> {
        #[cfg(feature = "libchrony")]
        if let Inner::Libchrony(lib) = &self.inner {
            return lib.source_stats_interruptible(interrupt);
        }
        self.call(interrupt, |t, p, i| {
            records(t, p, i, Request::SourceStats, |r| match r {
                Reply::SourceStats(s) => Ok(s),
                other => Err(mismatch(&other)),
            })
        })
    }
}

fn mismatch(reply: &Reply) -> Error {
    Error::data(
        DataFailure::InvalidReply,
        format!("chronyd's reply does not match the request: {reply:?}"),
    )
}

fn single(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    req: Request,
) -> Result<Reply> {
    let raw = transport.exchange(&[req], policy, interrupt)?;
    decode(req, &raw[0])
}

/// Reads a multi-record report: the count, then every record pipelined. When
/// a record is gone (the list changed), starts again from a fresh count.
fn records<T>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    make: fn(u32) -> Request,
    take: impl Fn(Reply) -> Result<T>,
) -> Result<Vec<T>> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let n = match single(transport, policy, interrupt, Request::NSources)? {
            Reply::NSources(n) => n,
            other => return Err(mismatch(&other)),
        };
        if n > MAX_SOURCES {
            return Err(Error::data(
                DataFailure::InvalidValue,
                format!("chronyd reported {n} sources; more than {MAX_SOURCES} is not a plausible count"),
            ));
        }
        let reqs: Vec<Request> = (0..n).map(make).collect();
        let raw = transport.exchange(&reqs, policy, interrupt)?;
        let decoded: Result<Vec<T>> = reqs
            .iter()
            .zip(&raw)
            .map(|(req, buf)| decode(*req, buf).and_then(&take))
            .collect();
        match decoded {
            Err(e) if is_no_such_source(&e) && attempt < SOURCE_LIST_ATTEMPTS => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_the_sum_of_doubling_waits() {
        assert_eq!(
            ClientOptions::default().call_budget(),
            Duration::from_secs(7)
        );
        let o = ClientOptions {
            timeout: Duration::from_millis(50),
            retries: 0,
        };
        assert_eq!(o.call_budget(), Duration::from_millis(50));
        let huge = ClientOptions {
            timeout: Duration::from_secs(3600),
            retries: 40,
        };
        assert!(huge.call_budget() > Duration::from_secs(86_400 * 365 * 1000));
        let _ = huge.policy();
    }

    #[test]
    fn explicit_address_has_no_fallback_and_bad_ones_fail_early() {
        let e = Client::connect(Some("127.0.0.1:0"), ClientOptions::default()).unwrap_err();
        assert_eq!(e.error_code(), Some(7));
        let e = Client::connect(
            Some("/nonexistent-dir/chronyd.sock"),
            ClientOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Connection {
                kind: ConnectionFailure::Unreachable,
                ..
            }
        ));
        assert!(e.to_string().contains("/nonexistent-dir/chronyd.sock"));
    }
}
