"""The reports of issue 10 against the lab's chronyd of the version under
test: field by field with that version's ``chronyc -c -n``, on both backends
where libchrony has the report, and their errors on each transport.

Moving values are bracketed between two reads of ours taken back to back
(see ``test_agreement``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

import chronylab
import pychrony
from pychrony import (
    ChronyConnection,
    ChronyDataError,
    ChronyLibraryError,
    ChronyUnauthorizedError,
    ManualSample,
    ServerStats,
    Smoothing,
    SourceMode,
)
from support.agreement import Mismatch, assert_unauthorized, half_ulp, retry, use_backend
from support.lab import enter_manual_samples

pytestmark = pytest.mark.integration


def bracket(where: str, text: str, a: float, b: float) -> None:
    """chronyc's `text` lies between our reads `a` and `b`, give or take its
    printed precision."""
    slack = half_ulp(text)
    if not min(a, b) - slack <= float(text) <= max(a, b) + slack:
        raise Mismatch(f"{where}: chronyc {text}, ours {a} / {b}")


# -- serverstats ---------------------------------------------------------------

#: The dataclass's fields are chronyc's columns, in order (CMDMON.md §7.1).
SERVERSTATS_COLUMNS = [f.name for f in ServerStats.__dataclass_fields__.values()]
#: chronyd before 4.4 reports the first 11 (SERVER_STATS3 on 4.2 and 4.3).
OLD_COLUMNS = 11


def _serverstats_row(s: ServerStats) -> list[int | None]:
    return [getattr(s, name) for name in SERVERSTATS_COLUMNS]


@pytest.mark.parametrize("name", ["server", "client"])
@pytest.mark.parametrize("backend", ["native", "libchrony"])
def test_serverstats_agrees_with_chronyc(
    lab: chronylab.Lab, name: str, backend: str, request: pytest.FixtureRequest
) -> None:
    use_backend(backend, request)
    inst = lab[name]

    def compare() -> None:
        a = pychrony.get_server_stats(inst.socket, backend=backend)
        out = chronylab.chronyc(inst, "-c", "-n", "serverstats").strip().split(",")
        b = pychrony.get_server_stats(inst.socket, backend=backend)
        ours_a, ours_b = _serverstats_row(a), _serverstats_row(b)
        # Exactly the counters this version's reply carries.
        present = [v is not None for v in ours_a]
        assert present == [i < len(out) for i in range(len(SERVERSTATS_COLUMNS))], (out, a)
        assert len(out) in (OLD_COLUMNS, len(SERVERSTATS_COLUMNS)), out
        for i, (text, x, y) in enumerate(zip(out, ours_a, ours_b, strict=False)):
            assert x is not None and y is not None
            if not x <= int(text) <= y:
                raise Mismatch(f"serverstats column {i}: chronyc {text}, ours {x} / {y}")

    retry(compare)
    if name == "server":
        # The client polls the server 64 times a second over two addresses.
        assert (pychrony.get_server_stats(inst.socket).ntp_packets_received or 0) > 0


def test_serverstats_libchrony_agrees_with_native(
    lab: chronylab.Lab, request: pytest.FixtureRequest
) -> None:
    use_backend("libchrony", request)
    inst = lab["server"]

    def compare() -> None:
        a = pychrony.get_server_stats(inst.socket)
        lib = pychrony.get_server_stats(inst.socket, backend="libchrony")
        b = pychrony.get_server_stats(inst.socket)
        for name in SERVERSTATS_COLUMNS:
            x, y, z = getattr(a, name), getattr(lib, name), getattr(b, name)
            assert (x is None) == (y is None) == (z is None), name
            if x is not None and not x <= y <= z:
                raise Mismatch(f"{name}: native {x} / {z}, libchrony {y}")

    retry(compare)


def test_serverstats_version_layout(lab: chronylab.Lab) -> None:
    s = pychrony.get_server_stats(lab["server"].socket)
    release = tuple(int(p) for p in chronylab.chronyd_release().split(".")[:2])
    if release >= (4, 4):
        assert s.ntp_hardware_tx_timestamps is not None
    else:
        assert s.ntp_daemon_rx_timestamps is None
        assert s.ntp_timestamp_span is not None


@pytest.mark.parametrize("backend", ["native", "libchrony"])
def test_serverstats_over_udp_is_unauthorized(
    lab: chronylab.Lab, backend: str, request: pytest.FixtureRequest
) -> None:
    use_backend(backend, request)
    inst = lab["client"]
    address = f"127.0.0.1:{inst.cmdport}"
    with pytest.raises(ChronyUnauthorizedError) as caught:
        pychrony.get_server_stats(address, backend=backend)
    assert_unauthorized(caught.value)
    # Existing handlers keep working.
    with ChronyConnection(address, backend=backend) as conn:
        try:
            conn.get_server_stats()
        except ChronyDataError as data_error:
            assert type(data_error) is ChronyUnauthorizedError
        else:
            pytest.fail("no error")
        # The connection stays usable.
        assert conn.get_activity().unresolved == 1


# -- smoothing -----------------------------------------------------------------


def _smoothing_row(s: Smoothing) -> list[float]:
    return [s.offset, s.frequency, s.wander, s.last_update_ago, s.remaining_time]


@pytest.mark.parametrize("transport", ["unix", "udp"])
@pytest.mark.parametrize("backend", ["native", "libchrony"])
def test_smoothing_agrees_with_chronyc(
    smoothing_client: chronylab.Instance,
    transport: str,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    use_backend(backend, request)
    inst = smoothing_client
    address = inst.socket if transport == "unix" else f"127.0.0.1:{inst.cmdport}"

    def compare() -> None:
        with ChronyConnection(address, backend=backend) as conn:
            a = conn.get_smoothing()
            out = chronylab.chronyc(inst, "-c", "-n", "smoothing").strip().split(",")
            b = conn.get_smoothing()
        assert a is not None and b is not None
        # Active (Yes/No), then "(leap second only)" or nothing.
        assert out[0] == ("Yes" if a.active else "No"), (out, a)
        assert (out[1] != "") == a.leap_only, (out, a)
        for i, (text, x, y) in enumerate(
            zip(out[2:], _smoothing_row(a), _smoothing_row(b), strict=True)
        ):
            bracket(f"smoothing column {i + 2}", text, x, y)

    retry(compare)


def test_smoothing_not_enabled(lab: chronylab.Lab, backend: str) -> None:
    inst = lab["empty"]
    for address in (inst.socket, f"127.0.0.1:{inst.cmdport}"):
        with ChronyConnection(address, backend=backend) as conn:
            assert conn.get_smoothing() is None
        with pytest.raises(ChronyDataError, match="'smoothtime'") as caught:
            pychrony.get_smoothing(address, backend=backend)
        assert caught.value.error_code == 10
        assert "505 Facility not enabled" in caught.value.message


# -- sourcename ----------------------------------------------------------------


@pytest.mark.parametrize("transport", ["unix", "udp"])
def test_source_name_agrees_with_chronyc(lab: chronylab.Lab, transport: str) -> None:
    inst = lab["client"]
    address = inst.socket if transport == "unix" else f"127.0.0.1:{inst.cmdport}"
    # chronyc -N shows the configured names where -n shows the addresses; the
    # source list is stable on the lab's client (no source comes or goes).
    by_address = chronylab.chronyc(inst, "-c", "-n", "sources", "-a").splitlines()
    by_name = chronylab.chronyc(inst, "-c", "-N", "sources", "-a").splitlines()
    names = {
        a.split(",")[2]: n.split(",")[2]
        for a, n in zip(by_address, by_name, strict=True)
        if not a.startswith("#")
    }
    with ChronyConnection(address) as conn:
        sources = [s for s in conn.get_sources() if s.mode != SourceMode.REFCLOCK]
        assert sources
        ours = {s.address: conn.get_source_name(s.address) for s in sources}
    assert ours == names
    # The unresolved source is asked for by its ID# address.
    assert ours["ID#0000000001"] == chronylab.UNRESOLVABLE_NAME
    assert pychrony.get_source_name(address, address="127.0.0.2") == "127.0.0.2"


def test_source_name_errors(lab: chronylab.Lab) -> None:
    inst = lab["client"]
    # No such source: chronyd's 503.
    with pytest.raises(ChronyDataError, match="503 No such source") as caught:
        pychrony.get_source_name(inst.socket, address="192.0.2.99")
    assert caught.value.error_code == 11
    # A reference clock has no address to ask by; arguments are checked.
    with pytest.raises(ValueError, match="reference clock"):
        pychrony.get_source_name(inst.socket, address=chronylab.REFCLOCK_REFID)
    with ChronyConnection(inst.socket) as conn:
        with pytest.raises(TypeError, match="address must be a str"):
            conn.get_source_name(1)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="takes no argument"):
            conn._require_client().read("tracking", address="::1")
        with pytest.raises(ValueError, match="needs the argument"):
            conn._require_client().read("sourcename")


def test_source_name_is_not_a_libchrony_report(lab: chronylab.Lab, libchrony: str) -> None:
    with pytest.raises(ChronyLibraryError, match="cannot read the sourcename report") as caught:
        pychrony.get_source_name(lab["client"].socket, address="127.0.0.1", backend="libchrony")
    assert 'backend="native"' in caught.value.message


# -- manual list ---------------------------------------------------------------

MANUAL_SAMPLES = 3


@pytest.fixture(scope="module")
def manual_daemon(lab: chronylab.Lab) -> Iterator[chronylab.Instance]:
    """A private instance holding ``MANUAL_SAMPLES`` manual samples."""
    inst = lab.start("empty", name="manual")
    try:
        enter_manual_samples(inst, MANUAL_SAMPLES)
        yield inst
    finally:
        inst.stop()


def _manual_row(s: ManualSample) -> list[float]:
    return [s.slewed_offset, s.orig_offset, s.residual]


@pytest.mark.parametrize("transport", ["unix", "udp"])
def test_manual_list_agrees_with_chronyc(manual_daemon: chronylab.Instance, transport: str) -> None:
    inst = manual_daemon
    address = inst.socket if transport == "unix" else f"127.0.0.1:{inst.cmdport}"

    def compare() -> None:
        with ChronyConnection(address) as conn:
            a = conn.get_manual_list()
            out = chronylab.chronyc(inst, "-c", "-n", "manual", "list")
            b = conn.get_manual_list()
        # chronyc: index, date and time (UTC, whole seconds), slewed, original,
        # residual.
        rows = [line.split(",") for line in out.splitlines()]
        assert len(a) == len(b) == len(rows) == MANUAL_SAMPLES, (rows, a)
        for i, (row, x, y) in enumerate(zip(rows, a, b, strict=True)):
            assert row[0] == str(i)
            when = datetime.datetime.fromtimestamp(int(x.when), datetime.timezone.utc)
            assert row[1] == when.strftime("%Y-%m-%d %H:%M:%S"), (row, x)
            assert x.when == y.when
            for j, (text, u, v) in enumerate(
                zip(row[2:], _manual_row(x), _manual_row(y), strict=True)
            ):
                bracket(f"manual list row {i} column {j + 2}", text, u, v)
        # Oldest first, about a second apart.
        assert [s.when for s in a] == sorted(s.when for s in a)

    retry(compare)


def test_manual_list_empty(lab: chronylab.Lab) -> None:
    inst = lab["empty"]
    assert chronylab.chronyc(inst, "-c", "-n", "manual", "list").strip() == ""
    assert pychrony.get_manual_list(inst.socket) == []
    assert pychrony.get_manual_list(f"127.0.0.1:{inst.cmdport}") == []


def test_manual_list_is_not_a_libchrony_report(lab: chronylab.Lab, libchrony: str) -> None:
    with pytest.raises(ChronyLibraryError, match="cannot read the manual list report"):
        pychrony.get_manual_list(lab["empty"].socket, backend="libchrony")
