//! The one fake chronyd of the Rust tests, for fault injection, with sample
//! reports; replies are encoded by [`wire`].
//!
//! [`Fake`] listens on a Unix datagram socket (in a fresh private temporary
//! directory) and on UDP `127.0.0.1:<ephemeral>`. Every request datagram it
//! receives is recorded with its arrival time and handed to a behaviour
//! closure, which returns the datagrams to send back, each possibly delayed.
//! Dropping the fake stops its threads and removes its directory.

// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use std::fs::{self, DirBuilder};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrony_core::protocol::wire::decode_float;
use chrony_core::{
    IpAddr, LeapStatus, RtcData, Source, SourceMode, SourceState, SourceStats, Timespec, Tracking,
};

pub use chrony_core::protocol::request::{cmd, rpy};
pub use wire::{rtc_body, source_body, sourcestats_body, tracking_body};

pub mod lab;
pub mod wire;

/// Which of the fake's sockets a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Unix,
    Udp,
}

/// A request datagram as the fake saw it. Fields of a datagram too short to
/// hold them read as zero.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub via: Via,
    pub bytes: Vec<u8>,
    /// Bytes 4..6.
    pub command: u16,
    /// Bytes 6..8.
    pub attempt: u16,
    /// Bytes 8..12, big-endian (the client's byte order).
    pub sequence: u32,
    /// Bytes 20..24: the source index of SOURCE_DATA / SOURCESTATS.
    pub index: u32,
}

fn be16(b: &[u8], off: usize) -> u16 {
    b.get(off..off + 2)
        .map_or(0, |s| u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

impl Seen {
    fn parse(bytes: &[u8], via: Via) -> Seen {
        Seen {
            at: Instant::now(),
            via,
            bytes: bytes.to_vec(),
            command: be16(bytes, 4),
            attempt: be16(bytes, 6),
            sequence: be32(bytes, 8),
            index: be32(bytes, 20),
        }
    }

    /// A reply to this request: command and sequence echoed.
    pub fn reply(&self, reply: u16, status: u16, body: &[u8]) -> Vec<u8> {
        wire::reply(self.command, reply, status, self.sequence, body)
    }

    /// An error reply (RPY_NULL) with `status`.
    pub fn status(&self, status: u16) -> Vec<u8> {
        self.reply(rpy::NULL, status, &[])
    }
}

/// One datagram to send back, `after` the request arrived.
#[derive(Debug, Clone)]
pub struct Out {
    pub after: Duration,
    pub bytes: Vec<u8>,
}

impl Out {
    pub fn now(bytes: Vec<u8>) -> Out {
        Out {
            after: Duration::ZERO,
            bytes,
        }
    }

    pub fn later(after: Duration, bytes: Vec<u8>) -> Out {
        Out { after, bytes }
    }
}

/// What the fake does with each request.
pub type Behaviour = Box<dyn FnMut(&Seen) -> Vec<Out> + Send>;

struct Shared {
    behaviour: Mutex<Behaviour>,
    log: Mutex<Vec<Seen>>,
    stop: AtomicBool,
    paused: AtomicBool,
    delayed: Mutex<Vec<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A failed assertion in a behaviour must not hide the test's own message.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The fake chronyd. See the module docs.
pub struct Fake {
    dir: PathBuf,
    sock_path: PathBuf,
    udp_addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

/// A fresh directory (mode 0750) for one fake's socket, with a short path:
/// the client binds `<dir>/pychrony.<6>/<5>/s` beside it, and
/// `sun_path` holds 107 bytes.
fn fresh_dir() -> PathBuf {
    let mut base = std::env::temp_dir();
    if base.as_os_str().len() > 40 {
        base = PathBuf::from("/tmp");
    }
    let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
    let dir = base.join(format!("pcf{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    DirBuilder::new()
        .mode(0o750)
        .create(&dir)
        .expect("create the fake's directory");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).expect("chmod the fake's dir");
    dir
}

/// How long a server thread blocks in `recv` before it checks the stop flag.
const POLL: Duration = Duration::from_millis(5);

impl Fake {
    /// Starts a fake with `behaviour` on a new Unix socket and an ephemeral
    /// UDP port.
    pub fn start(behaviour: impl FnMut(&Seen) -> Vec<Out> + Send + 'static) -> Fake {
        Fake::start_on(0, behaviour).expect("start the fake chronyd")
    }

    /// As [`Fake::start`] with a given UDP port (0: ephemeral).
    pub fn start_on(
        udp_port: u16,
        behaviour: impl FnMut(&Seen) -> Vec<Out> + Send + 'static,
    ) -> std::io::Result<Fake> {
        let udp = UdpSocket::bind(("127.0.0.1", udp_port))?;
        let dir = fresh_dir();
        let sock_path = dir.join("s.sock");
        let unix = UnixDatagram::bind(&sock_path)?;
        fs::set_permissions(&sock_path, fs::Permissions::from_mode(0o666))?;
        let udp_addr = udp.local_addr()?;
        unix.set_read_timeout(Some(POLL))?;
        udp.set_read_timeout(Some(POLL))?;
        let shared = Arc::new(Shared {
            behaviour: Mutex::new(Box::new(behaviour)),
            log: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            delayed: Mutex::new(Vec::new()),
        });
        let s1 = Arc::clone(&shared);
        let t1 = std::thread::Builder::new()
            .name("fake-chronyd-unix".into())
            .spawn(move || serve_unix(&unix, &s1))?;
        let s2 = Arc::clone(&shared);
        let t2 = std::thread::Builder::new()
            .name("fake-chronyd-udp".into())
            .spawn(move || serve_udp(&udp, &s2))?;
        Ok(Fake {
            dir,
            sock_path,
            udp_addr,
            shared,
            threads: vec![t1, t2],
        })
    }

    /// Replaces the behaviour (for the requests that arrive from now on).
    pub fn set_behaviour(&self, behaviour: impl FnMut(&Seen) -> Vec<Out> + Send + 'static) {
        *lock(&self.shared.behaviour) = Box::new(behaviour);
    }

    /// Every request seen so far, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the requests seen so far.
    pub fn clear(&self) {
        lock(&self.shared.log).clear();
    }

    /// While paused, nothing reads the sockets: their queues fill up.
    pub fn pause(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::SeqCst);
    }

    /// The directory holding the fake's Unix socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The fake's Unix socket.
    pub fn sock_path(&self) -> &Path {
        &self.sock_path
    }

    /// The fake's UDP address.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The address string a client connects to for `via`.
    pub fn address(&self, via: Via) -> String {
        match via {
            Via::Unix => self.sock_path.to_str().expect("UTF-8 temp dir").to_owned(),
            Via::Udp => self.udp_addr.to_string(),
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let delayed: Vec<_> = lock(&self.shared.delayed).drain(..).collect();
        for t in delayed {
            let _ = t.join();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Where the answers to one request go.
enum Peer {
    Unix(UnixDatagram, PathBuf),
    Udp(UdpSocket, SocketAddr),
}

impl Peer {
    fn send(&self, bytes: &[u8]) {
        // The client may be gone already; a lost answer is what it expects.
        let _ = match self {
            Peer::Unix(s, p) => s.send_to(bytes, p),
            Peer::Udp(s, a) => s.send_to(bytes, a),
        };
    }

    fn try_clone(&self) -> Option<Peer> {
        Some(match self {
            Peer::Unix(s, p) => Peer::Unix(s.try_clone().ok()?, p.clone()),
            Peer::Udp(s, a) => Peer::Udp(s.try_clone().ok()?, *a),
        })
    }
}

/// Handles one request: records it, asks the behaviour, sends the answers
/// (delayed ones from a helper thread that gives up when the fake stops).
fn handle(shared: &Arc<Shared>, seen: &Seen, peer: Option<&Peer>) {
    lock(&shared.log).push(seen.clone());
    let outs = {
        let mut b = lock(&shared.behaviour);
        (*b)(seen)
    };
    // An unbound Unix sender (e.g. a queue filler) cannot be answered.
    let Some(peer) = peer else { return };
    for out in outs {
        if out.after.is_zero() {
            peer.send(&out.bytes);
            continue;
        }
        let Some(peer2) = peer.try_clone() else {
            continue;
        };
        let due = seen.at + out.after;
        let sh = Arc::clone(shared);
        let handle = std::thread::spawn(move || {
            while Instant::now() < due {
                if sh.stop.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(
                    due.saturating_duration_since(Instant::now())
                        .min(Duration::from_millis(2)),
                );
            }
            peer2.send(&out.bytes);
        });
        lock(&shared.delayed).push(handle);
    }
}

fn serve_unix(sock: &UnixDatagram, shared: &Arc<Shared>) {
    let mut buf = vec![0u8; 4096];
    while !shared.stop.load(Ordering::SeqCst) {
        if shared.paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        // Timeouts (the stop check) and transient errors alike: poll again.
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let seen = Seen::parse(&buf[..n], Via::Unix);
        let peer = match (from.as_pathname(), sock.try_clone()) {
            (Some(path), Ok(s)) => Some(Peer::Unix(s, path.to_path_buf())),
            _ => None,
        };
        handle(shared, &seen, peer.as_ref());
    }
}

fn serve_udp(sock: &UdpSocket, shared: &Arc<Shared>) {
    let mut buf = vec![0u8; 4096];
    while !shared.stop.load(Ordering::SeqCst) {
        if shared.paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let seen = Seen::parse(&buf[..n], Via::Udp);
        let peer = sock.try_clone().ok().map(|s| Peer::Udp(s, from));
        handle(shared, &seen, peer.as_ref());
    }
}

/// `x` as it comes back from the wire.
pub fn q(x: f64) -> f64 {
    decode_float(wire::float(x))
}

/// What a well-behaved chronyd knows; [`Daemon::answer`] replies as it would.
#[derive(Debug, Clone)]
pub struct Daemon {
    pub tracking: Tracking,
    pub sources: Vec<Source>,
    pub stats: Vec<SourceStats>,
    /// `None`: no RTC driver (status 13).
    pub rtc: Option<RtcData>,
}

pub fn sample_tracking(stratum: u16) -> Tracking {
    Tracking {
        reference_id: 0xC000_0201,
        address: IpAddr::V4([192, 0, 2, 1].into()),
        stratum,
        leap_status: LeapStatus::Normal,
        ref_time: Timespec {
            secs: 1_700_000_000,
            nanos: 123_456_789,
        },
        current_correction: q(-1.25e-6),
        last_offset: q(2.1e-7),
        rms_offset: q(3.3e-6),
        frequency: q(-12.345),
        residual_frequency: q(0.001),
        skew: q(0.05),
        root_delay: q(0.0125),
        root_dispersion: q(0.000_75),
        last_update_interval: q(64.5),
    }
}

pub fn sample_source(i: u8) -> Source {
    Source {
        address: IpAddr::V4([198, 51, 100, i].into()),
        poll: -6 + i16::from(i),
        stratum: 2,
        state: SourceState::from(u16::from(i % 6)),
        mode: SourceMode::Client,
        flags: 0,
        reachability: 0o377,
        last_sample_ago: 10 + u32::from(i),
        orig_latest_meas: q(1e-3 * f64::from(i)),
        latest_meas: q(-2e-4 * f64::from(i)),
        latest_meas_err: q(5e-5),
    }
}

pub fn sample_stats(i: u8) -> SourceStats {
    SourceStats {
        reference_id: u32::from_be_bytes([198, 51, 100, i]),
        address: IpAddr::V4([198, 51, 100, i].into()),
        samples: 8 + u32::from(i),
        runs: 4,
        span: 512,
        std_dev: q(1e-5),
        resid_freq: q(0.25),
        skew: q(2000.0),
        offset: q(-3e-6),
        offset_err: q(1e-4),
    }
}

impl Daemon {
    /// A synchronised daemon with `n` NTP sources and an RTC.
    pub fn sample(n: u8) -> Daemon {
        Daemon {
            tracking: sample_tracking(3),
            sources: (0..n).map(sample_source).collect(),
            stats: (0..n).map(sample_stats).collect(),
            rtc: Some(RtcData {
                ref_time: Timespec {
                    secs: 1_699_999_000,
                    nanos: 5,
                },
                samples: 6,
                runs: 2,
                span: 3600,
                offset: q(-0.5),
                freq_offset: q(1.5),
            }),
        }
    }

    /// The reply chronyd would send to `seen`.
    pub fn answer(&self, seen: &Seen) -> Vec<u8> {
        let i = seen.index as usize;
        match seen.command {
            cmd::TRACKING => seen.reply(rpy::TRACKING, 0, &tracking_body(&self.tracking)),
            cmd::N_SOURCES => seen.reply(
                rpy::N_SOURCES,
                0,
                &(self.sources.len() as u32).to_be_bytes(),
            ),
            cmd::SOURCE_DATA => match self.sources.get(i) {
                Some(s) => seen.reply(rpy::SOURCE_DATA, 0, &source_body(s)),
                None => seen.status(4),
            },
            cmd::SOURCESTATS => match self.stats.get(i) {
                Some(s) => seen.reply(rpy::SOURCESTATS, 0, &sourcestats_body(s)),
                None => seen.status(4),
            },
            cmd::RTCREPORT => match &self.rtc {
                Some(r) => seen.reply(rpy::RTC, 0, &rtc_body(r)),
                None => seen.status(13),
            },
            _ => seen.status(3),
        }
    }
}

/// A behaviour that answers every request as `daemon` would, at once.
pub fn serve(daemon: Daemon) -> impl FnMut(&Seen) -> Vec<Out> + Send + 'static {
    move |seen| vec![Out::now(daemon.answer(seen))]
}

/// A behaviour that never answers.
pub fn silent() -> impl FnMut(&Seen) -> Vec<Out> + Send + 'static {
    |_| Vec::new()
}
