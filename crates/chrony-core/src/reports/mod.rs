//! The reports, one file each: its record type (each field documented with
//! libchrony's name, the unit and the chronyc column it matches), and its
//! registration: what the layers above need to serve it (the Python
//! method, dataclass and fields, its shape, whether chronyd serves it over
//! UDP by default).
//!
//! [`REGISTRY`] lists every report; the bridge, the Python layer and its
//! tests are derived from it or checked against it.

mod activity;
mod args;
mod authdata;
mod clients;
mod enums;
mod manual;
mod ntpdata;
mod rtc;
mod selectdata;
mod serverstats;
mod smoothing;
mod sourcename;
mod sources;
mod sourcestats;
mod tracking;

pub use activity::Activity;
pub use args::Args;
pub use authdata::AuthData;
pub use clients::ClientAccess;
pub use enums::{LeapStatus, SourceMode, SourceState};
pub use manual::ManualSample;
pub use ntpdata::NtpData;
pub use rtc::RtcData;
pub use selectdata::SelectData;
pub use serverstats::ServerStats;
pub use smoothing::Smoothing;
pub use sourcename::SourceName;
pub use sources::Source;
pub use sourcestats::SourceStats;
pub use tracking::Tracking;

use crate::error::{DataFailure, Error, Result};
use crate::protocol::reply::check;
use crate::protocol::request::Request;
use crate::protocol::wire::{IpAddr, Reader, Timespec};

/// How a report's records come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One record.
    Single,
    /// One record, or none when chronyd does not provide the report (the
    /// Python method returns `None`; the module function raises).
    Optional,
    /// One record per source: the count (N_SOURCES), then each index.
    PerSource,
    /// One record per NTP source, asked for by the source's address: the
    /// count, SOURCE_DATA for each index (the addresses and modes), then
    /// the report's request for each NTP source's address (reference
    /// clocks skipped; sources not resolved yet only with `unresolved`).
    /// With the report's `address` argument (optional for this shape, see
    /// [`Args::parse`]), only that source: one request.
    PerAddress {
        /// Whether sources not resolved yet (`ID#…`) are listed.
        unresolved: bool,
    },
    /// Pages of records (CLIENT_ACCESSES_BY_INDEX3): the request for page
    /// `index` starts at that table index, and [`Record::next_page`] says
    /// where the next one starts, until it says none.
    Paged,
    /// Several records in one reply (MANUAL_LIST): one request, decoded by
    /// [`Record::decode_records`]. Python gets a list, as for
    /// [`Shape::PerSource`].
    InReply,
    /// One piece of text (Python `str`; the registration's `dataclass` is
    /// `"str"`): the record's one field.
    Text,
}

impl Shape {
    /// The name the Python registry uses.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Single => "single",
            Shape::Optional => "optional",
            Shape::PerSource | Shape::PerAddress { .. } | Shape::Paged | Shape::InReply => "list",
            Shape::Text => "text",
        }
    }
}

/// A report's registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// chronyc's command name (`tracking`, `sources`, …).
    pub name: &'static str,
    /// The `ChronyConnection` method and module-level function.
    pub method: &'static str,
    /// The dataclass in `pychrony.models` that holds one record (`"str"`
    /// for a [`Shape::Text`] report: Python gets the text itself).
    pub dataclass: &'static str,
    /// One record, maybe none, or a list.
    pub shape: Shape,
    /// The report's own arguments (keyword names), in order.
    pub args: &'static [&'static str],
    /// Whether chronyd serves it on its UDP command port by default (else
    /// on its Unix socket only).
    pub udp: bool,
}

/// A record of a registered report: how to ask for it, natively and
/// through libchrony, how to decode it, and what Python receives.
pub trait Record: Sized {
    /// Its registration.
    const SPEC: Spec;

    /// The request for the record at `index` of a per-source report (0 for
    /// the others), with the report's own arguments (already checked
    /// against [`Spec::args`] by [`Args::parse`]).
    fn request(index: u32, args: &Args) -> Request;

    /// Decodes a reply body whose reply code `reply` is one the request
    /// accepts, and whose length `check` has verified.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] for values the body cannot hold.
    fn decode(reply: u16, body: &Reader<'_>) -> Result<Self>;

    /// Decodes the records of a reply: the one record [`Record::decode`]
    /// gives, except for a [`Shape::InReply`] report, whose reply holds a
    /// list.
    ///
    /// # Errors
    ///
    /// As [`Record::decode`].
    fn decode_records(reply: u16, body: &Reader<'_>) -> Result<Vec<Self>> {
        Ok(vec![Self::decode(reply, body)?])
    }

    /// For a [`Shape::Paged`] report: the index the page after this reply
    /// starts at, or `None` when this reply was the last page.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] for a page header the body cannot hold.
    fn next_page(_reply: u16, _body: &Reader<'_>) -> Result<Option<u32>> {
        Ok(None)
    }

    /// For a [`Shape::PerAddress`] report: the record of the source at
    /// `address` (the address it was asked for by; a reply that does not
    /// carry the address gets it here).
    #[must_use]
    fn at_address(self, _address: IpAddr) -> Self {
        self
    }

    /// Reads the record from libchrony's fields, by libchrony's names.
    ///
    /// # Errors
    ///
    /// [`Error::Library`] or [`Error::Data`] for a missing or invalid field.
    fn from_fields(fields: &dyn NamedFields) -> Result<Self>;

    /// The values of the dataclass's fields, in their order, checked:
    /// floats finite, bounded integers within their bounds.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] naming the field and value when one is invalid.
    fn fields(&self) -> Result<FieldList>;
}

/// A record's values by libchrony's field names: what the libchrony backend
/// reads a reply through (its fields are typed and named, CMDMON.md §6).
pub trait NamedFields {
    /// Whether the record has a field of that name.
    fn has(&self, name: &str) -> bool;
    /// An unsigned 8-bit field.
    ///
    /// # Errors
    ///
    /// Missing, of another type, or out of range.
    fn u8(&self, name: &str) -> Result<u8>;
    /// A signed 8-bit field.
    ///
    /// # Errors
    ///
    /// Missing, of another type, or out of range.
    fn i8(&self, name: &str) -> Result<i8>;
    /// An unsigned 16-bit field.
    ///
    /// # Errors
    ///
    /// Missing, of another type, or out of range.
    fn u16(&self, name: &str) -> Result<u16>;
    /// An unsigned 32-bit field.
    ///
    /// # Errors
    ///
    /// Missing, of another type, or out of range.
    fn u32(&self, name: &str) -> Result<u32>;
    /// An unsigned 64-bit field.
    ///
    /// # Errors
    ///
    /// Missing or of another type.
    fn u64(&self, name: &str) -> Result<u64>;
    /// A signed 32-bit field.
    ///
    /// # Errors
    ///
    /// Missing, of another type, or out of range.
    fn i32(&self, name: &str) -> Result<i32>;
    /// A poll field (log2 seconds, signed).
    ///
    /// # Errors
    ///
    /// Missing, of another type, or out of range.
    fn poll(&self, name: &str) -> Result<i16>;
    /// A float field.
    ///
    /// # Errors
    ///
    /// Missing or of another type.
    fn float(&self, name: &str) -> Result<f64>;
    /// A time field.
    ///
    /// # Errors
    ///
    /// Missing or of another type.
    fn timespec(&self, name: &str) -> Result<Timespec>;
    /// An address field (UNSPEC when libchrony gives none).
    ///
    /// # Errors
    ///
    /// Missing, of another type, or not an address.
    fn address(&self, name: &str) -> Result<IpAddr>;
}

/// Checks a reply to `R`'s request for record `index` and decodes it.
///
/// # Errors
///
/// Those of [`crate::protocol::reply::check`] and of the report's decoder.
pub fn decode<R: Record>(index: u32, buf: &[u8]) -> Result<R> {
    decode_with(index, &Args::NONE, buf)
}

/// Checks a reply to `R`'s request and decodes every record it holds
/// ([`Record::decode_records`]).
///
/// # Errors
///
/// As [`decode`].
pub fn decode_records<R: Record>(buf: &[u8]) -> Result<Vec<R>> {
    let req = R::request(0, &Args::NONE);
    let (reply, body) = check(&req, buf)?;
    R::decode_records(reply, &body)
}

/// [`decode`] for the request made with `args`.
///
/// # Errors
///
/// As [`decode`].
pub fn decode_with<R: Record>(index: u32, args: &Args, buf: &[u8]) -> Result<R> {
    let req = R::request(index, args);
    let (reply, body) = check(&req, buf)?;
    R::decode(reply, &body)
}

/// The registration of the report chronyc calls `name`.
#[must_use]
pub fn spec(name: &str) -> Option<&'static Spec> {
    REGISTRY.iter().find(|s| s.name == name)
}

/// How often a per-source report is read again from a fresh count when the
/// source list changes under it (both backends).
pub(crate) const SOURCE_LIST_ATTEMPTS: u32 = 4;
/// More sources than this in a count is garbage, not a list.
pub(crate) const MAX_SOURCES: u32 = 65_536;

/// The number of sources, checked for plausibility.
///
/// # Errors
///
/// [`Error::Data`] for a count above [`MAX_SOURCES`] (or negative).
pub(crate) fn source_count(count: impl TryInto<u32> + std::fmt::Display + Copy) -> Result<u32> {
    count
        .try_into()
        .ok()
        .filter(|n| *n <= MAX_SOURCES)
        .ok_or_else(|| {
            Error::data(
                DataFailure::InvalidValue,
                format!(
                    "chronyd reported {count} sources; a count outside 0..={MAX_SOURCES} is not a \
                     plausible list"
                ),
            )
        })
}

/// Calls macro `$m` with every report type, in the order of
/// [`REGISTRY`]: the one list of reports, which the by-name read and the
/// registry are made from.
#[macro_export]
#[doc(hidden)]
macro_rules! for_each_report {
    ($m:ident) => {
        $m!(
            $crate::reports::Tracking,
            $crate::reports::Source,
            $crate::reports::SourceStats,
            $crate::reports::RtcData,
            $crate::reports::Activity,
            $crate::reports::ServerStats,
            $crate::reports::Smoothing,
            $crate::reports::SourceName,
            $crate::reports::ManualSample,
            $crate::reports::NtpData,
            $crate::reports::SelectData,
            $crate::reports::AuthData,
            $crate::reports::ClientAccess
        )
    };
}

macro_rules! registry {
    ($($report:ty),+) => { &[$(<$report>::SPEC),+] };
}

/// Every report, in the order chronyc's manual lists them.
pub const REGISTRY: &[Spec] = for_each_report!(registry);

/// A Python enum class of `pychrony.models`, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field(&'static str);

impl Field {
    /// `LeapStatus`
    pub const LEAP_STATUS: Field = Field("LeapStatus");
    /// `SourceState`
    pub const SOURCE_STATE: Field = Field("SourceState");
    /// `SourceMode`
    pub const SOURCE_MODE: Field = Field("SourceMode");
    /// `NTPMode`
    pub const NTP_MODE: Field = Field("NTPMode");
    /// `NTPTests` (an `enum.Flag`)
    pub const NTP_TESTS: Field = Field("NTPTests");
    /// `TimestampSource` (character values)
    pub const TIMESTAMP_SOURCE: Field = Field("TimestampSource");
    /// `SelectState` (character values)
    pub const SELECT_STATE: Field = Field("SelectState");
    /// `SelectOptions` (an `enum.Flag`)
    pub const SELECT_OPTIONS: Field = Field("SelectOptions");
    /// `AuthMode`
    pub const AUTH_MODE: Field = Field("AuthMode");

    /// The class name.
    #[must_use]
    pub fn class(self) -> &'static str {
        self.0
    }
}

/// One field's value, as the dataclass receives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A float (finite).
    Float(f64),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// No value (Python `None`): a field the server's reply layout does
    /// not carry.
    Absent,
    /// A member of an enum class, by its value; a value the class does not
    /// know is an error (the pychrony 2.0.3 reports keep 2.0.3's behaviour).
    /// Flags ([`FieldList::flags`]) come this way too, with their unknown
    /// bits dropped, so that every value is a member.
    Member(Field, u16),
    /// A member of an enum class by its integer value, or the plain integer
    /// when the class does not know it (the enums of the newer reports: a
    /// newer chronyd's value must not raise).
    MemberOrInt(Field, u16),
    /// A member of an enum class whose values are one-character strings,
    /// by its character, or the plain one-character string when the class
    /// does not know it (character 0 too: chronyd's "none").
    MemberOrChar(Field, u8),
}

/// A record's fields in order, built with checks.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldList {
    report: &'static str,
    items: Vec<(&'static str, Value)>,
}

impl FieldList {
    /// An empty list for `report` (named in messages).
    #[must_use]
    pub fn new(report: &'static str) -> Self {
        FieldList {
            report,
            items: Vec::with_capacity(16),
        }
    }

    /// The report's name.
    #[must_use]
    pub fn report(&self) -> &'static str {
        self.report
    }

    /// The fields, in order.
    #[must_use]
    pub fn items(&self) -> &[(&'static str, Value)] {
        &self.items
    }

    /// Adds an integer.
    pub fn int(&mut self, name: &'static str, value: impl Into<i64>) -> &mut Self {
        self.items.push((name, Value::Int(value.into())));
        self
    }

    /// Adds a counter that the reply may lack (`None`: Python `None`).
    ///
    /// # Errors
    ///
    /// [`Error::Data`] for a count beyond Python's 64-bit signed range
    /// that this list holds (2^63 − 1; no counter gets there).
    pub fn count(&mut self, name: &'static str, value: Option<u64>) -> Result<&mut Self> {
        let value = match value {
            None => Value::Absent,
            Some(v) => Value::Int(i64::try_from(v).map_err(|_| {
                Error::data(
                    DataFailure::InvalidValue,
                    format!(
                        "chronyd sent an invalid {} value: {name} = {v} (above 2^63 - 1)",
                        self.report
                    ),
                )
            })?),
        };
        self.items.push((name, value));
        Ok(self)
    }

    /// Adds a boolean.
    pub fn flag(&mut self, name: &'static str, value: bool) -> &mut Self {
        self.items.push((name, Value::Bool(value)));
        self
    }

    /// Adds text.
    pub fn text(&mut self, name: &'static str, value: String) -> &mut Self {
        self.items.push((name, Value::Text(value)));
        self
    }

    /// Adds an enum member by value.
    pub fn member(&mut self, name: &'static str, class: Field, value: u16) -> &mut Self {
        self.items.push((name, Value::Member(class, value)));
        self
    }

    /// Adds a member of `class` by value, or the plain integer when the
    /// class does not know the value.
    pub fn member_or_int(&mut self, name: &'static str, class: Field, value: u16) -> &mut Self {
        self.items.push((name, Value::MemberOrInt(class, value)));
        self
    }

    /// Adds a member of the character-valued `class` by character, or the
    /// plain one-character string when the class does not know it.
    pub fn member_or_char(&mut self, name: &'static str, class: Field, value: u8) -> &mut Self {
        self.items.push((name, Value::MemberOrChar(class, value)));
        self
    }

    /// Adds the flags of the `enum.Flag` `class` that `known` (the class's
    /// bits) lists. Bits outside `known` (a newer chronyd's) are dropped:
    /// the value is always a member and never raises.
    pub fn flags(&mut self, name: &'static str, class: Field, value: u16, known: u16) -> &mut Self {
        self.member(name, class, value & known)
    }

    /// Adds an address as chronyc -n prints it (`''` for none).
    pub fn address(&mut self, name: &'static str, value: IpAddr) -> &mut Self {
        self.text(name, value.to_string())
    }

    /// Adds a float, which must be finite.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] for NaN or an infinity.
    pub fn float(&mut self, name: &'static str, value: f64) -> Result<&mut Self> {
        check_finite(self.report, name, value)?;
        self.items.push((name, Value::Float(value)));
        Ok(self)
    }

    /// Adds an integer that must be at most `max`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when it is larger.
    pub fn ranged(&mut self, name: &'static str, value: u16, max: u16) -> Result<&mut Self> {
        if value > max {
            return Err(Error::data(
                DataFailure::InvalidValue,
                format!(
                    "chronyd sent an invalid {} value: {name} = {value} (expected 0 to {max})",
                    self.report
                ),
            ));
        }
        Ok(self.int(name, value))
    }
}

/// Checks that a decoded float is finite, naming the report and field.
///
/// # Errors
///
/// [`Error::Data`] for NaN or an infinity.
pub fn check_finite(report: &str, field: &str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::data(
            DataFailure::InvalidValue,
            format!(
                "chronyd sent an invalid {report} value: {field} = {value} (not a finite number)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique_and_complete() {
        let mut names: Vec<_> = REGISTRY.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len());
        assert!(REGISTRY.iter().all(|s| s.method.starts_with("get_")));
    }

    #[test]
    fn checks_name_the_field() {
        let mut f = FieldList::new("tracking");
        let e = f.float("skew", f64::NAN).unwrap_err();
        assert!(e.to_string().contains("skew = NaN"), "{e}");
        let e = f.ranged("stratum", 16, 15).unwrap_err();
        assert!(
            e.to_string().contains("stratum = 16 (expected 0 to 15)"),
            "{e}"
        );
        assert!(f.float("skew", 1.0).is_ok());
        assert_eq!(f.items().len(), 1);
    }
}

#[cfg(test)]
// chrony's float decodes exactly into f64, so tests compare exactly.
#[allow(clippy::float_cmp)]
mod decoding {
    use super::*;
    use crate::protocol::reply::{build, is_no_such_source, parse_header};
    use crate::protocol::request::{cmd, rpy};
    use crate::protocol::wire::encode_float;

    fn source_body(poll: i16) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&IpAddr::V4([127, 0, 0, 1].into()).encode());
        b.extend_from_slice(&poll.to_be_bytes());
        for v in [2u16, 0, 0, 0, 0o377] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&u32::MAX.to_be_bytes());
        for f in [1e-3, -2e-3, 5e-4] {
            b.extend_from_slice(&encode_float(f).to_be_bytes());
        }
        b
    }

    #[test]
    fn decodes_a_source_with_negative_poll() {
        let buf = build(cmd::SOURCE_DATA, rpy::SOURCE_DATA, 0, 7, &source_body(-6));
        let s: Source = decode(0, &buf).unwrap();
        assert_eq!(s.poll, -6);
        assert_eq!(s.reachability, 0o377);
        assert_eq!(s.state, SourceState::Selected);
        assert_eq!(s.mode, SourceMode::Client);
        assert_eq!(s.last_sample_ago, u32::MAX);
        assert!((s.latest_meas + 2e-3).abs() < 1e-9);
    }

    #[test]
    fn status_mapping() {
        let e =
            |st| decode::<RtcData>(0, &build(cmd::RTCREPORT, rpy::NULL, st, 1, &[])).unwrap_err();
        assert!(matches!(e(13), Error::NotAvailable { .. }));
        assert!(matches!(e(2), Error::Unauthorized { .. }));
        assert_eq!(e(3).error_code(), Some(12));
        assert_eq!(e(18).error_code(), Some(13));
        assert_eq!(e(19).error_code(), Some(13));
        assert_eq!(e(1).error_code(), Some(11));
        assert!(is_no_such_source(&e(4)));
        assert_eq!(e(99).error_code(), Some(11));
    }

    #[test]
    fn rejects_short_wrong_and_foreign_replies() {
        let short = build(cmd::TRACKING, rpy::TRACKING, 0, 1, &[0; 10]);
        assert_eq!(
            decode::<Tracking>(0, &short).unwrap_err().error_code(),
            Some(14)
        );
        let wrong = build(cmd::TRACKING, rpy::RTC, 0, 1, &[0; 76]);
        assert_eq!(
            decode::<Tracking>(0, &wrong).unwrap_err().error_code(),
            Some(13)
        );
        let mut v5 = build(cmd::TRACKING, rpy::NULL, 18, 1, &[]);
        v5[0] = 5;
        assert_eq!(
            decode::<Tracking>(0, &v5).unwrap_err().error_code(),
            Some(12)
        );
        v5[0] = 7;
        assert_eq!(
            decode::<Tracking>(0, &v5).unwrap_err().error_code(),
            Some(13)
        );
        assert!(parse_header(&[0; 27]).is_none());
        let mut req_type = build(cmd::TRACKING, rpy::TRACKING, 0, 1, &[0; 76]);
        req_type[1] = 1;
        assert!(parse_header(&req_type).is_none());
        let null_src = build(cmd::SOURCE_DATA, rpy::NULL, 0, 1, &[]);
        assert!(is_no_such_source(
            &decode::<Source>(1, &null_src).unwrap_err()
        ));
    }

    #[test]
    fn decodes_tracking_of_unsynchronised_daemon() {
        let mut body = vec![0u8; 76];
        body[26..28].copy_from_slice(&3u16.to_be_bytes());
        body[64..68].copy_from_slice(&encode_float(1.0).to_be_bytes());
        let t: Tracking = decode(0, &build(33, 5, 0, 1, &body)).unwrap();
        assert_eq!(t.leap_status, LeapStatus::Unsync);
        assert_eq!(t.root_delay, 1.0);
        assert!(t.ref_time.is_zero());
        assert!(t.address.is_unspec());
    }
}
