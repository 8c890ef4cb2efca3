"""Privileges and files: the client socket directories beside chronyd's
socket, their modes, and their removal in every way a connection can end
(close, garbage collection, exceptions, interpreter exit, SIGKILL, fork);
permission denied for an unprivileged user."""

from __future__ import annotations

import gc
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

import chronylab
import pychrony
from pychrony import ChronyConnection, ChronyError, ChronyPermissionError, LeapStatus
from support.lab import in_child
from support.processes import run_python

pytestmark = pytest.mark.integration

OUTER = re.compile(r"pychrony\.[A-Za-z0-9]{6}")
INNER = re.compile(r"[A-Za-z0-9]{5}")


def _lock_pid(directory: str, name: str) -> int | None:
    """The pid of the process that holds a client directory flocked (its
    creator), from ``/proc/locks``; None when nobody holds it."""
    try:
        st = os.stat(os.path.join(directory, name))
    except OSError:
        return None
    # /proc/locks names the file as MAJOR:MINOR:INODE, the device in hex.
    want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == want:
            return int(fields[4])
    return None


def _ours(directory: str, pid: int | None = None) -> list[str]:
    """The ``pychrony.*`` entries in `directory` (held by the live process
    `pid`, or any)."""
    names = sorted(n for n in os.listdir(directory) if n.startswith("pychrony."))
    return names if pid is None else [n for n in names if _lock_pid(directory, n) == pid]


def test_layout_and_modes_while_open(victim: chronylab.Instance) -> None:
    sock_dir = os.path.dirname(victim.socket)
    assert _ours(sock_dir) == []
    with ChronyConnection(victim.socket) as conn:
        assert conn.get_tracking().leap_status is LeapStatus.UNSYNC
        entries = _ours(sock_dir, os.getpid())
        assert len(entries) == 1, entries
        outer_name = entries[0]
        assert OUTER.fullmatch(outer_name), outer_name
        assert _lock_pid(sock_dir, outer_name) == os.getpid()
        outer = os.path.join(sock_dir, outer_name)
        inner_names = os.listdir(outer)  # the inner directory, nothing else
        assert len(inner_names) == 1 and INNER.fullmatch(inner_names[0]), inner_names
        inner = os.path.join(outer, inner_names[0])
        assert os.listdir(inner) == ["s"]
        sock = os.path.join(inner, "s")
        for directory in (outer, inner):
            st = os.lstat(directory)
            assert stat.S_ISDIR(st.st_mode)
            assert stat.S_IMODE(st.st_mode) == 0o711, oct(st.st_mode)
            assert not st.st_mode & stat.S_IWOTH
            assert st.st_uid == os.geteuid()
        st = os.lstat(sock)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o666, oct(st.st_mode)
        # A second connection gets directories of its own.
        with ChronyConnection(victim.socket) as second:
            assert second.get_tracking().stratum == 0
            assert len(_ours(sock_dir, os.getpid())) == 2
        assert _ours(sock_dir) == [outer_name]
    assert _ours(sock_dir) == []


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_modes_do_not_depend_on_the_umask(victim: chronylab.Instance, umask: int) -> None:
    sock_dir = os.path.dirname(victim.socket)
    old = os.umask(umask)
    try:
        with ChronyConnection(victim.socket) as conn:
            assert conn.get_tracking().stratum == 0
            (outer_name,) = _ours(sock_dir, os.getpid())
            outer = os.path.join(sock_dir, outer_name)
            (inner_name,) = os.listdir(outer)
            inner = os.path.join(outer, inner_name)
            modes = [
                stat.S_IMODE(os.lstat(p).st_mode) for p in (outer, inner, os.path.join(inner, "s"))
            ]
            assert modes == [0o711, 0o711, 0o666], [oct(m) for m in modes]
    finally:
        os.umask(old)
    assert _ours(sock_dir) == []


def test_udp_connection_creates_no_files(victim: chronylab.Instance) -> None:
    sock_dir = os.path.dirname(victim.socket)
    before = sorted(os.listdir(sock_dir))
    with ChronyConnection(f"127.0.0.1:{victim.cmdport}") as conn:
        assert conn.get_tracking().stratum == 0
        assert sorted(os.listdir(sock_dir)) == before


def test_removed_on_close_gc_and_exception(victim: chronylab.Instance) -> None:
    sock_dir = os.path.dirname(victim.socket)
    # Close.
    conn = ChronyConnection(victim.socket)
    with conn:
        conn.get_tracking()
        assert len(_ours(sock_dir)) == 1
    assert _ours(sock_dir) == []
    # Garbage collection of a connection entered but never exited.
    conn = ChronyConnection(victim.socket)
    conn.__enter__()
    assert conn.get_tracking().stratum == 0
    assert len(_ours(sock_dir)) == 1
    del conn
    gc.collect()
    assert _ours(sock_dir) == []
    # Garbage collection of a connection held in a reference cycle.
    cycle: list[object] = [ChronyConnection(victim.socket)]
    cycle.append(cycle)
    cycle[0].__enter__()  # type: ignore[attr-defined]
    assert len(_ours(sock_dir)) == 1
    del cycle
    gc.collect()
    assert _ours(sock_dir) == []
    # An exception inside "with", and a failing call inside "with".
    with pytest.raises(KeyError), ChronyConnection(victim.socket):
        raise KeyError("boom")
    assert _ours(sock_dir) == []
    victim.pause()
    try:
        with (
            pytest.raises(ChronyError),
            ChronyConnection(victim.socket, timeout=0.02, retries=0) as c,
        ):
            c.get_tracking()
    finally:
        victim.resume()
    assert _ours(sock_dir) == []


def _client_socket(sock_dir: str) -> str:
    """The path of this process's one client socket in `sock_dir`."""
    (outer,) = _ours(sock_dir, os.getpid())
    (inner,) = os.listdir(os.path.join(sock_dir, outer))
    return os.path.join(sock_dir, outer, inner, "s")


@pytest.mark.parametrize("wait", [0.0, 1.2], ids=["at-once", "after-a-second"])
def test_client_socket_removed_under_an_open_connection(
    victim: chronylab.Instance, wait: float
) -> None:
    """A cleaner of old files removes the client socket of a connection in
    use: the next call binds a new one and answers within its deadline,
    whether the removal is noticed before the request (the socket is looked
    up again once a second) or by the unanswered first attempt."""
    sock_dir = os.path.dirname(victim.socket)
    with ChronyConnection(victim.socket, timeout=0.2, retries=3) as conn:
        conn.get_tracking()
        first = _client_socket(sock_dir)
        os.unlink(first)
        time.sleep(wait)
        started = time.monotonic()
        assert conn.get_tracking().leap_status is LeapStatus.UNSYNC
        elapsed = time.monotonic() - started
        # One timeout at most (the first attempt's), with a generous margin.
        assert elapsed < 0.2 + 0.5, elapsed
        second = _client_socket(sock_dir)
        assert second != first and stat.S_ISSOCK(os.lstat(second).st_mode)
        assert conn.get_tracking().stratum == 0
    assert _ours(sock_dir) == []


@pytest.mark.parametrize(
    "ending",
    [
        "pass",  # the connection is a module global at exit
        "holder = [conn]; holder.append(holder); del conn",  # in a reference cycle
        "sys.exit(3)",
        "raise RuntimeError('unhandled')",
    ],
)
def test_removed_at_interpreter_exit(victim: chronylab.Instance, ending: str) -> None:
    code = f"""
        import os, sys
        import pychrony
        conn = pychrony.ChronyConnection(sys.argv[1])
        conn.__enter__()
        conn.get_tracking()
        held = {{f[5] for f in map(str.split, open("/proc/locks"))
                 if len(f) > 5 and f[1] == "FLOCK" and f[4] == str(os.getpid())}}
        def file_id(n):
            st = os.stat(os.path.join(sys.argv[2], n))
            return f"{{os.major(st.st_dev):02x}}:{{os.minor(st.st_dev):02x}}:{{st.st_ino}}"
        print(os.getpid(), len([n for n in os.listdir(sys.argv[2]) if n.startswith("pychrony.")
                                and file_id(n) in held]), flush=True)
        {ending}
    """
    sock_dir = os.path.dirname(victim.socket)
    done = run_python(code, victim.socket, sock_dir, timeout=30)
    _, count = done.stdout.split()
    assert count == "1", done.stdout  # it had its directory while running
    assert _ours(sock_dir) == [], done.stderr


def test_2000_connections_leave_nothing_behind(victim: chronylab.Instance) -> None:
    sock_dir = os.path.dirname(victim.socket)
    before = sorted(os.listdir(sock_dir))
    for i in range(2000):
        if i % 4 == 0:
            with ChronyConnection(victim.socket) as conn:
                conn.get_tracking()
        elif i % 4 == 1:
            with pytest.raises(ValueError), ChronyConnection(victim.socket):
                raise ValueError(i)
        elif i % 4 == 2:
            conn = ChronyConnection(victim.socket)
            conn.__enter__()
            del conn  # reference counting frees it at once
        else:
            with pytest.raises(pychrony.ChronyDataError):
                pychrony.get_rtc_data(victim.socket)
    gc.collect()
    assert sorted(os.listdir(sock_dir)) == before


def test_directories_of_a_killed_process_are_removed_by_the_next_connection(
    victim: chronylab.Instance,
) -> None:
    sock_dir = os.path.dirname(victim.socket)
    code = """
        import os, sys, time
        import pychrony
        conn = pychrony.ChronyConnection(sys.argv[1])
        conn.__enter__()
        conn.get_tracking()
        print("ready", flush=True)
        time.sleep(60)
    """
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), victim.socket],
        stdout=subprocess.PIPE,
        text=True,
    )
    outside = tempfile.mkdtemp(prefix="pyc-outside-")
    planted: list[str] = []
    sleeper: subprocess.Popen[bytes] | None = None
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        dead = child.pid
        left = _ours(sock_dir, dead)
        assert len(left) == 1, left
        child.kill()
        child.wait(10)
        child.stdout.close()
        assert _ours(sock_dir) == left  # SIGKILL: no chance to clean up

        # Things the cleanup must leave alone (each with a lock file naming
        # the dead pid, as earlier builds made them: a scan respects a lock
        # file's lock too):
        live = os.path.join(sock_dir, "pychrony.live01")  # its lock file's lock is held
        other = os.path.join(sock_dir, "other.dir")  # not ours at all
        foreign = os.path.join(sock_dir, "pychrony.forei1")  # another user's
        old_style = os.path.join(sock_dir, f"pychrony.{dead}.oldstyle12")  # no lock: not ours
        link = os.path.join(sock_dir, "pychrony.link01")  # a symlink, not a dir
        for path in (live, other, foreign, old_style):
            os.mkdir(path)
            os.chmod(path, 0o711)
            Path(path, "lock").write_text(f"{dead}\n")
            planted.append(path)
        nobody = pwd.getpwnam("nobody")
        os.chown(foreign, nobody.pw_uid, nobody.pw_gid)
        os.chown(os.path.join(foreign, "lock"), nobody.pw_uid, nobody.pw_gid)
        os.remove(os.path.join(old_style, "lock"))
        os.mkdir(os.path.join(old_style, "inner"))
        sleeper = subprocess.Popen(
            ["flock", os.path.join(live, "lock"), "sh", "-c", "echo locked; exec sleep 60"],
            stdout=subprocess.PIPE,
        )
        assert sleeper.stdout is not None
        assert sleeper.stdout.readline() == b"locked\n"
        with open(os.path.join(outside, "keep"), "w") as f:
            f.write("keep\n")
        os.symlink(outside, link)
        planted.append(link)

        with ChronyConnection(victim.socket) as conn:
            assert conn.get_tracking().stratum == 0
            # The dead process's directory went; the held one and the one
            # that is not ours stayed (and the others, below).
            assert not os.path.exists(os.path.join(sock_dir, left[0]))
            assert os.path.isfile(os.path.join(live, "lock"))
            assert os.path.isfile(os.path.join(foreign, "lock"))
        assert os.path.isdir(live)
        assert os.path.isdir(other)
        assert os.path.isdir(foreign)
        assert os.path.isdir(os.path.join(old_style, "inner"))
        assert os.path.islink(link)
        assert os.listdir(outside) == ["keep"]
    finally:
        child.kill()
        child.wait(10)
        if sleeper is not None:
            sleeper.kill()
            sleeper.wait(10)
            assert sleeper.stdout is not None
            sleeper.stdout.close()
        for path in planted:
            if os.path.islink(path):
                os.unlink(path)
            else:
                shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(outside, ignore_errors=True)


def test_fork_child_never_removes_the_parents_directory(victim: chronylab.Instance) -> None:
    sock_dir = os.path.dirname(victim.socket)
    parent = os.getpid()
    with ChronyConnection(victim.socket) as conn:
        assert conn.get_tracking().stratum == 0
        mine = _ours(sock_dir, parent)
        assert len(mine) == 1

        def child() -> str:
            with ChronyConnection(victim.socket) as own:
                stratum = own.get_tracking().stratum
                own_dirs = len(_ours(sock_dir, os.getpid()))
            # Closing and collecting the inherited connection must not touch
            # the parent's files.
            conn.__exit__(None, None, None)
            gc.collect()
            return f"{stratum} {own_dirs} {os.getpid()}"

        stratum, own_dirs, pid = in_child(child).split()
        assert (stratum, own_dirs) == ("0", "1")  # the child's own connection worked
        assert _ours(sock_dir, int(pid)) == []  # and the child removed its dir
        assert _ours(sock_dir, parent) == mine  # the parent's is still there
        for _ in range(3):
            assert conn.get_tracking().leap_status is LeapStatus.UNSYNC
    assert _ours(sock_dir) == []


def test_unix_socket_refused_as_nobody_udp_works(victim: chronylab.Instance) -> None:
    """A child running as ``nobody`` is refused the Unix socket with a
    ChronyPermissionError that names the fix, quickly; UDP works for it."""
    sock_dir = os.path.dirname(victim.socket)

    def probe() -> str:
        start = time.monotonic()
        try:
            with ChronyConnection(victim.socket):
                return "opened"
        except ChronyPermissionError as exc:
            first = f"permission {time.monotonic() - start:.3f} {exc}"
        with ChronyConnection(f"127.0.0.1:{victim.cmdport}") as udp:
            return f"{first}\nudp {udp.get_tracking().stratum} {len(udp.get_sources())}"

    first, second = in_child(probe, user="nobody").splitlines()
    kind, elapsed, message = first.split(" ", 2)
    assert kind == "permission", first
    assert float(elapsed) < 0.5
    assert victim.socket in message
    assert "UDP command port" in message
    assert second == "udp 0 0"
    assert _ours(sock_dir) == []
