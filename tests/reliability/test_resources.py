"""Resource use: no growth of memory or file descriptors over 100,000 calls,
successful (a real chronyd over its Unix socket) and failing (a fake chronyd
answering an error status at once)."""

from __future__ import annotations

import gc
import os
import shutil
import time
from collections.abc import Callable, Iterator

import pytest

import chronylab
from pychrony import ChronyConnection, ChronyDataError, LeapStatus
from support.fake_chronyd import FakeChronyd, reply, short_private_dir

CALLS = 100_000
WARM_UP = 5_000
#: Allowed RSS growth after warm-up (allocator noise, not a leak: a leak of
#: even 32 bytes per call would be 3 MiB).
RSS_SLACK = 2 * 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _measure(call: Callable[[], None]) -> tuple[int, int, float]:
    """Warm up, then run `call` CALLS times; returns the RSS growth, the
    change in open descriptors and the seconds the calls took."""
    for _ in range(WARM_UP):
        call()
    gc.collect()
    rss, fds = _rss(), _fds()
    start = time.monotonic()
    for _ in range(CALLS):
        call()
    elapsed = time.monotonic() - start
    gc.collect()
    return _rss() - rss, _fds() - fds, elapsed


@pytest.mark.integration
def test_100000_successful_calls(victim: chronylab.Instance) -> None:
    with ChronyConnection(victim.socket) as conn:

        def call() -> None:
            assert conn.get_tracking().leap_status is LeapStatus.UNSYNC

        growth, fd_change, elapsed = _measure(call)
    assert fd_change == 0
    assert growth < RSS_SLACK, f"RSS grew by {growth} bytes over {CALLS} calls"
    # Recorded in the report: about 3 s here (30 us per call).
    assert elapsed < 30, elapsed


@pytest.fixture
def failing_chronyd() -> Iterator[FakeChronyd]:
    """A fake chronyd on a Unix socket answering every request with status 1."""
    directory = short_private_dir()
    fake = FakeChronyd("unix", directory)
    fake.behave(lambda req, n: [reply(req, status=1)])
    try:
        yield fake
    finally:
        fake.close()
        shutil.rmtree(directory, ignore_errors=True)


def test_100000_failing_calls(failing_chronyd: FakeChronyd) -> None:
    with ChronyConnection(failing_chronyd.address, timeout=1.0, retries=0) as conn:

        def call() -> None:
            try:
                conn.get_tracking()
            except ChronyDataError as exc:
                assert exc.error_code == 11
            else:
                raise AssertionError("status 1 was taken for success")

        growth, fd_change, elapsed = _measure(call)
    assert fd_change == 0
    assert growth < RSS_SLACK, f"RSS grew by {growth} bytes over {CALLS} calls"
    assert elapsed < 30, elapsed


@pytest.mark.integration
def test_many_connections_opened_and_closed(victim: chronylab.Instance) -> None:
    def call() -> None:
        with ChronyConnection(victim.socket) as conn:
            conn.get_tracking()

    for _ in range(500):
        call()
    gc.collect()
    rss, fds = _rss(), _fds()
    for _ in range(5_000):
        call()
    gc.collect()
    assert _fds() == fds
    assert _rss() - rss < RSS_SLACK
