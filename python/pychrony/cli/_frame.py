"""The command line's frame: options, subcommands, running one, errors.

Subcommands come from ``pychrony.registry.REPORTS`` (the first word of the
report's name: ``manual list`` is ``manual``), plus ``all``, ``check`` and
``waitsync``. The connection and format options are accepted before and
after the subcommand. Failures print one line on stderr and exit 1; usage
errors exit 2 (``check``: 3, with its status line on stdout).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TextIO

import pychrony
from pychrony import _core
from pychrony._connection import ChronyConnection
from pychrony.exceptions import ChronyError
from pychrony.registry import REPORTS, ReportInfo

PROG = "pychrony"
#: Exit statuses outside ``check``.
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def version_line() -> str:
    """The line ``--version`` prints."""
    return (
        f"pychrony-rs {pychrony.__version__} "
        f"(Rust core {_core.CORE_VERSION}, chronyd command protocol {_core.PROTOCOL_VERSION})"
    )


class UsageError(Exception):
    """A command line that cannot be run (exit 2, or UNKNOWN for ``check``)."""

    def __init__(self, parser: argparse.ArgumentParser | None, message: str) -> None:
        """Keep the parser whose usage to show."""
        super().__init__(message)
        self.parser = parser
        self.message = message


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises ``UsageError`` instead of exiting."""

    def error(self, message: str) -> NoReturn:
        """Raise the usage error for ``main`` to report."""
        raise UsageError(self, message)


def subcommand_of(report: ReportInfo) -> str:
    """The subcommand of a report: the first word of its name."""
    return report.name.split()[0]


def _summary(report: ReportInfo) -> str:
    return f"chronyd's {report.name} report, as chronyc {report.name} prints it"


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The options every subcommand takes.

    Below the top level their defaults are suppressed, so that a value given
    before the subcommand stays unless given again after it.
    """

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("connection")
    group.add_argument(
        "-a",
        "--address",
        default=default(None),
        metavar="ADDRESS",
        help="chronyd's Unix socket path, host or host:port (chronyc -h); "
        "default: /run/chrony/chronyd.sock, then 127.0.0.1 and ::1 port 323",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=default(1.0),
        metavar="SECONDS",
        help="wait for the first reply (default 1.0; doubles on each retry)",
    )
    group.add_argument(
        "--retries",
        type=int,
        default=default(2),
        metavar="N",
        help="resends after a timeout (default 2)",
    )
    group.add_argument(
        "--backend",
        choices=("native", "libchrony"),
        default=default("native"),
        help="the protocol client (default native)",
    )
    output = parser.add_argument_group("output (default: chronyc's tables)")
    output.add_argument(
        "--json", action="store_true", default=default(False), help="one JSON document"
    )
    output.add_argument(
        "--json-lines",
        action="store_true",
        default=default(False),
        help="one JSON object per record and line",
    )
    output.add_argument(
        "--csv",
        action="store_true",
        default=default(False),
        help="chronyc -c's comma-separated values",
    )
    output.add_argument(
        "--all-sources",
        action="store_true",
        default=default(False),
        help="also list unresolved sources (chronyc sources -a)",
    )
    output.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default(False),
        help="print chronyc's legend above sources and selectdata (chronyc -v)",
    )


Handler = Callable[[argparse.Namespace], int]


def build_parser() -> tuple[Parser, dict[str, Parser]]:
    """The parser and each subcommand's parser by name."""
    # Imported here: the handlers pull in the layouts only when needed.
    from pychrony.cli import _check, _output, _waitsync

    parser = Parser(
        prog=PROG,
        description="Read chronyd's reports as chronyc prints them, or as JSON or CSV.",
        epilog="Every option may also follow the subcommand. Exit status: 0 success, "
        "1 failure, 2 usage error (check: 0-3, as monitoring plugins).",
    )
    parser.add_argument("--version", action="version", version=version_line())
    _add_common(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers: dict[str, Parser] = {}

    def add(name: str, help_text: str, handler: Handler) -> Parser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _add_common(sub, top=False)
        sub.set_defaults(handler=handler)
        subparsers[name] = sub
        return sub

    for report in REPORTS:
        sub = add(subcommand_of(report), _summary(report), _output.report_handler(report))
        rest = report.name.split()[1:]
        if rest:
            # chronyc's own spelling is accepted too: `pychrony manual list`.
            sub.add_argument(
                "report_words",
                nargs="?",
                choices=[" ".join(rest)],
                metavar=" ".join(rest).upper(),
                help=f"optional, as in chronyc {report.name}",
            )
        method = getattr(ChronyConnection, report.method)
        parameters = inspect.signature(method).parameters
        for arg in report.args:
            required = parameters[arg].default is inspect.Parameter.empty
            sub.add_argument(
                f"report_{arg}",
                metavar=arg.upper(),
                nargs=None if required else "?",
                help=f"the source's {arg}" + ("" if required else " (default: every source)"),
            )
    add(
        "all",
        "every report chronyd serves over this connection (those it refuses are "
        "skipped with a note on stderr)",
        _output.all_handler,
    )
    _check.add_arguments(add("check", _check.SUMMARY, _check.run))
    _waitsync.add_arguments(add("waitsync", _waitsync.SUMMARY, _waitsync.run))
    return parser, subparsers


def connection(args: argparse.Namespace) -> ChronyConnection:
    """A connection with the options given (not opened yet).

    Raises:
        UsageError: An option is out of range.
    """
    try:
        return ChronyConnection(
            args.address, timeout=args.timeout, retries=args.retries, backend=args.backend
        )
    except (TypeError, ValueError) as exc:
        raise UsageError(None, str(exc)) from None


def output_format(args: argparse.Namespace) -> str:
    """``table``, ``json``, ``json-lines`` or ``csv``.

    Raises:
        UsageError: More than one format was asked for.
    """
    chosen = [name for name in ("json", "json_lines", "csv") if getattr(args, name)]
    if len(chosen) > 1:
        shown = " and ".join("--" + name.replace("_", "-") for name in chosen)
        raise UsageError(None, f"{shown} cannot be combined; choose one output format")
    return chosen[0].replace("_", "-") if chosen else "table"


def error_line(exc: ChronyError) -> str:
    """The one line a failure prints on stderr (the library's message: cause and fix)."""
    return f"{PROG}: {' '.join(exc.message.split())}"


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the command line `argv` (default: ``sys.argv[1:]``); return the exit status."""
    out = stdout if stdout is not None else sys.stdout
    parser, subparsers = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            # Report them as the subcommand's own error (check: UNKNOWN).
            subparsers.get(args.command or "", parser).error(
                f"unrecognized arguments: {' '.join(extra)}"
            )
    except UsageError as exc:
        if exc.parser is subparsers["check"]:
            from pychrony.cli import _check

            return _check.unknown(exc.message, out)
        usage_of = exc.parser or parser
        usage_of.print_usage(sys.stderr)
        print(f"{usage_of.prog}: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    if args.command is None:
        parser.print_help(out)
        return EXIT_OK
    args.stdout = out
    handler: Handler = args.handler
    try:
        return handler(args)
    except UsageError as exc:
        if args.command == "check":
            from pychrony.cli import _check

            return _check.unknown(exc.message, out)
        subparsers[args.command].print_usage(sys.stderr)
        print(f"{PROG} {args.command}: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except ChronyError as exc:
        print(error_line(exc), file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`pychrony sources | head -1`): not an error to
        # report; nothing more may reach the closed pipe at exit either.
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return EXIT_OK


def run_console() -> NoReturn:
    """The ``pychrony`` console script."""
    sys.exit(main())
