//! `pychrony._core`: the compiled half of pychrony. It wraps
//! [`chrony_core::Client`] in the Python class `Client`; `pychrony`'s
//! `ChronyConnection` (pure Python) sits on top of it.
//!
//! Python owns every type users see: the dataclasses and enums of
//! `pychrony.models` and the exceptions of `pychrony.exceptions` are imported
//! here (`types.rs`, `errors.rs`), never redefined.

mod convert;
mod errors;
mod exit;
mod types;

use std::sync::Mutex;
use std::time::Duration;

use chrony_core::reports::{Args, Shape, Spec};
use chrony_core::{Backend, ClientOptions, TransportKind};
use pyo3::exceptions::{PyKeyboardInterrupt, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

// The option bounds are checked first, with the same values, in Python
// (`pychrony._connection._validate_options`); these checks are the safety net
// for direct users of `_core.Client`.

/// Largest timeout accepted, in seconds: beyond an hour a "deadline" is
/// meaningless and `Duration` arithmetic would only risk overflow.
const MAX_TIMEOUT: f64 = 3600.0;
/// Smallest timeout accepted, in seconds (1 ms).
const MIN_TIMEOUT: f64 = 0.001;
/// Largest number of resends, as chronyc's `retries` command allows.
const MAX_RETRIES: u32 = 30;

/// A connection to chronyd. Thread-safe; every call releases the GIL while
/// it waits for chronyd.
#[pyclass(module = "pychrony._core", name = "Client", frozen)]
struct Client {
    inner: chrony_core::Client,
}

/// Runs `f` without the GIL. `f` gets an interrupt check that takes the GIL
/// briefly to run Python's signal handlers: a Ctrl-C raises
/// `KeyboardInterrupt` (or whatever the handler raised) within about 0.1 s.
/// No connection lock is held while the handlers run (the core's rule), so a
/// handler that calls the same connection gets a "busy" error, not a
/// deadlock. Returns the value with the exit-time guard ([`exit::Back`]),
/// which the caller keeps until its Python objects are built.
fn waiting<T: Send>(
    py: Python<'_>,
    f: impl FnOnce(&dyn Fn() -> bool) -> chrony_core::Result<T> + Send,
) -> PyResult<(T, exit::Back)> {
    let pending: Mutex<Option<PyErr>> = Mutex::new(None);
    let (result, back) = exit::detach(py, || {
        let check = || {
            // While the interpreter exits, stop the call: the thread then
            // parks instead of taking the GIL.
            exit::attach(|py| match py.check_signals() {
                Ok(()) => false,
                Err(e) => {
                    if let Ok(mut slot) = pending.lock() {
                        *slot = Some(e);
                    }
                    true
                }
            })
            .unwrap_or(true)
        };
        f(&check)
    });
    match result {
        Ok(v) => Ok((v, back)),
        Err(chrony_core::Error::Interrupted) => {
            Err(pending.into_inner().ok().flatten().unwrap_or_else(|| {
                PyKeyboardInterrupt::new_err("interrupted while waiting for chronyd")
            }))
        }
        Err(e) => Err(errors::to_py(&e)),
    }
}

fn options(timeout: f64, retries: u32) -> PyResult<ClientOptions> {
    if !(timeout.is_finite() && (MIN_TIMEOUT..=MAX_TIMEOUT).contains(&timeout)) {
        return Err(PyValueError::new_err(format!(
            "timeout must be a number of seconds from {MIN_TIMEOUT} to {MAX_TIMEOUT}, got {timeout}"
        )));
    }
    if retries > MAX_RETRIES {
        return Err(PyValueError::new_err(format!(
            "retries must be from 0 to {MAX_RETRIES}, got {retries}"
        )));
    }
    Ok(ClientOptions {
        timeout: Duration::from_secs_f64(timeout),
        retries,
    })
}

#[pymethods]
impl Client {
    /// Connects to chronyd now. See `pychrony.ChronyConnection` for the
    /// address forms and the meaning of `timeout` and `retries`.
    #[new]
    #[pyo3(signature = (address, timeout, retries, backend = "native"))]
    fn new(
        py: Python<'_>,
        address: Option<&str>,
        timeout: f64,
        retries: u32,
        backend: &str,
    ) -> PyResult<Self> {
        let opts = options(timeout, retries)?;
        let backend = match backend {
            "native" => Backend::Native,
            "libchrony" => Backend::Libchrony,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown backend {other:?}: use \"native\" or \"libchrony\""
                )))
            }
        };
        let (inner, _back) = waiting(py, |check| {
            chrony_core::Client::connect_interruptible(address, opts, backend, check)
        })?;
        Ok(Client { inner })
    }

    // Every method that may take the client's lock releases the GIL first: a
    // call in progress holds that lock and takes the GIL to check for Ctrl-C,
    // so waiting for the lock with the GIL held could deadlock.

    /// The address in use.
    #[getter]
    fn address(&self, py: Python<'_>) -> String {
        exit::detach(py, || self.inner.address()).0
    }

    /// `"unix_socket"` or `"command_port"` (the values of
    /// `pychrony.Transport`).
    #[getter]
    fn transport(&self, py: Python<'_>) -> &'static str {
        match exit::detach(py, || self.inner.transport_kind()).0 {
            TransportKind::UnixSocket => "unix_socket",
            TransportKind::CommandPort => "command_port",
        }
    }

    /// The report registered as `name`, with its own arguments as keyword
    /// arguments (text, e.g. `address="ID#0000000001"`): its dataclass, a
    /// list of them for a list report, or a `str` for a text report.
    /// Raises `pychrony.exceptions._ReportUnavailableError` (a
    /// `ChronyDataError`) when chronyd does not provide an optional one,
    /// `TypeError` for an argument that is not text and `ValueError` for
    /// one the report does not take or cannot parse.
    #[pyo3(signature = (name, **kwargs))]
    fn read(
        &self,
        py: Python<'_>,
        name: &str,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let args = report_args(name, kwargs)?;
        let listed = chrony_core::REGISTRY.iter().find(|s| s.name == name);
        if let Some(spec) =
            listed.filter(|s| matches!(s.shape, Shape::PerSource | Shape::PerAddress { .. }))
        {
            return self.read_each(py, spec, &args);
        }
        let (records, _back) = waiting(py, |check| self.inner.read(name, &args, check))?;
        Self::convert(py, &records)
    }

    /// The optional report registered as `name` (`read`'s result), or None
    /// when chronyd does not provide it (no RTC, no `smoothtime`), without
    /// making the exception `read` raises for that.
    fn read_optional(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let args = report_args(name, None)?;
        let (records, _back) = waiting(py, |check| match self.inner.read(name, &args, check) {
            Ok(records) => Ok(Some(records)),
            Err(chrony_core::Error::NotAvailable { .. }) => Ok(None),
            Err(e) => Err(e),
        })?;
        match records {
            Some(records) => Self::convert(py, &records),
            None => Ok(py.None()),
        }
    }

    /// Closes the socket and removes the client socket files. Idempotent.
    fn close(&self, py: Python<'_>) {
        exit::detach(py, || self.inner.close());
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let ((address, open), _back) =
            exit::detach(py, || (self.inner.address(), self.inner.is_open()));
        format!(
            "<pychrony._core.Client address={address:?} transport={} open={open}>",
            self.transport(py),
        )
    }
}

impl Client {
    /// The Python value of a report's records: its dataclass, a list of
    /// them, or the text.
    fn convert(py: Python<'_>, records: &chrony_core::client::Records) -> PyResult<Py<PyAny>> {
        let spec = records.spec();
        match spec.shape {
            Shape::PerSource | Shape::PerAddress { .. } | Shape::Paged | Shape::InReply => {
                let objects = convert::records(py, records)?;
                Ok(PyList::new(py, objects)?.into_any().unbind())
            }
            Shape::Text => convert::text(py, records),
            Shape::Single | Shape::Optional => match records.len() {
                1 => convert::record(py, records),
                _ => Err(PyValueError::new_err(format!(
                    "internal error: no {} record",
                    spec.name
                ))),
            },
        }
    }

    /// A read of the per-source report `spec` whose records are built as
    /// their replies arrive, each with the GIL taken for it, while chronyd
    /// answers the next requests ([`chrony_core::Client::read_each`]). A
    /// record that cannot be built ends the read with its Python error.
    fn read_each(&self, py: Python<'_>, spec: &Spec, args: &Args) -> PyResult<Py<PyAny>> {
        let mut stream = convert::Stream::new(spec.dataclass);
        let mut failed: Option<PyErr> = None;
        let result = waiting(py, |check| {
            self.inner
                .read_each(spec.name, args, check, &mut |index, fields| {
                    match exit::attach(|py| stream.push(py, index, &fields)) {
                        Some(Ok(())) => Ok(()),
                        Some(Err(e)) => {
                            failed = Some(e);
                            Err(chrony_core::Error::Interrupted)
                        }
                        // The interpreter is exiting: stop here.
                        None => Err(chrony_core::Error::Interrupted),
                    }
                })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let (_spec, _back) = result?;
        Ok(PyList::new(py, stream.out)?.into_any().unbind())
    }
}

/// The keyword arguments of a read of report `name`, parsed by the core
/// ([`Args::parse`]). A name that is not a report gets no arguments: the
/// read itself then says so.
fn report_args(name: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Args> {
    let mut given: Vec<(String, String)> = Vec::new();
    if let Some(kwargs) = kwargs {
        for (key, value) in kwargs.iter() {
            let key: String = key.extract()?;
            let value: String = value.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "{key} must be a str, not {}",
                    value
                        .get_type()
                        .name()
                        .map_or_else(|_| "?".into(), |n| n.to_string())
                ))
            })?;
            given.push((key, value));
        }
    }
    let Some(spec) = chrony_core::reports::spec(name) else {
        return Ok(Args::NONE);
    };
    let pairs: Vec<(&str, &str)> = given
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    Args::parse(spec, &pairs).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Every report's registration (`chrony_core::REGISTRY`), for the Python
/// layer and its tests: one dict per report with `name`, `method`,
/// `dataclass`, `shape` (`"single"`, `"optional"`, `"list"`, `"text"`), `args` and
/// `udp`.
#[pyfunction]
fn reports(py: Python<'_>) -> PyResult<Vec<Bound<'_, pyo3::types::PyDict>>> {
    chrony_core::REGISTRY
        .iter()
        .map(|spec| {
            let d = pyo3::types::PyDict::new(py);
            d.set_item("name", spec.name)?;
            d.set_item("method", spec.method)?;
            d.set_item("dataclass", spec.dataclass)?;
            d.set_item("shape", spec.shape.as_str())?;
            d.set_item("args", pyo3::types::PyTuple::new(py, spec.args)?)?;
            d.set_item("udp", spec.udp)?;
            Ok(d)
        })
        .collect()
}

/// The compiled part of pychrony.
#[pymodule(gil_used = false)]
mod _core {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::Client;

    #[pymodule_export]
    use super::reports;

    /// This extension's version: the Cargo workspace version, which
    /// chrony-core shares and maturin gives the wheel (`pychrony.__version__`).
    #[pymodule_export]
    const CORE_VERSION: &str = env!("CARGO_PKG_VERSION");

    /// The version of chronyd's command protocol that the core speaks.
    #[pymodule_export]
    const PROTOCOL_VERSION: u8 = chrony_core::protocol::PROTO_VERSION;

    /// Registers the exit hook, so that threads still calling when the
    /// interpreter exits never crash it.
    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        // Not a module attribute: nothing but atexit should call it.
        let hook = wrap_pyfunction!(super::exit::at_exit, m)?;
        m.py().import("atexit")?.call_method1("register", (hook,))?;
        Ok(())
    }
}
