//! Host-name resolution within the call's deadline, interruptible, on a
//! bounded number of threads.
//!
//! getaddrinfo has no timeout and cannot be cancelled, so each look-up runs
//! on a helper thread; the caller stops waiting at its deadline, or as soon
//! as its interrupt check says so (polled every [`SLICE`]). A thread that is
//! no longer waited for still runs until the resolver gives up (with a dead
//! name server, `timeout × attempts` from resolv.conf: 5 s × 2 by default),
//! so without a bound repeated failing calls would pile up threads. The bound:
//!
//! * A process-wide table holds the look-ups in flight, one per host name
//!   (the port takes no part in getaddrinfo's answer here, so the key is the
//!   name alone). A call for a name that is being looked up waits for that
//!   look-up's result instead of starting another thread.
//! * At most [`MAX_IN_FLIGHT`] look-ups run at once. A call for yet another
//!   name waits, within its deadline, for one of them to end; at the
//!   deadline it fails with a `TimedOut` connection error that says how many
//!   look-ups are still pending and advises an IP address.
//! * A look-up leaves the table the moment getaddrinfo returns, before its
//!   result is handed to its waiters: nothing is cached, and every later
//!   call resolves afresh.
//!
//! So there are never more than [`MAX_IN_FLIGHT`] resolver threads (plus
//! ones that have finished and are exiting). No lock is held while
//! getaddrinfo or the interrupt check runs, and a poisoned lock is used as
//! is: what it guards (a list, an `Option`) is consistent at every step.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::messages::conn_err;
use crate::error::{ConnectionFailure, Error, Result};

/// Look-ups (so helper threads) in flight at once, process-wide. Four
/// distinct names pending at once already means the resolver is not
/// answering; more threads would only wait on the same dead server.
const MAX_IN_FLIGHT: usize = 4;
/// Longest wait between two runs of the interrupt check.
const SLICE: Duration = Duration::from_millis(50);

/// The process's look-ups in flight.
static IN_FLIGHT: Table = Table::new(MAX_IN_FLIGHT);

/// Every address `host` resolves to, with `port`, in the resolver's order
/// and without repeats, within `deadline`; `interrupt` is polled at least
/// every 50 ms while waiting, and `true` ends the wait with
/// [`Error::Interrupted`].
pub(crate) fn resolve_all(
    host: &str,
    port: u16,
    deadline: Instant,
    interrupt: &dyn Fn() -> bool,
) -> Result<Vec<SocketAddr>> {
    resolve_in(&IN_FLIGHT, host, port, deadline, interrupt, system_lookup)
}

/// getaddrinfo through std (port 0: the caller's port is set afterwards).
fn system_lookup(host: &str) -> io::Result<Vec<IpAddr>> {
    Ok((host, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
}

/// A resolver: the host name's addresses (getaddrinfo, or a test's stand-in).
trait Resolve: FnOnce(&str) -> io::Result<Vec<IpAddr>> + Send + 'static {}
impl<F: FnOnce(&str) -> io::Result<Vec<IpAddr>> + Send + 'static> Resolve for F {}

/// What a look-up gave: io::Error is not Clone, so an error is kept as its
/// kind and text and rebuilt for each waiter.
type Outcome = std::result::Result<Vec<IpAddr>, (io::ErrorKind, String)>;

/// One look-up in flight and its result, once there is one.
struct Lookup {
    host: String,
    outcome: Mutex<Option<Outcome>>,
    done: Condvar,
}

impl Lookup {
    fn publish(&self, outcome: Outcome) {
        *lock(&self.outcome) = Some(outcome);
        self.done.notify_all();
    }

    /// Waits for the result until `deadline` (`None` then).
    fn wait(&self, deadline: Instant, interrupt: &dyn Fn() -> bool) -> Result<Option<Outcome>> {
        loop {
            let guard = lock(&self.outcome);
            if let Some(outcome) = guard.as_ref() {
                return Ok(Some(outcome.clone()));
            }
            let Some(left) = time_left(deadline) else {
                return Ok(None);
            };
            nap(&self.done, guard, left, interrupt)?;
        }
    }
}

/// Look-ups in flight, at most `cap` of them.
struct Table {
    lookups: Mutex<Vec<Arc<Lookup>>>,
    /// Signalled whenever a look-up leaves the table.
    freed: Condvar,
    cap: usize,
}

impl Table {
    const fn new(cap: usize) -> Table {
        Table {
            lookups: Mutex::new(Vec::new()),
            freed: Condvar::new(),
            cap,
        }
    }

    fn remove(&self, done: &Arc<Lookup>) {
        lock(&self.lookups).retain(|l| !Arc::ptr_eq(l, done));
        self.freed.notify_all();
    }

    /// The look-up of `host`: the one in flight, else a new one on a new
    /// thread running `lookup`, as soon as the table has room (waiting for
    /// that until `deadline`).
    fn join_or_start(
        &'static self,
        host: &str,
        deadline: Instant,
        interrupt: &dyn Fn() -> bool,
        lookup: impl Resolve,
    ) -> Result<Arc<Lookup>> {
        let waited = deadline.saturating_duration_since(Instant::now());
        loop {
            let mut lookups = lock(&self.lookups);
            if let Some(running) = lookups.iter().find(|l| l.host == host) {
                return Ok(Arc::clone(running));
            }
            let left = time_left(deadline);
            if lookups.len() < self.cap {
                // No thread for a caller that would not wait for it.
                if left.is_none() {
                    return Err(timed_out(host, waited));
                }
                let new = Arc::new(Lookup {
                    host: host.to_owned(),
                    outcome: Mutex::new(None),
                    done: Condvar::new(),
                });
                lookups.push(Arc::clone(&new));
                drop(lookups);
                self.start(&new, lookup);
                return Ok(new);
            }
            let Some(left) = left else {
                return Err(busy(host, lookups.len(), waited));
            };
            nap(&self.freed, lookups, left, interrupt)?;
        }
    }

    /// Runs `lookup` for `new` on a thread; if there can be no thread, the
    /// failure becomes the look-up's outcome (calls that joined meanwhile get
    /// it too).
    fn start(&'static self, new: &Arc<Lookup>, lookup: impl Resolve) {
        let worker = Arc::clone(new);
        let spawned = std::thread::Builder::new()
            .name("pychrony-resolve".into())
            .spawn(move || {
                // A panicking resolver must still free its place in the table.
                let outcome = panic::catch_unwind(AssertUnwindSafe(|| lookup(&worker.host)))
                    .unwrap_or_else(|_| Err(io::Error::other("the resolver panicked")))
                    .map_err(|e| (e.kind(), e.to_string()));
                // Leave the table first: a call arriving from now on starts a
                // fresh look-up instead of taking this result.
                self.remove(&worker);
                worker.publish(outcome);
            });
        if let Err(e) = spawned {
            let text = format!("cannot start a resolver thread: {e}");
            self.remove(new);
            new.publish(Err((e.kind(), text)));
        }
    }
}

/// [`resolve_all`] with its table and resolver as parameters, for tests.
fn resolve_in(
    table: &'static Table,
    host: &str,
    port: u16,
    deadline: Instant,
    interrupt: &dyn Fn() -> bool,
    lookup: impl Resolve,
) -> Result<Vec<SocketAddr>> {
    let waited = deadline.saturating_duration_since(Instant::now());
    let running = table.join_or_start(host, deadline, interrupt, lookup)?;
    match running.wait(deadline, interrupt)? {
        None => Err(timed_out(host, waited)),
        Some(Err((kind, text))) => Err(conn_err(
            ConnectionFailure::Unreachable,
            format!(
                "cannot resolve host name {host:?}: {text}; check the name or give an IP address"
            ),
            io::Error::new(kind, text),
        )),
        Some(Ok(ips)) if ips.is_empty() => Err(Error::connection(
            ConnectionFailure::Unreachable,
            format!("host name {host:?} has no address"),
            None,
        )),
        Some(Ok(ips)) => Ok(unique_in_order(&ips, port)),
    }
}

/// `ips` with `port`, first occurrences only, order kept (hosts files may
/// list an address twice; the first place is the resolver's preference).
fn unique_in_order(ips: &[IpAddr], port: u16) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = Vec::with_capacity(ips.len());
    for ip in ips {
        let addr = SocketAddr::new(*ip, port);
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}

fn time_left(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
}

/// Waits on `cv` for a slice of `left` at most, then runs the interrupt
/// check, outside the lock (the check may take the GIL).
fn nap<T>(
    cv: &Condvar,
    guard: MutexGuard<'_, T>,
    left: Duration,
    interrupt: &dyn Fn() -> bool,
) -> Result<()> {
    drop(
        cv.wait_timeout(guard, left.min(SLICE))
            .unwrap_or_else(PoisonError::into_inner),
    );
    if interrupt() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn timed_out(host: &str, waited: Duration) -> Error {
    Error::connection(
        ConnectionFailure::TimedOut,
        format!(
            "resolving host name {host:?} took longer than {:.3} s; give an IP address instead",
            waited.as_secs_f64()
        ),
        None,
    )
}

fn busy(host: &str, pending: usize, waited: Duration) -> Error {
    Error::connection(
        ConnectionFailure::TimedOut,
        format!(
            "cannot resolve host name {host:?} within {:.3} s: {pending} earlier host-name \
             look-ups are still pending (the name servers are not answering); give an IP \
             address instead",
            waited.as_secs_f64()
        ),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::RwLock;
    use std::thread;

    const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
    const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    type Resolver = Box<dyn FnOnce(&str) -> io::Result<Vec<IpAddr>> + Send>;

    fn never() -> bool {
        false
    }

    fn after(ms: u64) -> Instant {
        Instant::now() + Duration::from_millis(ms)
    }

    /// `resolve_in` for port 1 within `ms`, never interrupted.
    fn go(t: &'static Table, host: &str, ms: u64, r: Resolver) -> Result<Vec<SocketAddr>> {
        resolve_in(t, host, 1, after(ms), &never, r)
    }

    fn at(ips: &[IpAddr], port: u16) -> Vec<SocketAddr> {
        ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect()
    }

    fn answer(ips: &[IpAddr]) -> Resolver {
        let ips = ips.to_vec();
        Box::new(move |_| Ok(ips))
    }

    /// A slow resolver without DNS: counts its runs, then answers [::1,
    /// 127.0.0.1] once the test drops its write guard on `gate`.
    fn gated(gate: &'static RwLock<()>, runs: &'static AtomicUsize) -> Resolver {
        Box::new(move |_| {
            runs.fetch_add(1, SeqCst);
            drop(gate.read());
            Ok(vec![V6, V4])
        })
    }

    /// Waits (bounded) until `table`'s look-ups satisfy `cond`.
    fn until(table: &Table, cond: impl Fn(&[Arc<Lookup>]) -> bool) {
        let end = after(5000);
        while !cond(&lock(&table.lookups)) && Instant::now() < end {
            thread::sleep(Duration::from_millis(2));
        }
        assert!(cond(&lock(&table.lookups)), "table never got there");
    }

    fn quick(start: Instant, ms: u64) {
        let took = start.elapsed();
        assert!(took < Duration::from_millis(ms), "took {took:?}");
    }

    fn kind(e: &Error) -> Option<ConnectionFailure> {
        match e {
            Error::Connection { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    #[test]
    fn localhost_is_every_loopback_address_in_the_resolvers_order() {
        let got = resolve_all("localhost", 323, after(5000), &never).expect("localhost resolves");
        let loopback = |a: &SocketAddr| a.ip().is_loopback() && a.port() == 323;
        assert!(!got.is_empty() && got.iter().all(loopback), "{got:?}");
        let direct: Vec<_> = ("localhost", 0)
            .to_socket_addrs()
            .expect("getaddrinfo")
            .collect();
        let direct: Vec<_> = direct.iter().map(SocketAddr::ip).collect();
        assert_eq!(got, unique_in_order(&direct, 323), "the resolver's order");
        // Every address the hosts file gives localhost (often ::1 and
        // 127.0.0.1; sometimes only one) is there.
        let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        for line in hosts.lines().map(|l| l.split('#').next().unwrap_or("")) {
            let mut words = line.split_whitespace();
            let ip = words.next().and_then(|w| w.parse::<IpAddr>().ok());
            if let Some(ip) = ip.filter(|_| words.any(|w| w == "localhost")) {
                assert!(got.contains(&(ip, 323).into()), "{ip} not in {got:?}");
            }
        }
    }

    #[test]
    fn answers_keep_the_resolvers_order_and_failures_are_unreachable() {
        static T: Table = Table::new(4);
        let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let got = go(&T, "multi", 5000, answer(&[V6, V4, other]));
        assert_eq!(got.expect("resolves"), at(&[V6, V4, other], 1));
        assert_eq!(unique_in_order(&[V4, V6, V4, V6], 323), at(&[V4, V6], 323));
        let e = go(&T, "empty", 5000, answer(&[])).unwrap_err();
        assert_eq!(kind(&e), Some(ConnectionFailure::Unreachable));
        assert_eq!(e.to_string(), "host name \"empty\" has no address");
        let fail = Box::new(|_: &str| Err(io::Error::other("Name or service not known")));
        let e = go(&T, "bad", 5000, fail).unwrap_err();
        assert_eq!(kind(&e), Some(ConnectionFailure::Unreachable));
        let text = e.to_string();
        assert!(
            text.contains("Name or service not known; check the name"),
            "{text}"
        );
        let e = go(&T, "crash", 5000, Box::new(|_| panic!("resolver bug"))).unwrap_err();
        assert!(e.to_string().contains("the resolver panicked"), "{e}");
        until(&T, <[_]>::is_empty);
    }

    #[test]
    fn a_slow_lookup_ends_at_the_deadline_or_at_once_on_interrupt() {
        static T: Table = Table::new(4);
        static GATE: RwLock<()> = RwLock::new(());
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let _shut = GATE.write().expect("fresh lock");
        let start = Instant::now();
        let e = go(&T, "slow", 100, gated(&GATE, &RUNS)).unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(95));
        quick(start, 300);
        assert_eq!(kind(&e), Some(ConnectionFailure::TimedOut));
        let text = e.to_string();
        assert!(text.contains("took longer than 0.1"), "{text}");
        assert!(text.ends_with("; give an IP address instead"), "{text}");
        // The next call joins the pending look-up; an interrupt ends its wait.
        let start = Instant::now();
        let stop = || start.elapsed() > Duration::from_millis(20);
        let got = resolve_in(&T, "slow", 1, after(10_000), &stop, gated(&GATE, &RUNS));
        assert!(matches!(got, Err(Error::Interrupted)), "{got:?}");
        quick(start, 100);
        assert_eq!(RUNS.load(SeqCst), 1);
    }

    #[test]
    fn calls_for_a_pending_name_share_its_lookup_and_nothing_is_cached() {
        static T: Table = Table::new(4);
        static GATE: RwLock<()> = RwLock::new(());
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let shut = GATE.write().expect("fresh lock");
        let waiters = [1, 2].map(|port| {
            let r = gated(&GATE, &RUNS);
            thread::spawn(move || resolve_in(&T, "h", port, after(5000), &never, r))
        });
        // The table, the thread and both callers hold the one look-up.
        until(&T, |l| l.len() == 1 && Arc::strong_count(&l[0]) == 4);
        drop(shut);
        for (waiter, port) in waiters.into_iter().zip([1, 2]) {
            let got = waiter.join().expect("no panic");
            assert_eq!(got.expect("resolves"), at(&[V6, V4], port));
        }
        assert_eq!(RUNS.load(SeqCst), 1, "one look-up for both calls");
        until(&T, <[_]>::is_empty);
        let fresh = go(&T, "h", 5000, answer(&[V4]));
        assert_eq!(fresh.expect("resolves"), at(&[V4], 1), "resolved afresh");
    }

    #[test]
    fn the_cap_bounds_threads_under_repeated_failing_lookups() {
        static T: Table = Table::new(2);
        static GATE: RwLock<()> = RwLock::new(());
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let shut = GATE.write().expect("fresh lock");
        for round in 0..20 {
            let start = Instant::now();
            let e = go(&T, &format!("n{}", round % 5), 20, gated(&GATE, &RUNS)).unwrap_err();
            quick(start, 200);
            assert_eq!(kind(&e), Some(ConnectionFailure::TimedOut));
            let busy = e
                .to_string()
                .contains("2 earlier host-name look-ups are still");
            assert_eq!(busy, round % 5 >= 2, "{e}");
            assert!(lock(&T.lookups).len() <= 2);
        }
        assert_eq!(RUNS.load(SeqCst), 2, "only two threads ever started");
        drop(shut);
        until(&T, <[_]>::is_empty);
    }

    #[test]
    fn a_call_at_the_cap_waits_for_room_until_interrupted_or_a_lookup_ends() {
        static T: Table = Table::new(1);
        static GATE: RwLock<()> = RwLock::new(());
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let shut = GATE.write().expect("fresh lock");
        let first = thread::spawn(|| go(&T, "a", 5000, gated(&GATE, &RUNS)));
        until(&T, |l| l.len() == 1);
        let start = Instant::now();
        let stop = || start.elapsed() > Duration::from_millis(20);
        let got = resolve_in(&T, "b", 1, after(10_000), &stop, answer(&[V4]));
        assert!(matches!(got, Err(Error::Interrupted)), "{got:?}");
        quick(start, 100);
        let second = thread::scope(|s| {
            let second = s.spawn(|| go(&T, "b", 5000, answer(&[V4])));
            thread::sleep(Duration::from_millis(100));
            drop(shut);
            second.join().expect("no panic")
        });
        assert_eq!(second.expect("resolves once a is done"), at(&[V4], 1));
        assert!(first.join().expect("no panic").is_ok());
    }
}
