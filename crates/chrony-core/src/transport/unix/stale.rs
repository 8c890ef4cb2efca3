//! Removing client directories left by processes that died.

use std::ffi::CStr;
use std::io::ErrorKind;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{
    id_of, is_type, lock_within, remove_if_same, sys, FileId, CLIENT_DIR_PREFIX, LOCK_NAME,
    OUTER_RANDOM, SETUP_GRACE,
};

/// How long a process waits before it scans a directory it scanned already.
pub(super) const RESCAN_AFTER: Duration = Duration::from_secs(60);
/// Directories remembered (the oldest scan is forgotten first).
const REMEMBERED: usize = 16;

/// When this process last scanned each of chronyd's directories (by the
/// absolute path it opens them by).
static SCANNED: Mutex<Vec<(PathBuf, Instant)>> = Mutex::new(Vec::new());

/// Whether a connection opening in `dir` scans it for dead directories now,
/// and if so, notes the scan. The rule: a process scans a directory when it
/// first makes a client directory there, and again only once `RESCAN_AFTER`
/// has passed since its last scan there. A dead directory is thus removed by
/// the next process that connects, or within a minute by one that stays;
/// connections opened in a row (one per call) no longer list the directory
/// each time. Removing dead directories is housekeeping, never a check of
/// our own directory, so scanning less weakens nothing.
pub(super) fn scan_due(dir: &Path) -> bool {
    let now = Instant::now();
    let Some(mut scanned) = lock_within(&SCANNED, None) else {
        return true;
    };
    if let Some(entry) = scanned.iter_mut().find(|(p, _)| p == dir) {
        if now.duration_since(entry.1) < RESCAN_AFTER {
            return false;
        }
        entry.1 = now;
        return true;
    }
    if scanned.len() >= REMEMBERED {
        if let Some(oldest) = (0..scanned.len()).min_by_key(|&i| scanned[i].1) {
            scanned.swap_remove(oldest);
        }
    }
    scanned.push((dir.to_path_buf(), now));
    true
}

/// Forgets every scan, so that the next connection in any directory scans
/// it (for tests of the scan itself).
#[cfg(test)]
pub(super) fn forget_scans() {
    if let Some(mut scanned) = lock_within(&SCANNED, None) {
        scanned.clear();
    }
}

/// A name this version gives its outer directories: the prefix and exactly
/// `OUTER_RANDOM` letters or digits. Older versions' `pychrony.<pid>.<random>`
/// directories have no lock and are left to them.
pub(super) fn is_client_dir_name(name: &CStr) -> bool {
    name.to_bytes()
        .strip_prefix(CLIENT_DIR_PREFIX.as_bytes())
        .is_some_and(|rest| {
            rest.len() == OUTER_RANDOM && rest.iter().all(u8::is_ascii_alphanumeric)
        })
}

/// Removes client directories in chronyd's directory `parent` that are
/// provably dead, i.e. left by processes that ended without removing them.
///
/// A directory is judged by its lock, never by process ids (which mean
/// nothing across PID namespaces, and need /proc). It is dead when:
/// - it is a real directory owned by us (opened with `O_NOFOLLOW`), and
/// - the directory can be locked now (`flock`, `LOCK_EX|LOCK_NB`), and so
///   can its `lock` file if it has one (what earlier builds locked), so
///   nobody holds it: the creator and every forked child are gone, and
/// - its mode is 0711, which its creator sets only after taking the lock
///   (so the lock was taken and has been released), or it has not changed
///   for `SETUP_GRACE`: a creator killed while setting it up (mode 0700)
///   takes microseconds to get from `mkdir` to the lock, and one stopped
///   there for longer finds its directory gone and fails cleanly.
///
/// Everything is removed through descriptors: the inner directory with its
/// socket, and any lock file (anything deeper makes the removal stop).
pub(super) fn remove_stale_dirs(parent: BorrowedFd<'_>, ours: FileId, euid: libc::uid_t) {
    let Ok(names) = sys::list(parent) else {
        return;
    };
    for name in names.iter().filter(|n| is_client_dir_name(n)) {
        let Ok(fd) = sys::openat(parent, name, sys::DIR_FLAGS, 0) else {
            continue;
        };
        let Ok(st) = sys::fstat(fd.as_fd()) else {
            continue;
        };
        if !is_type(&st, libc::S_IFDIR) || st.st_uid != euid || id_of(&st) == ours {
            continue;
        }
        // Held (through `fd`, kept open) until the directory is gone.
        if sys::flock(fd.as_fd(), libc::LOCK_EX | libc::LOCK_NB).is_err() {
            continue; // in use
        }
        // An earlier build's lock file, if any: held (and so kept open)
        // until the directory is gone.
        let lock = match sys::openat(
            fd.as_fd(),
            LOCK_NAME,
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
            0,
        ) {
            Ok(lock) => {
                let regular = sys::fstat(lock.as_fd())
                    .is_ok_and(|l| is_type(&l, libc::S_IFREG) && l.st_uid == euid);
                if !regular || sys::flock(lock.as_fd(), libc::LOCK_EX | libc::LOCK_NB).is_err() {
                    continue; // in use (or not ours)
                }
                Some(lock)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(_) => continue,
        };
        // The mode after the lock was won: see the rule above.
        let Ok(st) = sys::fstat(fd.as_fd()) else {
            continue;
        };
        if st.st_mode & 0o7777 != 0o711 && !unchanged_for(&st, SETUP_GRACE) {
            continue;
        }
        remove_dead_dir(parent, name, &fd, id_of(&st), euid);
        drop(lock);
    }
}

/// The directory's inode has not changed (ctime) for `grace`.
pub(super) fn unchanged_for(st: &libc::stat, grace: Duration) -> bool {
    let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) else {
        return false;
    };
    let ctime = Duration::from_secs(u64::try_from(st.st_ctime).unwrap_or(u64::MAX));
    now.checked_sub(ctime).is_some_and(|age| age > grace)
}

/// Removes a dead client directory's entries (files, and directories of
/// files owned by us) through `outer`, then the directory itself.
pub(super) fn remove_dead_dir(
    parent: BorrowedFd<'_>,
    name: &CStr,
    outer: &OwnedFd,
    id: FileId,
    euid: libc::uid_t,
) {
    let Ok(entries) = sys::list(outer.as_fd()) else {
        return;
    };
    for entry in &entries {
        let Ok(st) = sys::fstatat_nofollow(outer.as_fd(), entry) else {
            continue;
        };
        if is_type(&st, libc::S_IFDIR) {
            let Ok(sub) = sys::openat(outer.as_fd(), entry, sys::DIR_FLAGS, 0) else {
                continue;
            };
            let own = sys::fstat(sub.as_fd()).is_ok_and(|s| s.st_uid == euid);
            if !own {
                continue;
            }
            for file in sys::list(sub.as_fd()).unwrap_or_default() {
                // A directory in there fails (EISDIR) and stays: we made none.
                let _ = sys::unlinkat(sub.as_fd(), &file, 0);
            }
            let _ = sys::unlinkat(outer.as_fd(), entry, libc::AT_REMOVEDIR);
        } else {
            let _ = sys::unlinkat(outer.as_fd(), entry, 0);
        }
    }
    remove_if_same(parent, name, id);
}
