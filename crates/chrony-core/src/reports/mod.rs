//! The reports, one file each: its record type (each field documented with
//! libchrony's name, the unit and the chronyc column it matches), and its
//! registration: what the layers above need to serve it (the Python
//! method, dataclass and fields, its shape, whether chronyd serves it over
//! UDP by default).
//!
//! [`REGISTRY`] lists every report; the bridge, the Python layer and its
//! tests are derived from it or checked against it.

mod enums;
mod rtc;
mod sources;
mod sourcestats;
mod tracking;

pub use enums::{LeapStatus, SourceMode, SourceState};
pub use rtc::RtcData;
pub use sources::Source;
pub use sourcestats::SourceStats;
pub use tracking::Tracking;

use crate::error::{DataFailure, Error, Result};

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
}

impl Shape {
    /// The name the Python registry uses.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Single => "single",
            Shape::Optional => "optional",
            Shape::PerSource => "list",
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
    /// The dataclass in `pychrony.models` that holds one record.
    pub dataclass: &'static str,
    /// One record, maybe none, or a list.
    pub shape: Shape,
    /// The report's own arguments (keyword names), in order.
    pub args: &'static [&'static str],
    /// Whether chronyd serves it on its UDP command port by default (else
    /// on its Unix socket only).
    pub udp: bool,
}

/// A record of a registered report.
pub trait Record: Sized {
    /// Its registration.
    const SPEC: Spec;

    /// The values of the dataclass's fields, in their order, checked:
    /// floats finite, bounded integers within their bounds.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] naming the field and value when one is invalid.
    fn fields(&self) -> Result<FieldList>;
}

/// Every report, in the order chronyc's manual lists them.
pub const REGISTRY: &[Spec] = &[
    Tracking::SPEC,
    Source::SPEC,
    SourceStats::SPEC,
    RtcData::SPEC,
];

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
    /// A member of an enum class, by its value; a value the class does not
    /// know is an error (the pychrony 2.0.3 reports keep 2.0.3's behaviour).
    Member(Field, u16),
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
