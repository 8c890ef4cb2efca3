"""Fixtures for the integration suite: real chronyd instances from the lab.

Every test here talks to chronyd started by ``tests/lab/chronylab.py``; none
uses a system chronyd. When chronyd cannot be started the suite fails under
CI (``CI`` set) and is skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))

import chronylab

REPO = Path(__file__).resolve().parents[2]
#: The client synchronises to the lab's server (stratum 3) or to the GPS
#: reference clock (stratum 0), whichever chronyd selects.
SYNC_STRATA = {1, chronylab.LOCAL_STRATUM + 1}


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
