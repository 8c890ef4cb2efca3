"""A real chronyd misbehaving: stopped (SIGSTOP), killed and restarted,
restarted with another configuration. One connection lives through it all."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable

import pytest

import chronylab
from pychrony import ChronyConnection, ChronyConnectionError, ChronyError, LeapStatus

pytestmark = pytest.mark.integration

TIMEOUT = 0.02
RETRIES = 1
#: The README's bound for one call: timeout * (2^(retries+1) - 1).
BOUND = TIMEOUT * (2 ** (RETRIES + 1) - 1)
#: Scheduling slack on a loaded machine.
SLACK = 0.25


def _address(inst: chronylab.Instance, transport: str) -> str:
    return inst.socket if transport == "unix" else f"127.0.0.1:{inst.cmdport}"


def _unix_queue_length() -> int:
    try:
        with open("/proc/sys/net/unix/max_dgram_qlen") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 10


def _queue_is_full(server_socket: str) -> bool:
    """Whether chronyd's Unix socket accepts no more datagrams right now."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        probe.setblocking(False)
        probe.connect(server_socket)
        try:
            probe.send(b"\0" * 4)  # too short for chronyd: dropped if ever read
        except BlockingIOError:
            return True
    return False


def _timed_failure(call: Callable[[], object]) -> tuple[float, ChronyError]:
    start = time.monotonic()
    try:
        call()
    except ChronyError as exc:
        return time.monotonic() - start, exc
    raise AssertionError(f"{call!r} did not fail")


@pytest.mark.parametrize("transport", ["unix", "udp"])
def test_stopped_chronyd_every_call_times_out_within_the_bound(
    victim: chronylab.Instance, transport: str
) -> None:
    # Enough calls (each sends retries + 1 requests) to fill chronyd's Unix
    # socket queue several times over: sends must never block on it.
    calls = 2 * _unix_queue_length() // (RETRIES + 1) + 4
    with ChronyConnection(_address(victim, transport), timeout=TIMEOUT, retries=RETRIES) as conn:
        assert conn.get_tracking().leap_status is LeapStatus.UNSYNC
        victim.pause()
        try:
            methods = [conn.get_tracking, conn.get_sources, conn.get_source_stats]
            for i in range(calls):
                elapsed, exc = _timed_failure(methods[i % len(methods)])
                assert isinstance(exc, ChronyConnectionError), exc
                assert exc.error_code == 6
                assert "did not answer" in str(exc)
                assert TIMEOUT * 0.9 <= elapsed < BOUND + SLACK, (i, elapsed)
            if transport == "unix":
                assert _queue_is_full(victim.socket)
        finally:
            victim.resume()
        # chronyd now answers the stale requests queued while it was stopped;
        # those replies carry old sequence numbers and must be discarded.
        for _ in range(5):
            assert conn.get_tracking().leap_status is LeapStatus.UNSYNC
            assert conn.get_sources() == []
            assert conn.get_source_stats() == []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_chronyd_unix_connection_reconnects_after_restart(
    lab: chronylab.Lab, victim: chronylab.Instance, sig: int
) -> None:
    """Documented behaviour: while chronyd is down every call fails at once
    with ChronyConnectionError (error code 6; the first one says "refused",
    later ones "not connected"); after the restart the same connection
    reconnects to the new socket on its next call."""
    with ChronyConnection(victim.socket, timeout=TIMEOUT, retries=RETRIES) as conn:
        assert conn.get_tracking().stratum == 0
        victim.kill(sig)
        # SIGKILL leaves the socket file behind, SIGTERM lets chronyd remove it.
        assert os.path.exists(victim.socket) == (sig == signal.SIGKILL)
        for call in (conn.get_tracking, conn.get_sources, conn.get_rtc_data):
            elapsed, exc = _timed_failure(call)
            assert isinstance(exc, ChronyConnectionError), exc
            assert exc.error_code == 6
            assert victim.socket in str(exc)
            assert "Is chronyd running?" in str(exc)
            assert elapsed < SLACK
        # A new connection fails as well, at once.
        elapsed, exc = _timed_failure(
            lambda: ChronyConnection(victim.socket, timeout=TIMEOUT).__enter__()
        )
        assert isinstance(exc, ChronyConnectionError), exc
        assert "chronyd" in str(exc) and victim.socket in str(exc)
        assert elapsed < SLACK
        lab.restart(victim.name)
        for _ in range(3):
            assert conn.get_tracking().leap_status is LeapStatus.UNSYNC
        assert conn.get_sources() == []
        assert conn.address == victim.socket


def test_killed_chronyd_udp_connection_works_after_restart(
    lab: chronylab.Lab, victim: chronylab.Instance
) -> None:
    with ChronyConnection(_address(victim, "udp"), timeout=TIMEOUT, retries=RETRIES) as conn:
        assert conn.get_tracking().stratum == 0
        victim.kill()
        for call in (conn.get_tracking, conn.get_sources):
            elapsed, exc = _timed_failure(call)
            assert isinstance(exc, ChronyConnectionError), exc
            assert exc.error_code == 6
            assert elapsed < BOUND + SLACK
        lab.restart(victim.name)
        assert conn.get_tracking().leap_status is LeapStatus.UNSYNC
        assert conn.get_source_stats() == []


def test_chronyd_killed_twice_unix_connection_follows_each_restart(
    lab: chronylab.Lab, victim: chronylab.Instance
) -> None:
    with ChronyConnection(victim.socket, timeout=TIMEOUT, retries=RETRIES) as conn:
        for _ in range(3):
            victim.kill()
            with pytest.raises(ChronyConnectionError):
                conn.get_tracking()
            lab.restart(victim.name)
            assert conn.get_tracking().stratum == 0


def test_restart_without_a_failed_call_in_between(
    lab: chronylab.Lab, victim: chronylab.Instance
) -> None:
    """The first call after a restart (nothing failed while chronyd was down)
    already gets the new daemon's answer."""
    with ChronyConnection(victim.socket, timeout=TIMEOUT, retries=RETRIES) as conn:
        assert conn.get_sources() == []
        lab.restart(victim.name, extra_config=["server 127.0.0.9 iburst"])
        assert [s.address for s in conn.get_sources()] == ["127.0.0.9"]


def test_restart_with_another_configuration_same_connection_sees_new_sources(
    lab: chronylab.Lab, victim: chronylab.Instance
) -> None:
    unix = ChronyConnection(victim.socket, timeout=0.2, retries=2)
    udp = ChronyConnection(_address(victim, "udp"), timeout=0.2, retries=2)
    with unix, udp:
        for conn in (unix, udp):
            assert conn.get_sources() == []

        def check(expected: list[str]) -> None:
            for conn in (unix, udp):
                assert [s.address for s in conn.get_sources()] == expected
                assert [s.address for s in conn.get_source_stats()] == expected

        # Sources added.
        lab.restart(
            victim.name,
            extra_config=["server 127.0.0.9 iburst", "server 127.0.0.10", "peer 127.0.0.11"],
        )
        check(["127.0.0.9", "127.0.0.10", "127.0.0.11"])
        # One removed, one added.
        lab.restart(victim.name, extra_config=["server 127.0.0.10", "server 127.0.0.12"])
        check(["127.0.0.10", "127.0.0.12"])
        # A whole configuration of our own (the generated one plus a source).
        config = lab.config_text(victim) + "server 127.0.0.13 port 9\n"
        lab.restart(victim.name, config=config)
        check(["127.0.0.10", "127.0.0.12", "127.0.0.13"])
        # Back to no sources at all.
        lab.restart(victim.name, extra_config=())
        check([])
        for conn in (unix, udp):
            assert conn.get_tracking().stratum == 0
