//! chrony-floor: the floor under pychrony's benchmark (`benchmarks/bench.py`).
//!
//! A client of chronyd's command protocol with nothing on top: requests are
//! built once, before the clock starts; a call is sends and receives on a
//! prepared socket, with a check that each reply is the one expected and
//! nothing else (no decoding, no allocation). What it measures is what any
//! client must spend, so the benchmark divides our times by these.
//!
//! It reads commands from stdin, one a line, and answers each with one line
//! (`ok ...` or `error <message>`):
//!
//! - `open <socket> [window]`: connects to chronyd's Unix socket through
//!   chronyc 4.8's private layout (kept until `quit`), reads the source list
//!   (for per-source requests) and answers
//!   `ok <sources> <addresses> <resolved addresses> <window>`.
//!   The window defaults to what chronyd's socket queue holds:
//!   `net.unix.max_dgram_qlen` + 1 datagrams.
//! - `time <rt|pipe|fresh|hardened> <calls> <recipe>`: times `calls` calls
//!   of the recipe's requests and answers `ok <ns> <ns> ...`, one per call.
//!   `rt`: one request at a time on the open socket; `pipe`: each phase with
//!   the full window; `fresh`: the full window on a connection made for the
//!   call (mkdir, mkdir, socket, bind, chmod, connect, the requests, close,
//!   unlink, rmdir, rmdir), chronyc 4.8's layout; `hardened`: the same on a
//!   connection made as pychrony-rs makes its own, with every system call
//!   its security checks and liveness lock need (see `hardened.rs`).
//! - `cpu <pid> <count> <recipe>`: sends `count` requests cycling through
//!   the recipe's, with the full window, and answers
//!   `ok <chronyd cpu ns> <wall ns> <count>`: the change of the first field
//!   of `/proc/<pid>/schedstat` (the task's run time in nanoseconds).
//! - `idle <pid> <ms>`: sleeps and answers `ok <chronyd cpu ns> <wall ns>`,
//!   what chronyd spends on its own meanwhile.
//! - `quit`.
//!
//! A recipe lists phases separated by `/`; a phase lists requests separated
//! by `,`, each a command name (`N_SOURCES`, `SOURCE_DATA`, ...) with a
//! suffix: none for one request, `*` for one per source index, `@` for one
//! per NTP source address (reference clocks have none), `+` for one per NTP
//! source address that is resolved (not `ID#…`), `^` for the first resolved
//! address. Phases run one after the other: a phase may depend on the
//! replies of the one before (a count, then the records).

mod hardened;

use std::fmt::Write as _;
use std::fs::{self, DirBuilder};
use std::io::{self, BufRead, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const HEADER: usize = 20;
const REPLY_HEADER: usize = 28;
const PROTO_VERSION: u8 = 6;
/// Largest reply chronyd sends (CLIENT_ACCESSES_BY_INDEX3), with room.
const BUF: usize = 1024;

#[derive(Clone, Copy)]
enum Body {
    Empty,
    Index,
    Address,
    Clients,
}

/// A request kind: command code, padded length (CMDMON.md §4.1, the
/// longest layout each accepts), what its body holds.
struct Kind {
    name: &'static str,
    code: u16,
    len: usize,
    body: Body,
}

const KINDS: &[Kind] = &[
    Kind {
        name: "N_SOURCES",
        code: 14,
        len: 32,
        body: Body::Empty,
    },
    Kind {
        name: "SOURCE_DATA",
        code: 15,
        len: 76,
        body: Body::Index,
    },
    Kind {
        name: "TRACKING",
        code: 33,
        len: 104,
        body: Body::Empty,
    },
    Kind {
        name: "SOURCESTATS",
        code: 34,
        len: 84,
        body: Body::Index,
    },
    Kind {
        name: "RTCREPORT",
        code: 35,
        len: 56,
        body: Body::Empty,
    },
    Kind {
        name: "MANUAL_LIST",
        code: 41,
        len: 416,
        body: Body::Empty,
    },
    Kind {
        name: "ACTIVITY",
        code: 44,
        len: 48,
        body: Body::Empty,
    },
    Kind {
        name: "SMOOTHING",
        code: 51,
        len: 52,
        body: Body::Empty,
    },
    Kind {
        name: "SERVER_STATS",
        code: 54,
        len: 196,
        body: Body::Empty,
    },
    Kind {
        name: "NTP_DATA",
        code: 57,
        len: 172,
        body: Body::Address,
    },
    Kind {
        name: "NTP_SOURCE_NAME",
        code: 65,
        len: 284,
        body: Body::Address,
    },
    Kind {
        name: "AUTH_DATA",
        code: 67,
        len: 52,
        body: Body::Address,
    },
    Kind {
        name: "CLIENT_ACCESSES_BY_INDEX3",
        code: 68,
        len: 520,
        body: Body::Clients,
    },
    Kind {
        name: "SELECT_DATA",
        code: 69,
        len: 76,
        body: Body::Index,
    },
];

type Fallible<T> = Result<T, String>;

fn io_err(what: &str) -> impl FnOnce(io::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// A request packet; its sequence number is its position in the call, so
/// the reply expected is known without a table.
fn packet(kind: &Kind, seq: u32, index: u32, address: &[u8; 20]) -> Vec<u8> {
    let mut p = vec![0u8; kind.len];
    p[0] = PROTO_VERSION;
    p[1] = 1;
    p[4..6].copy_from_slice(&kind.code.to_be_bytes());
    p[8..12].copy_from_slice(&seq.to_be_bytes());
    match kind.body {
        Body::Empty => {}
        Body::Index => p[HEADER..HEADER + 4].copy_from_slice(&index.to_be_bytes()),
        Body::Address => p[HEADER..HEADER + 20].copy_from_slice(address),
        // first index 0, 8 clients, no minimum hits, no reset
        Body::Clients => p[HEADER + 4..HEADER + 8].copy_from_slice(&8u32.to_be_bytes()),
    }
    p
}

/// The sources chronyd lists: how many, and the addresses of the NTP ones.
struct SourceList {
    count: u32,
    addresses: Vec<[u8; 20]>,
    resolved: Vec<[u8; 20]>,
}

/// A call's requests, phase by phase, built once.
struct Recipe {
    phases: Vec<Vec<Vec<u8>>>,
}

impl Recipe {
    fn parse(text: &str, sources: &SourceList) -> Fallible<Recipe> {
        let mut phases = Vec::new();
        let mut seq = 0u32;
        for phase_text in text.split('/') {
            let mut phase = Vec::new();
            for item in phase_text.split(',') {
                let (name, suffix) = match item.char_indices().last() {
                    Some((i, c @ ('*' | '@' | '+' | '^'))) => (&item[..i], Some(c)),
                    _ => (item, None),
                };
                let kind = KINDS
                    .iter()
                    .find(|k| k.name == name)
                    .ok_or_else(|| format!("unknown request {name:?}"))?;
                let mut push = |index: u32, address: &[u8; 20]| {
                    phase.push(packet(kind, seq, index, address));
                    seq += 1;
                };
                let none = [0u8; 20];
                match suffix {
                    None => push(0, &none),
                    Some('*') => (0..sources.count).for_each(|i| push(i, &none)),
                    Some('@') => sources.addresses.iter().for_each(|a| push(0, a)),
                    Some('+') => sources.resolved.iter().for_each(|a| push(0, a)),
                    _ => push(
                        0,
                        sources
                            .resolved
                            .first()
                            .ok_or("no NTP source for a request that needs an address")?,
                    ),
                }
            }
            if !phase.is_empty() {
                phases.push(phase);
            }
        }
        Ok(Recipe { phases })
    }

    fn flat(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.phases.iter().flatten()
    }
}

/// Checks that `reply` answers `request`: a reply packet of the protocol,
/// same command and sequence number.
fn check(request: &[u8], reply: &[u8]) -> Fallible<()> {
    if reply.len() < REPLY_HEADER
        || reply[0] != PROTO_VERSION
        || reply[1] != 2
        || reply[4..6] != request[4..6]
        || reply[16..20] != request[8..12]
    {
        return Err("a reply that does not answer the request sent".into());
    }
    // Any status is an answer (e.g. "RTC driver not running"): it costs
    // chronyd what it costs, and our package gets the same.
    Ok(())
}

/// Sends `phase` and receives its replies with at most `window` requests
/// outstanding. chronyd answers in order (one queue, one thread), so the
/// reply to the oldest outstanding request comes first.
fn pipelined(
    sock: &UnixDatagram,
    phase: &[Vec<u8>],
    window: usize,
    buf: &mut [u8],
) -> Fallible<()> {
    let mut sent = 0;
    let mut received = 0;
    while received < phase.len() {
        while sent < phase.len() && sent - received < window {
            sock.send(&phase[sent]).map_err(io_err("send"))?;
            sent += 1;
        }
        let n = sock.recv(buf).map_err(io_err("recv"))?;
        check(&phase[received], &buf[..n])?;
        received += 1;
    }
    Ok(())
}

fn round_trips(sock: &UnixDatagram, phase: &[Vec<u8>], buf: &mut [u8]) -> Fallible<()> {
    for req in phase {
        sock.send(req).map_err(io_err("send"))?;
        let n = sock.recv(buf).map_err(io_err("recv"))?;
        check(req, &buf[..n])?;
    }
    Ok(())
}

/// A small generator for the random directory names (not for security: the
/// floor only has to do the same work as a client that needs it).
struct Names(u64);

impl Names {
    fn alnum(&mut self, n: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                CHARS[(self.0 % CHARS.len() as u64) as usize] as char
            })
            .collect()
    }
}

/// chronyc 4.8's client socket: `<server dir>/chronyc.<pid>/<16 random>/sock`,
/// both directories 0711, the socket 0666, connected to the server.
struct Layout {
    outer: PathBuf,
    inner: PathBuf,
    path: PathBuf,
    sock: UnixDatagram,
}

impl Layout {
    /// `kept`: the connection that `open` keeps, whose outer directory gets
    /// a suffix so that fresh ones can be made beside it.
    fn create(server: &Path, names: &mut Names, kept: bool) -> Fallible<Layout> {
        let dir = server.parent().ok_or("the socket path has no directory")?;
        let suffix = if kept { ".kept" } else { "" };
        let outer = dir.join(format!("chronyc.{}{suffix}", std::process::id()));
        let inner = outer.join(names.alnum(16));
        let path = inner.join("sock");
        let mut builder = DirBuilder::new();
        builder.mode(0o711);
        builder.create(&outer).map_err(io_err("mkdir"))?;
        let made = builder
            .create(&inner)
            .map_err(io_err("mkdir"))
            .and_then(|()| UnixDatagram::bind(&path).map_err(io_err("bind")))
            .and_then(|sock| {
                fs::set_permissions(&path, fs::Permissions::from_mode(0o666))
                    .map_err(io_err("chmod"))?;
                sock.connect(server).map_err(io_err("connect"))?;
                Ok(sock)
            });
        match made {
            Ok(sock) => Ok(Layout {
                outer,
                inner,
                path,
                sock,
            }),
            Err(e) => {
                // Best effort: whatever of the layout exists goes.
                let _ = fs::remove_file(&path);
                let _ = fs::remove_dir(&inner);
                let _ = fs::remove_dir(&outer);
                Err(e)
            }
        }
    }

    /// Closes the socket, then unlink, rmdir, rmdir.
    fn remove(self) -> Fallible<()> {
        drop(self.sock);
        fs::remove_file(&self.path).map_err(io_err("unlink"))?;
        fs::remove_dir(&self.inner).map_err(io_err("rmdir"))?;
        fs::remove_dir(&self.outer).map_err(io_err("rmdir"))
    }
}

struct Conn {
    server: PathBuf,
    layout: Layout,
    sources: SourceList,
    window: usize,
}

struct Floor {
    conn: Option<Conn>,
    names: Names,
    buf: Vec<u8>,
}

fn default_window() -> usize {
    fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .map_or(11, |q| q + 1)
}

fn schedstat_ns(pid: &str) -> Fallible<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/schedstat")).map_err(io_err("schedstat"))?;
    text.split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| format!("unreadable /proc/{pid}/schedstat: {text:?}"))
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Floor {
    fn open(&mut self, server: &str, window: Option<&str>) -> Fallible<String> {
        let server = PathBuf::from(server);
        let window = match window {
            Some(w) => w.parse().map_err(|_| format!("bad window {w:?}"))?,
            None => default_window(),
        };
        if let Some(old) = self.conn.take() {
            old.layout.remove()?;
        }
        let layout = Layout::create(&server, &mut self.names, true)?;
        let sock = &layout.sock;
        let count_req = packet(&KINDS[0], 0, 0, &[0; 20]);
        round_trips(sock, std::slice::from_ref(&count_req), &mut self.buf)?;
        let count = u32::from_be_bytes(self.buf[28..32].try_into().expect("4 bytes"));
        let mut addresses = Vec::new();
        let mut resolved = Vec::new();
        for i in 0..count {
            let req = packet(&KINDS[1], i + 1, i, &[0; 20]);
            round_trips(sock, std::slice::from_ref(&req), &mut self.buf)?;
            let body = &self.buf[REPLY_HEADER..];
            let mode = u16::from_be_bytes([body[26], body[27]]);
            let family = u16::from_be_bytes([body[16], body[17]]);
            let address: [u8; 20] = body[..20].try_into().expect("20 bytes");
            if mode != 2 {
                addresses.push(address);
                // Family 3: a source whose name is not resolved yet.
                if family != 3 {
                    resolved.push(address);
                }
            }
        }
        let answer = format!("ok {count} {} {} {window}", addresses.len(), resolved.len());
        self.conn = Some(Conn {
            server,
            layout,
            sources: SourceList {
                count,
                addresses,
                resolved,
            },
            window,
        });
        Ok(answer)
    }

    fn time(&mut self, mode: &str, calls: &str, recipe: &str) -> Fallible<String> {
        let calls: usize = calls.parse().map_err(|_| format!("bad count {calls:?}"))?;
        let conn = self.conn.as_ref().ok_or("no `open` yet")?;
        let recipe = Recipe::parse(recipe, &conn.sources)?;
        let mut times = Vec::with_capacity(calls);
        let buf = &mut self.buf;
        for _ in 0..calls {
            let start = Instant::now();
            match mode {
                "rt" => {
                    for phase in &recipe.phases {
                        round_trips(&conn.layout.sock, phase, buf)?;
                    }
                }
                "pipe" => {
                    for phase in &recipe.phases {
                        pipelined(&conn.layout.sock, phase, conn.window, buf)?;
                    }
                }
                "fresh" => {
                    let layout = Layout::create(&conn.server, &mut self.names, false)?;
                    for phase in &recipe.phases {
                        pipelined(&layout.sock, phase, conn.window, buf)?;
                    }
                    layout.remove()?;
                }
                "hardened" => {
                    let conn_made = hardened::Hardened::create(
                        &conn.server,
                        &mut self.names,
                        Duration::from_secs(1),
                    )?;
                    for phase in &recipe.phases {
                        pipelined(&conn_made.sock, phase, conn.window, buf)?;
                    }
                    conn_made.remove()?;
                }
                other => return Err(format!("unknown mode {other:?}")),
            }
            times.push(nanos(start.elapsed()));
        }
        let mut answer = String::from("ok");
        for t in times {
            let _ = write!(answer, " {t}");
        }
        Ok(answer)
    }

    fn cpu(&mut self, pid: &str, count: &str, recipe: &str) -> Fallible<String> {
        let count: usize = count.parse().map_err(|_| format!("bad count {count:?}"))?;
        let conn = self.conn.as_ref().ok_or("no `open` yet")?;
        let recipe = Recipe::parse(recipe, &conn.sources)?;
        let all: Vec<Vec<u8>> = recipe.flat().cloned().collect();
        if all.is_empty() {
            return Err("an empty recipe".into());
        }
        let batch: Vec<Vec<u8>> = all.iter().cycle().take(count).cloned().collect();
        let buf = &mut self.buf;
        let before = schedstat_ns(pid)?;
        let start = Instant::now();
        let result = pipelined(&conn.layout.sock, &batch, conn.window, buf);
        let wall = nanos(start.elapsed());
        let after = schedstat_ns(pid)?;
        result?;
        Ok(format!("ok {} {wall} {count}", after - before))
    }

    fn idle(pid: &str, ms: &str) -> Fallible<String> {
        let ms: u64 = ms.parse().map_err(|_| format!("bad duration {ms:?}"))?;
        let before = schedstat_ns(pid)?;
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(ms));
        let wall = nanos(start.elapsed());
        let after = schedstat_ns(pid)?;
        Ok(format!("ok {} {wall}", after - before))
    }

    fn command(&mut self, line: &str) -> Fallible<Option<String>> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["open", socket] => self.open(socket, None)?,
            ["open", socket, window] => self.open(socket, Some(window))?,
            ["time", mode, calls, recipe] => self.time(mode, calls, recipe)?,
            ["cpu", pid, count, recipe] => self.cpu(pid, count, recipe)?,
            ["idle", pid, ms] => Floor::idle(pid, ms)?,
            ["quit"] | [] => return Ok(None),
            _ => return Err(format!("unknown command {line:?}")),
        };
        Ok(Some(answer))
    }
}

fn main() {
    let seed = nanos(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default(),
    ) | 1;
    let mut floor = Floor {
        conn: None,
        names: Names(seed),
        buf: vec![0u8; BUF],
    };
    let stdin = io::stdin();
    let mut out = io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let answer = match floor.command(&line) {
            Ok(Some(answer)) => answer,
            Ok(None) => break,
            Err(e) => format!("error {e}"),
        };
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
    if let Some(conn) = floor.conn.take() {
        let _ = conn.layout.remove();
    }
}
