"""Type stubs for ``pychrony._core``, the compiled Rust extension.

This module is private: ``pychrony.ChronyConnection`` and the module-level
``get_*`` functions are the public way to use it. The extension builds the
``pychrony.models`` dataclasses itself and raises the ``pychrony.exceptions``
classes, so nothing here needs converting on the Python side.
"""

from typing import Any, Final, final

__all__ = ["CORE_VERSION", "PROTOCOL_VERSION", "Client", "reports"]

CORE_VERSION: Final[str]
"""The compiled core's version (the Cargo workspace version, as in the wheel)."""

PROTOCOL_VERSION: Final[int]
"""The version of chronyd's command protocol the core speaks (6)."""

@final
class Client:
    """A connection to chronyd, implemented in Rust.

    Safe to share between threads: each method releases the GIL while it waits
    for chronyd, and the object serialises access to its socket itself.
    """

    def __new__(
        cls,
        address: str | None,
        timeout: float,
        retries: int,
        backend: str = "native",
    ) -> Client:
        """Connect to chronyd now.

        Args:
            address: Where chronyd listens: an absolute path to its Unix
                socket, a host name or IP address (UDP command port 323), or
                ``host:port`` / ``[ipv6]:port``. None tries chronyd's default
                Unix socket, then 127.0.0.1 and ::1 on port 323, as chronyc
                does.
            timeout: Seconds to wait for the first reply; each resend doubles
                the wait, and a call ends within timeout * (2^(retries+1) - 1).
            retries: How many times a request is re-sent after a timeout.
            backend: ``"native"`` (the built-in protocol client) or
                ``"libchrony"`` (libchrony, loaded at run time).

        Raises:
            ChronyConnectionError: No candidate address could be opened.
            ChronyPermissionError: The Unix socket exists but access is denied.
            ChronyLibraryError: The ``libchrony`` backend cannot be loaded.
            ValueError: ``backend`` names no known backend.
        """

    @property
    def address(self) -> str:
        """The address actually in use (a socket path or ``host:port``)."""

    @property
    def transport(self) -> str:
        """``"unix_socket"`` or ``"command_port"``: the values of ``pychrony.models.Transport``."""

    def read(self, name: str, **kwargs: str) -> Any:
        """Read the report registered as ``name`` (see ``reports()``).

        Args:
            name: The report, as chronyc calls it.
            **kwargs: The report's own arguments (its registration's
                ``args``), as text, e.g. ``address="ID#0000000001"``.

        Returns:
            Its ``pychrony.models`` dataclass, a list of them for a list
            report, or a ``str`` for a text report.

        Raises:
            pychrony.exceptions._ReportUnavailableError: chronyd does not
                provide an optional report (``rtcdata`` without an RTC,
                ``smoothing`` without ``smoothtime``).
            ChronyConnectionError: chronyd did not answer, the client is
                closed, or ``name`` is not a report.
            ChronyDataError: A reply is malformed or holds invalid values.
            TypeError: An argument is not a ``str``.
            ValueError: The report takes no such argument, misses one, or
                cannot parse one.
        """

    def read_optional(self, name: str) -> Any:
        """Read the optional report ``name`` like ``read``, or return None.

        Args:
            name: The report (``"rtcdata"`` or ``"smoothing"``).

        Returns:
            Its dataclass, or None when chronyd does not provide it (no RTC,
            no ``smoothtime``); no exception is made for that case.

        Raises:
            ChronyConnectionError: chronyd did not answer, the client is
                closed, or ``name`` is not a report.
            ChronyDataError: A reply is malformed or holds invalid values.
        """

    def close(self) -> None:
        """Close the connection; calling it again does nothing.

        After closing, every query method raises ``ChronyConnectionError``.
        """

def reports() -> list[dict[str, Any]]:
    """Return every report's registration, in chronyc's order.

    Each dict has ``name`` (chronyc's command), ``method`` (the
    ``ChronyConnection`` method and module function), ``dataclass`` (its
    class in ``pychrony.models``, or ``"str"`` for a text report), ``shape``
    (``"single"``, ``"optional"``, ``"list"`` or ``"text"``), ``args`` (the
    report's own keyword arguments) and ``udp`` (served on chronyd's UDP
    command port by default).
    """
