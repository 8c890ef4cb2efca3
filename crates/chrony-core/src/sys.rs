//! The core's one foreign call outside the transport's (`transport/unix/sys.rs`)
//! and libchrony's FFI layers: libc's fork notification, for the gate's fork
//! generation (`gate.rs`).

/// Registers `child` to run in the child of every later `fork`, and says
/// whether it was registered (it fails only for lack of memory).
///
/// `child` runs in a process that may hold only one thread and locks other
/// threads held: it must be async-signal-safe (an atomic update, no lock,
/// no allocation).
pub(crate) fn on_fork_in_child(child: extern "C" fn()) -> bool {
    // SAFETY: FFI call with no prepare or parent handler and a child handler
    // that is a plain `extern "C" fn`, so it lives as long as the process;
    // what it does is the caller's contract above.
    unsafe { libc::pthread_atfork(None, None, Some(child)) == 0 }
}
