//! Core records → pychrony dataclasses, for every registered report: the
//! record's checked fields ([`Record::fields`]: floats finite, bounded
//! integers within bounds) become the keyword arguments of its dataclass,
//! enum values become members of their `pychrony.models` class. A violation
//! raises `ChronyDataError` naming the field and the value.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{LazyLock, Mutex, PoisonError};

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
    let py = class.py();
    let key = (class.as_ptr() as usize, value);
    if let Some((_, m)) = lock(&MEMBERS).get(&key) {
        return Ok(m.bind(py).clone());
    }
    let found = class.call1((value,)).map_err(|err| {
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
    })?;
    // The entry keeps the class alive, so its address names no other class.
    lock(&MEMBERS).insert(key, (class.clone().unbind(), found.clone().unbind()));
    Ok(found)
}

/// Enum members by (class address, value): calling an enum class runs
/// Python code, and its members are singletons, so each is looked up once.
type MemberCache = HashMap<(usize, u16), (Py<PyType>, Py<PyAny>), Fast>;
static MEMBERS: LazyLock<Mutex<MemberCache>> = LazyLock::new(Mutex::default);

/// Field names as interned Python strings, by the address and length of the
/// `&'static str` the core gives. A dataclass's `__init__` matches an
/// interned keyword to its parameter by identity; a fresh string would be
/// hashed, then compared by content with each parameter name.
type NameCache = HashMap<(usize, usize), Py<PyString>, Fast>;
static NAMES: LazyLock<Mutex<NameCache>> = LazyLock::new(Mutex::default);

/// The caches' hasher: their keys are addresses and small integers, which
/// need no defence against chosen collisions, and SipHash would cost more
/// than the rest of a lookup.
#[derive(Default)]
struct AddressHasher(u64);

impl AddressHasher {
    fn add(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.add(u64::from(*b));
        }
    }
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

type Fast = BuildHasherDefault<AddressHasher>;

/// The caches hold no invariant a panic could break, and nothing here
/// panics while holding them; a poisoned lock is still used.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A dataclass's keyword arguments, keyed by interned names ([`NAMES`]).
struct Kwargs<'py> {
    dict: Bound<'py, PyDict>,
}

impl<'py> Kwargs<'py> {
    fn set_item<V: IntoPyObject<'py>>(&self, name: &'static str, value: V) -> PyResult<()> {
        let py = self.dict.py();
        let key = (name.as_ptr() as usize, name.len());
        let cached = lock(&NAMES).get(&key).map(|k| k.bind(py).clone());
        let interned = if let Some(k) = cached {
            k
        } else {
            let k = PyString::intern(py, name);
            lock(&NAMES).insert(key, k.clone().unbind());
            k
        };
        self.dict.set_item(interned, value)
    }
}

/// The dataclass of `class` built from `fields` by keyword.
fn build<'py>(
    py: Python<'py>,
    class: &Bound<'py, PyType>,
    fields: &FieldList,
) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = Kwargs {
        dict: PyDict::new(py),
    };
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
        }
    }
    class.call((), Some(&kwargs.dict))
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
