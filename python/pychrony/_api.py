"""One-call helpers: open a connection, read one report, close it.

These are additions over upstream pychrony 2.0.3 (which only has
``ChronyConnection``). Each call opens its own connection; to read several
reports, a single ``with ChronyConnection() as conn:`` block is cheaper.
"""

from typing import cast

from pychrony._connection import ChronyConnection
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
)

__all__ = [
    "get_activity",
    "get_auth_data",
    "get_clients",
    "get_manual_list",
    "get_ntp_data",
    "get_rtc_data",
    "get_select_data",
    "get_server_stats",
    "get_smoothing",
    "get_source_name",
    "get_source_stats",
    "get_sources",
    "get_tracking",
]


def get_tracking(
    socket_path: str | None = None,
    *,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> TrackingStatus:
    """Read chronyd's tracking report (``chronyc tracking``) in one call.

    Args:
        socket_path: Where chronyd listens, in any form ``ChronyConnection``
            accepts (Unix socket path, host, ``host:port``); None for the
            default search.
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` or ``"libchrony"``.

    Returns:
        The current ``TrackingStatus``.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range or the backend is unknown.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyDataError: The reply is malformed or holds invalid values.
        ChronyLibraryError: The ``libchrony`` backend cannot be loaded.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        return conn.get_tracking()


def get_sources(
    socket_path: str | None = None,
    *,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> list[Source]:
    """Read every time source (``chronyc sources``) in one call.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search.
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` or ``"libchrony"``.

    Returns:
        One ``Source`` per source, in chronyd's order.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range or the backend is unknown.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyDataError: A reply is malformed or holds invalid values.
        ChronyLibraryError: The ``libchrony`` backend cannot be loaded.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        return conn.get_sources()


def get_source_stats(
    socket_path: str | None = None,
    *,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> list[SourceStats]:
    """Read the statistics of every source (``chronyc sourcestats``) in one call.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search.
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` or ``"libchrony"``.

    Returns:
        One ``SourceStats`` per source, in chronyd's order.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range or the backend is unknown.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyDataError: A reply is malformed or holds invalid values.
        ChronyLibraryError: The ``libchrony`` backend cannot be loaded.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        return conn.get_source_stats()


def get_rtc_data(
    socket_path: str | None = None,
    *,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> RTCData:
    """Read the real-time clock report (``chronyc rtcdata``) in one call.

    Unlike ``ChronyConnection.get_rtc_data``, this never returns None: when
    chronyd does not track an RTC it raises a ``ChronyDataError``.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search.
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` or ``"libchrony"``.

    Returns:
        The ``RTCData``.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range or the backend is unknown.
        ChronyDataError: chronyd does not track an RTC (a private subclass
            marks this case), or the reply is malformed.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyLibraryError: The ``libchrony`` backend cannot be loaded.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        # Ask the client directly: the method on ChronyConnection maps "no RTC"
        # to None, which this function's contract does not allow.
        return cast(RTCData, conn._require_client().read("rtcdata"))


def get_activity(
    socket_path: str | None = None,
    *,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> Activity:
    """Read how many sources are online, offline or bursting (``chronyc activity``) in one call.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search.
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` or ``"libchrony"``.

    Returns:
        The current ``Activity``.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range or the backend is unknown.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyDataError: The reply is malformed or holds invalid values.
        ChronyLibraryError: The ``libchrony`` backend cannot be loaded.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        return conn.get_activity()


def get_server_stats(
    socket_path: str | None = None,
    *,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> ServerStats:
    """Read what chronyd served as a server (``chronyc serverstats``) in one call.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search. chronyd serves this report on its Unix
            socket only, unless ``opencommands`` (4.7+) opens it.
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` or ``"libchrony"``.

    Returns:
        The current ``ServerStats``.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range or the backend is unknown.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyUnauthorizedError: chronyd refused the command over UDP (also a
            ``ChronyDataError``).
        ChronyDataError: The reply is malformed or holds invalid values.
        ChronyLibraryError: The ``libchrony`` backend cannot be loaded.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        return conn.get_server_stats()


def get_smoothing(
    socket_path: str | None = None,
    *,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> Smoothing:
    """Read the state of time smoothing (``chronyc smoothing``) in one call.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search.
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` or ``"libchrony"``.

    Returns:
        The current ``Smoothing``.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range or the backend is unknown.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyDataError: Smoothing is not enabled (no ``smoothtime``
            directive), or the reply is malformed or holds invalid values.
        ChronyLibraryError: The ``libchrony`` backend cannot be loaded.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        # Ask the client directly: the method maps "not enabled" to None,
        # which this function's contract does not allow.
        return cast(Smoothing, conn._require_client().read("smoothing"))


def get_source_name(
    socket_path: str | None = None,
    *,
    address: str,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> str:
    """Read the name a source was configured with (``chronyc -N``) in one call.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search.
        address: The source's address as ``Source.address`` holds it (an IP
            address, or ``ID#NNNNNNNNNN`` for an unresolved source).
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` (``"libchrony"`` has no such report).

    Returns:
        The name as given in chrony.conf.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range, the backend is unknown, or
            ``address`` is not a source address.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyDataError: No NTP source has that address, or the reply is
            malformed.
        ChronyLibraryError: The ``libchrony`` backend, which lacks the report.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        return conn.get_source_name(address)


def get_manual_list(
    socket_path: str | None = None,
    *,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> list[ManualSample]:
    """Read the samples entered with ``chronyc settime`` (``chronyc manual list``) in one call.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search.
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` (``"libchrony"`` has no such report).

    Returns:
        One ``ManualSample`` per sample, oldest first.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range or the backend is unknown.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyDataError: The reply is malformed or holds invalid values.
        ChronyLibraryError: The ``libchrony`` backend, which lacks the report.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        return conn.get_manual_list()


def get_ntp_data(
    socket_path: str | None = None,
    *,
    address: str | None = None,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> list[NTPData]:
    """Read the last NTP exchange with each NTP source (``chronyc ntpdata``) in one call.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search. chronyd serves the report on its Unix socket.
        address: Only the source with this address, as ``Source.address``
            holds it; None for every NTP source.
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` or ``"libchrony"``.

    Returns:
        One ``NTPData`` per NTP source (see ``ChronyConnection.get_ntp_data``).

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range, the backend is unknown, or
            ``address`` is not a source address.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyUnauthorizedError: Asked over UDP, where chronyd refuses it.
        ChronyDataError: No NTP source has that address, or the reply is
            malformed.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        return conn.get_ntp_data(address)


def get_select_data(
    socket_path: str | None = None,
    *,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> list[SelectData]:
    """Read how source selection sees each source (``chronyc selectdata -a``) in one call.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search. chronyd serves the report on its Unix socket.
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` or ``"libchrony"``.

    Returns:
        One ``SelectData`` per source, reference clocks included.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range or the backend is unknown.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyUnauthorizedError: Asked over UDP, where chronyd refuses it.
        ChronyDataError: The reply is malformed or holds invalid values.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        return conn.get_select_data()


def get_auth_data(
    socket_path: str | None = None,
    *,
    address: str | None = None,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> list[AuthData]:
    """Read how each NTP source is authenticated (``chronyc authdata -a``) in one call.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search. chronyd serves the report on its Unix socket.
        address: Only the source with this address, as ``Source.address``
            holds it; None for every NTP source.
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` or ``"libchrony"``.

    Returns:
        One ``AuthData`` per NTP source (see ``ChronyConnection.get_auth_data``).

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range, the backend is unknown, or
            ``address`` is not a source address.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyUnauthorizedError: Asked over UDP, where chronyd refuses it.
        ChronyDataError: No NTP source has that address, or the reply is
            malformed.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        return conn.get_auth_data(address)


def get_clients(
    socket_path: str | None = None,
    *,
    timeout: float = 1.0,
    retries: int = 2,
    backend: str = "native",
) -> list[ClientAccess]:
    """Read the clients chronyd has served (``chronyc clients``) in one call.

    Only reads: the counters are never reset.

    Args:
        socket_path: Where chronyd listens (see ``get_tracking``); None for
            the default search. chronyd serves the report on its Unix socket.
        timeout: Seconds to wait for the first reply (0.001 to 3600); each
            resend doubles the wait, and the call ends within
            ``timeout * (2 ** (retries + 1) - 1)`` seconds.
        retries: Re-sends after a timeout (0 to 30).
        backend: ``"native"`` (``"libchrony"`` has no such report).

    Returns:
        One ``ClientAccess`` per client in chronyd's client log.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An option is out of range or the backend is unknown.
        ChronyConnectionError: chronyd cannot be reached or did not answer.
        ChronyPermissionError: chronyd's socket exists but access is denied.
        ChronyUnauthorizedError: Asked over UDP, where chronyd refuses it.
        ChronyDataError: Client logging is disabled, or the reply is
            malformed.
        ChronyLibraryError: The ``libchrony`` backend, which lacks the report.
    """
    with ChronyConnection(socket_path, timeout=timeout, retries=retries, backend=backend) as conn:
        return conn.get_clients()
