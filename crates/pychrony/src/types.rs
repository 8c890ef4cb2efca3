//! The Python classes this module builds, imported once and cached. They are
//! defined in `python/pychrony`; nothing here redefines them.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

macro_rules! py_class {
    ($fn:ident, $module:literal, $name:literal) => {
        pub(crate) fn $fn(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
            static CELL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
            CELL.import(py, $module, $name)
        }
    };
}

py_class!(tracking_status, "pychrony.models", "TrackingStatus");
py_class!(source, "pychrony.models", "Source");
py_class!(source_stats, "pychrony.models", "SourceStats");
py_class!(rtc_data, "pychrony.models", "RTCData");
py_class!(leap_status, "pychrony.models", "LeapStatus");
py_class!(source_state, "pychrony.models", "SourceState");
py_class!(source_mode, "pychrony.models", "SourceMode");
