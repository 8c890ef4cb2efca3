"""The four reports from a real chronyd, through both APIs and both transports."""

from __future__ import annotations

import math

import pytest

import chronylab
import pychrony
from pychrony import (
    ChronyConnection,
    ChronyDataError,
    LeapStatus,
    RTCData,
    Source,
    SourceMode,
    SourceState,
    SourceStats,
    TrackingStatus,
    Transport,
)
from support.lab import SYNC_STRATA

pytestmark = pytest.mark.integration


def by_address(sources: list[Source]) -> dict[str, Source]:
    return {s.address: s for s in sources}


def test_tracking_of_a_synchronised_client(address: str) -> None:
    with ChronyConnection(address) as conn:
        t = conn.get_tracking()
    assert isinstance(t, TrackingStatus)
    assert t.is_synchronized()
    assert t.leap_status is LeapStatus.NORMAL
    assert t.stratum in SYNC_STRATA
    assert t.reference_ip in {"127.0.0.1", "::1"} or t.reference_id_name == "GPS"
    assert t.ref_time > 1_600_000_000
    assert all(math.isfinite(getattr(t, f)) for f in ("offset", "frequency", "skew"))


def test_sources_cover_every_kind(address: str) -> None:
    with ChronyConnection(address) as conn:
        sources = by_address(conn.get_sources())
    reachable = sources["127.0.0.1"]
    assert reachable.mode is SourceMode.CLIENT
    assert reachable.is_reachable()
    assert reachable.poll == -6  # signed, as chronyc shows it (the reference: 65530)
    assert reachable.stratum == chronylab.LOCAL_STRATUM
    assert reachable.last_sample_ago < 60
    ipv6 = sources["::1"]
    assert ipv6.mode is SourceMode.CLIENT and ipv6.is_reachable()
    unreachable = sources["127.0.0.2"]
    assert not unreachable.is_reachable()
    assert unreachable.last_sample_ago == 4294967295  # never sampled
    assert unreachable.state is SourceState.NONSELECTABLE
    peer = sources["127.0.0.3"]
    assert peer.mode is SourceMode.PEER
    gps = sources["GPS"]
    assert gps.mode is SourceMode.REFCLOCK
    assert gps.is_reachable()
    unresolved = [a for a in sources if a.startswith("ID#")]
    assert unresolved == ["ID#0000000001"]
    assert any(s.is_selected() for s in sources.values())


def test_source_stats_correlate_with_sources_by_address(address: str) -> None:
    with ChronyConnection(address) as conn:
        sources = conn.get_sources()
        stats = conn.get_source_stats()
    assert [s.address for s in stats] == [s.address for s in sources]
    gps = next(s for s in stats if s.address == "GPS")
    assert gps.reference_id == 0x47505300
    assert gps.has_sufficient_samples(1)
    reachable = next(s for s in stats if s.address == "127.0.0.1")
    assert reachable.reference_id == 0x7F000001
    assert reachable.samples >= 1
    assert all(isinstance(s, SourceStats) for s in stats)


def test_rtc_unavailable_is_none_on_connection(address: str) -> None:
    with ChronyConnection(address) as conn:
        assert conn.get_rtc_data() is None


def test_rtc_unavailable_raises_from_module_function(address: str) -> None:
    with pytest.raises(ChronyDataError) as info:
        pychrony.get_rtc_data(address)
    message = str(info.value)
    assert "RTC tracking is unavailable" in message
    assert "rtcfile" in message
    assert info.value.error_code == 10


def test_module_functions(address: str) -> None:
    assert pychrony.get_tracking(address).is_synchronized()
    sources = pychrony.get_sources(address, timeout=0.5, retries=1)
    assert {"127.0.0.1", "GPS"} <= {s.address for s in sources}
    assert len(pychrony.get_source_stats(address)) == len(sources)


def test_transport_and_address_properties(client: chronylab.Instance, udp_address: str) -> None:
    conn = ChronyConnection(client.socket)
    assert conn.address is None and conn.transport is None
    with conn:
        assert conn.address == client.socket
        assert conn.transport is Transport.UNIX_SOCKET
    assert conn.address is None and conn.transport is None
    with ChronyConnection(udp_address) as udp:
        assert udp.transport is Transport.COMMAND_PORT
        assert udp.address == udp_address


def test_ipv6_command_port(lab: chronylab.Lab, client: chronylab.Instance) -> None:
    if not lab.ipv6:
        pytest.skip("no IPv6 loopback on this machine")
    with ChronyConnection(f"[::1]:{client.cmdport}") as conn:
        assert conn.get_tracking().is_synchronized()


def test_host_name_address(client: chronylab.Instance) -> None:
    with ChronyConnection(f"localhost:{client.cmdport}") as conn:
        assert conn.get_tracking().stratum in SYNC_STRATA


def test_connection_can_be_entered_again(client: chronylab.Instance) -> None:
    conn = ChronyConnection(client.socket)
    for _ in range(3):
        with conn:
            assert conn.get_tracking().is_synchronized()
    with pytest.raises(RuntimeError):
        conn.get_tracking()


def test_empty_chronyd(lab: chronylab.Lab) -> None:
    empty = lab["empty"]
    with ChronyConnection(empty.socket) as conn:
        assert conn.get_sources() == []
        assert conn.get_source_stats() == []
        t = conn.get_tracking()
    assert not t.is_synchronized()
    assert t.reference_id == 0 and t.stratum == 0
    assert t.leap_status is LeapStatus.UNSYNC
    assert t.reference_ip == ""
    assert t.ref_time == 0.0


def test_many_sources_complete_and_unique(lab: chronylab.Lab) -> None:
    many = lab["many"]
    for address in (many.socket, f"127.0.0.1:{many.cmdport}"):
        with ChronyConnection(address) as conn:
            sources = conn.get_sources()
            stats = conn.get_source_stats()
        assert len(sources) == chronylab.MANY_SOURCES
        assert len({s.address for s in sources}) == chronylab.MANY_SOURCES
        assert [s.address for s in stats] == [s.address for s in sources]


def test_rtc_data_type_is_exported() -> None:
    assert RTCData.__dataclass_params__.frozen  # type: ignore[attr-defined]
