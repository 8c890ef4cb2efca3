//! Interpreter exit with threads still calling.
//!
//! When CPython finalises, a thread that tries to take the GIL is ended with
//! `pthread_exit`. Its forced unwind would cross our Rust frames, which
//! cannot unwind: the process would abort (status 134). So no thread of ours
//! may try to take the GIL once finalisation starts:
//!
//! - every place where our code takes the GIL back (the end of a detached
//!   wait, the interrupt check) first counts itself in `REENTERING`, then
//!   looks at `EXITING`; once exiting, a thread other than the one running
//!   the exit hook parks for ever instead (its call is over, it holds no
//!   lock; the process is about to end);
//! - the `atexit` hook [`at_exit`] sets `EXITING`, then waits, with the GIL
//!   released, until the counted threads are back in Python (bounded), and
//!   removes the client socket directories this process still has.
//!
//! `atexit` hooks run before CPython starts ending threads, so a thread
//! either saw `EXITING` (and parks) or was counted (and the hook waited for
//! it): both use sequentially consistent atomics.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use pyo3::prelude::*;

static EXITING: AtomicBool = AtomicBool::new(false);
static REENTERING: AtomicUsize = AtomicUsize::new(0);
/// The thread that ran the exit hook: it finalises the interpreter, is never
/// ended by it, and may go on calling (e.g. from `__del__` methods).
static FINALIZER: Mutex<Option<ThreadId>> = Mutex::new(None);
/// How long the exit hook waits for threads on their way back to Python.
const EXIT_WAIT: Duration = Duration::from_secs(2);

fn is_finalizer() -> bool {
    *FINALIZER.lock().unwrap_or_else(PoisonError::into_inner) == Some(std::thread::current().id())
}

fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

/// Counted as on the way back to Python until dropped (at the end of the
/// method, once its Python objects are built).
pub(crate) struct Back(());

impl Drop for Back {
    fn drop(&mut self) {
        REENTERING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts this thread as about to take the GIL; `None` (uncounted) when the
/// interpreter is exiting and this thread must not take it.
fn enter() -> Option<Back> {
    REENTERING.fetch_add(1, Ordering::SeqCst);
    let back = Back(());
    if EXITING.load(Ordering::SeqCst) && !is_finalizer() {
        drop(back);
        return None;
    }
    Some(back)
}

/// Runs `f` with the GIL released, then takes it back, unless the
/// interpreter is exiting: then this thread parks for ever (it never returns
/// into Python, so it is never ended in a Rust frame).
pub(crate) fn detach<T: Send>(py: Python<'_>, f: impl FnOnce() -> T + Send) -> (T, Back) {
    py.detach(|| {
        if EXITING.load(Ordering::SeqCst) && !is_finalizer() {
            park_forever();
        }
        let value = f();
        if let Some(back) = enter() {
            return (value, back);
        }
        // What the call made (a connection opened after the exit hook ran)
        // is dropped here, removing its files.
        drop(value);
        park_forever()
    })
}

/// Runs `f` with the GIL from a detached thread, or returns `None` without
/// taking it when the interpreter is exiting.
pub(crate) fn attach<T>(f: impl for<'py> FnOnce(Python<'py>) -> T) -> Option<T> {
    let back = enter()?;
    let value = Python::attach(f);
    drop(back);
    Some(value)
}

/// The `atexit` hook (registered when the module is imported).
#[pyfunction]
#[pyo3(name = "_pychrony_at_exit")]
pub(crate) fn at_exit(py: Python<'_>) {
    *FINALIZER.lock().unwrap_or_else(PoisonError::into_inner) = Some(std::thread::current().id());
    EXITING.store(true, Ordering::SeqCst);
    // Not `detach` above: this thread must not count itself.
    py.detach(|| {
        let until = Instant::now() + EXIT_WAIT;
        while REENTERING.load(Ordering::SeqCst) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        chrony_core::transport::remove_client_dirs_at_exit();
    });
}
