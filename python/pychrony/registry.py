"""Every report pychrony reads, as data.

The command line, exporters and tests walk this instead of listing reports by
hand. Each ``ReportInfo`` names a report as ``chronyc`` does, the
``ChronyConnection`` method and module-level function that read it (the same
name), the dataclass of one record, its shape and whether chronyd serves it on
its UDP command port by default. The Rust core holds the same registration
(``chrony_core::REGISTRY``); ``tests/unit/test_registry.py`` checks that the
two, the methods, the functions and the testing factories agree. Reading it
does not load the compiled extension.

Example::

    from pychrony.registry import REPORTS

    for report in REPORTS:
        print(report.name, report.method, report.dataclass.__name__, report.shape)
"""

from dataclasses import dataclass
from typing import Literal

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

__all__ = ["REPORTS", "ReportInfo", "Shape", "by_name"]

#: ``"single"``: one record; ``"optional"``: one record, or None when chronyd
#: does not provide the report (the module function raises instead);
#: ``"list"``: a list of records (one per source, one per NTP source for
#: ``ntpdata`` and ``authdata``, every page of ``clients``, or the list one
#: reply holds, such as ``manual list``'s samples); ``"text"``: a ``str`` (``dataclass`` is
#: ``str``).
Shape = Literal["single", "optional", "list", "text"]


@dataclass(frozen=True)
class ReportInfo:
    """One report's registration."""

    #: chronyc's command name, e.g. ``"sourcestats"``.
    name: str
    #: The ``ChronyConnection`` method and the module-level function.
    method: str
    #: The dataclass of one record, in ``pychrony.models`` (``str`` for a
    #: text report).
    dataclass: type
    #: One record, maybe none, or a list.
    shape: Shape
    #: The report's own keyword arguments, in order (optional for
    #: ``ntpdata`` and ``authdata``, whose ``address`` picks one source).
    args: tuple[str, ...]
    #: Served on chronyd's UDP command port by default (else on its Unix
    #: socket only).
    udp: bool
    #: Its ``pychrony.testing`` factory, which builds one record.
    factory: str


REPORTS: tuple[ReportInfo, ...] = (
    ReportInfo("tracking", "get_tracking", TrackingStatus, "single", (), True, "make_tracking"),
    ReportInfo("sources", "get_sources", Source, "list", (), True, "make_source"),
    ReportInfo(
        "sourcestats", "get_source_stats", SourceStats, "list", (), True, "make_source_stats"
    ),
    ReportInfo("rtcdata", "get_rtc_data", RTCData, "optional", (), True, "make_rtc_data"),
    ReportInfo("activity", "get_activity", Activity, "single", (), True, "make_activity"),
    ReportInfo(
        "serverstats", "get_server_stats", ServerStats, "single", (), False, "make_server_stats"
    ),
    ReportInfo("smoothing", "get_smoothing", Smoothing, "optional", (), True, "make_smoothing"),
    ReportInfo(
        "sourcename", "get_source_name", str, "text", ("address",), True, "make_source_name"
    ),
    ReportInfo(
        "manual list", "get_manual_list", ManualSample, "list", (), True, "make_manual_sample"
    ),
    ReportInfo("ntpdata", "get_ntp_data", NTPData, "list", ("address",), False, "make_ntp_data"),
    ReportInfo("selectdata", "get_select_data", SelectData, "list", (), False, "make_select_data"),
    ReportInfo(
        "authdata", "get_auth_data", AuthData, "list", ("address",), False, "make_auth_data"
    ),
    ReportInfo("clients", "get_clients", ClientAccess, "list", (), False, "make_client_access"),
)


def by_name(name: str) -> ReportInfo:
    """Return the report called ``name`` as chronyc calls it.

    Raises:
        KeyError: No report has that name.
    """
    for report in REPORTS:
        if report.name == name:
            return report
    raise KeyError(f"no report {name!r}; the reports are {', '.join(r.name for r in REPORTS)}")
