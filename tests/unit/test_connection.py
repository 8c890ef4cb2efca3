"""``ChronyConnection`` logic over a fake ``_core.Client`` (``support.fake_core``)."""

import math
import sys
import threading
import types
from fractions import Fraction

import pytest

import pychrony
import pychrony._connection
from pychrony import ChronyConnection, RTCData, Source, SourceStats, TrackingStatus, Transport
from pychrony.exceptions import (
    ChronyConnectionError,
    ChronyDataError,
    ChronyPermissionError,
    _ReportUnavailableError,
)
from support.fake_core import FakeBehaviour, FakeClient

OUTSIDE_WITH = "ChronyConnection methods must be called within a 'with' block"
METHODS = ["get_tracking", "get_sources", "get_source_stats", "get_rtc_data"]

# --- option validation ------------------------------------------------------------------------


def test_defaults_are_stored() -> None:
    conn = ChronyConnection()
    assert (conn._address, conn._timeout, conn._retries, conn._backend) == (
        None,
        1.0,
        2,
        "native",
    )


@pytest.mark.parametrize("timeout", [0.001, 1, 2.5, 3600, Fraction(1, 2), 3600.0])
def test_timeout_accepted(timeout: float) -> None:
    conn = ChronyConnection(timeout=timeout)
    assert conn._timeout == float(timeout)
    assert type(conn._timeout) is float


@pytest.mark.parametrize("timeout", ["1", None, True, False, b"1", 1j, [1]])
def test_timeout_wrong_type(timeout: object) -> None:
    with pytest.raises(TypeError, match=r"timeout must be a number") as caught:
        ChronyConnection(timeout=timeout)  # type: ignore[arg-type]
    assert repr(timeout) in str(caught.value)


@pytest.mark.parametrize("timeout", [0, 0.0, -1, 3600.001, 1e9, math.inf, -math.inf, math.nan])
def test_timeout_out_of_range(timeout: float) -> None:
    with pytest.raises(ValueError, match=r"from 0.001 to 3600") as caught:
        ChronyConnection(timeout=timeout)
    assert repr(timeout) in str(caught.value)


@pytest.mark.parametrize("retries", [0, 1, 2, 30])
def test_retries_accepted(retries: int) -> None:
    assert ChronyConnection(retries=retries)._retries == retries


@pytest.mark.parametrize("retries", [1.0, "2", None, True, False, 2.5])
def test_retries_wrong_type(retries: object) -> None:
    with pytest.raises(TypeError, match=r"retries must be an int") as caught:
        ChronyConnection(retries=retries)  # type: ignore[arg-type]
    assert repr(retries) in str(caught.value)


@pytest.mark.parametrize("retries", [-1, 31, 10**6])
def test_retries_out_of_range(retries: int) -> None:
    with pytest.raises(ValueError, match=rf"between 0 and 30, got {retries}"):
        ChronyConnection(retries=retries)


@pytest.mark.parametrize("backend", ["native", "libchrony"])
def test_backend_accepted(backend: str) -> None:
    assert ChronyConnection(backend=backend)._backend == backend


@pytest.mark.parametrize("backend", ["", "Native", "cffi", "libchrony "])
def test_backend_unknown(backend: str) -> None:
    with pytest.raises(ValueError, match=r"expected one of 'native', 'libchrony'") as caught:
        ChronyConnection(backend=backend)
    assert repr(backend) in str(caught.value)


@pytest.mark.parametrize("backend", [None, 1, b"native"])
def test_backend_wrong_type(backend: object) -> None:
    with pytest.raises(TypeError, match=r"backend must be a str"):
        ChronyConnection(backend=backend)  # type: ignore[arg-type]


@pytest.mark.parametrize("address", [123, b"/run/chrony/chronyd.sock", ("127.0.0.1", 323)])
def test_address_wrong_type(address: object) -> None:
    with pytest.raises(TypeError, match=r"address must be a str or None"):
        ChronyConnection(address)  # type: ignore[arg-type]


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        ChronyConnection(None, 1.0)  # type: ignore[call-arg]


# --- outside a with block ---------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_methods_outside_with(method: str) -> None:
    conn = ChronyConnection()
    with pytest.raises(RuntimeError, match=OUTSIDE_WITH):
        getattr(conn, method)()


def test_properties_none_before_open() -> None:
    conn = ChronyConnection("127.0.0.1")
    assert conn.address is None
    assert conn.transport is None


# --- opening, querying, closing -------------------------------------------------------------


def test_enter_passes_options_to_client(fake_core: FakeBehaviour) -> None:
    with ChronyConnection("127.0.0.1", timeout=0.25, retries=0, backend="libchrony") as conn:
        assert fake_core.clients[0].args == ("127.0.0.1", 0.25, 0, "libchrony")
        assert conn.address == "127.0.0.1"
        assert conn.transport is Transport.COMMAND_PORT


def test_enter_returns_self_and_queries(fake_core: FakeBehaviour) -> None:
    conn = ChronyConnection()
    with conn as entered:
        assert entered is conn
        assert conn.address == "/run/chrony/chronyd.sock"
        assert conn.transport is Transport.UNIX_SOCKET
        assert isinstance(conn.get_tracking(), TrackingStatus)
        sources = conn.get_sources()
        assert [type(s) for s in sources] == [Source, Source]
        assert [type(s) for s in conn.get_source_stats()] == [SourceStats]
        assert isinstance(conn.get_rtc_data(), RTCData)


def test_exit_closes_and_clears_properties(fake_core: FakeBehaviour) -> None:
    conn = ChronyConnection()
    with conn:
        pass
    client = fake_core.clients[0]
    assert client.close_calls == 1
    assert conn.address is None
    assert conn.transport is None
    with pytest.raises(RuntimeError, match=OUTSIDE_WITH):
        conn.get_tracking()


def test_reenter_after_close(fake_core: FakeBehaviour) -> None:
    conn = ChronyConnection("/run/chrony/alt.sock")
    for _ in range(3):
        with conn:
            assert conn.get_tracking().stratum == 2
        assert conn.address is None
    assert len(fake_core.clients) == 3
    assert all(client.close_calls == 1 for client in fake_core.clients)


def test_nested_enter_is_refused(fake_core: FakeBehaviour) -> None:
    conn = ChronyConnection()
    with conn:
        with pytest.raises(RuntimeError, match="already open"):
            conn.__enter__()
        # The refused entry leaves the open connection usable.
        assert conn.get_tracking().is_synchronized()
    assert len(fake_core.clients) == 1
    assert fake_core.clients[0].close_calls == 1


def test_exception_in_block_propagates_and_closes(fake_core: FakeBehaviour) -> None:
    conn = ChronyConnection()
    with pytest.raises(KeyError), conn:
        raise KeyError("boom")
    assert fake_core.clients[0].closed
    assert conn.address is None


def test_exit_without_enter_is_harmless() -> None:
    conn = ChronyConnection()
    conn.__exit__(None, None, None)
    assert conn.address is None
    with pytest.raises(RuntimeError, match=OUTSIDE_WITH):
        conn.get_sources()


@pytest.mark.parametrize(
    "error",
    [
        ChronyConnectionError("nobody home", 111),
        ChronyPermissionError("denied", 13),
        ValueError("unknown backend"),
    ],
)
def test_connect_failure_leaves_closed_and_reusable(
    fake_core: FakeBehaviour, error: Exception
) -> None:
    fake_core.connect_error = error
    conn = ChronyConnection()
    with pytest.raises(type(error)) as caught, conn:
        pytest.fail("the block must not run")
    assert caught.value is error
    assert conn.address is None
    with conn:  # the next attempt connects
        assert conn.address is not None


def test_rtc_unavailable_maps_to_none(fake_core: FakeBehaviour) -> None:
    fake_core.rtc_error = _ReportUnavailableError("RTC tracking is unavailable", 13)
    with ChronyConnection() as conn:
        assert conn.get_rtc_data() is None


def test_other_rtc_errors_propagate(fake_core: FakeBehaviour) -> None:
    error = ChronyDataError("truncated reply", 14)
    fake_core.rtc_error = error
    with ChronyConnection() as conn, pytest.raises(ChronyDataError) as caught:
        conn.get_rtc_data()
    assert caught.value is error


# --- threads ----------------------------------------------------------------------------------


def test_close_during_query_does_not_break_the_query(fake_core: FakeBehaviour) -> None:
    """A query keeps its own client reference; a concurrent close cannot make it hit None."""
    fake_core.query_gate = threading.Event()
    outcome: list[object] = []
    conn = ChronyConnection()
    conn.__enter__()

    def query() -> None:
        try:
            outcome.append(conn.get_tracking())
        except Exception as error:  # collected for the assertion below
            outcome.append(error)

    worker = threading.Thread(target=query)
    worker.start()
    assert fake_core.in_query.wait(5)
    conn.__exit__(None, None, None)  # another thread closes mid-query
    fake_core.query_gate.set()
    worker.join(5)
    assert not worker.is_alive()
    # The client itself reports the close (as the Rust client does), not an AttributeError.
    assert len(outcome) == 1
    assert isinstance(outcome[0], ChronyConnectionError)


def test_concurrent_enter_opens_one_client(fake_core: FakeBehaviour) -> None:
    gate = threading.Event()
    fake_core.connect_gate = gate
    conn = ChronyConnection()
    results: list[str] = []

    def enter() -> None:
        try:
            conn.__enter__()
            results.append("opened")
        except RuntimeError:
            results.append("refused")

    threads = [threading.Thread(target=enter) for _ in range(2)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(5)
    assert sorted(results) == ["opened", "refused"]
    assert len(fake_core.clients) == 1
    conn.__exit__(None, None, None)
    assert fake_core.clients[0].close_calls == 1


# --- how the compiled module is found ----------------------------------------------------------


def test_core_imported_lazily_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in = types.ModuleType("pychrony._core")
    stand_in.Client = FakeClient  # type: ignore[attr-defined]
    monkeypatch.setattr(FakeClient, "behaviour", FakeBehaviour())
    monkeypatch.setattr(pychrony._connection, "_core", None)
    monkeypatch.setitem(sys.modules, "pychrony._core", stand_in)
    monkeypatch.setattr(pychrony, "_core", stand_in, raising=False)
    with ChronyConnection() as conn:
        assert conn.transport is Transport.UNIX_SOCKET
    assert pychrony._connection._core is stand_in


def test_client_looked_up_at_each_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """Patching ``pychrony._core.Client`` after the first import still takes effect."""
    stand_in = types.ModuleType("pychrony._core")
    stand_in.Client = FakeClient  # type: ignore[attr-defined]
    monkeypatch.setattr(FakeClient, "behaviour", FakeBehaviour())
    monkeypatch.setattr(pychrony._connection, "_core", stand_in)

    class OtherClient(FakeClient):
        pass

    conn = ChronyConnection()
    with conn:
        first: object = conn._client
    monkeypatch.setattr(stand_in, "Client", OtherClient)
    with conn:
        second: object = conn._client
    assert type(first) is FakeClient
    assert type(second) is OtherClient


def test_missing_extension_fails_at_open_not_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pychrony._connection, "_core", None)
    monkeypatch.setitem(sys.modules, "pychrony._core", None)  # makes the import fail
    monkeypatch.delattr(pychrony, "_core", raising=False)
    conn = ChronyConnection()  # constructing needs no extension
    with pytest.raises(ImportError), conn:
        pytest.fail("the block must not run")
    assert conn.address is None
