//! Tests of the client-socket directory.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::atomic::{AtomicU32, Ordering};

use super::stale::{is_client_dir_name, unchanged_for};
use super::*;
use std::time::{SystemTime, UNIX_EPOCH};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh short directory with a server socket `s` in it, removed on drop.
struct Server {
    dir: PathBuf,
    sock: UnixDatagram,
}

impl Server {
    fn new() -> Server {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Server::at(&PathBuf::from(format!(
            "/tmp/pcu{}-{n}",
            std::process::id()
        )))
    }

    fn at(dir: &Path) -> Server {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).unwrap();
        let sock = UnixDatagram::bind(dir.join("s")).unwrap();
        Server {
            dir: dir.to_path_buf(),
            sock,
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("s")
    }

    /// Our client directories in the server's directory.
    fn client_dirs(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(CLIENT_DIR_PREFIX))
            .collect();
        names.sort();
        names
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Opens a client socket beside `server` as this process.
fn open(server: &Path) -> crate::error::Result<(UnixDatagram, ClientDir)> {
    open_unix(server, &mut Random::new())
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn sock_path(dir: &ClientDir) -> PathBuf {
    let live = dir.shared.live.lock().unwrap();
    live.as_ref().unwrap().sock_path.clone()
}

#[test]
fn suffix_and_limit() {
    assert_eq!(SUFFIX_LEN, "/pychrony.XXXXXX/XXXXX/s".len());
    assert_eq!(SUFFIX_LEN, 24);
    assert_eq!(MAX_SOCKET_DIR, 83);
}

#[test]
fn client_dir_names() {
    assert!(is_client_dir_name(c"pychrony.aZ09bc"));
    assert!(!is_client_dir_name(c"pychrony.aZ09b"));
    assert!(!is_client_dir_name(c"pychrony.aZ09bcd"));
    assert!(!is_client_dir_name(c"pychrony.123.abcdefabcdef"));
    assert!(!is_client_dir_name(c"pychrony.ab.cd."));
    assert!(!is_client_dir_name(c"other.abcdef"));
}

#[test]
fn layout_modes_lock_and_removal() {
    let server = Server::new();
    let (sock, dir) = open(&server.path()).unwrap();
    let names = server.client_dirs();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(is_client_dir_name(&cstring(&names[0])), "{names:?}");
    let outer = server.dir.join(&names[0]);
    assert_eq!(mode(&outer), 0o711);
    let path = sock_path(&dir);
    // The inner directory is all there is in the outer one (no lock file).
    let entries: Vec<_> = fs::read_dir(&outer)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries, [path.parent().unwrap().to_path_buf()]);
    assert_eq!(path.parent().unwrap().parent().unwrap(), outer);
    assert_eq!(mode(path.parent().unwrap()), 0o711);
    assert_eq!(mode(&path), 0o666);
    assert_eq!(
        fs::symlink_metadata(&path).unwrap().uid(),
        sys::geteuid(),
        "owned by us"
    );
    // The directory's lock is held: nobody else can take it.
    let other = fs::File::open(&outer).unwrap();
    assert!(sys::flock(other.as_fd(), libc::LOCK_EX | libc::LOCK_NB).is_err());
    // chronyd sees the bound (absolute) path and can reply to it.
    sock.send(b"ping").unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = server.sock.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");
    assert_eq!(from.as_pathname(), Some(path.as_path()));
    server.sock.send_to(b"pong", &path).unwrap();
    assert_eq!(sock.recv(&mut buf).unwrap(), 4);
    assert!(dir.socket_intact());
    drop(dir);
    assert!(server.client_dirs().is_empty());
    // Removal released the lock.
    drop(other);
}

#[test]
fn socket_intact_notices_a_removed_or_replaced_socket() {
    let server = Server::new();
    let (_sock, dir) = open(&server.path()).unwrap();
    let path = sock_path(&dir);
    assert!(dir.socket_intact());
    fs::remove_file(&path).unwrap();
    assert!(!dir.socket_intact());
    let _other = UnixDatagram::bind(&path).unwrap(); // same path, new inode
    assert!(!dir.socket_intact());
    drop(dir);
    assert!(server.client_dirs().is_empty());
}

#[test]
fn a_relative_server_path_binds_an_absolute_client_path() {
    let server = Server::new();
    // The server's path relative to the current directory, without chdir
    // (tests run in parallel threads).
    let cwd = std::env::current_dir().unwrap();
    let up: PathBuf = cwd.components().skip(1).map(|_| "..").collect();
    let relative = up.join(server.path().strip_prefix("/").unwrap());
    assert!(relative.is_relative());
    let (sock, dir) = open(&relative).unwrap();
    let path = sock_path(&dir);
    assert!(path.is_absolute(), "{}", path.display());
    sock.send(b"ping").unwrap();
    let mut buf = [0u8; 8];
    let (_, from) = server.sock.recv_from(&mut buf).unwrap();
    assert_eq!(from.as_pathname(), Some(path.as_path()));
    assert_eq!(server.client_dirs().len(), 1);
    drop(dir);
    assert!(server.client_dirs().is_empty());
}

/// `/tmp/pcl<pid>-<n>/ddd…` of exactly `len` bytes.
fn dir_of_len(len: usize) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let base = format!("/tmp/pcl{}-{n}/", std::process::id());
    PathBuf::from(format!("{base}{}", "d".repeat(len - base.len())))
}

#[test]
fn socket_directories_up_to_83_bytes_work_longer_ones_fail_clearly() {
    let fits = dir_of_len(MAX_SOCKET_DIR);
    let server = Server::at(&fits);
    let (_sock, dir) = open(&server.path()).unwrap();
    assert_eq!(sock_path(&dir).as_os_str().len(), MAX_SOCKET_PATH);
    drop(dir);
    let _ = fs::remove_dir_all(fits.parent().unwrap());

    let long = dir_of_len(MAX_SOCKET_DIR + 1);
    let server = Server::at(&long);
    let e = open(&server.path()).unwrap_err();
    let text = e.to_string();
    assert!(matches!(
        e,
        Error::Connection {
            kind: ConnectionFailure::Unreachable,
            ..
        }
    ));
    assert!(text.contains(&long.display().to_string()), "{text}");
    assert!(text.contains("84 bytes long, and at most 83 fit"), "{text}");
    assert!(text.contains("shorter path"), "{text}");
    assert!(text.contains("UDP command port"), "{text}");
    assert!(server.client_dirs().is_empty());
    let _ = fs::remove_dir_all(long.parent().unwrap());
}

#[test]
fn setup_grace_is_judged_by_ctime() {
    let f = fs::File::open("/").unwrap();
    let mut st = sys::fstat(f.as_fd()).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    st.st_ctime = (now - 120) as libc::time_t;
    assert!(unchanged_for(&st, SETUP_GRACE));
    st.st_ctime = (now - 10) as libc::time_t;
    assert!(!unchanged_for(&st, SETUP_GRACE));
    st.st_ctime = (now + 3600) as libc::time_t; // a clock stepped back
    assert!(!unchanged_for(&st, SETUP_GRACE));
}

/// Makes `<dir>/<name>` as a client directory of a given state.
fn plant(dir: &Path, name: &str, mode: u32, lock: bool) -> PathBuf {
    let p = dir.join(name);
    fs::create_dir(&p).unwrap();
    fs::create_dir(p.join("inner")).unwrap();
    fs::write(p.join("inner").join("s"), b"").unwrap();
    if lock {
        fs::write(p.join("lock"), b"1\n").unwrap();
    }
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    p
}

#[test]
fn the_stale_scan_removes_only_unlocked_finished_directories() {
    let server = Server::new();
    let dead = plant(&server.dir, "pychrony.dead01", 0o711, true);
    let dead_nolock = plant(&server.dir, "pychrony.dead02", 0o711, false);
    let live = plant(&server.dir, "pychrony.live01", 0o711, true);
    let live_dir = plant(&server.dir, "pychrony.live02", 0o711, false);
    let young = plant(&server.dir, "pychrony.young1", 0o700, true);
    let young_nolock = plant(&server.dir, "pychrony.young2", 0o700, false);
    let old_style = plant(&server.dir, "pychrony.123.abcdefabcdef", 0o711, false);
    let outside = server.dir.join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("keep"), b"x").unwrap();
    let link = server.dir.join("pychrony.link01");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    // Another process's lock (another open file description: flock
    // locks conflict even within one process).
    // `live` is locked by its lock file, as earlier builds did; `live_dir`
    // by the directory itself, as this one does.
    let held = fs::File::open(live.join("lock")).unwrap();
    sys::flock(held.as_fd(), libc::LOCK_EX).unwrap();
    let held_dir = fs::File::open(&live_dir).unwrap();
    sys::flock(held_dir.as_fd(), libc::LOCK_EX).unwrap();

    let (_sock, dir) = open(&server.path()).unwrap();
    assert!(!dead.exists(), "dead directory left");
    assert!(
        !dead_nolock.exists(),
        "dead directory without a lock file left"
    );
    for kept in [&live, &live_dir, &young, &young_nolock, &old_style] {
        assert!(kept.join("inner").join("s").exists(), "{}", kept.display());
    }
    assert!(link.is_symlink());
    assert!(outside.join("keep").exists());
    drop((held, held_dir)); // the live ones' processes end

    // This process scanned the directory just now: a connection opened
    // right after does not scan it again.
    let (_sock3, dir3) = open(&server.path()).unwrap();
    assert!(live.exists(), "scanned again at once");
    // Once the rescan interval has passed, it does (here: forgotten).
    super::stale::forget_scans();
    let (_sock2, dir2) = open(&server.path()).unwrap();
    assert!(!live.exists(), "unlocked directory left");
    assert!(!live_dir.exists(), "unlocked directory left");
    assert!(young.exists() && young_nolock.exists());
    drop((dir, dir2, dir3));
}
