"""Host names: a resolver that never answers, and ``localhost`` with a chronyd
that listens on 127.0.0.1 only.

The silent resolver lives in a private mount and network namespace
(``unshare --mount --net``): a bind-mounted resolv.conf names 127.0.0.1:53,
where a UDP "black hole" reads queries and never answers, so no query leaves
the namespace's loopback. A child Python runs each scenario there and prints
one JSON line, which the test checks. These tests need root and unshare(1):
under ``CI`` a missing one fails the test, elsewhere it is skipped with the
reason, like a chronyd that cannot start.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import chronylab
import pychrony
from support.lab import LAB_SCRIPT, check_lab_prerequisites
from support.prerequisites import unavailable
from support.processes import run_python

#: Resolver threads the extension may run at once (MAX_IN_FLIGHT in
#: crates/chrony-core/src/transport/resolve.rs).
RESOLVER_CAP = 4
#: glibc waits this long for the black hole before giving up: far longer
#: than any call here may take.
DNS_TIMEOUT = 30

#: Runs in the namespace: argv[1] is JSON with the scenario and its setup;
#: chronylab is importable through PYTHONPATH.
_CHILD = r"""
import json, os, signal, socket, subprocess, sys, threading, time

args = json.loads(sys.argv[1])
import chronylab
import pychrony

# Bind mounts over /etc must never land in the host's namespace.
if os.readlink("/proc/self/ns/mnt") == args["host_mnt"]:
    sys.exit("not in a private mount namespace; refusing to mount over /etc")
for target, source in args["mounts"].items():
    done = subprocess.run(["mount", "--bind", source, target], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"mount --bind {source} {target}: {done.stderr.strip()}")
if args["net"]:
    chronylab._loopback_up()

queries = []


def black_hole():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 53))

    def serve():
        while True:
            queries.append(sock.recv(4096))

    threading.Thread(target=serve, daemon=True).start()


def threads():
    return len(os.listdir("/proc/self/task"))


def slow_ctrl_c():
    black_hole()
    sent = []

    def interrupt():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Timer(0.3, interrupt).start()
    start = time.monotonic()
    try:
        try:
            pychrony.get_tracking("slow.example.test", timeout=5.0, retries=0)
            outcome = "returned"
        except pychrony.ChronyError as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        time.sleep(1.0)  # a signal handled only after the call lands here
    except KeyboardInterrupt:
        outcome = "KeyboardInterrupt"
    end = time.monotonic()
    after = end - sent[0] if sent else None
    return {"outcome": outcome, "after_signal": after, "elapsed": end - start,
            "queries": len(queries)}


def bounded_threads():
    black_hole()
    before = threads()
    peak, failures, pending, other = before, 0, 0, []
    for i in range(50):
        # Five names asked again and again, and a new name every other call.
        name = f"again{i % 5}.example.test" if i % 2 else f"new{i}.example.test"
        try:
            pychrony.get_tracking(name, timeout=0.05, retries=0)
        except pychrony.ChronyConnectionError as exc:
            failures += 1
            pending += "look-ups are still pending" in str(exc)
        except Exception as exc:
            other.append(f"{type(exc).__name__}: {exc}")
        peak = max(peak, threads())
    return {"before": before, "peak": peak, "failures": failures, "pending": pending,
            "other": other, "queries": len(queries)}


def localhost():
    port = args["port"]
    infos = socket.getaddrinfo("localhost", port, type=socket.SOCK_DGRAM)
    try:
        tracking = pychrony.get_tracking(f"localhost:{port}", timeout=0.5, retries=1)
        outcome = f"ok, stratum {tracking.stratum}"
    except pychrony.ChronyError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    return {"order": [info[4][0] for info in infos], "outcome": outcome}


print(json.dumps(globals()[args["scenario"]]()))
"""


def _nsswitch(hosts: str) -> str:
    """The host's nsswitch.conf with its ``hosts:`` line replaced (so that no
    other source, e.g. mdns or myhostname, answers before the files or DNS)."""
    try:
        lines = Path("/etc/nsswitch.conf").read_text().splitlines()
    except OSError:
        lines = []
    kept = [line for line in lines if not line.lstrip().startswith("hosts:")]
    return "\n".join([*kept, f"hosts: {hosts}"]) + "\n"


def _in_namespace(
    scenario: str,
    directory: Path,
    files: dict[str, str],
    *,
    net: bool,
    timeout: float = 60.0,
    **extra: Any,
) -> dict[str, Any]:
    """Run `scenario` of the child script in ``unshare --mount [--net]`` with
    each of `files` (target path: text) bind-mounted; return its JSON."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        unavailable("needs root and unshare(1) (util-linux) for a private namespace")
    mounts = {}
    for target, text in files.items():
        source = directory / Path(target).name
        source.write_text(text)
        mounts[target] = str(source)
    args = {
        "scenario": scenario,
        "host_mnt": os.readlink("/proc/self/ns/mnt"),
        "mounts": mounts,
        "net": net,
        **extra,
    }
    argv = [unshare, "--mount", *(["--net"] if net else []), "--propagation", "private"]
    paths = [str(LAB_SCRIPT.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = run_python(_CHILD, json.dumps(args), prefix=argv, env=env, timeout=timeout)
    assert done.returncode == 0, f"child failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _silent_resolver(directory: Path, scenario: str) -> dict[str, Any]:
    files = {
        "/etc/resolv.conf": f"nameserver 127.0.0.1\noptions timeout:{DNS_TIMEOUT} attempts:1\n",
        # Only localhost: the names asked for must go to the name server.
        "/etc/hosts": "127.0.0.1 localhost\n",
        "/etc/nsswitch.conf": _nsswitch("files dns"),
    }
    return _in_namespace(scenario, directory, files, net=True)


def test_ctrl_c_interrupts_a_slow_name_resolution(tmp_path: Path) -> None:
    got = _silent_resolver(tmp_path, "slow_ctrl_c")
    assert got["queries"] >= 1, f"the look-up never reached the name server: {got}"
    assert got["outcome"] == "KeyboardInterrupt", got
    # Within about 0.1 s by design; 1 s leaves room for a loaded machine.
    assert got["after_signal"] is not None and got["after_signal"] < 1.0, got


def test_failing_lookups_leave_a_bounded_number_of_threads(tmp_path: Path) -> None:
    got = _silent_resolver(tmp_path, "bounded_threads")
    assert got["other"] == [], got
    assert got["failures"] == 50, got
    assert got["queries"] >= 1, f"the look-ups never reached the name server: {got}"
    # Without the bound every abandoned look-up keeps a thread for 30 s.
    assert got["peak"] <= got["before"] + RESOLVER_CAP + 2, got
    assert got["pending"] > 0, f"no call said that look-ups were pending: {got}"


@pytest.fixture(scope="module")
def ipv4_only() -> Iterator[tuple[chronylab.Instance, bool]]:
    """A chronyd whose UDP command port listens on 127.0.0.1 only, and
    whether this host has an IPv6 loopback (::1)."""
    check_lab_prerequisites()
    with chronylab.Lab() as lab:
        has_ipv6 = lab.ipv6
        # A lab without IPv6 binds its command ports on 127.0.0.1 only and
        # runs chronyd with -4, so nothing listens on ::1.
        lab.ipv6 = False
        try:
            inst = lab.start("empty")
        except chronylab.LabError as exc:
            unavailable(f"chronyd lab: {exc}")
        yield inst, has_ipv6


@pytest.mark.integration
def test_localhost_reaches_an_ipv4_only_chronyd(
    ipv4_only: tuple[chronylab.Instance, bool],
) -> None:
    inst, _ = ipv4_only
    tracking = pychrony.get_tracking(f"localhost:{inst.cmdport}", timeout=0.5, retries=1)
    assert tracking.stratum >= 0


@pytest.mark.integration
def test_localhost_falls_back_from_a_refusing_ipv6_loopback(
    ipv4_only: tuple[chronylab.Instance, bool], tmp_path: Path
) -> None:
    inst, has_ipv6 = ipv4_only
    if not has_ipv6:
        pytest.skip("no IPv6 loopback (::1) here: localhost cannot resolve to ::1 first")
    port = inst.cmdport
    assert port is not None
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
        probe.bind(("::1", port))  # fails if something listens there after all
    files = {
        "/etc/hosts": "::1 localhost\n127.0.0.1 localhost\n",
        "/etc/nsswitch.conf": _nsswitch("files"),
    }
    got = _in_namespace("localhost", tmp_path, files, net=False, port=port)
    assert got["order"][0] == "::1", f"localhost does not resolve to ::1 first: {got}"
    assert "127.0.0.1" in got["order"], got
    assert got["outcome"].startswith("ok"), got
