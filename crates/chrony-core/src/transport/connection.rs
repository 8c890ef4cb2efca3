//! The native backend's connection: which address it uses (with the
//! auto-detect and host-name fallbacks), its socket, lent to one call at a
//! time through the [`Gate`], and reopened when it is no longer usable (a
//! forked child, a client socket that vanished).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::{messages, Policy, Transport};
use crate::address::Endpoint;
use crate::error::{ConnectionFailure, Error, Result};
use crate::gate::{Closable, Gate};
use crate::options::TransportKind;
use crate::outcome;
use crate::reports::{Args, Record};

/// What `address()`, `transport_kind()` and `is_open()` report, and the
/// endpoint a fresh state opens. Locked for a few instructions at a time,
/// never during a call, so these never wait for a call in progress.
#[derive(Debug, Clone)]
struct Shown {
    address: String,
    kind: TransportKind,
    endpoint: Endpoint,
}

struct State {
    /// `None` until opened, and again when it must be reopened.
    transport: Option<Transport>,
    /// Where the transport connects.
    endpoint: Endpoint,
    /// Chosen by auto-detect (its messages say so, and `address` follows
    /// the candidate in use).
    auto: bool,
    /// UDP addresses still to try if the current one is refused at once on
    /// the first request: auto-detect's remaining defaults, or a host
    /// name's other addresses.
    fallback: Vec<Endpoint>,
    /// Auto-detect only: a Unix socket that refused this user, for messages.
    denied: Option<String>,
    /// Until the first request is answered: each address tried and why it
    /// was passed over, for the message when all fail.
    tried: Vec<String>,
}

impl Closable for State {
    fn close(&mut self) {
        self.transport = None;
        self.fallback.clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every field is replaced whole, so a poisoned lock is still consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
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

fn is_refused(r: &Result<impl Sized>) -> bool {
    matches!(
        r,
        Err(Error::Connection {
            kind: ConnectionFailure::Refused,
            ..
        })
    )
}

/// A native connection to chronyd.
pub(crate) struct NativeConnection {
    gate: Gate<State>,
    shown: Arc<Mutex<Shown>>,
}

impl NativeConnection {
    /// Connects to `address`, or auto-detects with `None`, within the
    /// policy's deadline.
    pub(crate) fn connect(
        address: Option<&str>,
        policy: &Policy,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Self> {
        let (state, shown) = match address {
            Some(text) => {
                let ep = Endpoint::parse(text)?;
                let (transport, rest) = Transport::open(&ep, policy.deadline, interrupt)?;
                let shown = Shown {
                    address: text.to_owned(),
                    kind: kind_of(&ep),
                    endpoint: ep.clone(),
                };
                let state = State {
                    transport: Some(transport),
                    endpoint: ep,
                    auto: false,
                    fallback: rest,
                    denied: None,
                    tried: Vec::new(),
                };
                (state, shown)
            }
            None => Self::auto_detect(policy.deadline, interrupt)?,
        };
        let shown = Arc::new(Mutex::new(shown));
        let current = Arc::clone(&shown);
        // A fresh state (in a forked child whose parent had the socket out)
        // opens the endpoint in use on its first call.
        let fresh = move || State {
            transport: None,
            endpoint: lock(&current).endpoint.clone(),
            auto: false,
            fallback: Vec::new(),
            denied: None,
            tried: Vec::new(),
        };
        Ok(NativeConnection {
            gate: Gate::new(state, fresh),
            shown,
        })
    }

    fn auto_detect(deadline: Instant, interrupt: &dyn Fn() -> bool) -> Result<(State, Shown)> {
        let mut denied = None;
        let mut tried = Vec::new();
        let mut candidates = Endpoint::defaults().into_iter();
        while let Some(ep) = candidates.next() {
            match Transport::open(&ep, deadline, interrupt) {
                Ok((t, _)) => {
                    let shown = Shown {
                        address: ep.to_string(),
                        kind: kind_of(&ep),
                        endpoint: ep.clone(),
                    };
                    let state = State {
                        transport: Some(t),
                        endpoint: ep,
                        auto: true,
                        fallback: candidates.collect(),
                        denied,
                        tried,
                    };
                    return Ok((state, shown));
                }
                Err(Error::Interrupted) => return Err(Error::Interrupted),
                Err(e) => {
                    if matches!(e, Error::Permission { .. }) && denied.is_none() {
                        denied = Some(ep.to_string());
                    }
                    tried.push(format!("{ep} ({})", short_reason(&e)));
                }
            }
        }
        Err(outcome::auto_detect_unreachable(&tried, ""))
    }

    /// The address in use.
    pub(crate) fn address(&self) -> String {
        lock(&self.shown).address.clone()
    }

    /// The kind of socket in use.
    pub(crate) fn kind(&self) -> TransportKind {
        lock(&self.shown).kind
    }

    /// True until [`NativeConnection::close`].
    pub(crate) fn is_open(&self) -> bool {
        !self.gate.is_closed()
    }

    /// Closes without waiting: a call in progress lets go of the socket
    /// when it ends (within its deadline).
    pub(crate) fn close(&self) {
        self.gate.close();
    }

    fn closed_error(&self) -> Error {
        outcome::closed(&self.address())
    }

    /// Runs one report read, switching to the next fallback address when
    /// the current one is refused at once. The policy's deadline covers the
    /// wait for other calls on this connection.
    pub(crate) fn call<T>(
        &self,
        policy: &Policy,
        interrupt: &dyn Fn() -> bool,
        mut read: impl FnMut(&mut Transport, &Policy, &dyn Fn() -> bool) -> Result<T>,
    ) -> Result<T> {
        let mut st = self
            .gate
            .acquire(policy.started, policy.deadline, interrupt)?;
        if st.closed() {
            return Err(self.closed_error());
        }
        loop {
            if !st.transport.as_mut().is_some_and(Transport::usable) {
                // Never opened in this process, or its client socket is
                // gone: bind a new one rather than wait for replies that
                // cannot arrive. The old one (if any) is dropped, which
                // removes its files only in the process that made them.
                st.transport = None;
                let (t, rest) = Transport::open(&st.endpoint, policy.deadline, interrupt)?;
                st.transport = Some(t);
                if st.fallback.is_empty() && st.tried.is_empty() {
                    st.fallback = rest;
                }
            }
            let Some(transport) = st.transport.as_mut() else {
                return Err(self.closed_error());
            };
            let result = read(transport, policy, interrupt);
            let refused = is_refused(&result);
            if refused && !st.fallback.is_empty() {
                let shown_at = if st.auto {
                    lock(&self.shown).address.clone()
                } else {
                    st.endpoint_label()
                };
                st.tried.push(format!("{shown_at} (refused)"));
                let ep = st.fallback.remove(0);
                st.transport = None;
                st.endpoint = ep;
                if st.auto {
                    let mut shown = lock(&self.shown);
                    shown.address = st.endpoint.to_string();
                    shown.kind = kind_of(&st.endpoint);
                    shown.endpoint = st.endpoint.clone();
                }
                continue;
            }
            st.fallback.clear();
            let tried = std::mem::take(&mut st.tried);
            if refused && !tried.is_empty() {
                let last = st.endpoint_label();
                return Err(if st.auto {
                    messages::auto_detect_refused(&tried, &last)
                } else {
                    every_address_refused(&self.address(), &tried, &last)
                });
            }
            return match (result, &st.denied) {
                (
                    Err(Error::Connection {
                        kind,
                        message,
                        source,
                    }),
                    Some(denied),
                ) => Err(Error::Connection {
                    kind,
                    message: format!(
                        "{message} (auto-detect chose {} because the Unix socket {denied} \
                             refused this user)",
                        self.address()
                    ),
                    source,
                }),
                (r, _) => r,
            };
        }
    }
}

impl NativeConnection {
    /// The one record of report `R`.
    pub(crate) fn record<R: Record>(
        &self,
        policy: &Policy,
        interrupt: &dyn Fn() -> bool,
        args: &Args,
    ) -> Result<R> {
        self.call(policy, interrupt, |t, p, i| {
            super::read::one::<R>(t, p, i, args)
        })
    }

    /// The records of the report `R` whose one reply holds a list.
    pub(crate) fn in_reply<R: Record>(
        &self,
        policy: &Policy,
        interrupt: &dyn Fn() -> bool,
        args: &Args,
    ) -> Result<Vec<R>> {
        self.call(policy, interrupt, |t, p, i| {
            super::read::in_reply::<R>(t, p, i, args)
        })
    }

    /// Every record of the per-source report `R`.
    pub(crate) fn records<R: Record>(
        &self,
        policy: &Policy,
        interrupt: &dyn Fn() -> bool,
        args: &Args,
    ) -> Result<Vec<R>> {
        self.call(policy, interrupt, |t, p, i| {
            super::read::list::<R>(t, p, i, args)
        })
    }

    /// Every record of the list report `R`, each handed to `sink` as its
    /// reply arrives ([`super::read::Sink`]: a read that starts again, on
    /// another address or because the list changed, begins at index 0).
    pub(crate) fn records_each<R: Record>(
        &self,
        policy: &Policy,
        interrupt: &dyn Fn() -> bool,
        args: &Args,
        sink: super::read::Sink<'_, R>,
    ) -> Result<()> {
        self.call(policy, interrupt, |t, p, i| {
            super::read::list_each::<R>(t, p, i, args, sink)
        })
    }
}

impl State {
    fn endpoint_label(&self) -> String {
        self.transport
            .as_ref()
            .map_or_else(|| self.endpoint.to_string(), |t| t.peer().to_owned())
    }
}

/// Every address of a host name refused the first request.
fn every_address_refused(name: &str, tried: &[String], last: &str) -> Error {
    Error::connection(
        ConnectionFailure::Refused,
        format!(
            "chronyd refused the request at every address of {name}: {}, {last} (refused). Is \
             chronyd running there, and is its command port enabled ('cmdport', default 323)?",
            tried.join(", "),
        ),
        None,
    )
}
