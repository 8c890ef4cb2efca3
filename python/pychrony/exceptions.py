"""Exceptions raised by pychrony.

The classes are defined here, in Python, and the Rust extension raises these
very classes, so ``except``, ``isinstance`` and pickling behave as for any
Python exception.

Every class keeps its message in ``.message`` and an optional numeric code in
``.error_code``. The code says where a failure came from (for example a
chronyd reply status or an OS error number); ``None`` means there is none.
``args`` holds only the message, so ``repr()`` shows just the message while
``str()`` appends the code.
"""


class ChronyError(Exception):
    """Base class of every error pychrony raises on purpose.

    Args:
        message: Human-readable description of the failure.
        error_code: Optional numeric code giving more detail, or None.

    Attributes:
        message: The description given to the constructor.
        error_code: The code given to the constructor, or None.
    """

    # No "-> None" on the constructors: upstream has none, and the surface
    # contract compares signatures exactly.
    def __init__(self, message: str, error_code: int | None = None):
        """Store the message and the optional error code."""
        super().__init__(message)
        self.message = message
        self.error_code = error_code

    def __str__(self) -> str:
        """Return the message, followed by ``(error code: N)`` when a code is set."""
        if self.error_code is None:
            return self.message
        return f"{self.message} (error code: {self.error_code})"


class ChronyConnectionError(ChronyError):
    """chronyd could not be reached or stopped answering.

    Raised when no socket or command port accepts the connection, when a
    request times out after every retry, or when the connection was closed.
    """


class ChronyPermissionError(ChronyError):
    """chronyd's socket exists but this process may not use it.

    chronyd's Unix socket is normally reserved to root and the chrony user;
    the UDP command port (e.g. ``ChronyConnection("127.0.0.1")``) is an
    alternative for monitoring.
    """


class ChronyDataError(ChronyError):
    """chronyd answered, but the reply cannot be turned into a report.

    Raised for malformed or truncated replies, values outside their valid
    range, or a reply status that reports failure.
    """


class ChronyLibraryError(ChronyError):
    """The ``libchrony`` backend is unavailable (library missing or unusable).

    Unlike the other classes it takes no error code; ``error_code`` is always
    None.

    Args:
        message: Human-readable description of the failure.
    """

    def __init__(self, message: str):
        """Store the message; the error code is always None."""
        super().__init__(message)


class ChronyUnauthorizedError(ChronyPermissionError, ChronyDataError):
    """chronyd refused the command on this transport ("501 Not authorised").

    chronyd serves some commands (``serverstats``, for example) on its Unix
    socket only; over the UDP command port it answers them with status 2.
    Connect through the Unix socket (root or chrony's user), or, on chronyd
    4.7 or later, list the command in ``opencommands`` in chrony.conf. It is
    both a ``ChronyPermissionError`` (what it is) and a ``ChronyDataError``
    (what pychrony 2.0.3's reports raised for it, so existing ``except
    ChronyDataError`` handlers still catch it). ``error_code`` is 9,
    libchrony's ``CHRONY_UNAUTHORIZED``. An addition over pychrony 2.0.3.
    """


class _ReportUnavailableError(ChronyDataError):
    """chronyd does not provide an optional report: the facility it needs is off.

    Raised by the extension when chronyd answers "RTC driver not running"
    (``rtcdata``: no RTC driver, no ``rtcfile`` directive, or the RTC
    unavailable) or "facility not enabled" (``smoothing`` without a
    ``smoothtime`` directive). ``ChronyConnection.get_rtc_data`` and
    ``get_smoothing`` turn it into ``None``; the module-level functions let it
    through, where it is caught as a ``ChronyDataError``.
    """


class ChronySubinterpreterError(ChronyError, ImportError):
    """pychrony was called in a sub-interpreter, which it cannot serve.

    The compiled part of pychrony (a PyO3 extension) can be loaded by only
    one interpreter per process, the main one. Calls from a sub-interpreter
    raise this error before the extension is touched, so the main
    interpreter keeps working. It is also an ``ImportError`` (what the
    extension's import would raise), so existing ``except ImportError``
    handlers still catch it. ``error_code`` is None. An addition over
    pychrony 2.0.3.
    """


class ChronyNotSynchronizedError(ChronyError):
    """chronyd did not become synchronised within the tries ``wait_sync`` had.

    Raised by ``pychrony.wait_sync`` (and reported by ``pychrony waitsync``)
    when the last try still found chronyd unsynchronised, or its correction
    or skew above the limits given. ``error_code`` is None. An addition over
    pychrony 2.0.3.
    """
