//! Sockets to chronyd and the request engine: several requests in flight,
//! each matched by its sequence number, resent on a doubling timeout, all
//! bounded by one deadline.

mod connection;
pub(crate) mod messages;
mod random;
mod read;
mod resolve;
mod unix;

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::address::Endpoint;
use crate::error::{ConnectionFailure, Error, Result};
use crate::gate::Process;
pub(crate) use crate::options::Policy;
use crate::outcome::{self, INTERRUPT_SLICE, SEND_SLICE};
use crate::protocol::reply::parse_header;
use crate::protocol::request::Request;
use crate::protocol::MAX_REPLY_LEN;

pub(crate) use connection::NativeConnection;
use messages::conn_err;
use random::Random;
pub use unix::remove_client_dirs_at_exit;
use unix::ClientDir;
pub use unix::CLIENT_DIR_PREFIX;

/// At most this many requests are outstanding at once: what chronyd's Unix
/// socket queue holds, `net.unix.max_dgram_qlen` + 1 datagrams (11 by
/// default), so that a call's own requests never find it full. Read once;
/// 11 where `/proc` does not say. (Over UDP chronyd's receive buffer holds
/// many more; each request still has its own resend timeout.)
fn window() -> usize {
    static WINDOW: OnceLock<usize> = OnceLock::new();
    *WINDOW.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .map_or(11, |q| q.saturating_add(1).clamp(1, 64))
    })
}
/// How early a blocking receive stops before its wake-up time; the kernel
/// rounds receive timeouts up to a clock tick (4 ms at 250 Hz, 10 ms at 100 Hz).
const TICK_SLACK: Duration = Duration::from_millis(10);
/// Sleep between non-blocking receives in the last `TICK_SLACK` before a
/// wake-up: how late a reply or the deadline may be noticed there.
const POLL_STEP: Duration = Duration::from_micros(250);
/// How long a client socket found in place (at the bind, or by a later
/// look) is trusted before a call looks it up again (see
/// [`Transport::usable`]).
const SOCKET_TRUSTED_FOR: Duration = Duration::from_secs(1);

enum Sock {
    Unix {
        sock: UnixDatagram,
        server: PathBuf,
        _dir: ClientDir,
    },
    Udp(UdpSocket),
}

/// An open socket to chronyd.
pub(crate) struct Transport {
    sock: Sock,
    peer: String,
    rng: Random,
    buf: Box<[u8]>,
    /// The process that opened it: a forked child opens its own.
    owner: Process,
    /// The receive timeout last set on the socket (`SO_RCVTIMEO`).
    timeout_set: Option<Duration>,
    /// When the client socket was last found in place (see
    /// [`Transport::usable`]).
    checked_at: Instant,
}

impl Transport {
    /// Opens a socket to `ep`. A host name is resolved here, within
    /// `deadline` (polling `interrupt`), and the socket goes to its first
    /// address; the others are returned, in order, to try when that one
    /// refuses.
    pub(crate) fn open(
        ep: &Endpoint,
        deadline: Instant,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<(Transport, Vec<Endpoint>)> {
        let mut rng = Random::new();
        let mut rest = Vec::new();
        let (sock, peer) = match ep {
            Endpoint::Unix(path) => {
                let (sock, dir) = unix::open_unix(path, &mut rng)?;
                let sock = Sock::Unix {
                    sock,
                    server: path.clone(),
                    _dir: dir,
                };
                (sock, path.to_string_lossy().into_owned())
            }
            Endpoint::Udp(addr) => (Sock::Udp(open_udp(*addr)?), addr.to_string()),
            Endpoint::Host { host, port } => {
                let mut addrs = resolve::resolve_all(host, *port, deadline, interrupt)?.into_iter();
                // An address that cannot even be connected (no IPv6 on this
                // host: EADDRNOTAVAIL, ENETUNREACH) gives way to the next;
                // one that refuses the first request, later, in the caller.
                let mut opened = None;
                let mut first_error = None;
                for addr in addrs.by_ref() {
                    match open_udp(addr) {
                        Ok(sock) => {
                            opened = Some((sock, addr));
                            break;
                        }
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                let Some((sock, addr)) = opened else {
                    return Err(first_error.unwrap_or_else(|| {
                        Error::connection(
                            ConnectionFailure::Unreachable,
                            format!("host name {host:?} has no address"),
                            None,
                        )
                    }));
                };
                rest = addrs.map(Endpoint::Udp).collect();
                (Sock::Udp(sock), format!("{host}:{port} ({addr})"))
            }
        };
        let transport = Transport {
            sock,
            peer,
            rng,
            buf: vec![0u8; MAX_REPLY_LEN + 1].into_boxed_slice(),
            owner: Process::current(),
            timeout_set: None,
            checked_at: Instant::now(),
        };
        Ok((transport, rest))
    }

    /// Where it sends, as messages show it.
    pub(crate) fn peer(&self) -> &str {
        &self.peer
    }

    /// False in a forked child (the socket is its parent's) and when the
    /// client socket was removed under us: then the connection opens anew.
    /// A socket found in place less than `SOCKET_TRUSTED_FOR` ago (at the
    /// bind, through our own directory's descriptor, or by the last look) is
    /// not looked up again, so that calls in a quick loop (or a connection
    /// made for one call) pay no path lookup each. This is a liveness check,
    /// not a security one: a socket removed in between is noticed when a
    /// request goes unanswered for its first timeout (the engine then binds
    /// a new one and resends, see [`Transport::exchange`]).
    pub(crate) fn usable(&mut self) -> bool {
        if self.owner != Process::current() {
            return false;
        }
        if self.checked_at.elapsed() < SOCKET_TRUSTED_FOR {
            return true;
        }
        let intact = self.client_socket_intact();
        if intact {
            self.checked_at = Instant::now();
        }
        intact
    }

    /// Sends without blocking: a full queue (a stopped chronyd) gives
    /// `WouldBlock` at once, and the engine tries again within its deadline.
    fn send(&self, data: &[u8]) -> io::Result<usize> {
        match &self.sock {
            Sock::Unix { sock, .. } => unix::send_nonblocking(sock.as_fd(), data),
            Sock::Udp(s) => unix::send_nonblocking(s.as_fd(), data),
        }
    }

    fn set_read_timeout(&self, d: Duration) -> io::Result<()> {
        match &self.sock {
            Sock::Unix { sock, .. } => sock.set_read_timeout(Some(d)),
            Sock::Udp(s) => s.set_read_timeout(Some(d)),
        }
    }

    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match &self.sock {
            Sock::Unix { sock, .. } => sock.set_nonblocking(on),
            Sock::Udp(s) => s.set_nonblocking(on),
        }
    }

    fn recv(&mut self) -> io::Result<usize> {
        match &self.sock {
            Sock::Unix { sock, .. } => sock.recv(&mut self.buf),
            Sock::Udp(s) => s.recv(&mut self.buf),
        }
    }

    /// Receives one datagram, waiting until `wake` at the latest (then
    /// `WouldBlock`/`TimedOut`). The kernel rounds a socket's receive timeout
    /// up to its clock tick (up to 10 ms), which would let a call overrun its
    /// deadline; so the blocking wait stops `TICK_SLACK` early and the rest
    /// is polled without blocking, in short precise sleeps.
    fn recv_until(&mut self, wake: Instant) -> io::Result<usize> {
        let wait = wake.saturating_duration_since(Instant::now());
        if wait > TICK_SLACK {
            let timeout = wait.saturating_sub(TICK_SLACK);
            // The timeout set already serves when it ends no later and not
            // much earlier: waking early only turns the engine's loop once
            // more. So most receives need no `setsockopt` of their own.
            if !self
                .timeout_set
                .is_some_and(|t| t <= timeout && t >= timeout / 2)
            {
                self.set_read_timeout(timeout)?;
                self.timeout_set = Some(timeout);
            }
            return self.recv();
        }
        self.set_nonblocking(true)?;
        let result = loop {
            match self.recv() {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let left = wake.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break Err(e);
                    }
                    std::thread::sleep(left.min(POLL_STEP));
                }
                other => break other,
            }
        };
        self.set_nonblocking(false)?;
        result
    }

    /// After chronyd restarted, a connected Unix socket points at the old
    /// server socket (`ECONNREFUSED`). Connect again to the path, once.
    fn reconnect(&self) -> bool {
        match &self.sock {
            Sock::Unix { sock, server, .. } => sock.connect(server).is_ok(),
            Sock::Udp(_) => false,
        }
    }

    /// Binds a new client socket in place of one that was removed (replies to
    /// it can never arrive), in a new directory; the old one's remains go.
    /// Over UDP there is nothing to replace.
    fn rebind(&mut self) -> Result<()> {
        let Sock::Unix { server, .. } = &self.sock else {
            return Ok(());
        };
        let server = server.clone();
        let (sock, dir) = unix::open_unix(&server, &mut self.rng)?;
        self.sock = Sock::Unix {
            sock,
            server,
            _dir: dir,
        };
        self.timeout_set = None;
        self.checked_at = Instant::now();
        Ok(())
    }

    /// The client socket chronyd replies to is still bound at its path (same
    /// inode, as we created it); always true for UDP. False when something
    /// removed or replaced it (then replies can never arrive: open again).
    pub(crate) fn client_socket_intact(&self) -> bool {
        match &self.sock {
            Sock::Unix { _dir: dir, .. } => dir.socket_intact(),
            Sock::Udp(_) => true,
        }
    }

    fn timed_out(&self, policy: &Policy, what: &str, elapsed: Duration) -> Error {
        outcome::timed_out(what, &self.peer, elapsed, policy.timeout, policy.retries)
    }

    /// Sends every request and hands each raw reply to `on_reply` with its
    /// request's index, in request order, as soon as it and those before it
    /// are in: while the later requests are still on their way, so what
    /// `on_reply` does overlaps with chronyd's work. An error from `on_reply`
    /// ends the exchange with it.
    ///
    /// Replies are matched by sequence number and command; anything else is
    /// discarded. A request unanswered after `timeout × 2^attempt` is resent
    /// with a fresh sequence number, up to `retries` times; the whole exchange
    /// ends at `policy.deadline`.
    // One loop keeps the send/expire/receive steps and their shared state
    // together; splitting it would spread the timing rules over helpers.
    #[allow(clippy::too_many_lines)]
    pub(crate) fn exchange(
        &mut self,
        reqs: &[Request],
        policy: &Policy,
        interrupt: &dyn Fn() -> bool,
        on_reply: &mut dyn FnMut(usize, &[u8]) -> Result<()>,
    ) -> Result<()> {
        struct Slot {
            idx: usize,
            seq: u32,
            attempt: u32,
            expires: Option<Instant>,
        }
        let started = Instant::now();
        // Replies that came before an earlier request's (a resend over UDP),
        // kept until it is their turn; made at the first of them.
        let mut early: Vec<Option<Vec<u8>>> = Vec::new();
        // How many replies went to `on_reply`: the index of the next one.
        let mut handed = 0usize;
        let mut done = 0usize;
        let mut next = 0usize;
        let window = window();
        let mut inflight: Vec<Slot> = Vec::with_capacity(window);
        // Each request is encoded into this one buffer before it is sent.
        let mut packet = Vec::new();
        let mut reconnected = false;
        let mut last_check = started;
        // The first turn always tries to send, even at the deadline (the
        // wait for other calls may have used the budget up): a timeout is
        // only reported for requests that were tried.
        let mut attempted = false;
        while done < reqs.len() {
            while inflight.len() < window && next < reqs.len() {
                inflight.push(Slot {
                    idx: next,
                    seq: self.rng.next_u32(),
                    attempt: 0,
                    expires: None,
                });
                next += 1;
            }
            let now = Instant::now();
            if now >= policy.deadline && attempted {
                let what = inflight.first().map_or("", |s| reqs[s.idx].name());
                return Err(self.timed_out(policy, what, now.duration_since(policy.started)));
            }
            attempted = true;
            // A request unanswered for its timeout may have lost its reply
            // because the client socket was removed (a cleaner of old files):
            // then bind a new one before resending, or every resend is lost too.
            if inflight
                .iter()
                .any(|s| s.expires.is_some_and(|exp| now >= exp))
                && !self.client_socket_intact()
            {
                self.rebind()?;
            }
            for slot in &mut inflight {
                if let Some(exp) = slot.expires {
                    if now < exp {
                        continue;
                    }
                    if slot.attempt >= policy.retries {
                        // Its last wait is over; the deadline check above
                        // ends the call once the deadline passes, but a
                        // request out of retries ends it now.
                        return Err(self.timed_out(
                            policy,
                            reqs[slot.idx].name(),
                            now.duration_since(policy.started),
                        ));
                    }
                    slot.attempt += 1;
                    slot.seq = self.rng.next_u32();
                    slot.expires = None;
                }
                let req = reqs[slot.idx];
                req.encode_into(slot.seq, slot.attempt as u16, &mut packet);
                match self.send(&packet) {
                    Ok(_) => {
                        let wait = policy.wait(slot.attempt);
                        slot.expires = Some(now.checked_add(wait).unwrap_or(policy.deadline));
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                        ) =>
                    {
                        // The queue is full (e.g. chronyd is stopped): try
                        // again on the next turn, within the deadline.
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::ConnectionRefused | ErrorKind::NotConnected
                        ) && !reconnected
                            && self.reconnect() =>
                    {
                        reconnected = true;
                    }
                    Err(e) => return Err(self.send_error(req, e)),
                }
            }
            let now = Instant::now();
            let mut wake = policy.deadline;
            let mut unsent = false;
            for slot in &inflight {
                match slot.expires {
                    Some(exp) => wake = wake.min(exp),
                    None => unsent = true,
                }
            }
            if unsent {
                wake = wake.min(now + SEND_SLICE);
            }
            wake = wake.min(now + INTERRUPT_SLICE);
            match self.recv_until(wake) {
                Ok(n) => {
                    // A datagram that is not a reply to an outstanding
                    // request is dropped; the interrupt check below still
                    // runs, so a stream of them cannot starve it.
                    let matched = parse_header(&self.buf[..n]).and_then(|hdr| {
                        inflight.iter().position(|s| {
                            s.seq == hdr.sequence && reqs[s.idx].command() == hdr.command
                        })
                    });
                    if let Some(pos) = matched {
                        let slot = inflight.swap_remove(pos);
                        if n > MAX_REPLY_LEN {
                            return Err(Error::invalid_reply(format!(
                            "{} reply from chronyd at {} is oversize (more than {MAX_REPLY_LEN} bytes)",
                            reqs[slot.idx].name(),
                            self.peer
                        )));
                        }
                        done += 1;
                        if slot.idx == handed {
                            on_reply(handed, &self.buf[..n])?;
                            handed += 1;
                            while let Some(reply) = early.get_mut(handed).and_then(Option::take) {
                                on_reply(handed, &reply)?;
                                handed += 1;
                            }
                        } else {
                            if early.is_empty() {
                                early.resize(reqs.len(), None);
                            }
                            early[slot.idx] = Some(self.buf[..n].to_vec());
                        }
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(outcome::recv_failed(&self.peer, e)),
            }
            // The check may be costly (the Python bridge takes the GIL), so it
            // runs at most once per slice, not once per datagram.
            if last_check.elapsed() >= INTERRUPT_SLICE {
                last_check = Instant::now();
                if interrupt() {
                    return Err(Error::Interrupted);
                }
            }
        }
        Ok(())
    }

    /// Sends `req` and returns what `decode` makes of its reply.
    pub(crate) fn exchange_one<T>(
        &mut self,
        req: Request,
        policy: &Policy,
        interrupt: &dyn Fn() -> bool,
        decode: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<T> {
        let mut decode = Some(decode);
        let mut value = None;
        self.exchange(&[req], policy, interrupt, &mut |_, reply| {
            if let Some(decode) = decode.take() {
                value = Some(decode(reply)?);
            }
            Ok(())
        })?;
        value.ok_or_else(|| Error::invalid_reply(format!("no {} reply from chronyd", req.name())))
    }

    fn send_error(&self, req: Request, e: io::Error) -> Error {
        outcome::send_failed(req.name(), &self.peer, e)
    }
}

fn open_udp(addr: SocketAddr) -> Result<UdpSocket> {
    let local: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local).map_err(|e| {
        conn_err(
            ConnectionFailure::Unreachable,
            format!("cannot open a UDP socket for {addr}: {e}"),
            e,
        )
    })?;
    sock.connect(addr).map_err(|e| {
        conn_err(
            ConnectionFailure::Unreachable,
            format!("cannot reach chronyd's command port at {addr}: {e}"),
            e,
        )
    })?;
    Ok(sock)
}
