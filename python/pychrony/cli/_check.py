"""``pychrony check``: a monitoring plugin (Nagios, Icinga, Naemon, Checkmk).

One status line on stdout, whatever the state::

    CHRONY OK: offset +0.000012s, stratum 3, 4 sources | offset=0.000012345s;;;
    stratum=3;;;0;16 sources=4;;;0 selectable=3;;;0 reachable=4;;;0

and the exit status 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN).

Judged always: synchronisation (chronyc waitsync's rule; a daemon that
follows only its local reference, refid 7F7F0101, is WARNING), a pending
leap second (WARNING) and reachability (no source reachable: CRITICAL).
Thresholds use the monitoring-plugins range syntax ``[@]start:end``
(``N`` is ``0:N``, ``~`` is minus infinity, ``N:`` has no upper end; a value
outside the range alerts, with ``@`` one inside it).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import TextIO

from pychrony._sync import LOCAL_REFERENCE_ID, is_synced
from pychrony.cli._frame import UsageError, connection
from pychrony.exceptions import ChronyConnectionError, ChronyError
from pychrony.models import LeapStatus, Source, SourceState, TrackingStatus

SUMMARY = "a monitoring plugin: judge chronyd's state (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"
OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
#: The states of ``sources`` that chronyd may select (``*``, ``+``, ``-``).
SELECTABLE = (SourceState.SELECTED, SourceState.UNSELECTED, SourceState.SELECTABLE)


@dataclass(frozen=True)
class Range:
    """A monitoring-plugins threshold range.

    It alerts outside [start, end], or inside it when `inside`.
    """

    start: float
    end: float
    inside: bool
    text: str

    def alerts(self, value: float) -> bool:
        """Tell whether `value` is a problem under this range."""
        within = self.start <= value <= self.end
        return within if self.inside else not within


def parse_range(text: str) -> Range:
    """Parse ``[@]start:end``: ``N`` is ``0:N``, ``~`` -infinity, an empty end +infinity.

    Raises:
        ValueError: `text` is not a range.
    """
    body = text[1:] if text.startswith("@") else text
    if not body:
        raise ValueError(f"invalid range {text!r}: use [@]START:END, N (0:N), N: or ~:N")
    start_text, sep, end_text = body.partition(":")
    if not sep:
        start_text, end_text = "0", body
    try:
        start = -math.inf if start_text == "~" else float(start_text or 0)
        end = math.inf if end_text == "" else float(end_text)
    except ValueError:
        raise ValueError(
            f"invalid range {text!r}: use [@]START:END, N (0:N), N: (N or more) or ~:N"
        ) from None
    if math.isnan(start) or math.isnan(end) or start > end:
        raise ValueError(f"invalid range {text!r}: its start is above its end")
    return Range(start, end, text.startswith("@"), text)


def _range(text: str) -> Range:
    try:
        return parse_range(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``check``'s threshold options."""
    group = parser.add_argument_group("thresholds ([@]START:END; N means 0:N)")
    group.add_argument(
        "-w", "--warning", type=_range, metavar="RANGE", help="absolute offset in seconds"
    )
    group.add_argument(
        "-c", "--critical", type=_range, metavar="RANGE", help="absolute offset in seconds"
    )
    group.add_argument("--stratum-warning", type=_range, metavar="RANGE", help="stratum")
    group.add_argument("--stratum-critical", type=_range, metavar="RANGE", help="stratum")
    group.add_argument(
        "--min-sources",
        type=int,
        metavar="N",
        help="WARNING with fewer selectable sources (sources states * + -)",
    )
    group.add_argument(
        "--min-reach",
        type=int,
        metavar="N",
        help="WARNING with fewer reachable sources (reach register not 0)",
    )
    group.add_argument(
        "--max-last-rx",
        type=float,
        metavar="SECONDS",
        help="WARNING when the selected source's last sample is older",
    )


def unknown(message: str, out: TextIO) -> int:
    """Report a usage error as UNKNOWN."""
    out.write(f"CHRONY UNKNOWN: {message}\n")
    return UNKNOWN


def _limit(value: Range | None) -> str:
    return "" if value is None else value.text


def _perfdata(status: TrackingStatus, sources: list[Source], args: argparse.Namespace) -> str:
    counted = [s for s in sources if not s.address.startswith("ID#")]
    selectable = sum(1 for s in counted if s.state in SELECTABLE)
    reachable = sum(1 for s in counted if s.reachability)
    min_sources = "" if args.min_sources is None else f"{args.min_sources}:"
    min_reach = "" if args.min_reach is None else f"{args.min_reach}:"
    items = [
        f"offset={status.offset:.9f}s;{_limit(args.warning)};{_limit(args.critical)}",
        f"stratum={status.stratum};{_limit(args.stratum_warning)};"
        f"{_limit(args.stratum_critical)};0;16",
        f"sources={len(counted)};;;0",
        f"selectable={selectable};{min_sources};;0",
        f"reachable={reachable};{min_reach};;0",
    ]
    selected = [s for s in counted if s.state is SourceState.SELECTED]
    if selected and selected[0].last_sample_ago != 2**32 - 1:
        max_rx = "" if args.max_last_rx is None else f"{args.max_last_rx:g}"
        items.append(f"last_rx={selected[0].last_sample_ago}s;{max_rx};;0")
    return " ".join(items)


def judge(
    status: TrackingStatus, sources: list[Source], args: argparse.Namespace
) -> tuple[int, list[str]]:
    """The state and the reasons for it (empty when OK)."""
    problems: list[tuple[int, str]] = []
    if not is_synced(status):
        if status.reference_id == LOCAL_REFERENCE_ID:
            problems.append((WARNING, "following only its local reference (no source)"))
        else:
            problems.append((CRITICAL, "not synchronised"))
    if status.leap_status in (LeapStatus.INSERT, LeapStatus.DELETE):
        kind = "insert" if status.leap_status is LeapStatus.INSERT else "delete"
        problems.append((WARNING, f"leap second pending ({kind})"))
    counted = [s for s in sources if not s.address.startswith("ID#")]
    reachable = [s for s in counted if s.reachability]
    if counted and not reachable:
        problems.append((CRITICAL, f"none of {len(counted)} sources reachable"))
    offset = abs(status.offset)
    for level, limit in ((CRITICAL, args.critical), (WARNING, args.warning)):
        if limit is not None and limit.alerts(offset):
            problems.append((level, f"offset {status.offset:+.9f}s outside {limit.text}"))
            break
    for level, limit in ((CRITICAL, args.stratum_critical), (WARNING, args.stratum_warning)):
        if limit is not None and limit.alerts(status.stratum):
            problems.append((level, f"stratum {status.stratum} outside {limit.text}"))
            break
    selectable = [s for s in counted if s.state in SELECTABLE]
    if args.min_sources is not None and len(selectable) < args.min_sources:
        problems.append(
            (WARNING, f"{len(selectable)} selectable sources, fewer than {args.min_sources}")
        )
    if args.min_reach is not None and len(reachable) < args.min_reach:
        problems.append(
            (WARNING, f"{len(reachable)} reachable sources, fewer than {args.min_reach}")
        )
    selected = [s for s in counted if s.state is SourceState.SELECTED]
    if args.max_last_rx is not None and selected:
        ago = selected[0].last_sample_ago
        if ago > args.max_last_rx:
            shown = "never" if ago == 2**32 - 1 else f"{ago}s ago"
            problems.append(
                (
                    WARNING,
                    f"last sample of {selected[0].address} {shown}, over {args.max_last_rx:g}s",
                )
            )
    state = max((level for level, _ in problems), default=OK)
    # The worst first, then in the order judged.
    reasons = [text for level, text in sorted(problems, key=lambda p: -p[0])]
    return state, reasons


def run(args: argparse.Namespace) -> int:
    """Run the check; print its status line; return its exit status."""
    out: TextIO = args.stdout
    for name in ("min_sources", "min_reach"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise UsageError(None, f"--{name.replace('_', '-')} must be 0 or more, not {value}")
    if args.max_last_rx is not None and not 0 <= args.max_last_rx < math.inf:
        raise UsageError(None, f"--max-last-rx must be 0 seconds or more, not {args.max_last_rx}")
    try:
        with connection(args) as conn:
            status = conn.get_tracking()
            sources = conn.get_sources()
    except ChronyConnectionError as exc:
        out.write(f"CHRONY CRITICAL: chronyd not reachable: {exc.message}\n")
        return CRITICAL
    except ChronyError as exc:
        out.write(f"CHRONY UNKNOWN: {exc.message}\n")
        return UNKNOWN
    state, reasons = judge(status, sources, args)
    counted = sum(1 for s in sources if not s.address.startswith("ID#"))
    summary = f"offset {status.offset:+.9f}s, stratum {status.stratum}, {counted} sources"
    head = "; ".join([*reasons, summary])
    out.write(f"CHRONY {STATES[state]}: {head} | {_perfdata(status, sources, args)}\n")
    return state
