"""Read chronyd's monitoring reports from Python.

pychrony talks to chronyd (the chrony NTP daemon) over its Unix socket or its
UDP command port and returns the reports ``chronyc`` prints (``tracking``,
``sources``, ``sourcestats``, ``ntpdata``, ``selectdata`` and the others of
``pychrony.registry.REPORTS``) as frozen dataclasses. The protocol
client is written in Rust; this package is a drop-in replacement for
pychrony 2.0.3.

A connection serves several queries::

    from pychrony import ChronyConnection

    with ChronyConnection() as conn:  # or ChronyConnection("127.0.0.1")
        status = conn.get_tracking()
        if status.is_synchronized():
            print(f"{status.reference_id_name}: offset {status.offset:+.9f} s")
        for src in conn.get_sources():
            print(src.address, src.state.name, src.stratum)
        rtc = conn.get_rtc_data()  # None when chronyd does not track an RTC

One-call helpers open and close a connection each time::

    import pychrony

    status = pychrony.get_tracking(timeout=0.5)
    stats = pychrony.get_source_stats("/run/chrony/chronyd.sock")

Errors derive from ``ChronyError``: ``ChronyConnectionError`` (chronyd not
reachable), ``ChronyPermissionError`` (socket access denied; the command port
at 127.0.0.1 is an alternative), ``ChronyDataError`` (unusable reply) and
``ChronyLibraryError`` (the optional libchrony backend is missing).
"""

# ``import pychrony`` loads nothing else: each public name is imported from
# its module the first time it is used (PEP 562), so a script pays only for
# what it uses and a monitoring check starts fast. Type checkers read the
# imports below instead.
TYPE_CHECKING = False
if TYPE_CHECKING:
    # (pychrony 2.0.3's own imports, and its submodules: re-exported)
    from importlib.metadata import PackageNotFoundError as PackageNotFoundError
    from importlib.metadata import version as version

    from pychrony import exceptions as exceptions
    from pychrony import models as models
    from pychrony import testing as testing
    from pychrony._api import (
        get_activity,
        get_auth_data,
        get_clients,
        get_manual_list,
        get_ntp_data,
        get_rtc_data,
        get_select_data,
        get_server_stats,
        get_smoothing,
        get_source_name,
        get_source_stats,
        get_sources,
        get_tracking,
    )
    from pychrony._connection import ChronyConnection
    from pychrony._serialize import from_dict, to_dict
    from pychrony._sync import wait_sync
    from pychrony.exceptions import (
        ChronyConnectionError,
        ChronyDataError,
        ChronyError,
        ChronyLibraryError,
        ChronyNotSynchronizedError,
        ChronyPermissionError,
        ChronyUnauthorizedError,
    )
    from pychrony.models import (
        Activity,
        AuthData,
        AuthMode,
        ClientAccess,
        LeapStatus,
        ManualSample,
        NTPData,
        NTPMode,
        NTPTests,
        RTCData,
        SelectData,
        SelectOptions,
        SelectState,
        ServerStats,
        Smoothing,
        Source,
        SourceMode,
        SourceState,
        SourceStats,
        TimestampSource,
        TrackingStatus,
        Transport,
    )

    __version__: str

#: The modules that hold the public names of ``__all__``, lightest first:
#: ``__getattr__`` imports them in turn until one has the name.
_HOMES = (
    "pychrony.exceptions",
    "pychrony.models",
    "pychrony._connection",
    "pychrony._api",
    "pychrony._serialize",
    "pychrony._sync",
)
#: pychrony 2.0.3 has these in its namespace (its own imports).
_METADATA = ("version", "PackageNotFoundError")
#: Submodules reachable as attributes, as after ``import pychrony.models``.
_SUBMODULES = ("exceptions", "models", "testing")


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pychrony-rs")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+unknown"


if not TYPE_CHECKING:  # type checkers see the imports above, not this

    def __getattr__(name: str) -> object:
        """A public name, imported on first use and kept (PEP 562)."""
        import importlib

        if name == "__version__":
            value: object = _package_version()
        elif name in _METADATA:
            value = getattr(importlib.import_module("importlib.metadata"), name)
        elif name in _SUBMODULES:
            value = importlib.import_module(f"{__name__}.{name}")
        else:
            homes = (importlib.import_module(home) for home in _HOMES)
            found = name in __all__ and next((m for m in homes if hasattr(m, name)), None)
            if not found:
                raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
            value = getattr(found, name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__, *_METADATA, *_SUBMODULES})


del TYPE_CHECKING  # not a public name

__all__ = [  # noqa: RUF022 - upstream order first, pinned by tests/contract
    "__version__",
    "ChronyConnection",
    "LeapStatus",
    "SourceState",
    "SourceMode",
    "Transport",
    "TrackingStatus",
    "Source",
    "SourceStats",
    "RTCData",
    "ChronyError",
    "ChronyConnectionError",
    "ChronyPermissionError",
    "ChronyDataError",
    "ChronyLibraryError",
    # Additions over pychrony 2.0.3:
    "get_tracking",
    "get_sources",
    "get_source_stats",
    "get_rtc_data",
    "Activity",
    "get_activity",
    "ServerStats",
    "get_server_stats",
    "ChronyUnauthorizedError",
    "Smoothing",
    "get_smoothing",
    "get_source_name",
    "ManualSample",
    "get_manual_list",
    "NTPMode",
    "TimestampSource",
    "NTPTests",
    "NTPData",
    "get_ntp_data",
    "SelectState",
    "SelectOptions",
    "SelectData",
    "get_select_data",
    "AuthMode",
    "AuthData",
    "get_auth_data",
    "ClientAccess",
    "get_clients",
    # The command line's helpers (issue 12):
    "to_dict",
    "from_dict",
    "wait_sync",
    "ChronyNotSynchronizedError",
]
