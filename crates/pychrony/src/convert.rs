//! Core reports → pychrony dataclasses, validated on the way: every float
//! finite, stratum 0–15, reachability 0–255, enum values known to Python.
//! A violation raises `ChronyDataError` naming the field and the value.

use chrony_core::report::check_finite;
use chrony_core::{refid_name, DataFailure, Error, RtcData, Source, SourceStats, Tracking};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};

use crate::errors;
use crate::types;

/// A tuple of positional arguments of mixed types (Rust tuples stop at 12).
macro_rules! args {
    ($py:expr; $($value:expr),+ $(,)?) => {
        PyTuple::new($py, [$($value.into_pyobject($py)?.into_any()),+])?
    };
}

fn invalid(message: String) -> PyErr {
    errors::to_py(&Error::Data {
        kind: DataFailure::InvalidValue,
        message,
    })
}

fn finite(report: &str, fields: &[(&str, f64)]) -> PyResult<()> {
    for (name, value) in fields {
        check_finite(report, name, *value).map_err(|e| errors::to_py(&e))?;
    }
    Ok(())
}

fn in_range(report: &str, field: &str, value: u16, max: u16) -> PyResult<()> {
    if value > max {
        return Err(invalid(format!(
            "chronyd sent an invalid {report} value: {field} = {value} (expected 0 to {max})"
        )));
    }
    Ok(())
}

/// `Enum(value)`, or `ChronyDataError` naming the field and value when the
/// enum has no such member.
///
/// Only the enum's own `ValueError` means "unknown value". Calling the enum
/// runs Python code, so Python may run a pending signal handler inside the
/// call: its exception (`KeyboardInterrupt` from Ctrl-C, or anything a
/// handler raises), like `MemoryError` or any other, propagates unchanged.
fn member<'py>(
    class: &Bound<'py, PyType>,
    report: &str,
    field: &str,
    value: u16,
) -> PyResult<Bound<'py, PyAny>> {
    class.call1((value,)).map_err(|err| {
        // The exact class: a subclass (UnicodeError, ...) is not the enum's
        // "no such value".
        if err
            .get_type(class.py())
            .is(class.py().get_type::<PyValueError>())
        {
            invalid(format!(
                "chronyd sent an unknown {report} {field} value {value}; it is probably newer \
                 than this client: upgrade pychrony-rs"
            ))
        } else {
            err
        }
    })
}

pub(crate) fn tracking(py: Python<'_>, t: &Tracking) -> PyResult<Py<PyAny>> {
    let r = "tracking";
    in_range(r, "stratum", t.stratum, 15)?;
    let ref_time = t.ref_time.as_f64();
    finite(
        r,
        &[
            ("ref_time", ref_time),
            ("offset", t.current_correction),
            ("last_offset", t.last_offset),
            ("rms_offset", t.rms_offset),
            ("frequency", t.frequency),
            ("residual_freq", t.residual_frequency),
            ("skew", t.skew),
            ("root_delay", t.root_delay),
            ("root_dispersion", t.root_dispersion),
            ("update_interval", t.last_update_interval),
        ],
    )?;
    let leap = member(
        types::leap_status(py)?,
        r,
        "leap_status",
        t.leap_status.into(),
    )?;
    let args = args!(py;
        t.reference_id,
        refid_name(t.reference_id),
        t.address.to_string(),
        t.stratum,
        leap,
        ref_time,
        t.current_correction,
        t.last_offset,
        t.rms_offset,
        t.frequency,
        t.residual_frequency,
        t.skew,
        t.root_delay,
        t.root_dispersion,
        t.last_update_interval,
    );
    Ok(types::tracking_status(py)?.call1(args)?.unbind())
}

pub(crate) fn source(py: Python<'_>, s: &Source) -> PyResult<Py<PyAny>> {
    let r = "sources";
    in_range(r, "stratum", s.stratum, 15)?;
    in_range(r, "reachability", s.reachability, 255)?;
    finite(
        r,
        &[
            ("orig_latest_meas", s.orig_latest_meas),
            ("latest_meas", s.latest_meas),
            ("latest_meas_err", s.latest_meas_err),
        ],
    )?;
    let state = member(types::source_state(py)?, r, "state", s.state.into())?;
    let mode = member(types::source_mode(py)?, r, "mode", s.mode.into())?;
    let args = args!(py;
        s.name(),
        s.poll,
        s.stratum,
        state,
        mode,
        s.flags,
        s.reachability,
        s.last_sample_ago,
        s.orig_latest_meas,
        s.latest_meas,
        s.latest_meas_err,
    );
    Ok(types::source(py)?.call1(args)?.unbind())
}

pub(crate) fn source_stats(py: Python<'_>, s: &SourceStats) -> PyResult<Py<PyAny>> {
    finite(
        "sourcestats",
        &[
            ("std_dev", s.std_dev),
            ("resid_freq", s.resid_freq),
            ("skew", s.skew),
            ("offset", s.offset),
            ("offset_err", s.offset_err),
        ],
    )?;
    let args = args!(py;
        s.reference_id,
        s.name(),
        s.samples,
        s.runs,
        s.span,
        s.std_dev,
        s.resid_freq,
        s.skew,
        s.offset,
        s.offset_err,
    );
    Ok(types::source_stats(py)?.call1(args)?.unbind())
}

pub(crate) fn rtc_data(py: Python<'_>, d: &RtcData) -> PyResult<Py<PyAny>> {
    let ref_time = d.ref_time.as_f64();
    finite(
        "rtcdata",
        &[
            ("ref_time", ref_time),
            ("offset", d.offset),
            ("freq_offset", d.freq_offset),
        ],
    )?;
    let args = args!(py; ref_time, d.samples, d.runs, d.span, d.offset, d.freq_offset);
    Ok(types::rtc_data(py)?.call1(args)?.unbind())
}
