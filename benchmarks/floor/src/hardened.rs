//! The hardened fresh connection: the least a client spends to open a
//! connection at the security level of pychrony-rs's client directories
//! (`crates/chrony-core/src/transport/unix.rs`, issue 8), with nothing else:
//! every system call that layout needs, in its order, and no other work.
//!
//! On top of chronyc 4.8's layout (the plain fresh floor), it opens chronyd's
//! directory and the outer directory as descriptors and works through them;
//! checks the outer directory (`fstat`: ours, a directory, private) and the
//! bound socket (`fstatat`: it landed in our directory); holds the liveness
//! lock (`flock` on the outer directory, then mode 0711 as the sign that it
//! is held); sets a receive timeout (every call has a deadline); and before
//! `rmdir` of the outer directory checks that its name still leads to it.
//! The checks' results are only compared, as the library compares them.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{io_err, Fallible, Names};

/// The system calls, each a thin wrapper: the only `unsafe` of this tool.
#[allow(unsafe_code)]
mod sys {
    use std::ffi::CStr;
    use std::io;
    use std::mem::MaybeUninit;
    use std::os::fd::RawFd;

    fn check(r: libc::c_int) -> io::Result<libc::c_int> {
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }

    pub fn openat(dir: RawFd, name: &CStr, flags: libc::c_int) -> io::Result<RawFd> {
        // SAFETY: `name` is a NUL-terminated string that outlives the call;
        // no mode argument is read without O_CREAT.
        check(unsafe { libc::openat(dir, name.as_ptr(), flags) })
    }

    pub fn mkdirat(dir: RawFd, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
        // SAFETY: `name` is a NUL-terminated string that outlives the call.
        check(unsafe { libc::mkdirat(dir, name.as_ptr(), mode) }).map(drop)
    }

    pub fn fstatat(dir: RawFd, name: &CStr, flags: libc::c_int) -> io::Result<libc::stat> {
        let mut st = MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `name` is NUL-terminated and `st` points to writable
        // memory of the size of `struct stat`, which the kernel fills on
        // success.
        check(unsafe { libc::fstatat(dir, name.as_ptr(), st.as_mut_ptr(), flags) })?;
        // SAFETY: the call succeeded, so `st` is initialised.
        Ok(unsafe { st.assume_init() })
    }

    pub fn flock(fd: RawFd, op: libc::c_int) -> io::Result<()> {
        // SAFETY: plain system call on a descriptor; no memory is passed.
        check(unsafe { libc::flock(fd, op) }).map(drop)
    }

    pub fn fchmod(fd: RawFd, mode: libc::mode_t) -> io::Result<()> {
        // SAFETY: plain system call on a descriptor; no memory is passed.
        check(unsafe { libc::fchmod(fd, mode) }).map(drop)
    }

    pub fn fchmodat(dir: RawFd, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
        // SAFETY: `name` is a NUL-terminated string that outlives the call.
        check(unsafe { libc::fchmodat(dir, name.as_ptr(), mode, 0) }).map(drop)
    }

    pub fn unlinkat(dir: RawFd, name: &CStr, flags: libc::c_int) -> io::Result<()> {
        // SAFETY: `name` is a NUL-terminated string that outlives the call.
        check(unsafe { libc::unlinkat(dir, name.as_ptr(), flags) }).map(drop)
    }

    pub fn geteuid() -> libc::uid_t {
        // SAFETY: no arguments, always succeeds.
        unsafe { libc::geteuid() }
    }

    pub fn owned(fd: RawFd) -> std::os::fd::OwnedFd {
        // SAFETY: `fd` was just returned by a successful `openat` and is
        // owned by nobody else.
        unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) }
    }
}

const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;

fn cstr(bytes: &[u8]) -> Fallible<CString> {
    CString::new(bytes).map_err(|_| "a NUL in a path".to_string())
}

/// One hardened connection, open.
pub struct Hardened {
    parent: OwnedFd,
    outer_name: CString,
    outer: OwnedFd,
    outer_ino: u64,
    inner_name: CString,
    sock_name: CString,
    /// The connected client socket.
    pub sock: UnixDatagram,
}

impl Hardened {
    /// Makes `<dir>/pychrony-floor.<random>/<random>/s` the library's way
    /// and connects it to `server`, with a receive timeout of `timeout`.
    pub fn create(server: &Path, names: &mut Names, timeout: Duration) -> Fallible<Hardened> {
        let dir = server.parent().ok_or("the socket path has no directory")?;
        let euid = sys::geteuid();
        let dir_c = cstr(dir.as_os_str().as_bytes())?;
        let parent = sys::owned(
            sys::openat(
                libc::AT_FDCWD,
                &dir_c,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
            .map_err(io_err("open"))?,
        );
        let outer_name = cstr(format!("pychrony-floor.{}", names.alnum(6)).as_bytes())?;
        sys::mkdirat(parent.as_raw_fd(), &outer_name, 0o700).map_err(io_err("mkdirat"))?;
        let outer = sys::owned(
            sys::openat(parent.as_raw_fd(), &outer_name, DIR_FLAGS).map_err(io_err("openat"))?,
        );
        let st =
            sys::fstatat(outer.as_raw_fd(), c"", libc::AT_EMPTY_PATH).map_err(io_err("fstat"))?;
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR
            || st.st_uid != euid
            || st.st_mode & 0o077 != 0
        {
            return Err("the outer directory is not ours".into());
        }
        let outer_ino = st.st_ino;
        sys::flock(outer.as_raw_fd(), libc::LOCK_EX).map_err(io_err("flock"))?;
        sys::fchmod(outer.as_raw_fd(), 0o711).map_err(io_err("fchmod"))?;
        let inner_name = cstr(names.alnum(5).as_bytes())?;
        sys::mkdirat(outer.as_raw_fd(), &inner_name, 0o711).map_err(io_err("mkdirat"))?;
        let mut sock_rel = inner_name.as_bytes().to_vec();
        sock_rel.extend_from_slice(b"/s");
        let sock_name = cstr(&sock_rel)?;
        let path: PathBuf = dir
            .join(std::ffi::OsStr::from_bytes(outer_name.as_bytes()))
            .join(std::ffi::OsStr::from_bytes(&sock_rel));
        let sock = UnixDatagram::bind(&path).map_err(io_err("bind"))?;
        let st = sys::fstatat(outer.as_raw_fd(), &sock_name, libc::AT_SYMLINK_NOFOLLOW)
            .map_err(io_err("fstatat"))?;
        if st.st_mode & libc::S_IFMT != libc::S_IFSOCK || st.st_uid != euid {
            return Err("the client socket is not ours".into());
        }
        // The socket's mode shows the umask: only if it took some of 0711
        // does the inner directory need its mode set.
        if st.st_mode & 0o711 != 0o711 {
            sys::fchmodat(outer.as_raw_fd(), &inner_name, 0o711).map_err(io_err("fchmodat"))?;
        }
        sys::fchmodat(outer.as_raw_fd(), &sock_name, 0o666).map_err(io_err("fchmodat"))?;
        sock.connect(server).map_err(io_err("connect"))?;
        sock.set_read_timeout(Some(timeout))
            .map_err(io_err("setsockopt"))?;
        Ok(Hardened {
            parent,
            outer_name,
            outer,
            outer_ino,
            inner_name,
            sock_name,
            sock,
        })
    }

    /// Closes the socket, then removes the socket and the inner directory
    /// through the outer one, and the outer one by name once `fstatat`
    /// shows the name still leads to it; the descriptors close last.
    pub fn remove(self) -> Fallible<()> {
        drop(self.sock);
        let outer = self.outer.as_raw_fd();
        sys::unlinkat(outer, &self.sock_name, 0).map_err(io_err("unlinkat"))?;
        sys::unlinkat(outer, &self.inner_name, libc::AT_REMOVEDIR).map_err(io_err("unlinkat"))?;
        let parent = self.parent.as_raw_fd();
        let st = sys::fstatat(parent, &self.outer_name, libc::AT_SYMLINK_NOFOLLOW)
            .map_err(io_err("fstatat"))?;
        if st.st_ino != self.outer_ino {
            return Err("the outer directory was replaced".into());
        }
        sys::unlinkat(parent, &self.outer_name, libc::AT_REMOVEDIR).map_err(io_err("unlinkat"))?;
        Ok(())
    }
}
