//! The client: one connection to chronyd through either backend, and the
//! four reports.

use crate::error::{Error, Result};
pub use crate::options::{ClientOptions, TransportKind};
use crate::reports::{
    Args, FieldList, Record, RtcData, Shape, Source, SourceStats, Spec, Tracking,
};
use crate::transport::NativeConnection;

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

    /// The one record of report `R` (any single or optional report of
    /// [`crate::REGISTRY`]), stopping with [`Error::Interrupted`] when
    /// `interrupt` returns true (it is polled at least every 50 ms).
    ///
    /// # Errors
    ///
    /// Connection, permission, data and availability errors ([`Error`]).
    pub fn record<R: Record>(&self, interrupt: &dyn Fn() -> bool) -> Result<R> {
        self.record_with(&Args::NONE, interrupt)
    }

    /// [`Client::record`] with the report's own arguments ([`Args::parse`]).
    ///
    /// # Errors
    ///
    /// As [`Client::record`].
    pub fn record_with<R: Record>(&self, args: &Args, interrupt: &dyn Fn() -> bool) -> Result<R> {
        dispatch!(self,
            n => n.record(&self.options.policy(), interrupt, args),
            lib => lib.record_with(args, interrupt))
    }

    /// Every record of the list report `R` (per source, per NTP source's
    /// address, or paged: as its shape says), with an interrupt check as
    /// [`Client::record`].
    ///
    /// # Errors
    ///
    /// As [`Client::record`].
    pub fn records<R: Record>(&self, interrupt: &dyn Fn() -> bool) -> Result<Vec<R>> {
        self.records_with(&Args::NONE, interrupt)
    }

    /// [`Client::records`] with the report's own arguments.
    ///
    /// # Errors
    ///
    /// As [`Client::record`].
    pub fn records_with<R: Record>(
        &self,
        args: &Args,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Vec<R>> {
        dispatch!(self,
            n => n.records(&self.options.policy(), interrupt, args),
            lib => lib.records_with(args, interrupt))
    }

    /// The records of the report `R` whose one reply holds a list
    /// ([`Shape::InReply`]), with an interrupt check as [`Client::record`].
    ///
    /// # Errors
    ///
    /// As [`Client::record`].
    pub fn in_reply_with<R: Record>(
        &self,
        args: &Args,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Vec<R>> {
        dispatch!(self,
            n => n.in_reply(&self.options.policy(), interrupt, args),
            lib => lib.in_reply_with(args, interrupt))
    }

    /// Reads the report registered as `name` (see [`crate::REGISTRY`]) with
    /// its own arguments (parsed with [`Args::parse`]; [`Args::NONE`] for a
    /// report without any): its registration and its records (one for a
    /// single report), each listed as checked fields on demand
    /// ([`Records::fields`]).
    ///
    /// # Errors
    ///
    /// Those of the report; [`Error::InvalidArgument`] for a name that is
    /// not registered.
    pub fn read(&self, name: &str, args: &Args, interrupt: &dyn Fn() -> bool) -> Result<Records> {
        macro_rules! by_name {
            ($($report:ty),+) => {
                $(if name == <$report>::SPEC.name {
                    return Ok(Records {
                        spec: <$report>::SPEC,
                        list: Box::new(self.read_as::<$report>(args, interrupt)?),
                    });
                })+
            };
        }
        crate::for_each_report!(by_name);
        Err(unknown_report(name))
    }

    /// [`Client::read`], handing each record's checked fields to `each`
    /// with its index as soon as its reply is in, while the later requests
    /// of a list report are still being answered: what `each` does (e.g.
    /// build a Python object) overlaps with chronyd's work. Indexes come in
    /// order from 0; a read that starts again (the list of sources changed
    /// under it, or the first address refused) begins at 0 again, and
    /// `each` drops what it had from there. An error from `each` ends the
    /// read with it. Returns the report's registration.
    ///
    /// # Errors
    ///
    /// As [`Client::read`], and those of `each`.
    pub fn read_each(
        &self,
        name: &str,
        args: &Args,
        interrupt: &dyn Fn() -> bool,
        each: &mut dyn FnMut(usize, FieldList) -> Result<()>,
    ) -> Result<Spec> {
        macro_rules! by_name {
            ($($report:ty),+) => {
                $(if name == <$report>::SPEC.name {
                    self.read_each_as::<$report>(args, interrupt, each)?;
                    return Ok(<$report>::SPEC);
                })+
            };
        }
        crate::for_each_report!(by_name);
        Err(unknown_report(name))
    }

    fn read_each_as<R: Record + Send + 'static>(
        &self,
        args: &Args,
        interrupt: &dyn Fn() -> bool,
        each: &mut dyn FnMut(usize, FieldList) -> Result<()>,
    ) -> Result<()> {
        if let (Inner::Native(n), Shape::PerSource | Shape::PerAddress { .. }) =
            (&self.inner, R::SPEC.shape)
        {
            let policy = self.options.policy();
            return n.records_each::<R>(&policy, interrupt, args, &mut |index, record: R| {
                each(index, record.fields()?)
            });
        }
        let records = self.read_as::<R>(args, interrupt)?;
        records
            .iter()
            .enumerate()
            .try_for_each(|(index, record)| each(index, record.fields()?))
    }

    fn read_as<R: Record + Send + 'static>(
        &self,
        args: &Args,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Vec<R>> {
        Ok(match R::SPEC.shape {
            Shape::PerSource | Shape::PerAddress { .. } | Shape::Paged => {
                self.records_with::<R>(args, interrupt)?
            }
            Shape::InReply => self.in_reply_with::<R>(args, interrupt)?,
            Shape::Single | Shape::Optional | Shape::Text => {
                vec![self.record_with::<R>(args, interrupt)?]
            }
        })
    }

    /// TRACKING (`chronyc tracking`).
    ///
    /// # Errors
    ///
    /// As [`Client::record`].
    pub fn tracking(&self) -> Result<Tracking> {
        self.record(&|| false)
    }

    /// [`Client::tracking`] with an interrupt check.
    ///
    /// # Errors
    ///
    /// As [`Client::record`].
    pub fn tracking_interruptible(&self, interrupt: &dyn Fn() -> bool) -> Result<Tracking> {
        self.record(interrupt)
    }

    /// RTCREPORT (`chronyc rtcdata`). [`Error::NotAvailable`] when chronyd
    /// does not track the RTC.
    ///
    /// # Errors
    ///
    /// As [`Client::record`].
    pub fn rtc_data(&self) -> Result<RtcData> {
        self.record(&|| false)
    }

    /// [`Client::rtc_data`] with an interrupt check.
    ///
    /// # Errors
    ///
    /// As [`Client::record`].
    pub fn rtc_data_interruptible(&self, interrupt: &dyn Fn() -> bool) -> Result<RtcData> {
        self.record(interrupt)
    }

    /// N_SOURCES then SOURCE_DATA for every index (`chronyc sources`).
    ///
    /// # Errors
    ///
    /// As [`Client::record`].
    pub fn sources(&self) -> Result<Vec<Source>> {
        self.records(&|| false)
    }

    /// [`Client::sources`] with an interrupt check.
    ///
    /// # Errors
    ///
    /// As [`Client::record`].
    pub fn sources_interruptible(&self, interrupt: &dyn Fn() -> bool) -> Result<Vec<Source>> {
        self.records(interrupt)
    }

    /// N_SOURCES then SOURCESTATS for every index (`chronyc sourcestats`).
    ///
    /// # Errors
    ///
    /// As [`Client::record`].
    pub fn source_stats(&self) -> Result<Vec<SourceStats>> {
        self.records(&|| false)
    }

    /// [`Client::source_stats`] with an interrupt check.
    ///
    /// # Errors
    ///
    /// As [`Client::record`].
    pub fn source_stats_interruptible(
        &self,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Vec<SourceStats>> {
        self.records(interrupt)
    }
}

/// The error for a report name that is not registered.
fn unknown_report(name: &str) -> Error {
    Error::invalid_argument(format!(
        "unknown report {name:?}; the reports are {}",
        crate::REGISTRY
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The records of one report read by name ([`Client::read`]). Each is
/// listed as checked fields when asked ([`Records::fields`]), so that a
/// caller can convert and drop them one at a time.
pub struct Records {
    spec: Spec,
    list: Box<dyn AnyRecords>,
}

/// A list of records of any one report.
trait AnyRecords: Send {
    fn len(&self) -> usize;
    fn fields(&self, index: usize) -> Option<Result<FieldList>>;
}

impl<R: Record + Send> AnyRecords for Vec<R> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn fields(&self, index: usize) -> Option<Result<FieldList>> {
        self.get(index).map(Record::fields)
    }
}

impl Records {
    /// The report's registration.
    #[must_use]
    pub fn spec(&self) -> Spec {
        self.spec
    }

    /// How many records there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.len() == 0
    }

    /// The checked fields of record `index` ([`Record::fields`]); `None`
    /// past the end.
    ///
    /// # Errors
    ///
    /// A value out of its bounds ([`Error::Data`]).
    #[must_use]
    pub fn fields(&self, index: usize) -> Option<Result<FieldList>> {
        self.list.fields(index)
    }
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("report", &self.spec.name)
            .field("len", &self.len())
            .finish_non_exhaustive()
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
