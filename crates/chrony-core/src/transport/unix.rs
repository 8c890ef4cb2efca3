//! The client socket's private directories beside chronyd's socket, and
//! opening a Unix-socket connection through them.
//!
//! chronyd replies to the path the client socket is bound to, so the client
//! must bind a socket chronyd's user can reach: in chronyd's socket
//! directory, which usually belongs to that (unprivileged) user. That user
//! can rename or replace entries there at any moment, so everything here is
//! done through directory descriptors checked right after they are opened:
//!
//! 1. chronyd's directory is opened once, by the path the user gave.
//! 2. `pychrony.<6 random>` is made there (`mkdirat`, mode 0700) and opened
//!    with `O_NOFOLLOW`; it must be a directory owned by us with no access
//!    for others, or we stop (it was replaced under us).
//! 3. That descriptor is locked with `flock(LOCK_EX)` for as long as the
//!    directory is in use (the lock is on the directory itself: no lock file
//!    to create, write and remove), then the directory gets 0711: the mode
//!    is the sign that its lock is held (see `remove_stale_dirs`).
//! 4. `<5 random>` is made inside it (`mkdirat` through the outer
//!    directory's descriptor) with mode 0711; should the umask take some
//!    of it (the socket's mode in step 5 shows the umask), it is given 0711
//!    by name through that descriptor. From step 2 on, nobody but us can
//!    create, rename or replace entries in the outer directory (ours, 0700
//!    then 0711), so the inner directory's name needs no descriptor of its
//!    own, nor a check: the name made is the name used.
//! 5. The socket `s` is bound by path (there is no `bindat`), then looked up
//!    through the outer directory's descriptor (`<inner>/s`): if it is not
//!    there, the bind followed a path changed under us, and we stop. Only
//!    then is its mode set, the same way. Nobody but us can create entries
//!    in our own directories, so the name checked is the name changed.
//! 6. The socket is connected to chronyd's. No probe comes first: when
//!    anything up to here fails, the directories are removed and an
//!    unbound socket's `connect` tells why chronyd's socket is unusable
//!    (the message a caller sees is the same as if it had been asked first).
//!
//! Removal goes the same way, through the descriptors, and removes the outer
//! directory only while its name still leads to the directory we made.
//!
//! The process's effective user id and process id are read once per
//! connection opened, and chronyd's directory is scanned for dead client
//! directories only now and then (see `stale::scan_due`).

mod stale;
mod sys;
#[cfg(test)]
mod tests;

use std::ffi::{CStr, CString, OsStr};
use std::io::{self, ErrorKind};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

pub(super) use sys::send_nonblocking;

use super::messages::{conn_err, permission_denied, unix_connect_error};
use super::random::Random;
use crate::error::{ConnectionFailure, Error, Result};
use crate::gate::Process;

/// Prefix of the client socket directories this library creates.
pub const CLIENT_DIR_PREFIX: &str = "pychrony.";

/// Random characters after the prefix in the outer directory's name.
const OUTER_RANDOM: usize = 6;
/// Random characters in the inner directory's name (11 in all: about 65 bits).
const INNER_RANDOM: usize = 5;
/// The client socket's name in the inner directory.
const SOCK_NAME: &CStr = c"s";
/// The lock file that earlier builds of this library made in the outer
/// directory and held instead of locking the directory; a scan still
/// respects one (see `remove_stale_dirs`).
const LOCK_NAME: &CStr = c"lock";
/// What the client adds after chronyd's socket directory:
/// "/pychrony.XXXXXX/XXXXX/s", 24 bytes.
const SUFFIX_LEN: usize = 1 + CLIENT_DIR_PREFIX.len() + OUTER_RANDOM + 1 + INNER_RANDOM + 1 + 1;
/// `sun_path` holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;
/// The longest socket directory (absolute path) the client socket fits beside.
pub(crate) const MAX_SOCKET_DIR: usize = MAX_SOCKET_PATH - SUFFIX_LEN;
/// A directory still being set up (mode 0700) is judged only once it has not
/// changed for this long; setting one up takes microseconds.
const SETUP_GRACE: Duration = Duration::from_secs(60);
/// Names tried when a random name exists already.
const NAME_TRIES: usize = 16;

/// Identity of a file: device and inode.
type FileId = (libc::dev_t, libc::ino_t);

fn id_of(st: &libc::stat) -> FileId {
    (st.st_dev, st.st_ino)
}

fn is_type(st: &libc::stat, kind: libc::mode_t) -> bool {
    st.st_mode & libc::S_IFMT == kind
}

fn cstring(s: &str) -> CString {
    // Our names are ASCII letters and digits, never NUL.
    CString::new(s).unwrap_or_default()
}

/// A client directory in use: every descriptor and name needed to check and
/// remove it without looking a path up again.
#[derive(Debug)]
struct Live {
    /// chronyd's socket directory.
    parent: OwnedFd,
    outer_name: CString,
    /// Flocked once set up (the lock goes when every copy of this descriptor
    /// is closed: ours, and a forked child's).
    outer: OwnedFd,
    outer_id: FileId,
    inner_name: Option<CString>,
    /// `<inner>/s`: the socket's name relative to `outer`.
    sock_name: Option<CString>,
    /// The socket as found through `outer` after the bind.
    sock_id: Option<FileId>,
    /// The absolute path the socket is bound to (chronyd replies there).
    sock_path: PathBuf,
}

impl Live {
    /// Removes what we made, through the descriptors. Our own directories
    /// admit entries from nobody but us, so their names need no check; the
    /// outer one's name sits in chronyd's directory, so it is removed only
    /// while it is still our directory.
    fn remove(self) {
        if let Some(sock_name) = &self.sock_name {
            let _ = sys::unlinkat(self.outer.as_fd(), sock_name, 0);
        }
        if let Some(inner_name) = &self.inner_name {
            let _ = sys::unlinkat(self.outer.as_fd(), inner_name, libc::AT_REMOVEDIR);
        }
        remove_if_same(self.parent.as_fd(), &self.outer_name, self.outer_id);
        // The descriptors close here; the lock goes with the last copy.
    }

    /// The socket is still at its path, the same inode we bound.
    fn socket_intact(&self) -> bool {
        let Some(want) = self.sock_id else {
            return false;
        };
        let Ok(path) = CString::new(self.sock_path.as_os_str().as_bytes()) else {
            return false;
        };
        sys::lstat(&path).is_ok_and(|st| is_type(&st, libc::S_IFSOCK) && id_of(&st) == want)
    }
}

/// `rmdir` of `dir/name`, only if it still is the directory `want`.
fn remove_if_same(dir: BorrowedFd<'_>, name: &CStr, want: FileId) {
    let same = sys::fstatat_nofollow(dir, name)
        .is_ok_and(|st| is_type(&st, libc::S_IFDIR) && id_of(&st) == want);
    if same {
        // Even if the name were exchanged between the check and here,
        // AT_REMOVEDIR removes only an empty directory in chronyd's
        // directory, where its owner could remove it anyway.
        let _ = sys::unlinkat(dir, name, libc::AT_REMOVEDIR);
    }
}

/// One client directory's state, shared with the process-wide registry.
#[derive(Debug)]
struct Shared {
    /// The process that made it: only it removes it (a forked child never
    /// removes its parent's).
    owner: Process,
    live: Mutex<Option<Live>>,
}

impl Shared {
    /// Removes the directory once (later calls find nothing), if this
    /// process made it; in a forked child only the descriptors close.
    fn remove(&self, wait: Option<Duration>) {
        let Some(mut guard) = lock_within(&self.live, wait) else {
            return;
        };
        let live = guard.take();
        drop(guard);
        if let Some(live) = live {
            if self.owner == Process::current() {
                live.remove();
            }
        }
    }
}

/// Every client directory of this process that is still in use, for
/// [`remove_client_dirs_at_exit`].
static REGISTRY: Mutex<Vec<Arc<Shared>>> = Mutex::new(Vec::new());

/// Client directories being set up right now; the exit cleanup waits for
/// them, so that none is half made when the process ends.
static CREATING: AtomicUsize = AtomicUsize::new(0);
/// Set by [`remove_client_dirs_at_exit`]: from then on only the thread that
/// called it (the one finishing the program) may set up new directories.
static EXITING: Mutex<Option<ThreadId>> = Mutex::new(None);

/// Counts a setup in progress for as long as it lives.
struct Creating(());

impl Creating {
    fn enter() -> Result<Creating> {
        CREATING.fetch_add(1, Ordering::SeqCst);
        let guard = Creating(());
        let exiting = *lock_within(&EXITING, None).as_deref().unwrap_or(&None);
        match exiting {
            Some(t) if t != std::thread::current().id() => Err(Error::connection(
                ConnectionFailure::Unreachable,
                "the program is exiting: no new connection to chronyd's Unix socket is opened \
                 by other threads after its exit cleanup ran",
                None,
            )),
            _ => Ok(guard),
        }
    }
}

impl Drop for Creating {
    fn drop(&mut self) {
        CREATING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Locks `m`; with `wait`, gives up after that long (used at exit, where a
/// lock held by a thread that no longer runs, e.g. in a forked child, must
/// not hang the process). A poisoned lock is used as is: no code here panics
/// while holding one, and the data stays consistent.
fn lock_within<T>(m: &Mutex<T>, wait: Option<Duration>) -> Option<MutexGuard<'_, T>> {
    let Some(wait) = wait else {
        return Some(m.lock().unwrap_or_else(PoisonError::into_inner));
    };
    let until = Instant::now() + wait;
    loop {
        match m.try_lock() {
            Ok(g) => return Some(g),
            Err(TryLockError::Poisoned(p)) => return Some(p.into_inner()),
            Err(TryLockError::WouldBlock) if Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(TryLockError::WouldBlock) => return None,
        }
    }
}

/// Removes every client socket directory this process still has, through
/// the descriptors it holds, even for connections whose calls are still
/// running in other threads (those calls then fail or time out; their
/// sockets stay open until they are dropped). Meant for interpreter exit,
/// where daemon threads may never drop their connections.
///
/// Safe to call from any thread, and more than once: a directory is removed
/// once, and connections dropped later remove nothing. Directories of a
/// parent process (inherited across `fork`) are never touched.
pub fn remove_client_dirs_at_exit() {
    const WAIT: Option<Duration> = Some(Duration::from_millis(200));
    if let Some(mut exiting) = lock_within(&EXITING, WAIT) {
        *exiting = Some(std::thread::current().id());
    }
    // Setups already under way finish (microseconds) and register first.
    let until = Instant::now() + Duration::from_millis(200);
    while CREATING.load(Ordering::SeqCst) > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(1));
    }
    let entries: Vec<Arc<Shared>> = match lock_within(&REGISTRY, WAIT) {
        Some(reg) => reg.clone(),
        None => return,
    };
    for entry in entries {
        entry.remove(WAIT);
    }
}

/// The client socket's private directories beside the server socket:
/// `<server dir>/pychrony.<random>/<random>/s`, the outer directory
/// flocked while in use. Removed on drop (or by
/// [`remove_client_dirs_at_exit`]), by the process that created them only.
#[derive(Debug)]
pub(crate) struct ClientDir {
    shared: Arc<Shared>,
}

impl ClientDir {
    fn new(live: Live) -> ClientDir {
        let shared = Arc::new(Shared {
            owner: Process::current(),
            live: Mutex::new(Some(live)),
        });
        if let Some(mut reg) = lock_within(&REGISTRY, None) {
            reg.push(Arc::clone(&shared));
        }
        ClientDir { shared }
    }

    /// The bound socket is still at its path, the same inode we created:
    /// chronyd's replies still reach it.
    pub(crate) fn socket_intact(&self) -> bool {
        let guard = lock_within(&self.shared.live, None);
        guard
            .as_ref()
            .and_then(|g| g.as_ref())
            .is_some_and(Live::socket_intact)
    }
}

impl Drop for ClientDir {
    fn drop(&mut self) {
        self.shared.remove(None);
        if let Some(mut reg) = lock_within(&REGISTRY, None) {
            reg.retain(|e| !Arc::ptr_eq(e, &self.shared));
        }
    }
}

// -- errors ------------------------------------------------------------------

/// `doing` failed in `path`, e.g. "creating the client socket directory".
fn setup_error(doing: &str, path: &Path, e: io::Error) -> Error {
    if e.kind() == ErrorKind::PermissionDenied {
        return permission_denied(&format!("{doing} in"), path, e);
    }
    conn_err(
        ConnectionFailure::Unreachable,
        format!("{doing} in {} failed: {e}", path.display()),
        e,
    )
}

/// The client directory was replaced or moved while we set it up: someone
/// who can write to chronyd's socket directory interfered. We stop.
fn changed_under_us(dir: &Path, what: &str) -> Error {
    Error::connection(
        ConnectionFailure::Unreachable,
        format!(
            "the client socket directory in {} was changed by someone else while it was being \
             set up ({what}); nothing outside it was touched. chronyd's socket directory should \
             be writable only by root and chronyd's user: check its owner and mode, or use the \
             UDP command port (e.g. address \"127.0.0.1\")",
            dir.display()
        ),
        None,
    )
}

fn too_long(server: &Path, dir: &Path) -> Error {
    let len = dir.as_os_str().len();
    Error::connection(
        ConnectionFailure::Unreachable,
        format!(
            "cannot create the client socket beside chronyd's socket {}: its directory {} is \
             {len} bytes long, and at most {MAX_SOCKET_DIR} fit (the client binds \
             <directory>/{CLIENT_DIR_PREFIX}XXXXXX/XXXXX/s, which must fit in the {MAX_SOCKET_PATH} \
             bytes of sun_path, SUN_LEN). Use a shorter path for chronyd's socket \
             ('bindcmdaddress' in chrony.conf), or the UDP command port (e.g. address \
             \"127.0.0.1\")",
            server.display(),
            dir.display(),
        ),
        None,
    )
}

// -- opening -------------------------------------------------------------------

/// Who we are, read once per connection opened.
#[derive(Clone, Copy)]
struct Me {
    euid: libc::uid_t,
}

/// Connects to chronyd's socket at `server` from a client socket bound in
/// a fresh private directory beside it.
pub(crate) fn open_unix(server: &Path, rng: &mut Random) -> Result<(UnixDatagram, ClientDir)> {
    let me = Me {
        euid: sys::geteuid(),
    };
    match set_up(server, rng, me) {
        Ok((sock, client_dir)) => match sock.connect(server) {
            Ok(()) => Ok((sock, client_dir)),
            // `client_dir` goes here, removing what was made.
            Err(e) => Err(unix_connect_error(server, e)),
        },
        // Nothing is left of the directories: ask chronyd's socket why it
        // is unusable (e.g. it does not exist, or is not ours to use); only
        // if it is usable does the setup's own error tell.
        Err(e) => Err(probe(server).err().unwrap_or(e)),
    }
}

/// An unbound socket's `connect` to `server`: its error tells why the server
/// socket is unusable, worded as for any failed connection.
fn probe(server: &Path) -> Result<()> {
    let probe = UnixDatagram::unbound().map_err(|e| {
        conn_err(
            ConnectionFailure::Unreachable,
            format!("cannot create a Unix socket: {e}"),
            e,
        )
    })?;
    probe
        .connect(server)
        .map_err(|e| unix_connect_error(server, e))
}

/// Steps 1 to 5 of the module docs: the client socket, bound in its checked
/// directories (removed again if anything fails), not yet connected.
fn set_up(server: &Path, rng: &mut Random, me: Me) -> Result<(UnixDatagram, ClientDir)> {
    let _creating = Creating::enter()?;
    let dir = match server.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // chronyd resolves the path we bind in its own context (its own working
    // directory), so the bound path must be absolute. It is made absolute
    // once, here, from the current directory; no /proc is needed.
    let dir_abs =
        std::path::absolute(dir).map_err(|e| setup_error("making the path absolute", dir, e))?;
    let suffix_room = if dir_abs.as_os_str().as_bytes() == b"/" {
        SUFFIX_LEN - 1
    } else {
        SUFFIX_LEN
    };
    if dir_abs.as_os_str().len() + suffix_room > MAX_SOCKET_PATH {
        return Err(too_long(server, &dir_abs));
    }
    // The one lookup by path: the directory the user named (through the
    // same path chronyd's socket is then reached by). Symlinks on the way
    // are followed, as connect() and chronyd follow them; everything made
    // in it is checked through this descriptor, and the bind's landing
    // through the outer directory's, so a path changed later cannot mislead.
    let parent: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(&dir_abs)
        .map_err(|e| setup_error("opening the directory", &dir_abs, e))?
        .into();
    let live = make_dirs(parent, &dir_abs, rng, me)?;
    // From here on, dropping `client_dir` removes what was made.
    let client_dir = ClientDir::new(live);
    let sock = bind_checked(&client_dir, &dir_abs, me)?;
    Ok((sock, client_dir))
}

/// Opens `dir/name` as a directory (never through a symlink) and checks that
/// it is ours and still as private as `mkdirat(…, 0700)` made it.
fn open_own_dir(
    dir: BorrowedFd<'_>,
    name: &CStr,
    shown: &Path,
    me: Me,
) -> Result<(OwnedFd, FileId)> {
    let fd = sys::openat(dir, name, sys::DIR_FLAGS, 0)
        .map_err(|e| changed_under_us(shown, &format!("opening what we created gave: {e}")))?;
    let st = sys::fstat(fd.as_fd())
        .map_err(|e| setup_error("inspecting the client socket directory", shown, e))?;
    if !is_type(&st, libc::S_IFDIR) || st.st_uid != me.euid || st.st_mode & 0o077 != 0 {
        return Err(changed_under_us(
            shown,
            "it was replaced by a directory that is not ours",
        ));
    }
    Ok((fd, id_of(&st)))
}

/// `mkdirat(dir, <random name>, mode)`, trying new names while one exists.
fn make_random_dir(
    dir: BorrowedFd<'_>,
    prefix: &str,
    len: usize,
    mode: libc::mode_t,
    shown: &Path,
    rng: &mut Random,
) -> Result<CString> {
    for _ in 0..NAME_TRIES {
        let name = cstring(&format!("{prefix}{}", rng.alnum(len)));
        match sys::mkdirat(dir, &name, mode) {
            Ok(()) => return Ok(name),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(setup_error(
                    "creating the client socket directory",
                    shown,
                    e,
                ))
            }
        }
    }
    Err(Error::connection(
        ConnectionFailure::Unreachable,
        format!(
            "cannot create the client socket directory in {}: {NAME_TRIES} random names were \
             all taken. Remove the {CLIENT_DIR_PREFIX}* entries there that no process uses",
            shown.display()
        ),
        None,
    ))
}

/// Steps 2 to 4 of the module docs: the outer directory with its held lock,
/// and the inner directory.
fn make_dirs(parent: OwnedFd, dir: &Path, rng: &mut Random, me: Me) -> Result<Live> {
    let outer_name = make_random_dir(
        parent.as_fd(),
        CLIENT_DIR_PREFIX,
        OUTER_RANDOM,
        0o700,
        dir,
        rng,
    )?;
    // If this fails, the name no longer leads to what we made: we cannot
    // find our directory again, and remove nothing by that name.
    let (outer, outer_id) = open_own_dir(parent.as_fd(), &outer_name, dir, me)?;
    let mut live = Live {
        parent,
        outer_name,
        outer,
        outer_id,
        inner_name: None,
        sock_name: None,
        sock_id: None,
        sock_path: PathBuf::new(),
    };
    match fill_dirs(&mut live, dir, rng, me) {
        Ok(()) => Ok(live),
        Err(e) => {
            live.remove();
            Err(e)
        }
    }
}

fn fill_dirs(live: &mut Live, dir: &Path, rng: &mut Random, me: Me) -> Result<()> {
    // Blocking: a stale-directory scan of another process may hold it for
    // a moment (it then sees mode 0700: still being set up, and leaves it).
    sys::flock(live.outer.as_fd(), libc::LOCK_EX)
        .map_err(|e| setup_error("locking the client socket directory", dir, e))?;
    // 0711: chronyd's user must traverse it to reach the socket. The mode
    // also tells stale-directory scans that the lock is held from now on.
    sys::fchmod(live.outer.as_fd(), 0o711)
        .map_err(|e| setup_error("setting the mode of the client socket directory", dir, e))?;

    // 0711 at once, less what the umask takes: the socket's mode tells
    // (`bind_checked`), and only then is it set by name if need be.
    let inner_name = make_random_dir(live.outer.as_fd(), "", INNER_RANDOM, 0o711, dir, rng)?;
    live.inner_name = Some(inner_name.clone());
    let outer = Path::new(OsStr::from_bytes(live.outer_name.as_bytes()));
    let inner = Path::new(OsStr::from_bytes(inner_name.as_bytes()));
    let sock = OsStr::from_bytes(SOCK_NAME.to_bytes());
    live.sock_name = Some(cstring_of(&inner.join(sock)));
    live.sock_path = dir.join(outer).join(inner).join(sock);
    if stale::scan_due(dir) {
        stale::remove_stale_dirs(live.parent.as_fd(), live.outer_id, me.euid);
    }
    Ok(())
}

fn cstring_of(p: &Path) -> CString {
    // Built from our own names, which hold no NUL.
    CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
}

/// Step 5 of the module docs: binds the socket by path, then checks through
/// the outer directory's descriptor that it landed there before setting its
/// mode the same way.
fn bind_checked(client_dir: &ClientDir, dir: &Path, me: Me) -> Result<UnixDatagram> {
    let mut guard = lock_within(&client_dir.shared.live, None);
    let Some(live) = guard.as_mut().and_then(|g| g.as_mut()) else {
        return Err(changed_under_us(dir, "it was removed"));
    };
    let Some(sock_name) = &live.sock_name else {
        return Err(changed_under_us(dir, "it was removed"));
    };
    let sock = UnixDatagram::bind(&live.sock_path).map_err(|e| {
        if e.kind() == ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) {
            // Our own directories do not vanish: the path was changed.
            changed_under_us(dir, &format!("binding the client socket gave: {e}"))
        } else {
            conn_err(
                ConnectionFailure::Unreachable,
                format!(
                    "cannot bind the client socket {}: {e}",
                    live.sock_path.display()
                ),
                e,
            )
        }
    })?;
    let st = sys::fstatat_nofollow(live.outer.as_fd(), sock_name)
        .map_err(|_| changed_under_us(dir, "the client socket was bound elsewhere"))?;
    if !is_type(&st, libc::S_IFSOCK) || st.st_uid != me.euid {
        return Err(changed_under_us(dir, "the client socket is not ours"));
    }
    live.sock_id = Some(id_of(&st));
    // The socket got 0777 less the umask, as the inner directory got 0711
    // less the umask a moment before: if the umask took any of 0711's bits,
    // give the directory its mode, by name through `outer`, where only we
    // can make entries (module docs, step 4): what is there is the
    // directory made. (A umask changed by another thread in between gives a
    // narrower mode, never a wider one.)
    if st.st_mode & 0o711 != 0o711 {
        if let Some(inner_name) = &live.inner_name {
            sys::fchmodat(live.outer.as_fd(), inner_name, 0o711).map_err(|e| {
                setup_error("setting the mode of the client socket directory", dir, e)
            })?;
        }
    }
    // chronyd (often not root) replies by writing to this socket. The name
    // was just checked in directories only we can add entries to.
    sys::fchmodat(live.outer.as_fd(), sock_name, 0o666).map_err(|e| {
        conn_err(
            ConnectionFailure::Unreachable,
            format!("cannot set the mode of the client socket: {e}"),
            e,
        )
    })?;
    Ok(sock)
}
