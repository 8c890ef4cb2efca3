//! The Python classes this module builds, looked up by name in
//! `pychrony.models` (imported once and cached). They are defined in
//! `python/pychrony`; nothing here redefines them.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyModule, PyType};

/// A class of `pychrony.models` by name: a dataclass of a report's
/// registration, or an enum one of its fields uses.
pub(crate) fn model<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    static MODELS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let models = MODELS.get_or_try_init(py, || py.import("pychrony.models").map(Bound::unbind))?;
    Ok(models.bind(py).getattr(name)?.cast_into::<PyType>()?)
}
