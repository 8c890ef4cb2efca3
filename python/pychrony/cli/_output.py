"""Reading reports and printing them.

As tables, ``--json``, ``--json-lines`` or ``--csv``; one report, or ``all``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, cast

import pychrony
from pychrony._connection import ChronyConnection
from pychrony._serialize import to_dict
from pychrony.cli import _reports
from pychrony.cli._frame import (
    EXIT_OK,
    Handler,
    UsageError,
    connection,
    output_format,
    subcommand_of,
)
from pychrony.cli._legends import LEGENDS
from pychrony.exceptions import (
    ChronyConnectionError,
    ChronyError,
    ChronyPermissionError,
    ChronyUnauthorizedError,
)
from pychrony.registry import REPORTS, ReportInfo


class Unavailable(ChronyError):
    """chronyd does not provide an optional report (no RTC, no smoothtime)."""


def unresolved(record: object) -> bool:
    """Tell whether a record is of an unresolved source (``ID#…``)."""
    address = getattr(record, "address", None) or getattr(record, "remote_address", None)
    return isinstance(address, str) and address.startswith("ID#")


def _given_args(report: ReportInfo, args: argparse.Namespace) -> dict[str, Any]:
    values = {name: getattr(args, f"report_{name}", None) for name in report.args}
    return {name: value for name, value in values.items() if value is not None}


def read(
    conn: ChronyConnection, report: ReportInfo, kwargs: dict[str, Any], args: argparse.Namespace
) -> list[Any]:
    """The records of `report` (one for a single report or a text).

    Raises:
        Unavailable: chronyd does not provide the optional report.
        ChronyError: The call failed.
    """
    result = getattr(conn, report.method)(**kwargs)
    if result is None:
        # ChronyConnection says None; the module function says why.
        try:
            result = getattr(pychrony, report.method)(
                conn.address, timeout=args.timeout, retries=args.retries, backend=args.backend
            )
        except ChronyError as exc:
            raise Unavailable(exc.message, exc.error_code) from None
    if report.shape != "list":
        return [result]
    return [r for r in result if args.all_sources or not unresolved(r)]


def _dicts(records: Sequence[Any]) -> list[dict[str, Any]]:
    return cast("list[dict[str, Any]]", to_dict(list(records)))


def _json_value(report: ReportInfo, records: Sequence[Any], single: bool) -> Any:
    if report.shape == "text":
        return records[0]
    data = _dicts(records)
    return data[0] if single else data


def render(
    report: ReportInfo, records: Sequence[Any], fmt: str, *, single: bool, verbose: bool
) -> list[str]:
    """The lines of one report in the format `fmt`."""
    if fmt == "json":
        return [json.dumps(_json_value(report, records, single), indent=2)]
    if fmt == "json-lines":
        if report.shape == "text":
            return [json.dumps(records[0])]
        return [json.dumps(item) for item in _dicts(records)]
    layout = _reports.format_of(report.name, report.dataclass)
    if fmt == "csv":
        return _reports.csv(layout, records)
    legend = LEGENDS.get(report.name) if verbose else None
    lines = legend.splitlines() if legend else []
    return lines + _reports.table(layout, records, single=single)


def _write(args: argparse.Namespace, lines: Sequence[str]) -> None:
    out = args.stdout
    for line in lines:
        out.write(line + "\n")
    out.flush()


def report_handler(report: ReportInfo) -> Handler:
    """The handler of a report's subcommand."""

    def run(args: argparse.Namespace) -> int:
        fmt = output_format(args)
        kwargs = _given_args(report, args)
        with connection(args) as conn:
            try:
                records = read(conn, report, kwargs, args)
            except (TypeError, ValueError) as exc:  # the report's own argument
                raise UsageError(None, str(exc)) from None
        single = report.shape != "list" or bool(kwargs)
        _write(args, render(report, records, fmt, single=single, verbose=args.verbose))
        return EXIT_OK

    return run


def all_handler(args: argparse.Namespace) -> int:
    """``pychrony all``: every report without a required argument."""
    fmt = output_format(args)
    gathered: list[tuple[ReportInfo, list[Any]]] = []
    with connection(args) as conn:
        for report in REPORTS:
            if report.shape == "text":
                continue  # needs an address (sourcename)
            try:
                records = read(conn, report, {}, args)
            except ChronyError as exc:
                fatal = isinstance(exc, ChronyConnectionError) or (
                    isinstance(exc, ChronyPermissionError)
                    and not isinstance(exc, ChronyUnauthorizedError)
                )
                if fatal:
                    raise
                _note(report, exc)
                continue
            gathered.append((report, records))
    if fmt == "json":
        document = {
            report.name: _json_value(report, records, report.shape != "list")
            for report, records in gathered
        }
        _write(args, [json.dumps(document, indent=2)])
        return EXIT_OK
    lines: list[str] = []
    for report, records in gathered:
        if fmt == "json-lines":
            lines.extend(json.dumps({"report": report.name, **item}) for item in _dicts(records))
            continue
        if lines:
            lines.append("")
        lines.append(f"[{subcommand_of(report)}]")
        lines.extend(
            render(report, records, fmt, single=report.shape != "list", verbose=args.verbose)
        )
    _write(args, lines)
    return EXIT_OK


def _note(report: ReportInfo, exc: ChronyError) -> None:
    print(f"pychrony all: {report.name} skipped: {exc.message}", file=sys.stderr)
