"""Error paths pinned against pychrony 2.0.3: class, start of the message and
``error_code`` for every way a connection can fail without a chronyd.

``PINNED`` holds what 2.0.3 raises (read from its source and from running it);
each case runs the same scenario through our package and checks that it
raises the same class, with a message that starts with 2.0.3's words (our
hint follows them) and the same code. Where we differ on purpose (2.0.3
hangs, or wraps a port), the case says so in ``OURS``. With
``PYCHRONY_REFERENCE_PYTHON`` set (``make reference``), the scenarios also run
through 2.0.3 itself, to prove the pinned facts.

Cases that need chronyd (RTC unavailable, a stopped chronyd) are in
``tests/integration``; a stopped chronyd cannot be compared, as 2.0.3 then
blocks forever.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.prerequisites import require_reference_python
from support.processes import run_python

#: One scenario, run by ``python -c _PROBE ADDRESS [USER]``: prints the
#: exception's class, message and code as JSON (works with both packages).
_PROBE = """
    import json, os, pwd, sys
    import pychrony
    from pychrony import ChronyConnection

    address = None if sys.argv[1] == "auto" else sys.argv[1]
    user = sys.argv[2] if len(sys.argv) > 2 else None
    try:
        import pychrony._core._bindings  # 2.0.3: load everything before dropping privileges
    except ImportError:
        import pychrony._core
    if user is not None:
        entry = pwd.getpwnam(user)
        os.setgroups([])
        os.setresgid(entry.pw_gid, entry.pw_gid, entry.pw_gid)
        os.setresuid(entry.pw_uid, entry.pw_uid, entry.pw_uid)
    try:
        with ChronyConnection(address) as conn:
            conn.get_tracking()
        out = {"class": None}
    except Exception as exc:
        out = {"class": type(exc).__name__, "message": getattr(exc, "message", str(exc)),
               "code": getattr(exc, "error_code", None)}
    print(json.dumps(out))
"""


@dataclass(frozen=True)
class Outcome:
    """What a scenario raises: class name, message start (with ``{address}``), code."""

    cls: str
    start: str
    code: int | None


FAILED_TO_CONNECT = Outcome(
    "ChronyConnectionError", "Failed to connect to {address}. Is chronyd running?", -1
)

#: pychrony 2.0.3's outcome for each scenario.
PINNED: dict[str, Outcome] = {
    "missing socket": FAILED_TO_CONNECT,
    "stale socket": FAILED_TO_CONNECT,
    "regular file": FAILED_TO_CONNECT,
    "directory": FAILED_TO_CONNECT,
    "permission denied": Outcome(
        "ChronyPermissionError", "Permission denied connecting to {address}.", -1
    ),
    "auto-detect, nothing opens": Outcome(
        "ChronyConnectionError", "Failed to connect to chronyd (auto-detect). Tried: ", -1
    ),
    # libchrony cannot parse a host name: it fails to open.
    "host name that does not resolve": FAILED_TO_CONNECT,
    # UDP opens without a listener; the request then fails.
    "UDP port with nothing listening": Outcome(
        "ChronyConnectionError", "Failed to process tracking record 0: chronyd did not respond", 6
    ),
}

#: Where our outcome differs from 2.0.3's on purpose, ours (see the README's
#: compatibility table): same class and code, our own words.
OURS: dict[str, Outcome] = {
    "host name that does not resolve": Outcome(
        "ChronyConnectionError", 'cannot resolve host name "{address}"', -1
    ),
    "UDP port with nothing listening": Outcome(
        "ChronyConnectionError", "chronyd refused the request at {address}", 6
    ),
}


@pytest.fixture(scope="module")
def place() -> Iterator[Path]:
    """A directory every user can enter, holding each kind of bad path."""
    base = Path(tempfile.mkdtemp(prefix="pychrony-errors-"))
    base.chmod(0o755)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(base / "stale.sock"))
    stale.close()  # the file stays; nothing listens
    (base / "regular").write_text("not a socket\n")
    (base / "directory").mkdir()
    # A live socket that only root may write to (as chronyd's own is).
    guarded = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    guarded.bind(str(base / "guarded.sock"))
    (base / "guarded.sock").chmod(0o755)
    try:
        yield base
    finally:
        guarded.close()
        shutil.rmtree(base, ignore_errors=True)


def _closed_udp_port() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def _scenario(name: str, place: Path) -> tuple[list[str], str, list[str]]:
    """(probe arguments, the address shown in messages, command prefix)."""
    if name == "missing socket":
        address = str(place / "missing" / "chronyd.sock")
    elif name == "stale socket":
        address = str(place / "stale.sock")
    elif name == "regular file":
        address = str(place / "regular")
    elif name == "directory":
        address = str(place / "directory")
    elif name == "permission denied":
        if os.geteuid() != 0:
            pytest.skip("needs root, to run the probe as nobody")
        pwd.getpwnam("nobody")
        address = str(place / "guarded.sock")
        return [address, "nobody"], address, []
    elif name == "auto-detect, nothing opens":
        # A network namespace whose loopback is down: no UDP socket can
        # connect, and no default Unix socket may exist.
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            pytest.skip("needs root and unshare, for a private network namespace")
        if any(
            os.path.exists(p) for p in ("/run/chrony/chronyd.sock", "/var/run/chrony/chronyd.sock")
        ):
            pytest.skip("a chronyd socket exists at a default path")
        return ["auto"], "auto", ["unshare", "--net"]
    elif name == "host name that does not resolve":
        # Rejected by the resolver without a query (first label over 63 bytes).
        address = "x" * 64 + ".invalid"
    else:
        address = _closed_udp_port()
    return [address], address, []


def _probe(python: str, args: list[str], prefix: list[str]) -> dict[str, object]:
    done = run_python(_PROBE, *args, python=python, prefix=prefix)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _check(out: dict[str, object], expected: Outcome, address: str) -> None:
    assert out["class"] == expected.cls, out
    message = str(out["message"])
    assert message.startswith(expected.start.format(address=address)), out
    assert out["code"] == expected.code, out


@pytest.mark.parametrize("name", list(PINNED))
def test_ours_matches_2_0_3(name: str, place: Path) -> None:
    args, address, prefix = _scenario(name, place)
    out = _probe(sys.executable, args, prefix)
    _check(out, OURS.get(name, PINNED[name]), address)
    if name == "auto-detect, nothing opens":
        for candidate in (
            "/run/chrony/chronyd.sock",
            "/var/run/chrony/chronyd.sock",
            "127.0.0.1:323",
            "[::1]:323",
        ):
            assert candidate in str(out["message"]), out
    if name in ("permission denied",):
        assert "UDP command port" in str(out["message"]), out


@pytest.mark.parametrize("name", list(PINNED))
def test_pinned_facts_are_2_0_3s(name: str, place: Path) -> None:
    reference = require_reference_python()
    args, address, prefix = _scenario(name, place)
    _check(_probe(reference, args, prefix), PINNED[name], address)
