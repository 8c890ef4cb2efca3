"""Fixtures for the integration suite: real chronyd instances from the lab.

Every test here talks to chronyd started by ``tests/lab/chronylab.py``; none
uses a system chronyd. When chronyd cannot be started the suite fails under
CI (``CI`` set) and is skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import os
import pwd
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))

import chronylab

REPO = Path(__file__).resolve().parents[2]
#: The client synchronises to the lab's server (stratum 3) or to the GPS
#: reference clock (stratum 0), whichever chronyd selects.
SYNC_STRATA = {1, chronylab.LOCAL_STRATUM + 1}


def in_child(body: Callable[[], str], *, user: str | None = None) -> str:
    """Run `body` in a forked child (as `user`, if given: privileges are
    dropped after the fork, since /root is not readable for other users and
    no new interpreter could start) and return what it returned. The child
    never returns into pytest; a failure in it fails the test with its
    traceback."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code, out = 1, ""
        try:
            os.close(read_fd)
            if user is not None:
                entry = pwd.getpwnam(user)
                os.setgroups([])
                os.setresgid(entry.pw_gid, entry.pw_gid, entry.pw_gid)
                os.setresuid(entry.pw_uid, entry.pw_uid, entry.pw_uid)
            out = body()
            code = 0
        except BaseException:
            out = traceback.format_exc()
        finally:
            os.write(write_fd, out.encode())
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        out = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, f"child failed:\n{out}"
    return out


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"chronyd lab unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"chronyd lab unavailable: {reason}")


@pytest.fixture(scope="session")
def lab() -> Iterator[chronylab.Lab]:
    """One lab for the session: ``client`` (with its ``server``), ``empty``
    and ``many``."""
    if not chronylab.chronyd_available():
        _unavailable("chronyd/chronyc not installed (apt-get install chrony)")
    if os.geteuid() != 0:
        _unavailable("the lab runs chronyd as root; run the suite as root")
    with chronylab.Lab() as the_lab:
        try:
            the_lab.start("client")
            the_lab.start("empty")
            the_lab.start("many")
        except chronylab.LabError as exc:
            _unavailable(str(exc))
        yield the_lab


@pytest.fixture(scope="session")
def client(lab: chronylab.Lab) -> chronylab.Instance:
    """The instance with every kind of source."""
    return lab["client"]


@pytest.fixture(scope="session")
def udp_address(client: chronylab.Instance) -> str:
    """The client instance's UDP command port on 127.0.0.1."""
    return f"127.0.0.1:{client.cmdport}"


@pytest.fixture(params=["unix", "udp"])
def address(request: pytest.FixtureRequest, client: chronylab.Instance, udp_address: str) -> str:
    """The client instance over each transport."""
    return client.socket if request.param == "unix" else udp_address


_victims = iter(range(1_000_000))


@pytest.fixture
def victim(lab: chronylab.Lab) -> Iterator[chronylab.Instance]:
    """A private ``empty`` instance that a test may stop, pause or kill."""
    name = f"victim{next(_victims)}"
    inst = lab.start("empty", name=name)
    try:
        yield inst
    finally:
        inst.resume()
        inst.stop()
