"""``pychrony waitsync``: chronyc's ``waitsync``, over ``pychrony.wait_sync``.

Prints one line per try, as chronyc does (``try: 1, refid: 7F000001,
correction: 0.000012345, skew: 0.123``; with ``--csv`` its CSV form), and
exits 0 once chronyd is synchronised, 1 when it gives up.
"""

from __future__ import annotations

import argparse
import sys

from pychrony._sync import wait_sync
from pychrony.cli._frame import EXIT_FAILURE, EXIT_OK, UsageError, error_line, output_format
from pychrony.exceptions import ChronyConnectionError, ChronyError, ChronyNotSynchronizedError
from pychrony.models import TrackingStatus

SUMMARY = "wait until chronyd is synchronised (chronyc waitsync)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``waitsync``'s options, chronyc's positional arguments by name."""
    parser.add_argument(
        "--max-tries", type=int, default=0, metavar="N", help="give up after N tries (0: never)"
    )
    parser.add_argument(
        "--max-correction",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also wait until the absolute offset is at most this (0: any)",
    )
    parser.add_argument(
        "--max-skew",
        type=float,
        default=0.0,
        metavar="PPM",
        help="also wait until the skew is at most this (0: any)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="between tries (default 10, at least 0.1)",
    )


def run(args: argparse.Namespace) -> int:
    """Wait; print each try; 0 once synchronised, 1 on giving up."""
    csv = output_format(args) == "csv"
    if args.max_tries < 0:
        raise UsageError(None, f"--max-tries must be 0 (no limit) or more, not {args.max_tries}")

    def on_try(number: int, result: TrackingStatus | ChronyError) -> None:
        if isinstance(result, ChronyError):
            print(error_line(result), file=sys.stderr)
            return
        correction, skew = abs(result.offset), result.skew
        if csv:
            line = f"{number},{result.reference_id:08X},{correction:.9f},{skew:.3f}"
        else:
            line = (
                f"try: {number}, refid: {result.reference_id:08X}, "
                f"correction: {correction:.9f}, skew: {skew:.3f}"
            )
        args.stdout.write(line + "\n")
        args.stdout.flush()

    try:
        wait_sync(
            args.address,
            max_tries=args.max_tries,
            max_correction=args.max_correction,
            max_skew=args.max_skew,
            interval=args.interval,
            on_try=on_try,
            timeout=args.timeout,
            retries=args.retries,
            backend=args.backend,
        )
    except ChronyNotSynchronizedError as exc:
        print(f"pychrony: {exc.message}", file=sys.stderr)
        return EXIT_FAILURE
    except ChronyConnectionError:
        return EXIT_FAILURE  # on_try printed each failed try
    except ValueError as exc:
        raise UsageError(None, str(exc)) from None
    return EXIT_OK
