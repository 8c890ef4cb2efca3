"""Threads: one connection shared by many threads, and the GIL released while
a call waits for chronyd."""

from __future__ import annotations

import threading
import time

import pytest

import chronylab
from pychrony import (
    ChronyConnection,
    ChronyConnectionError,
    Source,
    SourceStats,
    TrackingStatus,
)
from support.lab import SYNC_STRATA
from support.processes import run_python

pytestmark = pytest.mark.integration

THREADS = 16
CALLS_PER_THREAD = 200  # 3200 calls in all


@pytest.mark.parametrize("transport", ["unix", "udp"])
def test_one_connection_shared_by_16_threads(
    client: chronylab.Instance, udp_address: str, transport: str
) -> None:
    address = client.socket if transport == "unix" else udp_address
    errors: list[BaseException] = []
    counts = [0] * THREADS
    start = threading.Barrier(THREADS)
    with ChronyConnection(address) as conn:
        source_addresses = [s.address for s in conn.get_sources()]
        stats_addresses = [s.address for s in conn.get_source_stats()]
        assert len(source_addresses) >= 5
        assert sorted(stats_addresses) == sorted(source_addresses)

        def work(index: int) -> None:
            try:
                start.wait(10)
                for i in range(CALLS_PER_THREAD):
                    kind = (index + i) % 3
                    if kind == 0:
                        t = conn.get_tracking()
                        assert type(t) is TrackingStatus, t
                        assert t.stratum in SYNC_STRATA, t
                    elif kind == 1:
                        sources = conn.get_sources()
                        assert all(type(s) is Source for s in sources), sources
                        assert [s.address for s in sources] == source_addresses
                    else:
                        stats = conn.get_source_stats()
                        assert all(type(s) is SourceStats for s in stats), stats
                        assert [s.address for s in stats] == stats_addresses
                    counts[index] += 1
            except BaseException as exc:  # re-raised in the main thread below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
    assert not errors, errors[:3]
    assert counts == [CALLS_PER_THREAD] * THREADS


def test_the_gil_is_released_while_a_call_waits(victim: chronylab.Instance) -> None:
    """While one thread waits 1 s for a stopped chronyd, another Python thread
    keeps running at (nearly) full speed."""
    timeout = 1.0

    def spin(seconds: float) -> int:
        n = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            n += 1
        return n

    baseline = spin(0.2) / 0.2  # loop iterations per second, alone
    with ChronyConnection(victim.socket, timeout=timeout, retries=0) as conn:
        assert conn.get_tracking().stratum == 0
        victim.pause()
        waiting = threading.Event()
        result: list[object] = []

        def call() -> None:
            waiting.set()
            start = time.monotonic()
            try:
                conn.get_tracking()
            except ChronyConnectionError as exc:
                result.append(exc)
            result.append(time.monotonic() - start)

        try:
            caller = threading.Thread(target=call)
            caller.start()
            waiting.wait(5)
            time.sleep(0.05)  # the call is waiting now
            iterations = spin(0.8)
            caller.join(5)
        finally:
            victim.resume()
        assert not caller.is_alive()
        assert isinstance(result[0], ChronyConnectionError), result
        assert timeout * 0.9 <= result[1] < timeout + 0.5  # type: ignore[operator]
        # Holding the GIL, the waiting call would have stopped this loop.
        assert iterations > 0.8 * baseline * 0.25, (iterations, baseline)
        assert conn.get_tracking().stratum == 0


def test_calls_queued_behind_a_waiting_call_keep_their_own_deadline(
    victim: chronylab.Instance,
) -> None:
    """16 threads call at once on a stopped chronyd: calls are serialised, yet
    each one ends within its own bound, counted from when it was made."""
    timeout, retries = 0.05, 1
    bound = timeout * (2 ** (retries + 1) - 1)
    durations: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    with ChronyConnection(victim.socket, timeout=timeout, retries=retries) as conn:
        assert conn.get_tracking().stratum == 0
        barrier = threading.Barrier(THREADS)

        def call() -> None:
            barrier.wait(10)
            start = time.monotonic()
            try:
                conn.get_sources()
            except BaseException as exc:
                with lock:
                    failures.append(exc)
            with lock:
                durations.append(time.monotonic() - start)

        victim.pause()
        try:
            threads = [threading.Thread(target=call) for _ in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
        finally:
            victim.resume()
        assert len(durations) == THREADS
        assert all(isinstance(f, ChronyConnectionError) for f in failures), failures
        assert len(failures) == THREADS
        assert max(durations) < bound + 0.25, sorted(durations)
        assert conn.get_sources() == []


#: Run in a subprocess so that a deadlock fails the test instead of hanging
#: the suite: one thread waits in a call on a chronyd that never answers
#: (a UDP socket nobody reads), another uses the same connection meanwhile.
_WHILE_WAITING = """
import socket, sys, threading, time
from pychrony import ChronyConnection, ChronyConnectionError

silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
silent.bind(("127.0.0.1", 0))
address = f"127.0.0.1:{silent.getsockname()[1]}"
conn = ChronyConnection(address, timeout=0.3, retries=0)
conn.__enter__()
outcome = []

def call():
    try:
        conn.get_tracking()
    except ChronyConnectionError:
        outcome.append("timed out")

caller = threading.Thread(target=call)
caller.start()
time.sleep(0.1)  # the call is waiting now
start = time.monotonic()
action = sys.argv[1]
if action == "address":
    assert conn.address == address
elif action == "transport":
    assert conn.transport.value == "command_port"
else:
    conn.__exit__(None, None, None)
print(f"{action} {time.monotonic() - start:.3f}", flush=True)
caller.join()
print(outcome[0], flush=True)
"""


@pytest.mark.parametrize("action", ["address", "transport", "close"])
def test_connection_usable_from_another_thread_while_a_call_waits(action: str) -> None:
    """Reading ``address``/``transport`` or closing the connection while
    another thread's call waits for chronyd must not deadlock (at worst it
    waits for that call's deadline, 0.3 s here)."""
    done = run_python(
        _WHILE_WAITING,
        action,
        timeout=4,
        what=f"{action} while another thread waits in a call (a deadlock)",
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.split("\n", 1)
    name, elapsed = first.split()
    assert name == action
    assert float(elapsed) < 0.3 + 0.5
    assert second.strip() == "timed out"
