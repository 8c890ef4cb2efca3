//! The directory system calls the client socket directories need, relative
//! to directory descriptors (`mkdirat`, `openat`, `fstatat`, `fchmodat`,
//! `unlinkat`, `flock`, `fdopendir`), and `send` with flags, which the
//! standard library does not offer. Each wrapper is safe: it takes borrowed descriptors and C strings,
//! and turns -1 into the `io::Error` of `errno`.
//!
//! `unsafe` lives here only because these are raw libc calls (FFI); the rest
//! of the client directory code is safe Rust over these wrappers.

use std::ffi::{CStr, CString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK` for read: a directory
/// entry opened this way is a real directory, never a symlink's target, and
/// never blocks (a FIFO planted under the name fails with `ENOTDIR`).
pub(super) const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK;

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `send` that never blocks, whatever the socket's mode (`MSG_DONTWAIT`): a
/// full queue gives `WouldBlock` at once. One system call, where switching
/// the socket to non-blocking and back around a plain `send` takes three.
/// `MSG_NOSIGNAL` as in the standard library's `send`.
pub(in crate::transport) fn send_nonblocking(
    sock: BorrowedFd<'_>,
    data: &[u8],
) -> io::Result<usize> {
    // SAFETY: `data` is a live slice of `data.len()` bytes, only read, for
    // the call's duration; `sock` is an open descriptor borrowed for it.
    let n = unsafe {
        libc::send(
            sock.as_raw_fd(),
            data.as_ptr().cast(),
            data.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// The effective user id, which owns what this process creates.
pub(super) fn geteuid() -> libc::uid_t {
    // SAFETY: geteuid has no arguments, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

pub(super) fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: `name` is a valid NUL-terminated string for the call's duration;
    // `dir` is an open descriptor borrowed for the call.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) }).map(drop)
}

/// `openat(dir, name, flags | O_CLOEXEC, mode)`; the new descriptor is owned.
pub(super) fn openat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated and outlives the call; `dir` is open.
    // The mode is passed as the variadic argument openat reads for O_CREAT.
    let fd = check(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode,
        )
    })?;
    // SAFETY: openat just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub(super) fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is valid for writes of a whole `struct stat`; `fd` is open.
    check(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so it filled in `st`.
    Ok(unsafe { st.assume_init() })
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`: a symlink is reported as one.
pub(super) fn fstatat_nofollow(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `name` is NUL-terminated, `st` is valid for writes of a whole
    // `struct stat`, `dir` is open.
    check(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    // SAFETY: fstatat succeeded, so it filled in `st`.
    Ok(unsafe { st.assume_init() })
}

/// `lstat(path)`: read-only, used only to compare identities.
pub(super) fn lstat(path: &CStr) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `path` is NUL-terminated and `st` is valid for writes of a
    // whole `struct stat`.
    check(unsafe { libc::lstat(path.as_ptr(), st.as_mut_ptr()) })?;
    // SAFETY: lstat succeeded, so it filled in `st`.
    Ok(unsafe { st.assume_init() })
}

pub(super) fn fchmod(fd: BorrowedFd<'_>, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: plain call on an open descriptor.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode) }).map(drop)
}

/// `fchmodat(dir, name, mode, 0)`. This follows a symlink under `name`, so
/// callers use it only in directories nobody else can create entries in, on
/// an entry they just made (and, for the socket, checked with
/// `fstatat_nofollow`).
pub(super) fn fchmodat(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated and outlives the call; `dir` is open.
    check(unsafe { libc::fchmodat(dir.as_raw_fd(), name.as_ptr(), mode, 0) }).map(drop)
}

/// `unlinkat(dir, name, flags)` (`flags`: 0 or `AT_REMOVEDIR`).
pub(super) fn unlinkat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated and outlives the call; `dir` is open.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

/// `flock(fd, op)`, retried on `EINTR`.
pub(super) fn flock(fd: BorrowedFd<'_>, op: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: plain call on an open descriptor.
        match check(unsafe { libc::flock(fd.as_raw_fd(), op) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other.map(drop),
        }
    }
}

/// The names in directory `dir`, without `.` and `..`. Reads through a new
/// descriptor of the same directory (`openat(dir, ".")`), so `dir`'s own
/// offset is untouched and no path is looked up again.
pub(super) fn list(dir: BorrowedFd<'_>) -> io::Result<Vec<CString>> {
    let own = openat(dir, c".", DIR_FLAGS, 0)?;
    let raw = own.as_raw_fd();
    // SAFETY: `raw` is an open directory descriptor; on success the stream
    // owns it (closedir closes it), so ownership is given up just below.
    let stream = unsafe { libc::fdopendir(raw) };
    if stream.is_null() {
        return Err(io::Error::last_os_error()); // `own` still closes it
    }
    std::mem::forget(own);
    let mut names = Vec::new();
    loop {
        // SAFETY: `stream` is a valid, open directory stream, used by this
        // thread only.
        let entry = unsafe { libc::readdir(stream) };
        // The end of the listing; readdir's only error is a bad stream,
        // which this one is not.
        if entry.is_null() {
            break;
        }
        // SAFETY: readdir returned a valid entry whose d_name is a
        // NUL-terminated string, valid until the next readdir on `stream`;
        // it is copied before that.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        if name != c"." && name != c".." {
            names.push(name.to_owned());
        }
    }
    // SAFETY: `stream` came from fdopendir and is closed exactly once.
    unsafe { libc::closedir(stream) };
    Ok(names)
}
