"""Comparing our reads with ``chronyc -c -n`` output (the agreement tests).

chronyd's values move between any two reads, so an agreement test reads
ours, runs chronyc, reads ours again, and compares; when a value moved too
much in between it raises `Mismatch`, and `retry` runs the comparison again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from pychrony import ChronyDataError, ChronyPermissionError, ChronyUnauthorizedError, LeapStatus

#: chronyc's words for a leap status.
LEAP_TEXT = {
    LeapStatus.NORMAL: "Normal",
    LeapStatus.INSERT: "Insert second",
    LeapStatus.DELETE: "Delete second",
    LeapStatus.UNSYNC: "Not synchronised",
}


class Mismatch(AssertionError):
    """chronyc's output and ours differ more than the values could move."""


def retry(compare: Callable[[], None], attempts: int = 12, pause: float = 0.0) -> None:
    """Run `compare` until it raises no `Mismatch`, at most `attempts` times
    (`pause` seconds apart); fail with the last mismatch."""
    last: Mismatch | None = None
    for _ in range(attempts):
        try:
            compare()
            return
        except Mismatch as exc:
            last = exc
            time.sleep(pause)
    assert last is None, str(last)


def half_ulp(text: str) -> float:
    """Half a unit in the last place chronyc printed."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals + 1e-12


def between(value: float, a: float, b: float, slack: float) -> bool:
    """`value` lies between `a` and `b`, give or take `slack`."""
    return min(a, b) - slack <= value <= max(a, b) + slack


def use_backend(backend: str, request: pytest.FixtureRequest) -> None:
    """Require libchrony (the ``libchrony`` fixture) for that backend."""
    if backend == "libchrony":
        request.getfixturevalue("libchrony")


def assert_unauthorized(error: BaseException) -> None:
    """`error` is chronyd's "501 Not authorised" for a Unix-socket-only
    command asked over UDP, with the message naming the fixes."""
    assert isinstance(error, ChronyUnauthorizedError), repr(error)
    assert isinstance(error, ChronyPermissionError)
    assert isinstance(error, ChronyDataError)
    assert error.error_code == 9
    assert "501 Not authorised" in error.message
    assert "Unix socket" in error.message and "opencommands" in error.message
