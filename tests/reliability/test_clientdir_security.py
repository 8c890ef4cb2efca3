"""The client socket directory against a hostile owner of chronyd's socket
directory, against other PID namespaces and a missing /proc, and with long
socket paths.

chronyd's socket directory usually belongs to chronyd's unprivileged user,
who can rename, exchange and replace entries in it at any moment. A root
client creating its directories there must never let that user redirect a
chmod, a mkdir or a bind onto files elsewhere. These tests run real chronyd
instances from the lab and a real attacker process (as ``nobody``) using
inotify and ``renameat2(RENAME_EXCHANGE)``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pwd
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import chronylab
from pychrony import ChronyConnection, ChronyConnectionError, ChronyError, LeapStatus
from support.processes import run_python

pytestmark = pytest.mark.integration

PREFIX = "pychrony."
#: Longest socket directory that leaves room for the client socket beside it:
#: sun_path holds 107 bytes + NUL, and the client adds
#: "/pychrony.XXXXXX/XXXXX/s" (24 bytes).
MAX_SOCKET_DIR = 83

_IN_CREATE = 0x100
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_EVENT = struct.Struct("iIII")


def _ours(directory: str) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.startswith(PREFIX))


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    return libc


def _exchange(libc: ctypes.CDLL, a: str, b: str) -> bool:
    return (
        libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0
    )


def _attack(sock_dir: str, targets: list[str], stop_at: float) -> None:
    """The attacker, running as the owner of `sock_dir`: every new entry in
    `sock_dir` named ``pychrony.*`` is exchanged (atomically, right after
    inotify reports it) for a symlink to one of `targets` or to a directory
    of the attacker's, whose new entries (the client's inner directory or
    socket, if a mkdir or bind followed the symlink) are in turn exchanged
    for symlinks to `targets`. Some exchanges are delayed a little, to hit
    the later steps (the bind, the chmod of the socket, the removal)."""
    libc = _libc()
    fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
    assert fd >= 0
    # Only creations: the attacker's own exchanges show up as moves.
    mask = _IN_CREATE
    watched: dict[int, str] = {libc.inotify_add_watch(fd, os.fsencode(sock_dir), mask): sock_dir}
    lair = os.path.join(sock_dir, "lair")
    os.mkdir(lair, 0o777)
    n = 0

    def fresh_link(target: str) -> str:
        nonlocal n
        n += 1
        link = os.path.join(sock_dir, f"link{n}")
        os.symlink(target, link)
        return link

    def fresh_lair() -> str:
        nonlocal n
        n += 1
        d = os.path.join(lair, f"d{n}")
        os.mkdir(d, 0o777)
        os.chmod(d, 0o777)
        watched[libc.inotify_add_watch(fd, os.fsencode(d), mask)] = d
        return d

    while time.monotonic() < stop_at:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            continue
        off = 0
        while off < len(data):
            wd, event, _cookie, length = _EVENT.unpack_from(data, off)
            name = data[off + _EVENT.size : off + _EVENT.size + length].rstrip(b"\0").decode()
            off += _EVENT.size + length
            parent = watched.get(wd)
            if parent is None or not event & _IN_CREATE:
                continue
            path = os.path.join(parent, name)
            if parent == sock_dir and not name.startswith(PREFIX):
                continue
            if parent != sock_dir and os.path.islink(path):
                continue
            choice = n % 4
            if choice == 1:
                time.sleep(0.0005 * (n % 7))
            if parent == sock_dir and choice in (2, 3):
                target = fresh_lair()
            else:
                target = targets[n % len(targets)]
            _exchange(libc, path, fresh_link(target))
    os.close(fd)


def _as_user(user: str, body: object, *args: object) -> int:
    """Fork a child that drops to `user` and runs ``body(*args)``; returns its pid."""
    entry = pwd.getpwnam(user)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setresgid(entry.pw_gid, entry.pw_gid, entry.pw_gid)
            os.setresuid(entry.pw_uid, entry.pw_uid, entry.pw_uid)
            body(*args)  # type: ignore[operator]
            code = 0
        except BaseException:  # never return into pytest
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


def _snapshot(root: str) -> dict[str, tuple[int, int, int]]:
    """(mode, uid, gid) of every entry under `root`, not following symlinks."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [".", *dirnames, *filenames]:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.relpath(os.path.join(dirpath, name), root)] = (
                st.st_mode,
                st.st_uid,
                st.st_gid,
            )
    return out


@pytest.fixture
def hostile_dir(victim: chronylab.Instance) -> Iterator[str]:
    """The victim's socket directory, handed to ``nobody`` after chronyd
    bound its socket there (as when chronyd runs as an unprivileged user)."""
    sock_dir = os.path.dirname(victim.socket)
    nobody = pwd.getpwnam("nobody")
    st = os.stat(sock_dir)
    os.chown(sock_dir, nobody.pw_uid, nobody.pw_gid)
    try:
        yield sock_dir
    finally:
        os.chown(sock_dir, st.st_uid, st.st_gid)


def test_hostile_socket_directory_owner_cannot_redirect_the_client(
    victim: chronylab.Instance, hostile_dir: str
) -> None:
    sock_dir = hostile_dir
    canary_root = tempfile.mkdtemp(prefix="pyc-canary-")
    try:
        os.chmod(canary_root, 0o700)
        canaries = []
        for i in range(3):
            path = os.path.join(canary_root, f"file{i}")
            Path(path).write_text("canary\n")
            os.chmod(path, 0o600)
            canaries.append(path)
        canary_dir = os.path.join(canary_root, "dir")
        os.mkdir(canary_dir, 0o700)
        os.chmod(canary_dir, 0o700)
        canaries.append(canary_dir)
        before = _snapshot(canary_root)

        attacker = _as_user("nobody", _attack, sock_dir, canaries, time.monotonic() + 55)
        time.sleep(0.3)  # let it set up its watches
        errors: list[str] = []
        started = time.monotonic()
        try:
            for i in range(2000):
                if time.monotonic() - started > 45:
                    break
                try:
                    with ChronyConnection(victim.socket, timeout=0.2, retries=0) as conn:
                        assert conn.get_tracking().leap_status is LeapStatus.UNSYNC
                except ChronyError as exc:
                    # Anything else (an OSError, a panic) fails the test.
                    errors.append(str(exc))
                if i % 50 == 0:
                    assert _snapshot(canary_root) == before, f"after {i} connections"
        finally:
            os.kill(attacker, signal.SIGKILL)
            os.waitpid(attacker, 0)

        assert _snapshot(canary_root) == before
        for path in canaries:
            st = os.lstat(path)
            assert (st.st_uid, st.st_gid) == (0, 0), path
            assert stat.S_IMODE(st.st_mode) in (0o600, 0o700), (path, oct(st.st_mode))
        # Nothing was created or re-owned in the attacker's own directories
        # either: no mkdir and no bind followed its symlinks.
        lair = os.path.join(sock_dir, "lair")
        root_owned = [p for p, (_, uid, _) in _snapshot(lair).items() if uid == 0]
        assert root_owned == [], root_owned
        assert errors, "the attacker never got in the way: the test proves nothing"
        for message in errors:
            assert sock_dir in message, message
            # Failed closed while setting up, or (the name was exchanged
            # after the bind, so replies go astray) timed out.
            assert "changed by someone else" in message or "did not answer" in message, message
        assert any("changed by someone else" in m for m in errors), errors[:5]
        # chronyd's own socket still works for a client once the attack stops.
        with ChronyConnection(victim.socket) as conn:
            assert conn.get_tracking().stratum == 0
    finally:
        shutil.rmtree(canary_root, ignore_errors=True)


# -- liveness by lock, not by pid ------------------------------------------------

_HOLDER = """
    import os, sys
    import pychrony
    if len(sys.argv) > 2:
        # Make the holder's pid one that no host process has, so that a
        # pid-based liveness check from outside would see it as dead.
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(int(sys.argv[2]) - 1))
        child = os.fork()
        if child:
            _, status = os.waitpid(child, 0)
            sys.exit(os.waitstatus_to_exitcode(status))
    conn = pychrony.ChronyConnection(sys.argv[1])
    conn.__enter__()
    conn.get_tracking()
    print("ready", os.getpid(), flush=True)
    sys.stdin.readline()  # until the outside is done
    print("stratum", conn.get_tracking().stratum, flush=True)
    conn.__exit__(None, None, None)
"""

_OPENER = """
    import sys
    import pychrony
    for _ in range(20):
        with pychrony.ChronyConnection(sys.argv[1]) as conn:
            assert conn.get_tracking().stratum == 0
    print("opened", flush=True)
"""


def _python(code: str, *args: str, prefix: tuple[str, ...] = ()) -> list[str]:
    return [*prefix, sys.executable, "-c", textwrap.dedent(code), *args]


def _unused_host_pid() -> int:
    """A pid near the top of the range that no host process has."""
    top = int(Path("/proc/sys/kernel/pid_max").read_text())
    for pid in range(top - 50, top - 1000, -1):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    raise AssertionError("no free pid found")


def _run_opener(socket: str, prefix: tuple[str, ...] = ()) -> None:
    done = run_python(_OPENER, socket, prefix=prefix)
    assert done.returncode == 0 and done.stdout.strip() == "opened", done.stderr


def test_a_connection_in_another_pid_namespace_keeps_its_directory(
    victim: chronylab.Instance,
) -> None:
    sock_dir = os.path.dirname(victim.socket)
    inside = ("unshare", "--pid", "--fork", "--mount-proc")
    with subprocess.Popen(
        _python(_HOLDER, victim.socket, str(_unused_host_pid()), prefix=inside),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        word, ns_pid = holder.stdout.readline().split()
        assert word == "ready"
        assert not os.path.exists(f"/proc/{ns_pid}")  # as seen from here: "dead"
        (theirs,) = _ours(sock_dir)
        # This process (outside) opens connections, each scanning for stale
        # directories.
        for _ in range(20):
            with ChronyConnection(victim.socket) as conn:
                assert conn.get_tracking().stratum == 0
        assert _ours(sock_dir) == [theirs]
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().split() == ["stratum", "0"]
        assert holder.wait(30) == 0
    assert _ours(sock_dir) == []


def test_a_process_in_another_pid_namespace_keeps_our_directory(
    victim: chronylab.Instance,
) -> None:
    sock_dir = os.path.dirname(victim.socket)
    with ChronyConnection(victim.socket) as conn:
        assert conn.get_tracking().stratum == 0
        (mine,) = _ours(sock_dir)
        # Inside, our pid does not exist; its connections scan our directory.
        _run_opener(victim.socket, prefix=("unshare", "--pid", "--fork", "--mount-proc"))
        assert _ours(sock_dir) == [mine]
        for _ in range(3):
            assert conn.get_tracking().leap_status is LeapStatus.UNSYNC
    assert _ours(sock_dir) == []


def test_without_proc_live_directories_stay_and_dead_ones_go(
    victim: chronylab.Instance,
) -> None:
    sock_dir = os.path.dirname(victim.socket)
    with subprocess.Popen(
        _python(_HOLDER, victim.socket), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as killed:
        assert killed.stdout is not None
        assert killed.stdout.readline().split()[0] == "ready"
        (dead,) = _ours(sock_dir)
        killed.kill()  # SIGKILL: no chance to clean up; its lock goes with it
        killed.wait(10)
        with ChronyConnection(victim.socket) as conn:
            assert conn.get_tracking().stratum == 0
            mine = [n for n in _ours(sock_dir) if n != dead]
            assert len(mine) == 1
            # A process that sees an empty /proc (no pid exists for it).
            no_proc = (
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                'mount -t tmpfs none /proc && test -z "$(ls /proc)" && exec "$@"',
                "sh",
            )
            _run_opener(victim.socket, prefix=no_proc)
            assert _ours(sock_dir) == mine  # ours stayed; the dead one went
            assert conn.get_tracking().leap_status is LeapStatus.UNSYNC
    assert _ours(sock_dir) == []


def test_a_directory_being_set_up_is_not_taken_for_dead(victim: chronylab.Instance) -> None:
    """Not locked yet and mode 0700: a connection being set up right now.
    It is left alone until it has not changed for a minute."""
    sock_dir = os.path.dirname(victim.socket)
    young = os.path.join(sock_dir, PREFIX + "young1")
    old = os.path.join(sock_dir, PREFIX + "old123")
    for path in (young, old):
        os.mkdir(path, 0o700)
        os.chmod(path, 0o700)
    os.utime(old, (time.time() - 120, time.time() - 120))  # ctime stays fresh
    with ChronyConnection(victim.socket) as conn:
        assert conn.get_tracking().stratum == 0
    assert os.path.isdir(young)
    assert os.path.isdir(old)  # its ctime is recent: the rule uses ctime
    os.rmdir(young)
    os.rmdir(old)
    assert _ours(sock_dir) == []


# -- long and relative socket paths ------------------------------------------------


@pytest.fixture
def long_dir_to(victim: chronylab.Instance) -> Iterator[object]:
    """Makes paths of a chosen length to the victim's socket directory: a
    short base directory, then a symlink with a long name to the lab's
    directory, then the victim's directory (a real directory, as chronyd's
    socket directory is)."""
    base = tempfile.mkdtemp(prefix="pyc-long-", dir="/tmp")
    lab_dir, name = os.path.split(os.path.dirname(victim.socket))

    def make(length: int) -> str:
        link_len = length - len(base) - len(name) - 2
        assert link_len > 0
        link = os.path.join(base, "l" * link_len)
        if not os.path.islink(link):
            os.symlink(lab_dir, link)
        path = os.path.join(link, name)
        assert len(os.fsencode(path)) == length
        return path

    try:
        yield make
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_socket_directory_of_83_bytes_works(
    victim: chronylab.Instance, long_dir_to: object
) -> None:
    directory = long_dir_to(MAX_SOCKET_DIR)  # type: ignore[operator]
    with ChronyConnection(os.path.join(directory, "chronyd.sock")) as conn:
        assert conn.get_tracking().leap_status is LeapStatus.UNSYNC
        (outer,) = _ours(directory)
        (inner,) = os.listdir(os.path.join(directory, outer))
        bound = os.path.join(directory, outer, inner, "s")
        assert len(os.fsencode(bound)) == 107  # sun_path: 107 bytes + NUL
        assert stat.S_ISSOCK(os.lstat(bound).st_mode)
    assert _ours(directory) == []


@pytest.mark.parametrize("extra", [1, 10])
def test_a_longer_socket_directory_gives_a_clear_error(
    victim: chronylab.Instance, long_dir_to: object, extra: int
) -> None:
    directory = long_dir_to(MAX_SOCKET_DIR + extra)  # type: ignore[operator]
    before = sorted(os.listdir(directory))
    # The socket's own path (96 or 106 bytes) fits; the client's would not.
    with (
        pytest.raises(ChronyConnectionError) as info,
        ChronyConnection(os.path.join(directory, "chronyd.sock")) as conn,
    ):
        conn.get_tracking()
    message = str(info.value)
    assert directory in message  # the user's path, not one we made up
    assert f"{MAX_SOCKET_DIR + extra} bytes" in message
    assert f"at most {MAX_SOCKET_DIR}" in message
    assert "shorter path" in message
    assert "UDP command port" in message
    assert sorted(os.listdir(directory)) == before  # nothing was created
