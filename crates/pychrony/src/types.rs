//! The Python classes this module builds, looked up by name in
//! `pychrony.models` (imported once and cached). They are defined in
//! `python/pychrony`; nothing here redefines them.
//!
//! Names are interned Python strings made once per name ([`name`]): a
//! fresh string per lookup would be decoded and hashed every time, which is
//! most of what building a record cost.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDictMethods, PyModule, PyModuleMethods, PyString, PyType};

/// A class of `pychrony.models` by name: a dataclass of a report's
/// registration, or an enum one of its fields uses. Looked up on every call
/// (by an interned name), so a class replaced in the module is the one used.
pub(crate) fn model<'py>(py: Python<'py>, class: &'static str) -> PyResult<Bound<'py, PyType>> {
    static MODELS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let models = MODELS.get_or_try_init(py, || py.import("pychrony.models").map(Bound::unbind))?;
    let models = models.bind(py);
    let key = name(py, class);
    // The module's namespace first: what `getattr` finds there, without its
    // look through the module type's attributes.
    let found = match models.dict().get_item(&key)? {
        Some(found) => found,
        None => models.getattr(key)?,
    };
    Ok(found.cast_into::<PyType>()?)
}

/// `text` as an interned Python string, made once: by the address and
/// length of the `&'static str` (a static's address names nothing else).
/// Interned keywords also match a function's parameter names by identity.
pub(crate) fn name<'py>(py: Python<'py>, text: &'static str) -> Bound<'py, PyString> {
    type NameCache = HashMap<(usize, usize), Py<PyString>, Fast>;
    static NAMES: LazyLock<Mutex<NameCache>> = LazyLock::new(Mutex::default);
    let key = (text.as_ptr() as usize, text.len());
    if let Some(k) = lock(&NAMES).get(&key) {
        return k.bind(py).clone();
    }
    let k = PyString::intern(py, text);
    lock(&NAMES).insert(key, k.clone().unbind());
    k
}

/// The hasher of the caches here and in `convert.rs`: their keys are
/// addresses and small integers, which need no defence against chosen
/// collisions, and SipHash would cost more than the rest of a lookup.
#[derive(Default)]
pub(crate) struct AddressHasher(u64);

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

/// `HashMap`'s hasher for those caches.
pub(crate) type Fast = BuildHasherDefault<AddressHasher>;

/// A cache's lock. The caches hold no invariant a panic could break, and
/// nothing panics while holding them, so a poisoned lock is still used. No
/// Python code runs while one is held.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
