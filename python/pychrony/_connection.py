"""``ChronyConnection``: the context manager over the Rust client.

The class is plain Python so it can be subclassed and monkeypatched; all the
protocol work and the thread safety live in ``pychrony._core.Client``.
"""

import math
import numbers
import threading
from collections.abc import Callable
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from pychrony.exceptions import ChronySubinterpreterError
from pychrony.models import (
    Activity,
    AuthData,
    ClientAccess,
    ManualSample,
    NTPData,
    RTCData,
    SelectData,
    ServerStats,
    Smoothing,
    Source,
    SourceStats,
    TrackingStatus,
    Transport,
)

if TYPE_CHECKING:
    from pychrony._core import Client

__all__ = ["ChronyConnection"]

#: Accepted values of the ``backend`` option.
BACKENDS = ("native", "libchrony")
#: Upper bound for ``timeout``, in seconds. An hour is far beyond any useful
#: wait for chronyd's reply; a larger value is most likely a unit mistake
#: (milliseconds passed as seconds). The extension checks the same bounds.
MAX_TIMEOUT = 3600.0
#: Lower bound for ``timeout``, in seconds: a shorter wait could not even
#: see a reply from a chronyd on the same machine.
MIN_TIMEOUT = 0.001
#: Upper bound for ``retries``.
MAX_RETRIES = 30
#: Longest rendering of a rejected value in an error message.
MAX_SHOWN = 40

_OUTSIDE_WITH = "ChronyConnection methods must be called within a 'with' block"

_SUBINTERPRETER_MESSAGE = (
    "pychrony cannot be used in a sub-interpreter: its compiled part (a PyO3 "
    "extension) serves only the main interpreter of a process. Call it from the "
    "main interpreter (a thread or a subprocess works)"
)

# The compiled module, imported on first use so that ``import pychrony`` (the
# models, the exceptions, the pytest plugin) works even where the extension is
# missing. Tests may replace this attribute with a stand-in module.
_core: ModuleType | None = None
# Whether this interpreter is the main one; None until first asked.
_main_interpreter: bool | None = None


def _in_main_interpreter() -> bool:
    """Tell whether this is the process's main interpreter, without the extension.

    The interpreters module is ``_interpreters`` on 3.13+ and
    ``_xxsubinterpreters`` on 3.10-3.12; both compare ``get_current()`` with
    ``get_main()``. If neither can answer, assume the main interpreter: the
    import of the extension then fails in a sub-interpreter, and
    ``_client_class`` turns that failure into the same error.
    """
    global _main_interpreter
    if _main_interpreter is None:
        answer = True
        for name in ("_interpreters", "_xxsubinterpreters"):
            try:
                module = __import__(name)
                answer = bool(module.get_current() == module.get_main())
            except Exception:
                continue
            break
        _main_interpreter = answer
    return _main_interpreter


def _client_class() -> "type[Client]":
    """Return ``pychrony._core.Client``, looked up at call time.

    Looking the class up on every call lets tests monkeypatch either this
    module's ``_core`` or ``pychrony._core.Client``.

    Raises:
        ChronySubinterpreterError: Called in a sub-interpreter. The extension
            is not even loaded there: a PyO3 module belongs to the first
            interpreter that imports it, so loading it here would break the
            main interpreter's later use.
    """
    global _core
    core = _core
    if core is None:
        if not _in_main_interpreter():
            raise ChronySubinterpreterError(_SUBINTERPRETER_MESSAGE)
        try:
            from pychrony import _core as compiled
        except ImportError as exc:
            if "subinterpreter" in str(exc).replace("-", ""):
                raise ChronySubinterpreterError(_SUBINTERPRETER_MESSAGE) from exc
            raise
        core = _core = compiled
    client: type[Client] = core.Client
    return client


def _make_checks() -> tuple[
    Callable[[object], str | None],
    Callable[[object, object, object], tuple[float, int, str]],
]:
    """Build the argument checks, shared by ``ChronyConnection`` and the functions.

    Everything the checks use is bound here, in their closure, not looked up
    in module globals at call time: a call made while the interpreter shuts
    down (from ``__del__`` or atexit) runs after finalisation has cleared
    module namespaces, ``numbers`` and this one included, and must still
    accept ``timeout=1.0``. Plain ints and floats never reach the
    ``numbers`` ABCs, whose state finalisation also tears down.
    """
    real, integral = numbers.Real, numbers.Integral
    isfinite, inf = math.isfinite, math.inf
    min_timeout, max_timeout, max_retries = MIN_TIMEOUT, MAX_TIMEOUT, MAX_RETRIES
    backends, max_shown = BACKENDS, MAX_SHOWN
    choices = ", ".join(map(repr, BACKENDS))

    def shown(value: object) -> str:
        """``repr(value)`` cut to ``MAX_SHOWN`` characters, never failing on a huge int."""
        if type(value) is int and value.bit_length() > 4 * max_shown:
            # repr() of a huge int is slow, and refused past 4300 digits.
            return f"<int of {value.bit_length()} bits>"
        try:
            text = repr(value)
        except Exception:
            return f"<{type(value).__name__} object>"
        return text if len(text) <= max_shown else text[: max_shown - 1] + "…"

    def check_address(address: object) -> str | None:
        if address is None:
            return None
        if not isinstance(address, str):
            raise TypeError(
                f"address must be a str or None, got {shown(address)} "
                f"of type {type(address).__name__}"
            )
        try:
            address.encode("utf-8")
        except UnicodeEncodeError:
            # os.fsdecode() of a non-UTF-8 path gives lone surrogates.
            raise ValueError(
                f"address must be valid UTF-8 text, got {shown(address)}: "
                "a socket path that is not UTF-8 is not supported"
            ) from None
        return address

    def check_options(timeout: object, retries: object, backend: object) -> tuple[float, int, str]:
        kind = type(timeout)
        # Plain ints and floats first, without the numbers ABCs.
        if (kind is not float and kind is not int) and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float, real))
        ):
            raise TypeError(
                f"timeout must be a number of seconds (int or float), got {shown(timeout)} "
                f"of type {kind.__name__}"
            )
        try:
            seconds = float(timeout)  # type: ignore[arg-type]
        except OverflowError:  # an int or Fraction too large for a float
            seconds = inf
        if not (isfinite(seconds) and min_timeout <= seconds <= max_timeout):
            raise ValueError(
                f"timeout must be a number of seconds from {min_timeout:g} to {max_timeout:g}, "
                f"got {shown(timeout)}"
            )
        kind = type(retries)
        if kind is not int and (
            isinstance(retries, bool) or not isinstance(retries, (int, integral))
        ):
            raise TypeError(f"retries must be an int, got {shown(retries)} of type {kind.__name__}")
        count = int(retries)  # type: ignore[call-overload]
        if not 0 <= count <= max_retries:
            raise ValueError(f"retries must be between 0 and {max_retries}, got {shown(retries)}")
        if not isinstance(backend, str):
            raise TypeError(
                f"backend must be a str, one of {choices}; "
                f"got {shown(backend)} of type {type(backend).__name__}"
            )
        if backend not in backends:
            raise ValueError(f"unknown backend {shown(backend)}: expected one of {choices}")
        return seconds, count, backend

    return check_address, check_options


_check_address, _validate_options = _make_checks()

_validate_options.__doc__ = """Check the connection options and return them normalised.

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


def _make_not_open() -> "Callable[..., NoReturn]":
    """Build the stand-in for ``Client.read`` while a connection is not open.

    The message is bound in its closure, for calls made after finalisation
    has cleared this module's namespace (see ``_make_checks``).
    """
    message = _OUTSIDE_WITH

    def not_open(*_args: object, **_kwargs: object) -> NoReturn:
        raise RuntimeError(message)

    return not_open


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
        ValueError: ``address`` is not valid UTF-8 text (a path decoded with
            ``os.fsdecode``), an option is out of range, or ``backend`` is
            unknown.
    """

    # Bound on the class, not looked up in module globals: a connection made
    # while the interpreter shuts down (from __del__ or atexit) still works
    # after finalisation has cleared this module's namespace.
    _check_address = staticmethod(_check_address)
    _check_options = staticmethod(_validate_options)
    _new_lock = staticmethod(threading.Lock)
    _client_class = staticmethod(_client_class)
    _outside_with = _OUTSIDE_WITH
    _not_open = staticmethod(_make_not_open())

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float = 1.0,
        retries: int = 2,
        backend: str = "native",
    ) -> None:
        """Store the address and options; nothing is opened until ``with``."""
        self._address = self._check_address(address)
        self._timeout, self._retries, self._backend = self._check_options(timeout, retries, backend)
        # Guards only opening and closing, so two threads cannot both open (and
        # leak) a client; queries never take it.
        self._state_lock = self._new_lock()
        self._client: Client | None = None
        #: ``Client.read`` of the open client, bound when the ``with`` block
        #: is entered, so that a report costs one attribute lookup and one
        #: call; outside the block the same call raises RuntimeError.
        self._read: Callable[..., Any] = self._not_open
        #: ``Client.read_optional`` of the open client, bound likewise.
        self._read_opt: Callable[[str], Any] = self._not_open

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
            client = self._client_class()(
                self._address, self._timeout, self._retries, self._backend
            )
            self._client, self._read = client, client.read
            self._read_opt = client.read_optional
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
            self._read = self._read_opt = self._not_open
        if client is not None:
            client.close()

    def _require_client(self) -> "Client":
        """Return the open client (a local reference, safe against a concurrent close).

        Raises:
            RuntimeError: The connection is not open.
        """
        client = self._client
        if client is None:
            raise RuntimeError(self._outside_with)
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
        report: TrackingStatus = self._read("tracking")
        return report

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
        report: list[Source] = self._read("sources")
        return report

    def get_source_stats(self) -> list[SourceStats]:
        """Read the statistics of every source (``chronyc sourcestats``).

        Returns:
            One ``SourceStats`` per source, in chronyd's order.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyDataError: A reply is malformed or holds invalid values.
        """
        report: list[SourceStats] = self._read("sourcestats")
        return report

    def get_activity(self) -> Activity:
        """Read how many sources are online, offline or bursting (``chronyc activity``).

        Returns:
            The current ``Activity``.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyDataError: The reply is malformed or holds invalid values.
        """
        report: Activity = self._read("activity")
        return report

    def get_server_stats(self) -> ServerStats:
        """Read what chronyd served as a server (``chronyc serverstats``).

        chronyd serves this report on its Unix socket only (on 4.7 and
        later also on the UDP command port when ``opencommands`` lists
        ``serverstats``).

        Returns:
            The current ``ServerStats``.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyUnauthorizedError: Connected over UDP, where chronyd refuses
                the command (also a ``ChronyDataError``).
            ChronyDataError: The reply is malformed or holds invalid values.
        """
        report: ServerStats = self._read("serverstats")
        return report

    def get_smoothing(self) -> Smoothing | None:
        """Read the state of time smoothing (``chronyc smoothing``).

        Returns:
            The ``Smoothing``, or None when smoothing is not enabled (no
            ``smoothtime`` directive).

        Raises:
            RuntimeError: Called outside a ``with`` block.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyDataError: The reply is malformed or holds invalid values.
        """
        report: Smoothing | None = self._read_optional("smoothing")
        return report

    def get_source_name(self, address: str) -> str:
        """Read the name a source was configured with (``chronyc -N sources``).

        Args:
            address: The source's address as ``Source.address`` holds it:
                an IPv4 or IPv6 address, or ``ID#NNNNNNNNNN`` for a source
                whose name is not resolved yet.

        Returns:
            The name as given in chrony.conf (a host name or the address).

        Raises:
            RuntimeError: Called outside a ``with`` block.
            TypeError: ``address`` is not a ``str``.
            ValueError: ``address`` is not a source address (a reference
                clock has none).
            ChronyConnectionError: chronyd did not answer in time.
            ChronyDataError: No NTP source has that address (status 503),
                or the reply is malformed.
            ChronyLibraryError: With the ``libchrony`` backend, which has no
                such report.
        """
        if not isinstance(address, str):
            raise TypeError(f"address must be a str, not {type(address).__name__}")
        report: str = self._read("sourcename", address=address)
        return report

    def get_manual_list(self) -> list[ManualSample]:
        """Read the samples entered with ``chronyc settime`` (``chronyc manual list``).

        Returns:
            One ``ManualSample`` per sample, oldest first; empty when there
            are none.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyDataError: The reply is malformed or holds invalid values.
            ChronyLibraryError: With the ``libchrony`` backend, which has no
                such report.
        """
        report: list[ManualSample] = self._read("manual list")
        return report

    def get_ntp_data(self, address: str | None = None) -> list[NTPData]:
        """Read the last NTP exchange with each NTP source (``chronyc ntpdata``).

        chronyd serves this report on its Unix socket only (on 4.7 and
        later also on the UDP command port when ``opencommands`` lists
        ``ntpdata``).

        Args:
            address: Only the source with this address, as
                ``Source.address`` holds it (an IP address, or
                ``ID#NNNNNNNNNN`` for a source not resolved yet); None for
                every NTP source.

        Returns:
            One ``NTPData`` per NTP source, in chronyd's order (reference
            clocks have none; sources not resolved yet are listed only when
            asked for by address, as chronyc does); only the one source
            when ``address`` is given.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            TypeError: ``address`` is not a ``str`` or None.
            ValueError: ``address`` is not a source address.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyUnauthorizedError: Connected over UDP, where chronyd refuses
                the command (also a ``ChronyDataError``).
            ChronyDataError: No NTP source has that address (status 503),
                or the reply is malformed.
        """
        report: list[NTPData] = self._read_by_address("ntpdata", address)
        return report

    def get_select_data(self) -> list[SelectData]:
        """Read how source selection sees each source (``chronyc selectdata -a``).

        chronyd serves this report on its Unix socket only (on 4.7 and
        later also on the UDP command port when ``opencommands`` lists
        ``selectdata``).

        Returns:
            One ``SelectData`` per source, reference clocks and sources not
            resolved yet included, in chronyd's order.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyUnauthorizedError: Connected over UDP, where chronyd refuses
                the command (also a ``ChronyDataError``).
            ChronyDataError: The reply is malformed or holds invalid values.
        """
        report: list[SelectData] = self._read("selectdata")
        return report

    def get_auth_data(self, address: str | None = None) -> list[AuthData]:
        """Read how each NTP source is authenticated (``chronyc authdata -a``).

        chronyd serves this report on its Unix socket only (on 4.7 and
        later also on the UDP command port when ``opencommands`` lists
        ``authdata``).

        Args:
            address: Only the source with this address, as
                ``Source.address`` holds it; None for every NTP source.

        Returns:
            One ``AuthData`` per NTP source (sources not resolved yet
            included; reference clocks have none), in chronyd's order; only
            the one source when ``address`` is given.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            TypeError: ``address`` is not a ``str`` or None.
            ValueError: ``address`` is not a source address.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyUnauthorizedError: Connected over UDP, where chronyd refuses
                the command (also a ``ChronyDataError``).
            ChronyDataError: No NTP source has that address (status 503),
                or the reply is malformed.
        """
        report: list[AuthData] = self._read_by_address("authdata", address)
        return report

    def get_clients(self) -> list[ClientAccess]:
        """Read the clients chronyd has served (``chronyc clients``, ``-k``).

        Only reads: the counters are never reset. chronyd serves this report
        on its Unix socket only (on 4.7 and later also on the UDP command
        port when ``opencommands`` lists ``clients``).

        Returns:
            One ``ClientAccess`` per client in chronyd's client log, read
            page by page until chronyd says the table ends.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyUnauthorizedError: Connected over UDP, where chronyd refuses
                the command (also a ``ChronyDataError``).
            ChronyDataError: Client logging is disabled (``noclientlog``),
                or the reply is malformed.
            ChronyLibraryError: With the ``libchrony`` backend, which has no
                such report.
        """
        report: list[ClientAccess] = self._read("clients")
        return report

    def _read_by_address(self, name: str, address: str | None) -> Any:
        """Read the per-source report ``name``: every NTP source, or the one at ``address``."""
        if address is None:
            return self._read(name)
        if not isinstance(address, str):
            raise TypeError(f"address must be a str or None, not {type(address).__name__}")
        return self._read(name, address=address)

    def get_rtc_data(self) -> RTCData | None:
        """Read the real-time clock report (``chronyc rtcdata``).

        Returns:
            The ``RTCData``, or None when chronyd does not track an RTC.

        Raises:
            RuntimeError: Called outside a ``with`` block.
            ChronyConnectionError: chronyd did not answer in time.
            ChronyDataError: The reply is malformed or holds invalid values.
        """
        report: RTCData | None = self._read_optional("rtcdata")
        return report

    def _read_optional(self, name: str) -> Any:
        """Read the optional report ``name``, or None when chronyd lacks it.

        chronyd lacks an optional report when the facility it needs is not
        configured (no RTC, no ``smoothtime``). The client says so with None
        (``Client.read_optional``), not with an exception to catch.
        """
        return self._read_opt(name)
