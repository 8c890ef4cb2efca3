//! Core records → pychrony dataclasses, for every registered report: the
//! record's checked fields ([`Record::fields`]: floats finite, bounded
//! integers within bounds) become the keyword arguments of its dataclass,
//! enum values become members of their `pychrony.models` class. A violation
//! raises `ChronyDataError` naming the field and the value.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use chrony_core::reports::{FieldList, Spec, Value};
use chrony_core::{DataFailure, Error};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyType};

use crate::errors;
use crate::types::{self, lock, Fast};

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
    let key = (class.as_ptr() as usize, u32::from(value));
    if let Some(found) = cached(py, key) {
        return Ok(found);
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
    Ok(remember(class, key, found))
}

/// Enum lookups by (class address, value): the member, or for the lenient
/// enums ([`member_or_plain`]) the plain value the class does not know.
/// Calling an enum class runs Python code, and its members are singletons
/// (plain values are immutable), so each is looked up once.
type MemberCache = HashMap<(usize, u32), (Py<PyType>, Py<PyAny>), Fast>;
static MEMBERS: LazyLock<Mutex<MemberCache>> = LazyLock::new(Mutex::default);

fn cached(py: Python<'_>, key: (usize, u32)) -> Option<Bound<'_, PyAny>> {
    lock(&MEMBERS).get(&key).map(|(_, m)| m.bind(py).clone())
}

fn remember<'py>(
    class: &Bound<'py, PyType>,
    key: (usize, u32),
    found: Bound<'py, PyAny>,
) -> Bound<'py, PyAny> {
    // The entry keeps the class alive, so its address names no other class.
    lock(&MEMBERS).insert(key, (class.clone().unbind(), found.clone().unbind()));
    found
}

/// A dataclass's keyword arguments, keyed by interned names ([`types::name`]).
struct Kwargs<'py> {
    dict: Bound<'py, PyDict>,
}

impl<'py> Kwargs<'py> {
    fn set_item<V: IntoPyObject<'py>>(&self, name: &'static str, value: V) -> PyResult<()> {
        self.dict.set_item(types::name(self.dict.py(), name), value)
    }
}

/// `Enum(value)`, or `value` itself when the enum has no such member (the
/// enums of the newer reports keep a newer chronyd's values as plain ints
/// or one-character strings). As in [`member`], only the enum's own
/// `ValueError` means "unknown value"; anything else propagates.
///
/// `key` tells the value apart from the others of the class (the integer,
/// or the character above [`CHAR_KEY`]), for the member cache.
fn member_or_plain<'py>(
    class: &Bound<'py, PyType>,
    key: u32,
    value: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = class.py();
    let key = (class.as_ptr() as usize, key);
    if let Some(found) = cached(py, key) {
        return Ok(found);
    }
    let value = value()?;
    let found = match class.call1((&value,)) {
        Ok(member) => member,
        Err(err) if err.get_type(py).is(py.get_type::<PyValueError>()) => value,
        Err(err) => return Err(err),
    };
    Ok(remember(class, key, found))
}

/// Character values' cache keys start here, above every `u16` value.
const CHAR_KEY: u32 = 1 << 16;

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
            Value::MemberOrInt(enum_class, v) => {
                let class = types::model(py, enum_class.class())?;
                let found = member_or_plain(&class, u32::from(*v), || {
                    Ok(v.into_pyobject(py)?.into_any())
                })?;
                kwargs.set_item(name, found)?;
            }
            Value::MemberOrChar(enum_class, v) => {
                let class = types::model(py, enum_class.class())?;
                let found = member_or_plain(&class, CHAR_KEY + u32::from(*v), || {
                    let text = char::from(*v).encode_utf8(&mut [0; 4]).to_owned();
                    Ok(PyString::new(py, &text).into_any())
                })?;
                kwargs.set_item(name, found)?;
            }
        }
    }
    construct(class, fields, kwargs.dict)
}

/// Per dataclass (by address, holding the class): the field names its
/// generated `__init__` takes, when building it without running that
/// `__init__` gives the same object; `None` when it does not.
type PlainCache = HashMap<usize, (Py<PyType>, Option<Vec<String>>), Fast>;
static PLAIN: LazyLock<Mutex<PlainCache>> = LazyLock::new(Mutex::default);
/// `object.__new__` and `object.__setattr__`.
static OBJECT: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

/// `names` (of [`plain_fields`]) are exactly the fields of `fields`, in order.
fn same_fields(names: Option<&Vec<String>>, fields: &FieldList) -> bool {
    names.is_some_and(|names| {
        names.len() == fields.items().len()
            && names.iter().zip(fields.items()).all(|(a, (b, _))| a == b)
    })
}

/// The fields of `class` when it is a plain dataclass: its `__init__` is the
/// generated one (`init=True`, no `__post_init__`, every field in `__init__`,
/// no `__new__` of its own, a `__dict__`), which only stores each argument
/// in the instance's `__dict__`, in field order.
fn plain_fields(class: &Bound<'_, PyType>) -> PyResult<Option<Vec<String>>> {
    let py = class.py();
    let dataclasses = py.import("dataclasses")?;
    let object = py.import("builtins")?.getattr("object")?;
    let plain = dataclasses
        .call_method1("is_dataclass", (class,))?
        .is_truthy()?
        && class
            .getattr("__dataclass_params__")?
            .getattr("init")?
            .is_truthy()?
        && !class.hasattr("__post_init__")?
        && class.getattr("__new__")?.is(&object.getattr("__new__")?)
        && class.getattr("__dictoffset__")?.extract::<isize>()? != 0;
    if !plain {
        return Ok(None);
    }
    let mut names = Vec::new();
    for field in dataclasses.call_method1("fields", (class,))?.try_iter()? {
        let field = field?;
        if !field.getattr("init")?.is_truthy()? {
            return Ok(None);
        }
        names.push(field.getattr("name")?.extract()?);
    }
    Ok(Some(names))
}

/// `class(**kwargs)`, in one pass for a plain dataclass whose fields are
/// exactly `fields`' in order ([`plain_fields`]): `object.__new__(class)`
/// gets `kwargs` as its `__dict__`, which is what its `__init__` would
/// build one `object.__setattr__` at a time. Anything else is called.
fn construct<'py>(
    class: &Bound<'py, PyType>,
    fields: &FieldList,
    kwargs: Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = class.py();
    let key = class.as_ptr() as usize;
    let known = lock(&PLAIN)
        .get(&key)
        .map(|(_, names)| same_fields(names.as_ref(), fields));
    let direct = if let Some(direct) = known {
        direct
    } else {
        // Python code runs here: no lock is held.
        let names = plain_fields(class)?;
        let direct = same_fields(names.as_ref(), fields);
        lock(&PLAIN).insert(key, (class.clone().unbind(), names));
        direct
    };
    if !direct {
        return class.call((), Some(&kwargs));
    }
    let (new, setattr) = OBJECT.get_or_try_init(py, || -> PyResult<_> {
        let object = py.import("builtins")?.getattr("object")?;
        Ok((
            object.getattr("__new__")?.unbind(),
            object.getattr("__setattr__")?.unbind(),
        ))
    })?;
    let instance = new.bind(py).call1((class,))?;
    setattr
        .bind(py)
        .call1((&instance, intern!(py, "__dict__"), kwargs))?;
    Ok(instance)
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
