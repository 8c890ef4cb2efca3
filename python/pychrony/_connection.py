"""``ChronyConnection``: the context manager over the Rust client.

The class is plain Python so it can be subclassed and monkeypatched; all the
protocol work and the thread safety live in ``pychrony._core.Client``.
"""

import math
import numbers
import threading
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING

from pychrony.exceptions import _RTCUnavailableError
from pychrony.models import RTCData, Source, SourceStats, TrackingStatus, Transport

if TYPE_CHECKING:
    from pychrony._core import Client

__all__ = ["ChronyConnection"]

#: Accepted values of the ``backend`` option.
BACKENDS = ("native", "libchrony")
#: Upper bound for ``timeout``, in seconds. An hour is far beyond any useful
#: wait for chronyd's reply; a larger value is most likely a unit mistake
#: (milliseconds passed as seconds).
MAX_TIMEOUT = 3600.0
#: Lower bound for ``timeout``, in seconds: a shorter wait could not even
#: see a reply from a chronyd on the same machine.
MIN_TIMEOUT = 0.001
#: Upper bound for ``retries``.
MAX_RETRIES = 30

_OUTSIDE_WITH = "ChronyConnection methods must be called within a 'with' block"

# The compiled module, imported on first use so that ``import pychrony`` (the
# models, the exceptions, the pytest plugin) works even where the extension is
# missing. Tests may replace this attribute with a stand-in module.
_core: ModuleType | None = None


def _client_class() -> "type[Client]":
    """Return ``pychrony._core.Client``, looked up at call time.

    Looking the class up on every call lets tests monkeypatch either this
    module's ``_core`` or ``pychrony._core.Client``.
    """
    global _core
    core = _core
    if core is None:
        from pychrony import _core as compiled

        core = _core = compiled
    client: type[Client] = core.Client
    return client


def _validate_options(timeout: object, retries: object, backend: object) -> tuple[float, int, str]:
    """Check the connection options and return them normalised.

    Args:
        timeout: Seconds to wait for the first reply.
        retries: Number of re-sends after a timeout.
        backend: Name of the backend.

    Returns:
        ``(timeout, retries, backend)`` as ``(float, int, str)``.

    Raises:
        TypeError: An option has the wrong type (bools are rejected as numbers).
        ValueError: An option is out of range or names an unknown backend.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(
            f"timeout must be a number of seconds (int or float), got {timeout!r} "
            f"of type {type(timeout).__name__}"
        )
    try:
        seconds = float(timeout)
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if not (math.isfinite(seconds) and MIN_TIMEOUT <= seconds <= MAX_TIMEOUT):
        raise ValueError(
            f"timeout must be a number of seconds from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}, "
            f"got {timeout!r}"
        )
    if isinstance(retries, bool) or not isinstance(retries, numbers.Integral):
        raise TypeError(f"retries must be an int, got {retries!r} of type {type(retries).__name__}")
    count = int(retries)
    if not 0 <= count <= MAX_RETRIES:
        raise ValueError(f"retries must be between 0 and {MAX_RETRIES}, got {retries!r}")
    if not isinstance(backend, str):
        raise TypeError(
            f"backend must be a str, one of {', '.join(map(repr, BACKENDS))}; "
            f"got {backend!r} of type {type(backend).__name__}"
        )
    if backend not in BACKENDS:
        raise ValueError(
            f"unknown backend {backend!r}: expected one of {', '.join(map(repr, BACKENDS))}"
        )
    return seconds, count, backend


class ChronyConnection:
    """A connection to chronyd, used as a context manager.

    The connection opens when the ``with`` block is entered and closes when it
    is left; the same object can be entered again afterwards. Every query goes
    through the Rust client, which is thread-safe, so one open connection may
    be shared by several threads.

    Example:
        >>> from pychrony import ChronyConnection
        >>> with ChronyConnection("127.0.0.1", timeout=0.5) as conn:  # doctest: +SKIP
        ...     print(conn.get_tracking().offset)

    Args:
        address: Where chronyd listens: a Unix socket path (starting with
            ``/``), or a host name or IP address for chronyd's UDP command
            port, optionally with a port (``host:port``, ``[ipv6]:port``).
            None (the default) tries chronyd's Unix socket in its usual
            places, then 127.0.0.1 and ::1 on port 323, as chronyc does.
        timeout: Seconds to wait for the first reply before re-sending the
            request; each resend doubles the wait, and a call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds (7 with the
            defaults). A number from 0.001 to 3600. Keyword-only.
        retries: How many times a request is re-sent after a timeout; an int
            from 0 to 30. Keyword-only.
        backend: ``"native"`` (pychrony's own protocol client, the default) or
            ``"libchrony"`` (chrony's C library, loaded when the connection
            opens). Keyword-only.

    Raises:
        TypeError: ``address`` is not a str or None, or an option has the
            wrong type.
        ValueError: An option is out of range or ``backend`` is unknown.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float = 1.0,
        retries: int = 2,
        backend: str = "native",
    ) -> None:
        """Store the address and options; nothing is opened until ``with``."""
        if address is not None and not isinstance(address, str):
            raise TypeError(
                f"address must be a str or None, got {address!r} of type {type(address).__name__}"
            )
        self._address = address
        self._timeout, self._retries, self._backend = _validate_options(timeout, retries, backend)
        # Guards only opening and closing, so two threads cannot both open (and
        # leak) a client; queries never take it.
        self._state_lock = threading.Lock()
        self._client: Client | None = None

    def __enter__(self) -> "ChronyConnection":
        """Open the connection.

        Returns:
            This connection.

        Raises:
            RuntimeError: The connection is already open (nested ``with`` on
                the same object); use one object per ``with`` block instead.
            ChronyConnectionError: chronyd cannot be reached.
            ChronyPermissionError: chronyd's socket exists but access is denied.
            ChronyLibraryError: The ``libchrony`` backend cannot be loaded.
        """
        with self._state_lock:
            if self._client is not None:
                raise RuntimeError(
                    "ChronyConnection is already open; it cannot be entered again "
                    "before its 'with' block ends"
                )
            self._client = _client_class()(
                self._address, self._timeout, self._retries, self._backend
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """Close the connection; exceptions from the ``with`` block propagate."""
        with self._state_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _require_client(self) -> "Client":
        """Return the open client (a local reference, safe against a concurrent close).

        Raises:
            RuntimeError: The connection is not open.
        """
        client = self._client
        if client is None:
            raise RuntimeError(_OUTSIDE_WITH)
        return client

    @property
    def address(self) -> str | None:
        """The address in use (socket path or ``host:port``), or None when not open."""
        client = self._client
        return None if client is None else client.address

    @property
    def transport(self) -> Transport | None:
        """The transport in use (``Transport`` member), or None when not open."""
        client = self._client
        return None if client is None else Transport(client.transport)

    def get_tracking(self) -> TrackingStatus:
        """Read chronyd's tracking report (``chronyc tracking``).

        Returns:
            The current ``TrackingStatus``.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyDataError: The reply is malformed or holds invalid values.
        """
        return self._require_client().tracking()

    def get_sources(self) -> list[Source]:
        """Read every time source (``chronyc sources``).

        Returns:
            One ``Source`` per source, in chronyd's order; empty when chronyd
            has none.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyDataError: A reply is malformed or holds invalid values.
        """
        return self._require_client().sources()

    def get_source_stats(self) -> list[SourceStats]:
        """Read the statistics of every source (``chronyc sourcestats``).

        Returns:
            One ``SourceStats`` per source, in chronyd's order.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyDataError: A reply is malformed or holds invalid values.
        """
        return self._require_client().source_stats()

    def get_rtc_data(self) -> RTCData | None:
        """Read the real-time clock report (``chronyc rtcdata``).

        Returns:
            The ``RTCData``, or None when chronyd does not track an RTC.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyDataError: The reply is malformed or holds invalid values.
        """
        client = self._require_client()
        try:
            return client.rtc_data()
        except _RTCUnavailableError:
            return None
