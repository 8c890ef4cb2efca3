"""Every fixture of the Python test suites (unit, contract, integration,
reliability): the only conftest.

Tests use these fixtures by name; what they import comes from the ``support``
package (``tests/support``, see its docstring for the layout). Fixtures that
need chronyd start it with the lab (``tests/lab/chronylab.py``); none uses a
system chronyd. When the lab, libchrony or another prerequisite is missing,
the test FAILS under CI (``CI`` set) and is skipped, with the reason,
elsewhere (``support.prerequisites.unavailable``).
"""

from __future__ import annotations

import shutil
import types
from collections.abc import Iterator

import pytest

import chronylab
import pychrony._connection
from support.fake_chronyd import FakeChronyd, short_private_dir
from support.fake_core import FakeBehaviour, FakeClient
from support.lab import check_lab_prerequisites
from support.prerequisites import require_libchrony, unavailable

# -- the chronyd lab ----------------------------------------------------------


@pytest.fixture(scope="session")
def lab() -> Iterator[chronylab.Lab]:
    """One lab for the session: ``client`` (with its ``server``), ``empty``
    and ``many``."""
    check_lab_prerequisites()
    with chronylab.Lab() as the_lab:
        try:
            the_lab.start("client")
            the_lab.start("empty")
            the_lab.start("many")
        except chronylab.LabError as exc:
            unavailable(f"chronyd lab: {exc}")
        yield the_lab


@pytest.fixture(scope="session")
def client(lab: chronylab.Lab) -> chronylab.Instance:
    """The instance with every kind of source."""
    return lab["client"]


@pytest.fixture(scope="session")
def smoothing_client(lab: chronylab.Lab) -> Iterator[chronylab.Instance]:
    """A client that smooths the time it serves (``smoothtime``): the one
    instance whose ``smoothing`` report has values."""
    inst = lab.start("client", name="smoothing", extra_config=["smoothtime 400 0.001"])
    try:
        yield inst
    finally:
        inst.stop()


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


# -- backends -----------------------------------------------------------------


@pytest.fixture(scope="session")
def libchrony() -> str:
    """The path of libchrony; without it the test fails under CI, else skips."""
    return require_libchrony()


@pytest.fixture(params=["native", "libchrony"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend; ``libchrony`` needs the library (see ``libchrony``)."""
    if request.param == "libchrony":
        require_libchrony()
    return str(request.param)


# -- the fake chronyd (fault injection only) ----------------------------------


@pytest.fixture(scope="module")
def fake_udp() -> Iterator[FakeChronyd]:
    """A fake chronyd on a UDP port of 127.0.0.1."""
    fake = FakeChronyd("udp")
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture(scope="module")
def fake_unix() -> Iterator[FakeChronyd]:
    """A fake chronyd on a Unix datagram socket in a 0750 directory."""
    directory = short_private_dir()
    fake = FakeChronyd("unix", directory)
    try:
        yield fake
    finally:
        fake.close()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(params=["unix", "udp"])
def fake(
    request: pytest.FixtureRequest, fake_unix: FakeChronyd, fake_udp: FakeChronyd
) -> Iterator[FakeChronyd]:
    """Each fake chronyd, answering normally at the start and after the test."""
    server = fake_unix if request.param == "unix" else fake_udp
    server.normal()
    try:
        yield server
    finally:
        server.normal()


# -- the fake compiled client (unit tests) ------------------------------------


@pytest.fixture
def fake_core(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBehaviour]:
    """Make ``ChronyConnection`` use ``FakeClient``; yield its behaviour knobs."""
    behaviour = FakeBehaviour()
    monkeypatch.setattr(FakeClient, "behaviour", behaviour)
    monkeypatch.setattr(pychrony._connection, "_core", types.SimpleNamespace(Client=FakeClient))
    yield behaviour
