//! Core records → pychrony dataclasses, for every registered report: the
//! record's checked fields ([`Record::fields`]: floats finite, bounded
//! integers within bounds) become the keyword arguments of its dataclass,
//! enum values become members of their `pychrony.models` class. A violation
//! raises `ChronyDataError` naming the field and the value.

use chrony_core::reports::{FieldList, Spec, Value};
use chrony_core::{DataFailure, Error};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyType};

use crate::errors;
use crate::types;

fn invalid(message: String) -> PyErr {
    errors::to_py(&Error::Data {
        kind: DataFailure::InvalidValue,
        message,
    })
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

/// `Enum(value)`, or `value` itself when the enum has no such member (the
/// enums of the newer reports keep a newer chronyd's values as plain ints
/// or one-character strings). As in [`member`], only the enum's own
/// `ValueError` means "unknown value"; anything else propagates.
fn member_or_plain<'py>(
    class: &Bound<'py, PyType>,
    value: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    match class.call1((&value,)) {
        Ok(member) => Ok(member),
        Err(err)
            if err
                .get_type(class.py())
                .is(class.py().get_type::<PyValueError>()) =>
        {
            Ok(value)
        }
        Err(err) => Err(err),
    }
}

/// The dataclass of `class` built from `fields` by keyword.
fn build<'py>(
    py: Python<'py>,
    class: &Bound<'py, PyType>,
    fields: &FieldList,
) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = PyDict::new(py);
    for (name, value) in fields.items() {
        match value {
            Value::Int(v) => kwargs.set_item(name, v)?,
            Value::Float(v) => kwargs.set_item(name, v)?,
            Value::Text(v) => kwargs.set_item(name, v)?,
            Value::Bool(v) => kwargs.set_item(name, v)?,
            Value::Absent => kwargs.set_item(name, py.None())?,
            Value::Member(enum_class, v) => {
                let class = types::model(py, enum_class.class())?;
                kwargs.set_item(name, member(&class, fields.report(), name, *v)?)?;
            }
            Value::MemberOrInt(enum_class, v) => {
                let class = types::model(py, enum_class.class())?;
                let plain = v.into_pyobject(py)?.into_any();
                kwargs.set_item(name, member_or_plain(&class, plain)?)?;
            }
            Value::MemberOrChar(enum_class, v) => {
                let class = types::model(py, enum_class.class())?;
                let plain = PyString::new(py, char::from(*v).encode_utf8(&mut [0; 4])).into_any();
                kwargs.set_item(name, member_or_plain(&class, plain)?)?;
            }
        }
    }
    class.call((), Some(&kwargs))
}

/// The records of a report read by name, as its dataclass.
pub(crate) fn records(
    py: Python<'_>,
    spec: &Spec,
    records: &[FieldList],
) -> PyResult<Vec<Py<PyAny>>> {
    let class = types::model(py, spec.dataclass)?;
    records
        .iter()
        .map(|fields| Ok(build(py, &class, fields)?.unbind()))
        .collect()
}

/// The text of a text report ([`chrony_core::reports::Shape::Text`]): its one
/// record's one field.
pub(crate) fn text(py: Python<'_>, spec: &Spec, records: &[FieldList]) -> PyResult<Py<PyAny>> {
    match records.first().map(FieldList::items) {
        Some([(_, Value::Text(text))]) => Ok(PyString::new(py, text).into_any().unbind()),
        _ => Err(PyValueError::new_err(format!(
            "internal error: the {} report holds no text",
            spec.name
        ))),
    }
}
