//! The one mapping from core errors to pychrony's exceptions.

use chrony_core::Error;
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

pyo3::import_exception!(pychrony.exceptions, ChronyError);
pyo3::import_exception!(pychrony.exceptions, ChronyConnectionError);
pyo3::import_exception!(pychrony.exceptions, ChronyPermissionError);
pyo3::import_exception!(pychrony.exceptions, ChronyDataError);
pyo3::import_exception!(pychrony.exceptions, ChronyLibraryError);
pyo3::import_exception!(pychrony.exceptions, ChronyUnauthorizedError);
pyo3::import_exception!(pychrony.exceptions, _ReportUnavailableError);

/// Converts a core error into the exception a pychrony user catches:
/// connection kinds and invalid addresses → `ChronyConnectionError`;
/// permission → `ChronyPermissionError`; data kinds → `ChronyDataError`;
/// unauthorised (status 2, a command chronyd serves on its Unix socket
/// only) → `ChronyUnauthorizedError` (both of those); "not available" →
/// `_ReportUnavailableError` (a `ChronyDataError`); libchrony unavailable →
/// `ChronyLibraryError`.
/// `error_code` is libchrony's `chrony_err` number for the same condition.
pub(crate) fn to_py(err: &Error) -> PyErr {
    let code = err.error_code();
    let message = err.to_string();
    match err {
        Error::Connection { .. } | Error::InvalidArgument { .. } => {
            ChronyConnectionError::new_err((message, code))
        }
        Error::Permission { .. } => ChronyPermissionError::new_err((message, code)),
        Error::Data { .. } => ChronyDataError::new_err((message, code)),
        Error::Unauthorized { .. } => ChronyUnauthorizedError::new_err((message, code)),
        Error::NotAvailable { .. } => _ReportUnavailableError::new_err((message, code)),
        Error::Library { .. } => ChronyLibraryError::new_err((message,)),
        Error::Interrupted => PyKeyboardInterrupt::new_err(message),
        _ => ChronyError::new_err((message, code)),
    }
}
