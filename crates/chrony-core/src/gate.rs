//! One call at a time per connection, for both backends.
//!
//! A connection's state (its socket, or its libchrony session) is lent to
//! one call at a time. The rules, which the README's Reliability section
//! states for users:
//!
//! - **The deadline covers the wait.** A call's bound starts before it waits
//!   for other calls on the same connection; a call that runs out of time
//!   while waiting sends nothing and says so.
//! - **Ctrl-C works while waiting.** The caller's interrupt check runs at
//!   least every 50 ms, and no lock is held while it runs (it may run Python
//!   signal handlers, which may call the same connection).
//! - **Re-entry fails at once.** A call from the thread that already holds the
//!   connection (a signal handler run by the interrupt check) gets
//!   [`Error::Busy`] instead of waiting for itself.
//! - **Fork.** Ownership is an atomic word naming the holder's process (its
//!   fork generation, [`generation`]) and thread, not a mutex: in a child
//!   forked while another thread was mid-call, the holder is of another
//!   process, so the child takes the connection over and starts from a fresh
//!   state (the parent's socket stays the parent's).
//!
//! The state itself sits in a mutex that only the holder touches, for a few
//! instructions at a time, so it is never contended.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use crate::error::{ConnectionFailure, Error, Result};

/// How often a waiting call runs the interrupt check.
pub(crate) const INTERRUPT_SLICE: Duration = Duration::from_millis(50);
/// Longest sleep between looks at a busy connection.
const MAX_BACKOFF: Duration = Duration::from_millis(2);
/// First sleep between looks at a busy connection.
const MIN_BACKOFF: Duration = Duration::from_micros(20);

/// What a connection's state must do when the connection is closed while a
/// call has it: let go of its socket.
pub(crate) trait Closable {
    /// Releases the socket or session; later calls see a closed connection.
    fn close(&mut self);
}

/// This thread's identity within this process; 0 is never used.
fn thread_serial() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    thread_local! {
        static SERIAL: u32 = NEXT.fetch_add(1, Ordering::Relaxed).max(1);
    }
    SERIAL.with(|s| *s)
}

/// This process's fork generation: 1 in the process that loaded this
/// library, and one more in each child forked from it (counted by a
/// `pthread_atfork` child handler, registered by the first gate made or
/// used). A forked child's value is larger than every value its parent's
/// memory holds, so a word its parent wrote never names the child, as with a
/// process id, but without a `getpid` system call per look.
fn generation() -> u32 {
    static REGISTERED: AtomicBool = AtomicBool::new(false);
    extern "C" fn forked() {
        // Async-signal-safe, as a child handler must be: one atomic add.
        GENERATION.fetch_add(1, Ordering::SeqCst);
    }
    // Not `Once`: a child forked while another thread was registering would
    // wait for it for ever. Here the other threads go on at once; only a
    // fork in the microseconds of the first registration can go uncounted.
    if !REGISTERED.load(Ordering::Acquire)
        && REGISTERED
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    {
        // Should it fail (lack of memory), forks go uncounted: a child
        // forked while its parent's call held a connection then waits for
        // that holder as for another thread (within its deadline), and a
        // socket opened by another process is still reopened by the
        // transport's own check.
        if !crate::sys::on_fork_in_child(forked) {
            FORKS_COUNTED.store(false, Ordering::Release);
        }
    }
    GENERATION.load(Ordering::SeqCst)
}

/// See [`generation`].
static GENERATION: AtomicU32 = AtomicU32::new(1);

/// This process's fork generation (see [`generation`]) when forks are
/// counted, which they are unless registering the handler failed: then
/// `None`, and the caller tells processes apart by their id.
fn process_generation() -> Option<u32> {
    let g = generation();
    FORKS_COUNTED.load(Ordering::Acquire).then_some(g)
}

/// The process something belongs to: its fork generation (a counter, no
/// system call to read) or, where forks are not counted, its process id. A
/// forked child is never its parent's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Process {
    Generation(u32),
    Pid(u32),
}

impl Process {
    /// The calling process.
    pub(crate) fn current() -> Process {
        process_generation().map_or_else(|| Process::Pid(std::process::id()), Process::Generation)
    }
}

/// False only when registering the fork handler failed.
static FORKS_COUNTED: AtomicBool = AtomicBool::new(true);

/// The owner word of the calling thread: its process's fork generation and
/// its thread serial. A forked child has a newer generation, so its words
/// never equal its parent's.
fn my_token() -> u64 {
    (u64::from(generation()) << 32) | u64::from(thread_serial())
}

fn generation_of(token: u64) -> u32 {
    // The high half holds the generation by construction.
    u32::try_from(token >> 32).unwrap_or(u32::MAX)
}

/// Who holds a lock: 0 when free, else the holder's token. A token of
/// another generation (a forked child's copy of its parent's) counts as free.
struct Owner(AtomicU64);

/// How a free [`Owner`] was taken.
#[derive(PartialEq, Eq)]
enum Taken {
    /// It was free.
    Free,
    /// A thread of another process (the parent of this forked child) held it.
    FromParent,
}

impl Owner {
    const fn new() -> Self {
        Owner(AtomicU64::new(0))
    }

    fn held_by(&self, me: u64) -> bool {
        self.0.load(Ordering::Acquire) == me
    }

    /// Takes it for `me` (a [`my_token`]) if it is free.
    fn try_take(&self, me: u64) -> Option<Taken> {
        let mut seen = self.0.load(Ordering::Acquire);
        loop {
            if seen != 0 && generation_of(seen) == generation_of(me) {
                return None;
            }
            match self
                .0
                .compare_exchange(seen, me, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) if seen == 0 => return Some(Taken::Free),
                Ok(_) => return Some(Taken::FromParent),
                Err(now) => seen = now,
            }
        }
    }

    fn release(&self) {
        self.0.store(0, Ordering::Release);
    }
}

// Only the libchrony backend has process-wide state to guard.
#[cfg_attr(not(feature = "libchrony"), allow(dead_code))]
/// A lock without data for process-wide state (libchrony's shared string
/// buffer), held for a few microseconds at a time; fork-safe like the gate.
pub(crate) struct ProcessLock(Owner);

#[cfg_attr(not(feature = "libchrony"), allow(dead_code))]
/// Holds a [`ProcessLock`] until dropped.
pub(crate) struct ProcessGuard<'a>(&'a Owner);

impl Drop for ProcessGuard<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

#[cfg_attr(not(feature = "libchrony"), allow(dead_code))]
impl ProcessLock {
    /// A free lock.
    pub(crate) const fn new() -> Self {
        ProcessLock(Owner::new())
    }

    /// Waits for the lock (its holders never wait on anything).
    pub(crate) fn lock(&self) -> ProcessGuard<'_> {
        let me = my_token();
        let mut backoff = MIN_BACKOFF;
        while self.0.try_take(me).is_none() {
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        ProcessGuard(&self.0)
    }
}

/// A connection's state, lent to one call at a time.
pub(crate) struct Gate<S> {
    /// Which thread has the state.
    owner: Owner,
    /// Set by [`Gate::close`]; the holder closes the state when it returns it.
    closed: AtomicBool,
    /// The state while no call has it. Only the owner locks it.
    state: Mutex<Option<S>>,
    /// Builds a fresh, unopened state: in a forked child whose parent had
    /// the state out, and when it was lost.
    fresh: Box<dyn Fn() -> S + Send + Sync>,
}

/// A call's hold on the connection; gives the state back when dropped.
pub(crate) struct Lease<'a, S: Closable> {
    gate: &'a Gate<S>,
    state: Option<S>,
}

impl<S: Closable> std::ops::Deref for Lease<'_, S> {
    type Target = S;
    fn deref(&self) -> &S {
        // Present from creation until drop.
        self.state.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl<S: Closable> std::ops::DerefMut for Lease<'_, S> {
    fn deref_mut(&mut self) -> &mut S {
        self.state.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl<S: Closable> Lease<'_, S> {
    /// True once the connection was closed (perhaps during this call).
    pub(crate) fn closed(&self) -> bool {
        self.gate.closed.load(Ordering::SeqCst)
    }
}

impl<S: Closable> Drop for Lease<'_, S> {
    fn drop(&mut self) {
        if let Some(mut state) = self.state.take() {
            if self.closed() {
                state.close();
            }
            self.gate.put(state);
        }
        self.gate.owner.release();
    }
}

impl<S: Closable> Gate<S> {
    /// A gate holding `state`; `fresh` builds an unopened one when needed.
    pub(crate) fn new(state: S, fresh: impl Fn() -> S + Send + Sync + 'static) -> Self {
        // Registers the fork count before any call can hold this gate.
        generation();
        Gate {
            owner: Owner::new(),
            closed: AtomicBool::new(false),
            state: Mutex::new(Some(state)),
            fresh: Box::new(fresh),
        }
    }

    fn put(&self, state: S) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = Some(state);
    }

    fn take(&self) -> S {
        // Only the owner gets here, so the lock is free, except in a child
        // forked while its parent's owner held it for those few instructions;
        // then the state is lost and a fresh one is built.
        match self.state.try_lock() {
            Ok(mut slot) => slot.take(),
            Err(TryLockError::Poisoned(p)) => p.into_inner().take(),
            Err(TryLockError::WouldBlock) => None,
        }
        .unwrap_or_else(|| (self.fresh)())
    }

    /// True once [`Gate::close`] ran.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Marks the connection closed without waiting: when no call has it,
    /// its state is closed now; otherwise the call closes it on return.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Some(lease) = self.try_acquire(my_token()) {
            drop(lease); // closes, since `closed` is set
        }
    }

    /// Takes the connection if it is free (or held by a thread of another
    /// process: a forked child's inheritance).
    fn try_acquire(&self, me: u64) -> Option<Lease<'_, S>> {
        let state = match self.owner.try_take(me)? {
            Taken::Free => self.take(),
            // The parent's call had the state out: it is not ours.
            Taken::FromParent => (self.fresh)(),
        };
        Some(Lease {
            gate: self,
            state: Some(state),
        })
    }

    /// Waits for the connection until `deadline`, running `interrupt` at
    /// least every [`INTERRUPT_SLICE`] (with no lock held). `started` is when
    /// the call began, for the message.
    pub(crate) fn acquire(
        &self,
        started: Instant,
        deadline: Instant,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Lease<'_, S>> {
        let me = my_token();
        if self.owner.held_by(me) {
            return Err(Error::Busy {
                message: "connection busy in this thread: a call on this connection is already in \
                          progress in this thread (e.g. a signal handler called it while it \
                          waited for chronyd); use another connection in the handler"
                    .into(),
            });
        }
        let mut backoff = MIN_BACKOFF;
        let mut last_check = Instant::now();
        loop {
            if let Some(lease) = self.try_acquire(me) {
                return Ok(lease);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::connection(
                    ConnectionFailure::TimedOut,
                    format!(
                        "waited {:.3} s for other calls on this connection; nothing was sent. \
                         Calls on one connection run one at a time: use a longer timeout, or one \
                         connection per thread",
                        now.duration_since(started).as_secs_f64()
                    ),
                    None,
                ));
            }
            if now.duration_since(last_check) >= INTERRUPT_SLICE {
                if interrupt() {
                    return Err(Error::Interrupted);
                }
                last_check = Instant::now();
            }
            std::thread::sleep(backoff.min(deadline.saturating_duration_since(now)));
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    struct Counter {
        open: bool,
        uses: u32,
    }

    impl Closable for Counter {
        fn close(&mut self) {
            self.open = false;
        }
    }

    fn gate() -> Gate<Counter> {
        Gate::new(
            Counter {
                open: true,
                uses: 0,
            },
            || Counter {
                open: true,
                uses: 0,
            },
        )
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    /// Holds `g` on another thread for `hold`, running `check` on the lease
    /// at the end; returns once the other thread has it.
    fn hold_elsewhere(
        g: &Arc<Gate<Counter>>,
        hold: Duration,
        check: fn(&Lease<'_, Counter>),
    ) -> std::thread::JoinHandle<()> {
        let gate = Arc::clone(g);
        let (tx, rx) = std::sync::mpsc::channel();
        let h = std::thread::spawn(move || {
            let l = gate.acquire(Instant::now(), far(), &|| false).unwrap();
            tx.send(()).unwrap();
            std::thread::sleep(hold);
            check(&l);
        });
        rx.recv().unwrap();
        h
    }

    #[test]
    fn state_is_kept_between_calls() {
        let g = gate();
        for _ in 0..3 {
            let mut l = g.acquire(Instant::now(), far(), &|| false).unwrap();
            l.uses += 1;
        }
        assert_eq!(g.acquire(Instant::now(), far(), &|| false).unwrap().uses, 3);
    }

    #[test]
    fn reentry_from_the_same_thread_fails_at_once() {
        let g = gate();
        let _held = g.acquire(Instant::now(), far(), &|| false).unwrap();
        let t = Instant::now();
        let e = g.acquire(Instant::now(), far(), &|| false).err().unwrap();
        assert!(matches!(e, Error::Busy { .. }), "{e}");
        assert!(e.to_string().contains("connection busy in this thread"));
        assert!(t.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn waiting_obeys_the_deadline_and_says_nothing_was_sent() {
        let g = Arc::new(gate());
        let h = hold_elsewhere(&g, Duration::from_millis(400), |_| {});
        let started = Instant::now();
        let e = g
            .acquire(started, started + Duration::from_millis(100), &|| false)
            .err()
            .unwrap();
        let took = started.elapsed();
        assert!(e.is_timeout());
        assert!(e.to_string().contains("nothing was sent"), "{e}");
        assert!(took >= Duration::from_millis(100) && took < Duration::from_millis(150));
        h.join().unwrap();
        // Free again once the holder is done.
        assert!(g.acquire(Instant::now(), far(), &|| false).is_ok());
    }

    #[test]
    fn interrupt_is_checked_while_waiting() {
        let g = Arc::new(gate());
        let h = hold_elsewhere(&g, Duration::from_millis(500), |_| {});
        let started = Instant::now();
        let e = g.acquire(started, far(), &|| true).err().unwrap();
        assert!(matches!(e, Error::Interrupted));
        assert!(started.elapsed() < Duration::from_millis(120));
        h.join().unwrap();
    }

    #[test]
    fn close_does_not_wait_and_the_holder_closes_on_return() {
        let g = Arc::new(gate());
        let h = hold_elsewhere(&g, Duration::from_millis(200), |l| assert!(l.closed()));
        let t = Instant::now();
        g.close();
        assert!(t.elapsed() < Duration::from_millis(20));
        h.join().unwrap();
        let l = g.acquire(Instant::now(), far(), &|| false).unwrap();
        assert!(!l.open);
        assert!(g.is_closed());
    }

    #[test]
    fn an_owner_of_another_process_is_taken_over_with_a_fresh_state() {
        let g = gate();
        g.acquire(Instant::now(), far(), &|| false).unwrap().uses = 5;
        // What a forked child sees: the word of a thread of its parent.
        let parent = generation().wrapping_sub(1);
        g.owner
            .0
            .store(u64::from(parent) << 32 | 7, Ordering::Release);
        let l = g
            .acquire(Instant::now(), Instant::now(), &|| false)
            .unwrap();
        assert_eq!(l.uses, 0, "the parent's state is not the child's");
    }

    #[test]
    fn a_process_lock_held_by_another_process_is_taken_over() {
        let l = ProcessLock::new();
        drop(l.lock());
        let parent = generation().wrapping_sub(1);
        l.0 .0.store(u64::from(parent) << 32 | 3, Ordering::Release);
        let g = l.lock();
        assert!(l.0.held_by(my_token()));
        drop(g);
        assert!(l.0.try_take(my_token()).is_some());
    }

    #[test]
    fn many_threads_take_turns() {
        let g = Arc::new(gate());
        let hs: Vec<_> = (0..16)
            .map(|_| {
                let g = Arc::clone(&g);
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        g.acquire(Instant::now(), far(), &|| false).unwrap().uses += 1;
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(
            g.acquire(Instant::now(), far(), &|| false).unwrap().uses,
            800
        );
    }
}
