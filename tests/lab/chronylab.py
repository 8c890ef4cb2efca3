#!/usr/bin/env python3
"""chronylab: private chronyd instances for the pychrony-rs tests.

This is the project's one chronyd lab. The Rust tests run it as a program and
read the JSON it prints; the Python tests import it; the demo and ``docker/``
use it to get a chronyd to talk to.

Every instance is one ``chronyd -d -x -u root`` (``-x``: never touch the
system clock) with its own directory holding its config, pidfile, driftfile,
log and command socket, and with UDP ports picked at run time, so several labs
can run side by side. Nothing is written to chrony's system paths, except by
``default-ns``, which does so only inside a private mount and network
namespace.

Profiles:

* ``server``: the local time source (``local stratum 3``) on an NTP port on
  127.0.0.1/::1, own Unix socket, no UDP command port.
* ``client``: the instance tests talk to. Needs ``server`` (started on demand).
  Sources: 127.0.0.1 and ::1 (both the server, polled every 1/64 s), an
  unreachable 127.0.0.2, a peer 127.0.0.3, the refclock ``GPS`` (SOCK driver,
  fed by a helper process of the lab) and ``UNRESOLVABLE_NAME``, a name
  whose 64-character first label makes the resolver reject it without
  sending a query (listed by chronyc only with ``-a``, as
  ``ID#0000000001``). Unix socket and UDP command port on 127.0.0.1/::1.
  No RTC, so RTCREPORT fails with "RTC driver not running".
* ``secure``: an NTP client of ``server`` (started on demand) with a
  key-authenticated source (127.0.0.1, ``key AUTH_KEY_ID``; the key is in a
  key file on both sides) and an interleaved one (::1 with ``xleave``; on a
  host without IPv6, 127.0.0.1 gets ``xleave`` too). Unix socket and UDP
  command port as ``client``.
* ``many``: 150 offline sources 127.1.0.1 ... 127.1.0.150.
* ``empty``: no sources at all (unsynchronised).

Command line::

    chronylab.py start [--dir D] [--timeout S] PROFILE...   # prints JSON, returns
    chronylab.py status --dir D                              # prints JSON
    chronylab.py stop --dir D                                # stops all, removes D
    chronylab.py restart|pause|resume|kill --dir D NAME
    chronylab.py default-ns [--timeout S] -- CMD [ARG...]

``start`` prints ``{"dir": D, "ipv6": bool, "instances": {NAME: {...}}}``
where each instance has ``socket``, ``cmdport``, ``ntp_port``, ``pid``,
``conf``, ``log`` and more (see ``Instance.to_json``).  ``default-ns`` runs
CMD inside ``unshare --mount --net`` where a ``client`` instance listens on
the default paths (``/run/chrony/chronyd.sock``, UDP port 323); CMD sees the
lab's directory in ``CHRONYLAB_DIR`` and its JSON in ``CHRONYLAB_JSON``.

Python::

    import chronylab
    with chronylab.Lab() as lab:
        inst = lab.start("client")
        print(chronylab.chronyc(inst, "sources", "-a"))

Needs root (chronyd refuses to start otherwise) and chronyd/chronyc in PATH or
in ``CHRONYLAB_CHRONYD`` / ``CHRONYLAB_CHRONYC``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AUTH_KEY_ID",
    "LOCAL_STRATUM",
    "MANY_SOURCES",
    "PROFILES",
    "REFCLOCK_REFID",
    "SYSTEM_CMDPORT",
    "SYSTEM_SOCKET",
    "UNRESOLVABLE_NAME",
    "Instance",
    "Lab",
    "LabError",
    "chronyc",
    "chronyd_available",
    "chronyd_release",
    "chronyd_version",
]

PROFILES = ("server", "client", "secure", "many", "empty")
MANY_SOURCES = 150
SYSTEM_SOCKET = "/run/chrony/chronyd.sock"
SYSTEM_CMDPORT = 323
REFCLOCK_REFID = "GPS"
#: A name no resolver can answer, refused before any query is sent: its first
#: label is longer than DNS allows (63 bytes), so getaddrinfo fails at once
#: (EAI_NONAME) without a packet to the system's resolver, which is not on
#: loopback. chronyd keeps the source unresolved (``ID#0000000001``).
#: A short name such as ``nonexistent.invalid`` would be sent to the
#: resolver by every lab chronyd, again and again.
UNRESOLVABLE_NAME = "x" * 64 + ".invalid"
LOCAL_STRATUM = 3
#: The symmetric key the ``secure`` profile's authenticated source uses; the
#: ``server`` profile has it in its key file too. A test key, not a secret.
AUTH_KEY_ID = 7
_AUTH_KEY_LINE = f"{AUTH_KEY_ID} SHA256 HEX:" + "0123456789ABCDEF" * 4
#: Profiles that are NTP clients of the lab's ``server``.
_CLIENT_PROFILES = ("client", "secure")

# A client binds "<socket dir>/pychrony.<6>/<5>/s" (24 bytes more) beside the
# server socket; sun_path holds 107 bytes + NUL.
_MAX_SOCKET_DIR = 83
_STATE_FILE = "lab.json"
# Set by the inner half of `default-ns` once /run is private; guards the
# system paths of the host.
_ENV_NS_STAGING = "_CHRONYLAB_NS_STAGING"
_ENV_NS_HOST_MNT = "_CHRONYLAB_NS_HOST_MNT"
_private_run = False

# struct sock_sample of chrony's refclock_sock.c, native layout (timeval as
# two C longs, as on Linux x86_64/aarch64): 40 bytes.
_SOCK_SAMPLE = struct.Struct("@lldiiii")
_SOCK_MAGIC = 0x534F434B


class LabError(RuntimeError):
    """chronyd (or the lab around it) could not be started or stopped."""


def _chronyd() -> str:
    return os.environ.get("CHRONYLAB_CHRONYD") or shutil.which("chronyd") or "/usr/sbin/chronyd"


def _chronyc() -> str:
    return os.environ.get("CHRONYLAB_CHRONYC") or shutil.which("chronyc") or "/usr/bin/chronyc"


def chronyd_available() -> bool:
    """True when this process can run lab instances: root, chronyd and chronyc present."""
    if os.geteuid() != 0:  # chronyd: "Fatal error : Not superuser"
        return False
    return all(os.access(p, os.X_OK) for p in (_chronyd(), _chronyc()))


def chronyd_version() -> str:
    """First line of ``chronyd --version``: "chronyd (chrony) version 4.3 (+CMDMON ...)"."""
    done = subprocess.run(
        [_chronyd(), "--version"], capture_output=True, text=True, check=False, timeout=10
    )
    if done.returncode != 0:
        raise LabError(f"chronyd --version failed: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[0]


def chronyd_release() -> str:
    """The version label of the chronyd the lab runs ("4.3", "4.6.1", "4.9"), from
    ``chronyd --version``."""
    words = chronyd_version().split()
    if len(words) < 4 or words[2] != "version":
        raise LabError(f"chronyd --version printed no version: {' '.join(words)!r}")
    return words[3]


def _ipv6_loopback() -> bool:
    """Whether ::1 exists (containers often run without IPv6)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def _free_port(ipv6: bool, taken: Iterable[int]) -> int:
    """A UDP port that is free on 127.0.0.1 (and ::1). chronyd binds it later,
    so another process may win the race; `Lab` checks and retries."""
    avoid = set(taken)
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s4:
            s4.bind(("127.0.0.1", 0))
            port = int(s4.getsockname()[1])
            if port in avoid:
                continue
            if not ipv6:
                return port
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s6:
                    s6.bind(("::1", port))
            except OSError:
                continue
            return port
    raise LabError("no free UDP port on the loopback interface")


def _proc_state(pid: int) -> str | None:
    """The process state letter, or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def _key_file(inst: Instance) -> str:
    """The key file of a ``server`` or ``secure`` instance."""
    return os.path.join(inst.dir, "chrony.keys")


def _alive(pid: int) -> bool:
    return _proc_state(pid) not in (None, "Z", "X")


def _cmdline_has(pid: int, marker: str) -> bool:
    """Whether the process's command line mentions `marker` (so a pid from an
    old pidfile that was reused by another program is never signalled)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return os.fsencode(marker) in cmdline


def _udp_ports(pid: int) -> set[int]:
    """UDP ports the process has bound (via /proc, in the process's netns)."""
    inodes: set[str] = set()
    fd_dir = f"/proc/{pid}/fd"
    with contextlib.suppress(OSError):
        for fd in os.listdir(fd_dir):
            with contextlib.suppress(OSError):
                link = os.readlink(f"{fd_dir}/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    ports: set[int] = set()
    for table in ("udp", "udp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[9] in inodes:
                ports.add(int(cols[1].rpartition(":")[2], 16))
    return ports


def _tail(path: str, lines: int = 20) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _read_pid(path: str) -> int | None:
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _end_process(
    pid: int | None,
    marker: str,
    proc: subprocess.Popen[bytes] | None = None,
    grace: float = 3.0,
) -> None:
    """SIGTERM (plus SIGCONT, in case it is paused), then SIGKILL; reap it if
    it is our child."""
    if proc is not None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
                proc.send_signal(signal.SIGCONT)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(grace)
        return
    if pid is None or not _alive(pid) or not _cmdline_has(pid, marker):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
            if sig == signal.SIGTERM:
                os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not _alive(pid):
                return
            time.sleep(0.02)
    raise LabError(f"process {pid} survived SIGKILL")


@dataclass(eq=False)
class Instance:
    """One chronyd of a lab. Paths are absolute strings."""

    name: str
    profile: str
    dir: str
    socket: str
    cmdport: int | None
    ntp_port: int | None
    conf: str
    log: str
    pidfile: str
    refclock: str | None = None
    pid: int = 0
    feeder_pid: int | None = None
    system_paths: bool = False
    extra_config: tuple[str, ...] = ()
    config_override: str | None = None
    closed_port: int | None = None
    server_port: int | None = None
    #: What ``chronyd --version`` says this instance runs ("4.9"), set at launch.
    chronyd_version: str | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _feeder: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        """chronyd is alive (a paused one counts as running)."""
        if self._proc is not None:
            return self._proc.poll() is None
        return self.pid > 0 and _alive(self.pid) and _cmdline_has(self.pid, self.conf)

    @property
    def stderr_file(self) -> str:
        return os.path.join(self.dir, "chronyd.stderr")

    def send_signal(self, sig: int) -> None:
        """Send `sig` to chronyd."""
        if not self.running:
            raise LabError(f"{self.name}: chronyd is not running")
        os.kill(self.pid, sig)

    def pause(self) -> None:
        """SIGSTOP chronyd: requests then time out instead of failing."""
        self.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT chronyd after `pause`; does nothing when chronyd is not
        running (so test teardown can always call it)."""
        if self.running:
            os.kill(self.pid, signal.SIGCONT)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill chronyd abruptly (its socket file stays behind); `Lab.restart`
        brings it back."""
        if self.running:
            os.kill(self.pid, sig)
            if sig in (signal.SIGTERM, signal.SIGINT):
                os.kill(self.pid, signal.SIGCONT)
            if self._proc is not None:
                self._proc.wait(5)
            else:
                _end_process(self.pid, self.conf)

    def stop(self) -> None:
        """Stop chronyd and the refclock feeder; files stay."""
        _end_process(self.pid or None, self.conf, self._proc)
        self._proc = None
        if self.refclock is not None:
            _end_process(self.feeder_pid, self.refclock, self._feeder)
        self._feeder = None

    def log_tail(self, lines: int = 20) -> str:
        """The end of chronyd's log and stderr, for error messages."""
        parts = [_tail(self.log, lines), _tail(self.stderr_file, lines)]
        return "\n".join(p for p in parts if p) or "(chronyd logged nothing)"

    def to_json(self) -> dict[str, Any]:
        """The instance as printed by `chronylab.py start` / `status`."""
        return {
            "profile": self.profile,
            "socket": self.socket,
            "cmdport": self.cmdport,
            "ntp_port": self.ntp_port,
            "pid": self.pid,
            "conf": self.conf,
            "log": self.log,
            "dir": self.dir,
            "pidfile": self.pidfile,
            "refclock": self.refclock,
            "feeder_pid": self.feeder_pid,
            "system_paths": self.system_paths,
            "extra_config": list(self.extra_config),
            "config_override": self.config_override,
            "closed_port": self.closed_port,
            "server_port": self.server_port,
            "chronyd_version": self.chronyd_version,
        }

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> Instance:
        return cls(
            name=name,
            profile=data["profile"],
            dir=data["dir"],
            socket=data["socket"],
            cmdport=data["cmdport"],
            ntp_port=data["ntp_port"],
            conf=data["conf"],
            log=data["log"],
            pidfile=data["pidfile"],
            refclock=data.get("refclock"),
            pid=int(data.get("pid") or 0),
            feeder_pid=data.get("feeder_pid"),
            system_paths=bool(data.get("system_paths")),
            extra_config=tuple(data.get("extra_config") or ()),
            config_override=data.get("config_override"),
            closed_port=data.get("closed_port"),
            server_port=data.get("server_port"),
            chronyd_version=data.get("chronyd_version"),
        )


def chronyc(
    inst: Instance, *args: str, udp: bool = False, timeout: float = 15.0, check: bool = True
) -> str:
    """Run ``chronyc -n -h <socket> ARGS`` (or over the UDP command port with
    ``udp=True``) and return its stdout. Raises `LabError` on failure when
    `check` is set."""
    if udp:
        if not inst.cmdport:
            raise LabError(f"{inst.name} has no UDP command port")
        target = ["-h", "127.0.0.1", "-p", str(inst.cmdport)]
    else:
        target = ["-h", inst.socket]
    cmd = [_chronyc(), "-n", *target, *args]
    try:
        done = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(cmd)}: no answer within {timeout} s") from exc
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _feed_refclock(sock_path: str, interval: float = 0.25) -> int:
    """Body of the refclock feeder process: send a sock_sample with an offset
    near zero every `interval` seconds until the lab directory is gone."""
    parent = os.path.dirname(sock_path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        while os.path.isdir(parent):
            now = time.time()
            sec = int(now)
            usec = int((now - sec) * 1e6)
            offset = random.gauss(0.0, 1e-7)
            sample = _SOCK_SAMPLE.pack(sec, usec, offset, 0, 0, 0, _SOCK_MAGIC)
            # chronyd creates the socket after start and removes it on exit:
            # keep trying.
            with contextlib.suppress(OSError):
                s.sendto(sample, sock_path)
            time.sleep(interval)
    return 0


class Lab:
    """A directory of chronyd instances. Use as a context manager, or call
    `stop()`; a lab not stopped is stopped when the interpreter exits (unless
    `detach()` was called)."""

    def __init__(
        self, base_dir: str | os.PathLike[str] | None = None, *, timeout: float = 15.0
    ) -> None:
        if base_dir is None:
            root = tempfile.gettempdir()
            # "<root>/chronylab-XXXXXXXX/<name>" must stay within
            # _MAX_SOCKET_DIR with names of up to 16 characters.
            if len(os.fsencode(root)) > _MAX_SOCKET_DIR - 36 and os.path.isdir("/tmp"):
                root = "/tmp"  # a long TMPDIR (macOS-style) would not fit
            base = tempfile.mkdtemp(prefix="chronylab-", dir=root)
        else:
            base = os.path.abspath(os.fspath(base_dir))
            os.makedirs(base, exist_ok=True)
        # chronyd runs as root; 0711 lets others reach files they are given.
        os.chmod(base, 0o711)
        self.dir: str = base
        self.timeout = timeout
        self.ipv6: bool = _ipv6_loopback()
        self.instances: dict[str, Instance] = {}
        self._finalizer = weakref.finalize(
            self, Lab._cleanup, self.instances, self.dir, os.getpid()
        )

    @classmethod
    def open(cls, base_dir: str | os.PathLike[str], *, timeout: float = 15.0) -> Lab:
        """Attach to a lab started by another process (e.g. ``chronylab.py
        start``). The daemons keep running when this object goes away."""
        base = os.path.abspath(os.fspath(base_dir))
        try:
            state = json.loads(Path(base, _STATE_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise LabError(f"{base} is not a lab directory: {exc}") from exc
        lab = cls(base, timeout=timeout)
        lab.detach()
        lab.ipv6 = bool(state.get("ipv6", lab.ipv6))
        for name, data in state.get("instances", {}).items():
            lab.instances[name] = Instance.from_json(name, data)
        return lab

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __getitem__(self, name: str) -> Instance:
        return self.instances[name]

    def __contains__(self, name: object) -> bool:
        return name in self.instances

    def to_json(self) -> dict[str, Any]:
        return {
            "dir": self.dir,
            "ipv6": self.ipv6,
            "instances": {n: i.to_json() for n, i in self.instances.items()},
        }

    def _save(self) -> None:
        tmp = Path(self.dir, _STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        tmp.replace(Path(self.dir, _STATE_FILE))

    def detach(self) -> None:
        """Leave the daemons running when this object is garbage-collected or
        the interpreter exits."""
        self._finalizer.detach()

    @staticmethod
    def _cleanup(instances: dict[str, Instance], base: str, owner: int | None = None) -> None:
        if owner is not None and os.getpid() != owner:
            return  # a forked child exiting must not stop its parent's lab
        errors = []
        for inst in reversed(list(instances.values())):
            try:
                inst.stop()
            except LabError as exc:
                errors.append(str(exc))
        if os.path.isdir(base):
            if os.path.exists(os.path.join(base, _STATE_FILE)) or not os.listdir(base):
                shutil.rmtree(base, ignore_errors=True)
            else:  # a --dir that holds other things: remove only our parts
                for inst in instances.values():
                    shutil.rmtree(inst.dir, ignore_errors=True)
        if errors:
            raise LabError("; ".join(errors))

    def stop(self) -> None:
        """Stop every instance and remove the lab directory."""
        if self._finalizer.alive:
            self._finalizer()
        else:
            Lab._cleanup(self.instances, self.dir)

    # -- starting ---------------------------------------------------------

    def start(
        self,
        profile: str,
        *,
        name: str | None = None,
        extra_config: Sequence[str] = (),
        system_paths: bool = False,
        wait: bool = True,
    ) -> Instance:
        """Start an instance of `profile` (a `client` also starts `server`
        unless the lab has one) and wait until it answers (a `client` also
        until its sources 127.0.0.1 and GPS have samples, unless
        ``wait=False``). `extra_config` lines are appended to the generated
        chrony.conf. `system_paths` (only inside `default-ns`) makes chronyd
        use its default socket and UDP port 323. Returns the instance."""
        if profile not in PROFILES:
            raise LabError(f"unknown profile {profile!r} (choose from {', '.join(PROFILES)})")
        name = name or profile
        if name in self.instances:
            raise LabError(f"instance {name!r} exists already")
        if system_paths and not _private_run:
            raise LabError("system_paths is only allowed inside `chronylab.py default-ns`")
        server: Instance | None = None
        if profile in _CLIENT_PROFILES:
            server = self.instances.get("server") or self.start("server")
        inst_dir = os.path.join(self.dir, name)
        if len(os.fsencode(inst_dir)) > _MAX_SOCKET_DIR:
            raise LabError(
                f"socket directory {inst_dir} is longer than {_MAX_SOCKET_DIR} bytes; "
                "client sockets beside it would not fit in sun_path: use a shorter --dir"
            )
        os.makedirs(inst_dir, exist_ok=True)
        # chronyd disables a command socket whose directory others can access.
        os.chmod(inst_dir, 0o750)

        last_error: LabError | None = None
        for _ in range(3):  # retry when another process grabbed a chosen port
            inst = self._new_instance(name, profile, inst_dir, server, system_paths)
            inst.extra_config = tuple(extra_config)
            self.instances[name] = inst
            try:
                self._launch(inst, wait=wait)
            except _PortTakenError as exc:
                last_error = exc
                inst.stop()
                del self.instances[name]
                self._save()
                continue
            except BaseException:
                inst.stop()
                del self.instances[name]
                self._save()
                raise
            return inst
        assert last_error is not None
        raise last_error

    def _taken_ports(self) -> set[int]:
        ports: set[int] = set()
        for i in self.instances.values():
            ports.update(p for p in (i.cmdport, i.ntp_port, i.closed_port) if p)
        return ports

    def _new_instance(
        self,
        name: str,
        profile: str,
        inst_dir: str,
        server: Instance | None,
        system_paths: bool,
    ) -> Instance:
        taken = self._taken_ports()

        def port() -> int:
            p = _free_port(self.ipv6, taken)
            taken.add(p)
            return p

        # The client profile's peer receives on its NTP port; `secure` has no peer.
        ntp_port = port() if profile in ("server", "client") else None
        if profile == "server":
            cmdport: int | None = None
        elif system_paths:
            cmdport = SYSTEM_CMDPORT
        else:
            cmdport = port()
        return Instance(
            name=name,
            profile=profile,
            dir=inst_dir,
            socket=SYSTEM_SOCKET if system_paths else os.path.join(inst_dir, "chronyd.sock"),
            cmdport=cmdport,
            ntp_port=ntp_port,
            conf=os.path.join(inst_dir, "chrony.conf"),
            log=os.path.join(inst_dir, "chronyd.log"),
            pidfile=os.path.join(inst_dir, "chronyd.pid"),
            refclock=os.path.join(inst_dir, "refclock.sock") if profile == "client" else None,
            system_paths=system_paths,
            closed_port=port() if profile in ("client", "secure", "many") else None,
            server_port=server.ntp_port if server is not None else None,
        )

    def config_text(self, inst: Instance) -> str:
        """The chrony.conf the lab generates for `inst`."""
        d = inst.dir
        lines = [
            f"# chronyd lab instance {inst.name!r} (profile {inst.profile}),",
            "# generated by tests/lab/chronylab.py",
            f"pidfile {inst.pidfile}",
            f"driftfile {d}/chronyd.drift",
            f"logdir {d}",
            f"dumpdir {d}",
            f"ntsdumpdir {d}",
        ]
        loopbacks = ["127.0.0.1", "::1"] if self.ipv6 else ["127.0.0.1"]
        if inst.ntp_port:
            lines.append(f"port {inst.ntp_port}")
            lines += [f"bindaddress {a}" for a in loopbacks]
        else:
            lines.append("port 0")
        if not inst.system_paths:
            # system_paths: chronyd's defaults, /run/chrony/chronyd.sock and
            # UDP 323 on 127.0.0.1 and ::1.
            lines.append(f"cmdport {inst.cmdport or 0}")
            if inst.cmdport:
                lines += [f"bindcmdaddress {a}" for a in loopbacks]
                lines += [f"cmdallow {a}" for a in loopbacks]
            lines.append(f"bindcmdaddress {inst.socket}")
        if inst.profile in ("server", "secure"):
            lines.append(f"keyfile {_key_file(inst)}")
        if inst.profile == "server":
            lines += [f"local stratum {LOCAL_STRATUM}", "allow 127.0.0.0/8"]
            if self.ipv6:
                lines.append("allow ::1")
        elif inst.profile == "client":
            fast = "minpoll -6 maxpoll -6"
            sp, cp = inst.server_port, inst.closed_port
            lines.append(f"server 127.0.0.1 port {sp} {fast} iburst")
            if self.ipv6:
                lines.append(f"server ::1 port {sp} {fast} iburst")
            # chronyd refuses two sources with one address: the unreachable
            # one and the peer get their own loopback addresses.
            lines.append(f"server 127.0.0.2 port {cp} {fast} iburst")
            lines.append(f"peer 127.0.0.3 port {sp} {fast}")
            lines.append(f"server {UNRESOLVABLE_NAME} iburst")
            lines.append(f"refclock SOCK {inst.refclock} refid {REFCLOCK_REFID} poll 0")
        elif inst.profile == "secure":
            fast = "minpoll -6 maxpoll -6"
            sp = inst.server_port
            if self.ipv6:
                lines.append(f"server 127.0.0.1 port {sp} key {AUTH_KEY_ID} {fast} iburst")
                lines.append(f"server ::1 port {sp} xleave {fast} iburst")
            else:
                lines.append(f"server 127.0.0.1 port {sp} key {AUTH_KEY_ID} xleave {fast} iburst")
        elif inst.profile == "many":
            lines += [
                f"server 127.1.0.{n} port {inst.closed_port} offline"
                for n in range(1, MANY_SOURCES + 1)
            ]
        lines += list(inst.extra_config)
        return "\n".join(lines) + "\n"

    def _launch(self, inst: Instance, *, wait: bool) -> None:
        for stale in (inst.socket, inst.pidfile):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
        # chronyd appends to its log; keep the previous run's log apart so
        # that the checks below only see this run.
        with contextlib.suppress(FileNotFoundError):
            os.replace(inst.log, inst.log + ".prev")
        text = inst.config_override if inst.config_override is not None else self.config_text(inst)
        Path(inst.conf).write_text(text)
        if inst.profile in ("server", "secure"):
            keys = Path(_key_file(inst))
            keys.write_text(_AUTH_KEY_LINE + "\n")
            keys.chmod(0o600)
        if inst.refclock is not None and (inst._feeder is None or inst._feeder.poll() is not None):
            # Started by this file, in its own session, with no pipes: a
            # caller reading our stdout to EOF is not held up.
            inst._feeder = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "_feed", inst.refclock],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            inst.feeder_pid = inst._feeder.pid
            Path(inst.dir, "feeder.pid").write_text(f"{inst.feeder_pid}\n")
        argv = [_chronyd(), "-d", "-x", "-u", "root", "-f", inst.conf, "-l", inst.log]
        inst.chronyd_version = chronyd_release()
        if not self.ipv6:
            # Without ::1 chronyd would still try its default ::1 command
            # socket; -4 keeps it to IPv4.
            argv.append("-4")
        with open(inst.stderr_file, "wb") as err:
            inst._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        inst.pid = inst._proc.pid
        self._save()
        self._wait_listening(inst)
        if wait and inst.profile in _CLIENT_PROFILES and inst.config_override is None:
            self._wait_sources(inst)

    def _wait_listening(self, inst: Instance) -> None:
        """Wait for the command socket and the UDP ports; fail loudly."""
        assert inst._proc is not None
        want = {p for p in (inst.ntp_port, inst.cmdport) if p}
        deadline = time.monotonic() + min(self.timeout, 5.0)
        socket_seen: float | None = None
        while True:
            if inst._proc.poll() is not None:
                raise LabError(
                    f"{inst.name}: chronyd exited with status {inst._proc.returncode}:\n"
                    + inst.log_tail()
                )
            for line in _tail(inst.log, 200).splitlines():
                # e.g. "Disabled command socket /x/chronyd.sock" (directory
                # permissions), "Could not open command socket on
                # 127.0.0.1:323", "Could not open NTP socket on ::1:123".
                if inst.socket in line and ("Disabled" in line or "Could not" in line):
                    raise LabError(
                        f"{inst.name}: chronyd disabled its Unix command socket "
                        f"{inst.socket}:\n{inst.log_tail()}"
                    )
                if "Could not open" in line and " socket on " in line:
                    raise _PortTakenError(
                        f"{inst.name}: chronyd could not bind a UDP port:\n{inst.log_tail()}"
                    )
            now = time.monotonic()
            if os.path.exists(inst.socket):
                socket_seen = socket_seen or now
                missing = want - _udp_ports(inst.pid)
                if not missing:
                    return
                # Sockets are bound before the command socket appears; a port
                # still missing then was taken by someone else.
                if now - socket_seen > 0.5:
                    raise _PortTakenError(
                        f"{inst.name}: chronyd could not bind UDP port(s) "
                        f"{sorted(missing)}:\n{inst.log_tail()}"
                    )
            elif now > deadline:
                raise LabError(
                    f"{inst.name}: command socket {inst.socket} did not appear within "
                    f"{min(self.timeout, 5.0)} s:\n{inst.log_tail()}"
                )
            time.sleep(0.02)

    def _wait_sources(self, inst: Instance) -> None:
        """Wait until the client's server (127.0.0.1, ::1) and GPS (``client``
        only) have samples."""
        deadline = time.monotonic() + self.timeout
        want = {"127.0.0.1", REFCLOCK_REFID} if inst.profile == "client" else {"127.0.0.1"}
        if self.ipv6:
            want.add("::1")
        out = ""
        while time.monotonic() < deadline:
            try:
                out = chronyc(inst, "-c", "sources", "-a", timeout=3.0)
            except LabError as exc:
                out = str(exc)
            else:
                sampled = set()
                for row in out.splitlines():
                    cols = row.split(",")
                    # mode,state,name,stratum,poll,reach,lastrx,...
                    if len(cols) > 6 and cols[5] != "0" and cols[6] != "4294967295":
                        sampled.add(cols[2])
                if want <= sampled:
                    return
            if not inst.running:
                break
            time.sleep(0.1)
        raise LabError(
            f"{inst.name}: sources {sorted(want)} got no samples within {self.timeout} s; "
            f"chronyc -c sources -a:\n{out}\nlog:\n{inst.log_tail()}"
        )

    # -- controlling ------------------------------------------------------

    def restart(
        self,
        name: str,
        *,
        extra_config: Sequence[str] | None = None,
        config: str | None = None,
        wait: bool = True,
    ) -> Instance:
        """Stop `name` (whatever its state: running, paused, killed) and start
        it again with the same paths and ports. `extra_config` replaces the
        lines appended to the generated config; `config` replaces the whole
        config text (pass ``config=None`` and ``extra_config=()`` to go back
        to the generated one). Waits like `start` (no source wait with a
        custom `config`)."""
        inst = self.instances[name]
        inst.stop()
        if extra_config is not None:
            inst.extra_config = tuple(extra_config)
            inst.config_override = None
        if config is not None:
            inst.config_override = config
        try:
            self._launch(inst, wait=wait)
        except _PortTakenError as exc:  # ports are kept on restart
            raise LabError(str(exc)) from exc
        return inst

    def status(self) -> dict[str, Any]:
        state = self.to_json()
        for name, inst in self.instances.items():
            state["instances"][name]["running"] = inst.running
            state["instances"][name]["state"] = _proc_state(inst.pid) if inst.pid else None
        return state


class _PortTakenError(LabError):
    """chronyd lost the race for a port chosen by `_free_port`."""


# -- default-ns ----------------------------------------------------------


def _loopback_up() -> None:
    """`ip link set lo up` without needing iproute2 (SIOCGIFFLAGS/SIOCSIFFLAGS)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    ifreq = struct.Struct("16sH22x")  # struct ifreq: name, ifr_flags, rest of the union
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        got = fcntl.ioctl(s.fileno(), siocgifflags, ifreq.pack(b"lo", 0))
        flags = ifreq.unpack(got)[1]
        fcntl.ioctl(s.fileno(), siocsifflags, ifreq.pack(b"lo", flags | iff_up))


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


def _private_run_dirs(staging: str) -> None:
    """Make <run>/chrony private to this mount namespace for /run (and
    /var/run if it is not a link to /run), hiding whatever the host has there.
    An existing <run>/chrony gets a tmpfs over it; otherwise <run> gets an
    overlay whose upper layer lives in a private tmpfs, so the new directory
    never reaches the host (fallback: an empty tmpfs over <run>)."""
    done = _mount("-t", "tmpfs", "-o", "mode=0711", "chronylab", staging)
    if done.returncode != 0:
        raise LabError(f"cannot mount a tmpfs on {staging}: {done.stderr.strip()}")
    run_dirs = ["/run"]
    if os.path.isdir("/var/run") and os.path.realpath("/var/run") != os.path.realpath("/run"):
        run_dirs.append("/var/run")
    for run in run_dirs:
        chrony_dir = os.path.join(run, "chrony")
        if os.path.isdir(chrony_dir) and not os.path.islink(chrony_dir):
            done = _mount("-t", "tmpfs", "-o", "mode=0750", "chronylab-chrony", chrony_dir)
            if done.returncode != 0:
                raise LabError(f"cannot mount a tmpfs on {chrony_dir}: {done.stderr.strip()}")
            continue
        layer = os.path.join(staging, run.strip("/").replace("/", "-"))
        upper, work = os.path.join(layer, "upper"), os.path.join(layer, "work")
        os.makedirs(upper)
        os.makedirs(work)
        os.chmod(upper, os.stat(run).st_mode & 0o7777)
        done = _mount(
            "-t", "overlay", "-o", f"lowerdir={run},upperdir={upper},workdir={work}",
            "chronylab-run", run,
        )  # fmt: skip
        if done.returncode != 0:
            done = _mount("-t", "tmpfs", "-o", "mode=0755", "chronylab-run", run)
            if done.returncode != 0:
                raise LabError(f"cannot make {run} private: {done.stderr.strip()}")
        if os.path.lexists(chrony_dir):
            os.unlink(chrony_dir)
        os.mkdir(chrony_dir, 0o750)


def _default_ns_outer(cmd: Sequence[str], timeout: float) -> int:
    if os.geteuid() != 0:
        raise LabError("default-ns needs root (unshare --mount --net)")
    unshare = shutil.which("unshare")
    if unshare is None:
        raise LabError("default-ns needs unshare(1) from util-linux")
    staging = tempfile.mkdtemp(prefix="chronylab-ns-")
    env = dict(os.environ)
    env[_ENV_NS_STAGING] = staging
    env[_ENV_NS_HOST_MNT] = os.readlink("/proc/self/ns/mnt")
    argv = [unshare, "--mount", "--net", "--propagation", "private"]
    argv += [sys.executable, os.path.abspath(__file__), "default-ns"]
    argv += ["--timeout", str(timeout), "--", *cmd]
    try:
        return subprocess.call(argv, env=env)
    finally:
        # The tmpfs on it went away with the namespace.
        shutil.rmtree(staging, ignore_errors=True)


def _default_ns_inner(staging: str, host_mnt: str, cmd: Sequence[str], timeout: float) -> int:
    global _private_run
    if os.readlink("/proc/self/ns/mnt") == host_mnt:
        raise LabError("default-ns: not in a private mount namespace; refusing to touch /run")
    _loopback_up()
    _private_run_dirs(staging)
    _private_run = True
    with Lab(os.path.join(staging, "lab"), timeout=timeout) as lab:
        lab.start("client", system_paths=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("_CHRONYLAB_NS_")}
        env["CHRONYLAB_DIR"] = lab.dir
        env["CHRONYLAB_JSON"] = json.dumps(lab.to_json())
        try:
            return subprocess.call(list(cmd), env=env)
        except OSError as exc:
            print(f"chronylab: cannot run {cmd[0]}: {exc}", file=sys.stderr)
            return 127


# -- command line ----------------------------------------------------------


def _print_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


def _stop_dir(base: str) -> None:
    """Stop everything under `base`, also without a readable lab.json."""
    try:
        lab = Lab.open(base)
    except LabError:
        lab = None
    if lab is not None:
        lab.stop()
        return
    for pidfile in Path(base).glob("*/chronyd.pid"):
        _end_process(_read_pid(str(pidfile)), str(pidfile.parent))
    for pidfile in Path(base).glob("*/feeder.pid"):
        _end_process(_read_pid(str(pidfile)), str(pidfile.parent))
    # Remove `base` only if it looks like a lab: instance directories and
    # lab.json leftovers.
    root = Path(base)
    if root.is_dir() and all(
        (e.is_dir() and (e / "chrony.conf").exists()) or e.name.startswith(_STATE_FILE)
        for e in root.iterdir()
    ):
        shutil.rmtree(base, ignore_errors=True)


def _cli_start(args: argparse.Namespace) -> int:
    existing = bool(args.dir) and os.path.exists(os.path.join(args.dir, _STATE_FILE))
    lab = (
        Lab.open(args.dir, timeout=args.timeout)
        if existing
        else Lab(args.dir, timeout=args.timeout)
    )
    try:
        for profile in args.profiles:
            if profile not in lab:
                lab.start(profile)
    except BaseException:
        if not existing:  # a failed start leaves nothing behind
            lab.stop()
        raise
    lab.detach()
    _print_json(lab.to_json())
    return 0


def _cli_instance(args: argparse.Namespace) -> int:
    lab = Lab.open(args.dir, timeout=args.timeout)
    if args.name not in lab:
        raise LabError(f"no instance {args.name!r} in {args.dir}")
    inst = lab[args.name]
    if args.action == "restart":
        lab.restart(args.name)
        _print_json(lab.to_json())
    elif args.action == "pause":
        inst.pause()
    elif args.action == "resume":
        inst.resume()
    else:
        inst.kill()
    return 0


def _cli_default_ns(args: argparse.Namespace) -> int:
    cmd = list(args.command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise LabError("default-ns needs a command: default-ns -- CMD [ARG...]")
    staging = os.environ.get(_ENV_NS_STAGING)
    if staging:  # the half that runs inside the namespace
        host_mnt = os.environ.get(_ENV_NS_HOST_MNT, "")
        return _default_ns_inner(staging, host_mnt, cmd, args.timeout)
    return _default_ns_outer(cmd, args.timeout)


def _cli_stop(args: argparse.Namespace) -> int:
    _stop_dir(os.path.abspath(args.dir))
    return 0


def _cli_status(args: argparse.Namespace) -> int:
    _print_json(Lab.open(args.dir).status())
    return 0


def _cli_feed(args: argparse.Namespace) -> int:
    return _feed_refclock(args.socket)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chronylab.py", description="Private chronyd instances for pychrony-rs tests."
    )
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("start", help="start PROFILE... and print the lab as JSON")
    p.add_argument("--dir", help="lab directory (default: a new one in the temp dir)")
    p.add_argument("--timeout", type=float, default=15.0, help="readiness timeout, seconds")
    p.add_argument("profiles", nargs="+", choices=PROFILES, metavar="PROFILE")
    p.set_defaults(func=_cli_start)
    p = sub.add_parser("stop", help="stop everything in DIR and remove DIR")
    p.add_argument("--dir", required=True)
    p.set_defaults(func=_cli_stop)
    p = sub.add_parser("status", help="print the lab as JSON, with running/state per instance")
    p.add_argument("--dir", required=True)
    p.set_defaults(func=_cli_status)
    for action in ("restart", "pause", "resume", "kill"):
        p = sub.add_parser(action, help=f"{action} chronyd of instance NAME")
        p.add_argument("--dir", required=True)
        p.add_argument("--timeout", type=float, default=15.0)
        p.add_argument("name")
        p.set_defaults(func=_cli_instance)
    p = sub.add_parser("default-ns", help="run CMD in a namespace with chronyd on default paths")
    p.add_argument("--timeout", type=float, default=15.0)
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cli_default_ns)
    p = sub.add_parser("_feed")  # internal: the refclock feeder process
    p.add_argument("socket")
    p.set_defaults(func=_cli_feed)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except LabError as exc:
        print(f"chronylab: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
