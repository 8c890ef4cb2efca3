//! The client: one connection to chronyd through either backend, and the
//! four reports.

use crate::error::{DataFailure, Error, Result};
pub use crate::options::{ClientOptions, TransportKind};
use crate::protocol::reply::{decode, is_no_such_source, Reply};
use crate::protocol::request::Request;
use crate::reports::{FieldList, Record, RtcData, Source, SourceStats, Spec, Tracking};
use crate::transport::{NativeConnection, Policy, Transport};

/// How often a multi-record report is read again from a fresh count when the
/// source list changes under it.
const SOURCE_LIST_ATTEMPTS: u32 = 4;
/// More sources than this in an N_SOURCES reply is garbage, not a list.
const MAX_SOURCES: u32 = 65_536;

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

// One per connection, so the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Native(NativeConnection),
    #[cfg(feature = "libchrony")]
    Libchrony(crate::libchrony::LibchronyClient),
}

/// A connection to chronyd. Safe to share between threads: calls run one at
/// a time, and the wait for other calls counts against each call's deadline.
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

impl Client {
    /// Connects to chronyd at `address` (any form [`crate::Endpoint::parse`]
    /// accepts), or, with `None`, to the first default that works:
    /// `/run/chrony/chronyd.sock`, `/var/run/chrony/chronyd.sock` (a Unix
    /// socket wins when its connect succeeds), then UDP `127.0.0.1:323` and
    /// `[::1]:323` (a UDP candidate wins unless its first request is refused
    /// at once). An explicit address has no fallback, except that a host
    /// name is tried at each of its addresses in turn, as chronyc does.
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
        Self::connect_interruptible(address, options, backend, &|| false)
    }

    /// [`Client::connect_with`], stopping with [`Error::Interrupted`] when
    /// `interrupt` returns true (polled at least every 50 ms while a host
    /// name is resolved).
    pub fn connect_interruptible(
        address: Option<&str>,
        options: ClientOptions,
        backend: Backend,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Client> {
        let inner = match backend {
            Backend::Native => Inner::Native(NativeConnection::connect(
                address,
                &options.policy(),
                interrupt,
            )?),
            #[cfg(feature = "libchrony")]
            Backend::Libchrony => Inner::Libchrony(crate::libchrony::LibchronyClient::connect(
                address, options,
            )?),
            #[cfg(not(feature = "libchrony"))]
            Backend::Libchrony => {
                return Err(Error::Library {
                    message: "this build of chrony-core has no libchrony backend (cargo feature \
                              `libchrony`); use the native backend"
                        .into(),
                    code: None,
                })
            }
        };
        Ok(Client { inner, options })
    }

    /// The options in use.
    #[must_use]
    pub fn options(&self) -> ClientOptions {
        self.options
    }

    /// The address in use: the one given, or the default candidate that won.
    #[must_use]
    pub fn address(&self) -> String {
        dispatch!(self, n => n.address(), lib => lib.address())
    }

    /// The kind of socket in use.
    #[must_use]
    pub fn transport_kind(&self) -> TransportKind {
        dispatch!(self, n => n.kind(), lib => lib.transport_kind())
    }

    /// True until [`Client::close`].
    #[must_use]
    pub fn is_open(&self) -> bool {
        dispatch!(self, n => n.is_open(), lib => lib.is_open())
    }

    /// Closes the socket and removes the client socket files. Idempotent,
    /// and never waits: a call in progress lets go of the socket when it
    /// ends (within its deadline).
    pub fn close(&self) {
        dispatch!(self, n => n.close(), lib => lib.close());
    }

    /// Runs one report read on the native backend.
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
        native.call(&policy, interrupt, read)
    }

    /// Reads the report registered as `name` (see [`crate::REGISTRY`]): its
    /// registration and its records as checked field lists (one for a
    /// single report). The typed methods below give the records themselves.
    ///
    /// # Errors
    ///
    /// Those of the report's method; [`Error::InvalidArgument`] for a name
    /// that is not registered.
    pub fn read(&self, name: &str, interrupt: &dyn Fn() -> bool) -> Result<(Spec, Vec<FieldList>)> {
        fn one<R: Record>(r: &R) -> Result<(Spec, Vec<FieldList>)> {
            Ok((R::SPEC, vec![r.fields()?]))
        }
        fn list<R: Record>(v: &[R]) -> Result<(Spec, Vec<FieldList>)> {
            Ok((
                R::SPEC,
                v.iter().map(Record::fields).collect::<Result<_>>()?,
            ))
        }
        match name {
            "tracking" => one(&self.tracking_interruptible(interrupt)?),
            "sources" => list(&self.sources_interruptible(interrupt)?),
            "sourcestats" => list(&self.source_stats_interruptible(interrupt)?),
            "rtcdata" => one(&self.rtc_data_interruptible(interrupt)?),
            other => Err(Error::invalid_argument(format!(
                "unknown report {other:?}; the reports are {}",
                crate::REGISTRY
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
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
    use crate::error::ConnectionFailure;

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
