"""Each report's table and CSV layout, as ``chronyc -n`` and ``chronyc -c -n`` print it.

Keyed by the report's registry name.

The layouts use the field names of ``pychrony.models``; a report of the
registry without a layout here is printed as ``field: value`` lines (table)
and its fields in order (CSV), so a new report still has both outputs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pychrony.cli._layout import (
    Line,
    Value,
    address_refid,
    bits,
    char,
    clientlog_interval,
    code,
    csv_line,
    date,
    duration,
    fixed,
    header,
    interval,
    leap,
    ntp_mode,
    octal,
    ppm,
    refid,
    refid_name,
    slow_fast,
    table_lines,
    text,
    timespec_text,
    timestamping,
    uint,
    yes_no,
)


@dataclass(frozen=True)
class Format:
    """How one report prints."""

    #: The record's lines (one line for a list report).
    layout: Sequence[Line]
    #: The column heading of a list report (chronyc's ``print_header``).
    title: str | None = None
    #: A status line chronyc prints before the report in a table
    #: (``200 OK``); called with the records.
    info: Callable[[Sequence[Any]], str] | None = None
    #: A blank line before each record (``ntpdata`` of every source).
    gap: bool = False
    #: Records are given as ``Indexed`` (``manual list`` numbers its samples).
    indexed: bool = False


@dataclass(frozen=True)
class Indexed:
    """A record and its position in the list."""

    index: int
    record: Any


def _in(name: str) -> Callable[[Indexed], Any]:
    return lambda row: getattr(row.record, name)


def _source_mode(source: Any) -> str:
    return {0: "^", 1: "=", 2: "#"}.get(code(source.mode), " ")


_STATE_CHARS = {0: "*", 1: "?", 2: "x", 3: "~", 4: "+", 5: "-"}


def _source_state(source: Any) -> str:
    return _STATE_CHARS.get(code(source.state), " ")


def _tracking_name(status: Any) -> str:
    return str(status.reference_ip) or refid_name(status.reference_id)


def _local_address(record: Any) -> str:
    return str(record.local_address) or "[UNSPEC]"


def _option_chars(attribute: str) -> list[Value]:
    """The five characters chronyc prints for source options (``NPTR-``)."""
    letters = ((0x1, "N"), (0x2, "P"), (0x4, "T"), (0x8, "R"))

    def letter(bit: int, shown: str) -> Value:
        return char(lambda r: shown if max(code(getattr(r, attribute)), 0) & bit else "-")

    return [*(letter(bit, shown) for bit, shown in letters), char(lambda r: "-")]


_AUTH_MODES = {0: "-", 1: "SK", 2: "NTS"}

_SERVERSTATS = (
    ("NTP packets received       : ", "ntp_packets_received"),
    ("NTP packets dropped        : ", "ntp_packets_dropped"),
    ("Command packets received   : ", "command_packets_received"),
    ("Command packets dropped    : ", "command_packets_dropped"),
    ("Client log records dropped : ", "client_log_records_dropped"),
    ("NTS-KE connections accepted: ", "nts_ke_connections_accepted"),
    ("NTS-KE connections dropped : ", "nts_ke_connections_dropped"),
    ("Authenticated NTP packets  : ", "authenticated_ntp_packets"),
    ("Interleaved NTP packets    : ", "interleaved_ntp_packets"),
    ("NTP timestamps held        : ", "ntp_timestamps_held"),
    ("NTP timestamp span         : ", "ntp_timestamp_span"),
    ("NTP daemon RX timestamps   : ", "ntp_daemon_rx_timestamps"),
    ("NTP daemon TX timestamps   : ", "ntp_daemon_tx_timestamps"),
    ("NTP kernel RX timestamps   : ", "ntp_kernel_rx_timestamps"),
    ("NTP kernel TX timestamps   : ", "ntp_kernel_tx_timestamps"),
    ("NTP hardware RX timestamps : ", "ntp_hardware_rx_timestamps"),
    ("NTP hardware TX timestamps : ", "ntp_hardware_tx_timestamps"),
)

_NTPDATA_TOTALS = (
    ("Total TX        : ", "total_tx", False),
    ("Total RX        : ", "total_rx", False),
    ("Total valid RX  : ", "total_valid_rx", False),
    ("Total good RX   : ", "total_good_rx", False),
    ("Total kernel TX : ", "total_kernel_tx", True),
    ("Total kernel RX : ", "total_kernel_rx", True),
    ("Total HW TX     : ", "total_hw_tx", True),
    ("Total HW RX     : ", "total_hw_rx", True),
)


_TOTAL_LINES: list[Line] = [
    [label, uint(name, optional=optional)] for label, name, optional in _NTPDATA_TOTALS
]


def _tests(shift: int, count: int) -> Value:
    return bits(lambda r: max(code(r.tests), 0) >> shift, count)


FORMATS: dict[str, Format] = {
    "tracking": Format(
        [
            ["Reference ID    : ", refid("reference_id"), " (", text(_tracking_name), ")"],
            ["Stratum         : ", uint("stratum")],
            ["Ref time (UTC)  : ", date("ref_time")],
            ["System time     : ", slow_fast("offset", "seconds"), " of NTP time"],
            ["Last offset     : ", fixed("last_offset", 9, signed=True), " seconds"],
            ["RMS offset      : ", fixed("rms_offset", 9), " seconds"],
            ["Frequency       : ", slow_fast("frequency", "ppm")],
            ["Residual freq   : ", fixed("residual_freq", 3, signed=True), " ppm"],
            ["Skew            : ", fixed("skew", 3), " ppm"],
            ["Root delay      : ", fixed("root_delay", 9), " seconds"],
            ["Root dispersion : ", fixed("root_dispersion", 9), " seconds"],
            ["Update interval : ", fixed("update_interval", 1), " seconds"],
            ["Leap status     : ", leap("leap_status")],
        ]
    ),
    "sources": Format(
        [
            [
                char(_source_mode),
                char(_source_state),
                " ",
                text("address", -27),
                "  ",
                uint("stratum", 2),
                "  ",
                uint("poll", 2),
                "   ",
                octal("reachability", 3),
                "  ",
                interval("last_sample_ago"),
                "  ",
                duration("latest_meas", signed=True),
                "[",
                duration("orig_latest_meas", signed=True),
                "] +/- ",
                duration("latest_meas_err"),
            ]
        ],
        title="MS Name/IP address         Stratum Poll Reach LastRx Last sample               ",
    ),
    "sourcestats": Format(
        [
            [
                text("address", -25),
                " ",
                uint("samples", 3),
                " ",
                uint("runs", 3),
                "  ",
                interval("span"),
                " ",
                ppm("resid_freq", signed=True),
                " ",
                ppm("skew"),
                "  ",
                duration("offset", signed=True),
                "  ",
                duration("std_dev"),
            ]
        ],
        title="Name/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev",
    ),
    "rtcdata": Format(
        [
            ["RTC ref time (UTC) : ", date("ref_time")],
            ["Number of samples  : ", uint("samples")],
            ["Number of runs     : ", uint("runs")],
            ["Sample span period : ", interval("span")],
            ["RTC is fast by     : ", fixed("offset", 6, 12), " seconds"],
            ["RTC gains time at  : ", fixed("freq_offset", 3, 9), " ppm"],
        ]
    ),
    "activity": Format(
        [
            [uint("online"), " sources online"],
            [uint("offline"), " sources offline"],
            [uint("burst_online"), " sources doing burst (return to online)"],
            [uint("burst_offline"), " sources doing burst (return to offline)"],
            [uint("unresolved"), " sources with unknown address"],
        ],
        info=lambda records: "200 OK",
    ),
    "serverstats": Format([[label, uint(name, optional=True)] for label, name in _SERVERSTATS]),
    "smoothing": Format(
        [
            [
                "Active         : ",
                yes_no("active"),
                " ",
                text(lambda s: "(leap second only)" if s.leap_only else ""),
            ],
            ["Offset         : ", fixed("offset", 9, signed=True), " seconds"],
            ["Frequency      : ", fixed("frequency", 6, signed=True), " ppm"],
            ["Wander         : ", fixed("wander", 6, signed=True), " ppm per second"],
            ["Last update    : ", fixed("last_update_ago", 1), " seconds ago"],
            ["Remaining time : ", fixed("remaining_time", 1), " seconds"],
        ]
    ),
    "sourcename": Format([[text(lambda name: name)]]),
    "manual list": Format(
        [
            [
                uint(lambda row: row.index, 2),
                " ",
                text(lambda row: _log_time(row.record.when)),
                " ",
                fixed(_in("slewed_offset"), 2, 10),
                " ",
                fixed(_in("orig_offset"), 2, 10),
                " ",
                fixed(_in("residual"), 2, 10),
            ]
        ],
        title="#    Date     Time(UTC)    Slewed   Original   Residual",
        info=lambda records: f"210 n_samples = {len(records)}",
        indexed=True,
    ),
    "ntpdata": Format(
        [
            [
                "Remote address  : ",
                text("remote_address"),
                " (",
                refid(lambda r: address_refid(r.remote_address)),
                ")",
            ],
            ["Remote port     : ", uint("remote_port")],
            [
                "Local address   : ",
                text(_local_address),
                " (",
                refid(lambda r: address_refid(r.local_address)),
                ")",
            ],
            ["Leap status     : ", leap("leap_status")],
            ["Version         : ", uint("version")],
            ["Mode            : ", ntp_mode("mode")],
            ["Stratum         : ", uint("stratum")],
            [
                "Poll interval   : ",
                uint("poll"),
                " (",
                fixed(lambda r: 2.0**r.poll, 0),
                " seconds)",
            ],
            [
                "Precision       : ",
                uint("precision"),
                " (",
                fixed(lambda r: 2.0**r.precision, 9),
                " seconds)",
            ],
            ["Root delay      : ", fixed("root_delay", 6), " seconds"],
            ["Root dispersion : ", fixed("root_dispersion", 6), " seconds"],
            [
                "Reference ID    : ",
                refid("reference_id"),
                " (",
                text(lambda r: refid_name(r.reference_id) if r.stratum <= 1 else ""),
                ")",
            ],
            ["Reference time  : ", date("ref_time")],
            ["Offset          : ", fixed("offset", 9, signed=True), " seconds"],
            ["Peer delay      : ", fixed("peer_delay", 9), " seconds"],
            ["Peer dispersion : ", fixed("peer_dispersion", 9), " seconds"],
            ["Response time   : ", fixed("response_time", 9), " seconds"],
            ["Jitter asymmetry: ", fixed("jitter_asymmetry", 2, signed=True)],
            ["NTP tests       : ", _tests(7, 3), " ", _tests(4, 3), " ", _tests(0, 4)],
            ["Interleaved     : ", yes_no("interleaved")],
            ["Authenticated   : ", yes_no("authenticated")],
            ["TX timestamping : ", timestamping("tx_timestamping")],
            ["RX timestamping : ", timestamping("rx_timestamping")],
            *_TOTAL_LINES,
        ],
        gap=True,
    ),
    "selectdata": Format(
        [
            [
                char("state"),
                " ",
                text("address", -25),
                " ",
                char(lambda r: "Y" if r.authentication else "N"),
                " ",
                *_option_chars("configured_options"),
                " ",
                *_option_chars("effective_options"),
                " ",
                interval("last_sample_ago"),
                " ",
                fixed("score", 1, 5),
                " ",
                duration("low_limit", signed=True),
                " ",
                duration("high_limit", signed=True),
                "  ",
                leap("leap_status", short=True),
            ]
        ],
        title="S Name/IP Address        Auth COpts EOpts Last Score     Interval  Leap",
    ),
    "authdata": Format(
        [
            [
                text("address", -27),
                " ",
                text(lambda r: _AUTH_MODES.get(code(r.mode), "?"), 4),
                " ",
                uint("key_id", 5),
                " ",
                uint("key_type", 4),
                " ",
                uint("key_length", 4),
                " ",
                interval("last_ke_ago"),
                " ",
                uint("ke_attempts", 4),
                " ",
                uint(lambda r: int(r.nak), 4),
                " ",
                uint("cookies", 4),
                " ",
                uint("cookie_length", 4),
            ]
        ],
        title="Name/IP address             Mode KeyID Type KLen Last Atmp  NAK Cook CLen",
    ),
    "clients": Format(
        [
            [
                text("address", -25),
                "  ",
                uint("ntp_hits", 6),
                "  ",
                uint("ntp_drops", 5),
                "  ",
                clientlog_interval("ntp_interval"),
                "  ",
                clientlog_interval("ntp_interval_limit"),
                "  ",
                interval("last_ntp_hit_ago"),
                "  ",
                uint("cmd_hits", 6),
                "  ",
                uint("cmd_drops", 5),
                "  ",
                clientlog_interval("cmd_interval"),
                "  ",
                interval("last_cmd_hit_ago"),
            ]
        ],
        title="Hostname " + " " * 20 + " NTP   Drop Int IntL Last     Cmd   Drop Int  Last",
    ),
}


def _log_time(when: float) -> str:
    """A time in chronyc's log form: ``2026-12-01 23:04:45`` (UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(when // 1)))


def _generic(record_type: type) -> Format:
    """A layout for a report that has none here: ``name: value`` lines."""
    if not dataclasses.is_dataclass(record_type):
        return Format([[text(lambda value: value)]])
    fields = [field.name for field in dataclasses.fields(record_type)]
    width = max(len(name) for name in fields)
    return Format(
        [[f"{name:<{width}} : ", text(_shown(name))] for name in fields],
        gap=True,
    )


def _shown(name: str) -> Callable[[Any], str]:
    def show(record: Any) -> str:
        value = getattr(record, name)
        if isinstance(value, float):
            return timespec_text(value) if name.endswith("time") else f"{value:.9f}"
        return str(getattr(value, "name", value))

    return show


def format_of(name: str, record_type: type) -> Format:
    """The format of the report `name` (``manual list``, ``tracking``, ...)."""
    return FORMATS.get(name) or _generic(record_type)


def _rows(fmt: Format, records: Sequence[Any]) -> list[Any]:
    return [Indexed(i, r) for i, r in enumerate(records)] if fmt.indexed else list(records)


def table(fmt: Format, records: Sequence[Any], *, single: bool) -> list[str]:
    """The table lines of a report.

    `records` holds its one record when `single`, else its list.
    """
    out: list[str] = []
    if fmt.info is not None:
        out.append(fmt.info(records))
    if fmt.title is not None:
        out.extend(header(fmt.title))
    for row in _rows(fmt, records):
        if fmt.gap and not single:
            out.append("")
        out.extend(table_lines(fmt.layout, row))
    return out


def csv(fmt: Format, records: Sequence[Any]) -> list[str]:
    """The CSV lines of a report (``chronyc -c``): one per record."""
    return [csv_line(fmt.layout, row) for row in _rows(fmt, records)]
