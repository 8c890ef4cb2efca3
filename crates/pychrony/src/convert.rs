//! Core records → pychrony dataclasses, for every registered report: the
//! record's checked fields ([`Record::fields`]: floats finite, bounded
//! integers within bounds) become the keyword arguments of its dataclass,
//! enum values become members of their `pychrony.models` class. A violation
//! raises `ChronyDataError` naming the field and the value.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use chrony_core::client::Records;
use chrony_core::reports::{Field, FieldList, Value};
use chrony_core::{DataFailure, Error};
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

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

/// Builds the records of one call: its dataclass, what is known about it
/// ([`Plain`]), and the enum classes its fields use, each looked up once per
/// call (by interned name, so a class replaced in `pychrony.models` is the
/// one the next call uses). It holds no GIL token: a call that builds each
/// record as it arrives takes the GIL for each.
struct Builder {
    class: Py<PyType>,
    plain: Option<Arc<Plain>>,
    enums: Vec<(&'static str, Py<PyType>)>,
}

impl Builder {
    fn new(class: &Bound<'_, PyType>, first: &FieldList) -> PyResult<Self> {
        Ok(Builder {
            class: class.clone().unbind(),
            plain: plain_for(class, first)?,
            enums: Vec::new(),
        })
    }

    /// The enum class `field` names, looked up once per call.
    fn enum_class<'py>(&mut self, py: Python<'py>, field: Field) -> PyResult<Bound<'py, PyType>> {
        let name = field.class();
        if let Some((_, class)) = self.enums.iter().find(|(n, _)| std::ptr::eq(*n, name)) {
            return Ok(class.bind(py).clone());
        }
        let class = types::model(py, name)?;
        self.enums.push((name, class.clone().unbind()));
        Ok(class)
    }

    /// The Python value of one field.
    fn value<'py>(
        &mut self,
        py: Python<'py>,
        report: &str,
        name: &str,
        value: &Value,
    ) -> PyResult<Bound<'py, PyAny>> {
        Ok(match value {
            Value::Int(v) => v.into_pyobject(py)?.into_any(),
            Value::Float(v) => v.into_pyobject(py)?.into_any(),
            Value::Text(v) => PyString::new(py, v).into_any(),
            Value::Bool(v) => v.into_pyobject(py)?.to_owned().into_any(),
            Value::Absent => py.None().into_bound(py),
            Value::Member(field, v) => {
                let class = self.enum_class(py, *field)?;
                member(&class, report, name, *v)?
            }
            Value::MemberOrInt(field, v) => {
                let class = self.enum_class(py, *field)?;
                member_or_plain(&class, u32::from(*v), || {
                    Ok(v.into_pyobject(py)?.into_any())
                })?
            }
            Value::MemberOrChar(field, v) => {
                let class = self.enum_class(py, *field)?;
                member_or_plain(&class, CHAR_KEY + u32::from(*v), || {
                    let text = char::from(*v).encode_utf8(&mut [0; 4]).to_owned();
                    Ok(PyString::new(py, &text).into_any())
                })?
            }
        })
    }

    /// The dataclass built from `fields`: in one pass for a plain dataclass
    /// whose fields are exactly `fields`' in order ([`plain_fields`]):
    /// `object.__new__(class)`, then each field stored in the instance's
    /// `__dict__`, which is all its generated `__init__` does (through
    /// `object.__setattr__`, which for a name no class in the MRO makes a
    /// data descriptor stores there too). Anything else is called with the
    /// fields as keyword arguments.
    fn build<'py>(&mut self, py: Python<'py>, fields: &FieldList) -> PyResult<Bound<'py, PyAny>> {
        let report = fields.report();
        let class = self.class.clone_ref(py).into_bound(py);
        if let Some(plain) = self.plain.clone().filter(|p| p.matches(fields)) {
            let instance = object_new(&class)?;
            let dict = instance_dict(&instance)?;
            for ((name, value), key) in fields.items().iter().zip(&plain.keys) {
                let value = self.value(py, report, name, value)?;
                dict.set_item(key.bind(py), value)?;
            }
            return Ok(instance);
        }
        let kwargs = PyDict::new(py);
        for (name, value) in fields.items() {
            let value = self.value(py, report, name, value)?;
            kwargs.set_item(types::name(py, name), value)?;
        }
        class.call((), Some(&kwargs))
    }
}

/// A plain dataclass ([`plain_fields`]) whose fields are those of the core's
/// records, in order: the names as the core spells them (`&'static str`,
/// compared by address first) and as interned Python strings.
struct Plain {
    names: Vec<&'static str>,
    keys: Vec<Py<PyString>>,
}

impl Plain {
    /// `fields` has exactly these fields, in order.
    fn matches(&self, fields: &FieldList) -> bool {
        let items = fields.items();
        items.len() == self.names.len()
            && self
                .names
                .iter()
                .zip(items)
                .all(|(a, (b, _))| std::ptr::eq(*a, *b) || a == b)
    }
}

/// Per dataclass (by address, holding the class): its [`Plain`] layout, or
/// `None` when it is not a plain dataclass of these fields.
type PlainCache = HashMap<usize, (Py<PyType>, Option<Arc<Plain>>), Fast>;
static PLAIN: LazyLock<Mutex<PlainCache>> = LazyLock::new(Mutex::default);

/// The [`Plain`] layout of `class` for records like `fields`, worked out
/// the first time the class is seen.
fn plain_for(class: &Bound<'_, PyType>, fields: &FieldList) -> PyResult<Option<Arc<Plain>>> {
    let py = class.py();
    let key = class.as_ptr() as usize;
    if let Some((_, plain)) = lock(&PLAIN).get(&key) {
        return Ok(plain.clone());
    }
    // Python code runs here: no lock is held.
    let names = plain_fields(class)?;
    let plain = names
        .filter(|names| {
            names.len() == fields.items().len()
                && names.iter().zip(fields.items()).all(|(a, (b, _))| a == b)
        })
        .map(|_| {
            Arc::new(Plain {
                names: fields.items().iter().map(|(n, _)| *n).collect(),
                keys: fields
                    .items()
                    .iter()
                    .map(|(n, _)| types::name(py, n).unbind())
                    .collect(),
            })
        });
    lock(&PLAIN).insert(key, (class.clone().unbind(), plain.clone()));
    Ok(plain)
}

/// The fields of `class` when it is a plain dataclass: its `__init__` is the
/// generated one (`init=True`, no `__post_init__`, every field in `__init__`,
/// no `__new__` of its own, a `__dict__`), which only stores each argument
/// with `object.__setattr__` semantics, in field order.
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
        let name: String = field.getattr("name")?.extract()?;
        if is_data_descriptor(class, &name)? {
            return Ok(None);
        }
        names.push(name);
    }
    Ok(Some(names))
}

/// Some class in `class`'s MRO defines `name` as a data descriptor (a
/// property, a slot, ...), which `object.__setattr__` would call rather than
/// store into the instance's `__dict__`.
fn is_data_descriptor(class: &Bound<'_, PyType>, name: &str) -> PyResult<bool> {
    for base in class.getattr("__mro__")?.try_iter()? {
        let namespace = base?.getattr("__dict__")?;
        if namespace.contains(name)? {
            let kind = namespace.get_item(name)?.get_type();
            return Ok(kind.hasattr("__set__")? || kind.hasattr("__delete__")?);
        }
    }
    Ok(false)
}

/// `object.__new__(class)`, through `object`'s `tp_new` slot: what the
/// Python-level call runs, without building its argument tuple. Only for a
/// class whose `__new__` is `object.__new__` ([`plain_fields`]).
fn object_new<'py>(class: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyAny>> {
    static NEW: OnceLock<usize> = OnceLock::new();
    let py = class.py();
    let slot = *NEW.get_or_init(|| {
        // SAFETY: `PyBaseObject_Type` is a static type, which
        // `PyType_GetSlot` accepts from Python 3.10 on (the abi3 floor of
        // this module); `Py_tp_new` is a valid slot id and the GIL is held.
        unsafe { ffi::PyType_GetSlot(&raw mut ffi::PyBaseObject_Type, ffi::Py_tp_new) as usize }
    });
    if slot == 0 {
        return Err(PyValueError::new_err(
            "internal error: object has no tp_new",
        ));
    }
    // SAFETY: the slot holds `object`'s `tp_new`, a `newfunc` (the slot's
    // documented type), and it is not null.
    let new: ffi::newfunc = unsafe { std::mem::transmute::<usize, ffi::newfunc>(slot) };
    let args = PyTuple::empty(py);
    // SAFETY: `class` is a live type object and `args` a live tuple for the
    // whole call (both borrowed by `Bound`s); null `kwds` means no keyword
    // arguments, as `tp_new` allows; the GIL is held. The result is a new
    // reference or null with an exception set.
    unsafe {
        let obj = new(class.as_type_ptr(), args.as_ptr(), std::ptr::null_mut());
        Bound::from_owned_ptr_or_err(py, obj)
    }
}

/// The `__dict__` of `instance` (made now if it has none yet), as
/// `object`'s `__dict__` descriptor gives it. Only for an instance of a
/// class with a `__dict__` ([`plain_fields`]).
fn instance_dict<'py>(instance: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let py = instance.py();
    // SAFETY: `instance` is a live object (borrowed by a `Bound`) and the
    // GIL is held; the second argument is unused by CPython (null is what
    // its own callers pass). The result is a new reference or null with an
    // exception set.
    let dict = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyObject_GenericGetDict(instance.as_ptr(), std::ptr::null_mut()),
        )
    }?;
    Ok(dict.cast_into::<PyDict>()?)
}

/// Record `index` of `records` as checked fields ([`Records::fields`]).
fn fields(records: &Records, index: usize) -> PyResult<FieldList> {
    match records.fields(index) {
        Some(Ok(fields)) => Ok(fields),
        Some(Err(e)) => Err(errors::to_py(&e)),
        None => Err(PyValueError::new_err(format!(
            "internal error: no {} record {index}",
            records.spec().name
        ))),
    }
}

/// The records of a report read by name, as its dataclass: each listed as
/// fields, built and dropped in turn.
pub(crate) fn records(py: Python<'_>, records: &Records) -> PyResult<Vec<Py<PyAny>>> {
    let mut stream = Stream::new(records.spec().dataclass);
    for index in 0..records.len() {
        stream.push(py, index, &fields(records, index)?)?;
    }
    Ok(stream.out)
}

/// The one record of a single report read by name, as its dataclass.
pub(crate) fn record(py: Python<'_>, records: &Records) -> PyResult<Py<PyAny>> {
    let class = types::model(py, records.spec().dataclass)?;
    let fields = fields(records, 0)?;
    Ok(Builder::new(&class, &fields)?.build(py, &fields)?.unbind())
}

/// The records of a list report as they arrive, each built when it comes:
/// `(index, fields)` in order from 0, a repeated index starting over from
/// there ([`chrony_core::Client::read_each`]).
pub(crate) struct Stream {
    dataclass: &'static str,
    builder: Option<Builder>,
    /// The records built so far.
    pub(crate) out: Vec<Py<PyAny>>,
}

impl Stream {
    pub(crate) fn new(dataclass: &'static str) -> Self {
        Stream {
            dataclass,
            builder: None,
            out: Vec::new(),
        }
    }

    /// Builds record `index` from `fields`, dropping any built from that
    /// index on.
    pub(crate) fn push(
        &mut self,
        py: Python<'_>,
        index: usize,
        fields: &FieldList,
    ) -> PyResult<()> {
        let builder = match &mut self.builder {
            Some(builder) => builder,
            none => none.insert(Builder::new(&types::model(py, self.dataclass)?, fields)?),
        };
        let record = builder.build(py, fields)?.unbind();
        self.out.truncate(index);
        self.out.push(record);
        Ok(())
    }
}

/// The text of a text report ([`chrony_core::reports::Shape::Text`]): its one
/// record's one field.
pub(crate) fn text(py: Python<'_>, records: &Records) -> PyResult<Py<PyAny>> {
    let first = match records.fields(0) {
        Some(result) => Some(result.map_err(|e| errors::to_py(&e))?),
        None => None,
    };
    match first.as_ref().map(FieldList::items) {
        Some([(_, Value::Text(text))]) => Ok(PyString::new(py, text).into_any().unbind()),
        _ => Err(PyValueError::new_err(format!(
            "internal error: the {} report holds no text",
            records.spec().name
        ))),
    }
}
