"""``wait_sync``: wait until chronyd is synchronised, as ``chronyc waitsync``.

chronyc's rule for "synchronised": the tracking report names a reference
(an address, or a reference ID other than 0 and the local reference's
``7F7F0101``), and, when limits are given, the absolute correction
(``offset``) and the skew are within them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from pychrony._connection import ChronyConnection
from pychrony.exceptions import ChronyConnectionError, ChronyError, ChronyNotSynchronizedError
from pychrony.models import TrackingStatus

__all__ = ["LOCAL_REFERENCE_ID", "is_synced", "wait_sync"]

#: The reference ID of chronyd's ``local`` reference (127.127.1.1).
LOCAL_REFERENCE_ID = 0x7F7F0101
#: chronyc's shortest interval between tries, in seconds.
_MIN_INTERVAL = 0.1


def is_synced(status: TrackingStatus, max_correction: float = 0.0, max_skew: float = 0.0) -> bool:
    """Tell whether `status` is synchronised by chronyc waitsync's rule.

    Args:
        status: A tracking report.
        max_correction: Largest acceptable ``abs(offset)`` in seconds; 0 for
            no limit.
        max_skew: Largest acceptable ``skew`` in ppm; 0 for no limit.
    """
    has_reference = bool(status.reference_ip) or status.reference_id not in (
        0,
        LOCAL_REFERENCE_ID,
    )
    return (
        has_reference
        and (max_correction == 0.0 or abs(status.offset) <= max_correction)
        and (max_skew == 0.0 or status.skew <= max_skew)
    )


def wait_sync(
    socket_path: str | None = None,
    *,
    max_tries: int = 0,
    max_correction: float = 0.0,
    max_skew: float = 0.0,
    interval: float = 10.0,
    on_try: Callable[[int, TrackingStatus | ChronyError], None] | None = None,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> TrackingStatus:
    """Read ``tracking`` until chronyd is synchronised, as ``chronyc waitsync``.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search.
        max_tries: Tries before giving up; 0 (chronyc's default) for no limit.
        max_correction: Largest acceptable absolute offset in seconds; 0 for
            no limit.
        max_skew: Largest acceptable skew in ppm; 0 for no limit.
        interval: Seconds between tries (at least 0.1, as in chronyc).
        on_try: Called after each try with its number (from 1) and the
            tracking report read, or the ``ChronyConnectionError`` of a
            read that failed.
        timeout: Seconds to wait for each reply (see ``get_tracking``).
        retries: Re-sends after a timeout, per try.
        backend: ``"native"`` or ``"libchrony"``.

    Returns:
        The ``TrackingStatus`` that satisfied the rule.

    Raises:
        ValueError: `max_tries` is negative, or an option is out of range.
        ChronyNotSynchronizedError: The last try found chronyd not
            synchronised (or outside the limits).
        ChronyConnectionError: Every try failed to reach chronyd (the last
            failure); a try that cannot reach chronyd counts as not
            synchronised, as in chronyc, while chronyd may still be starting.
        ChronyPermissionError: chronyd's socket refused access.
    """
    if max_tries < 0:
        raise ValueError(f"max_tries must be 0 (no limit) or more, not {max_tries}")
    interval = max(interval, _MIN_INTERVAL)
    connection = ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend)
    tries = 0
    while True:
        tries += 1
        status: TrackingStatus | None = None
        failure: ChronyConnectionError | None = None
        try:
            with connection:
                status = connection.get_tracking()
        except ChronyConnectionError as exc:
            failure = exc
        if on_try is not None:
            on_try(tries, status if status is not None else cast(ChronyError, failure))
        if status is not None and is_synced(status, max_correction, max_skew):
            return status
        if max_tries and tries >= max_tries:
            if failure is not None:
                raise failure
            raise ChronyNotSynchronizedError(
                f"chronyd is not synchronised after {tries} tries {interval:g} s apart"
                + (
                    f" (last: reference ID {status.reference_id:08X}, "
                    f"correction {abs(status.offset):.9f} s, skew {status.skew:.3f} ppm)"
                    if status is not None
                    else ""
                )
                + "; allow more tries or wider limits, or check its sources"
                " (chronyc sources)"
            )
        time.sleep(interval)
