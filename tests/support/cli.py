"""Running the ``pychrony`` command and comparing its output with chronyc's
(``tests/cli``)."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from pychrony.cli import main
from support.agreement import half_ulp

#: How a report of the registry is asked of chronyc (``-n`` and ``-h`` are
#: added by ``chronylab.chronyc``), and of pychrony: the list views with
#: every source (``-a`` / ``--all-sources``).
CHRONYC_ARGS: dict[str, tuple[str, ...]] = {
    "tracking": ("tracking",),
    "sources": ("sources", "-a"),
    "sourcestats": ("sourcestats", "-a"),
    "rtcdata": ("rtcdata",),
    "activity": ("activity",),
    "serverstats": ("serverstats",),
    "smoothing": ("smoothing",),
    "sourcename": ("sourcename",),
    "manual list": ("manual", "list"),
    # The reports of issue 11: chronyc's `ntpdata` lists resolved NTP
    # sources only, as pychrony's does without --all-sources.
    "ntpdata": ("ntpdata",),
    "selectdata": ("selectdata", "-a"),
    "authdata": ("authdata", "-a"),
    "clients": ("clients",),
}

#: Reports whose chronyc output pychrony matches with --all-sources.
ALL_SOURCES = {name for name, args in CHRONYC_ARGS.items() if "-a" in args}

#: Attempts at a comparison of moving values before it fails.
ATTEMPTS = 8


def pychrony_args(report: str) -> list[str]:
    """pychrony's arguments for `report` as ``CHRONYC_ARGS`` asks chronyc."""
    return [report.split()[0], *(["--all-sources"] if report in ALL_SOURCES else [])]


def run_cli(
    *args: str, process: bool = False, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``pychrony ARGS`` and return what it did (status, stdout, stderr).

    With `process`, as ``python -m pychrony ARGS`` in a new interpreter (the
    installed package, as users run it); else in this process, through
    ``pychrony.cli.main`` (the same code from argv on, faster, and seen by
    coverage).
    """
    if process:
        return subprocess.run(
            [sys.executable, "-m", "pychrony", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args), stdout=out)
        except SystemExit as exc:  # --help, --version
            status = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(list(args), status, out.getvalue(), err.getvalue())


def ok(*args: str) -> str:
    """``run_cli`` that must succeed with nothing on stderr; its stdout."""
    done = run_cli(*args)
    assert done.returncode == 0, f"pychrony {' '.join(args)}: {done.returncode} {done.stderr}"
    assert done.stderr == "", done.stderr
    return done.stdout


_MOVING = re.compile(r"[0-9+-]")


def masked(line: str) -> str:
    """A line with its digits and signs masked: what stays is the layout
    (labels, units, widths, alignment)."""
    return _MOVING.sub("#", line)


def lines_agree(ours: Sequence[str], theirs: Sequence[str]) -> str | None:
    """None when `ours` has chronyc's lines (equal, or equal once masked);
    else the first difference."""
    if len(ours) != len(theirs):
        return (
            f"{len(ours)} lines, chronyc {len(theirs)}:\n"
            + "\n".join(ours)
            + "\n--\n"
            + ("\n".join(theirs))
        )
    for mine, chronyc in zip(ours, theirs, strict=True):
        if mine != chronyc and masked(mine) != masked(chronyc):
            return f"line differs:\nours    {mine!r}\nchronyc {chronyc!r}"
    return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


#: Reports whose numbers are those of the last NTP packet: at the lab's poll
#: of 1/64 s they jump between any two reads, so a moving number there is
#: compared in its printed form only (digits and decimals), not in value.
SAMPLED = {"ntpdata"}


def _same_form(theirs: str, ours: str) -> bool:
    return masked(theirs.lstrip("+-")) == masked(ours.lstrip("+-")) or (
        "." in theirs and "." in ours and half_ulp(theirs) == half_ulp(ours)
    )


def field_agrees(theirs: str, before: str, after: str, *, sampled: bool = False) -> bool:
    """chronyc's CSV field equals ours, or, if a number, lies between our
    reads taken before and after it, give or take its printed precision
    (and the float64 precision of an epoch time)."""
    if theirs in (before, after):
        return True
    values = [_number(theirs), _number(before), _number(after)]
    if any(v is None for v in values):
        return False
    t, a, b = (float(v) for v in values)  # type: ignore[arg-type]
    slack = half_ulp(theirs) + 1e-15 * abs(t) + 1e-12
    if min(a, b) - slack <= t <= max(a, b) + slack:
        return True
    return sampled and _same_form(theirs, before) and _same_form(theirs, after)


def csv_agrees(
    ours: Callable[[], str], theirs: Callable[[], str], *, sampled: bool = False
) -> tuple[str, str, str] | None:
    """Read ours, chronyc's, ours again; None when every line and field of
    chronyc's CSV agrees (``field_agrees``), else the three texts. Retried
    up to ``ATTEMPTS`` times, since values move between the reads."""
    last: tuple[str, str, str] | None = None
    for _ in range(ATTEMPTS):
        before, chronyc, after = ours(), theirs(), ours()
        rows = [text.splitlines() for text in (before, chronyc, after)]
        if len({len(r) for r in rows}) == 1 and all(
            len(t.split(",")) == len(b.split(",")) == len(a.split(","))
            and all(
                field_agrees(tf, bf, af, sampled=sampled)
                for tf, bf, af in zip(t.split(","), b.split(","), a.split(","), strict=True)
            )
            for b, t, a in zip(*rows, strict=True)
        ):
            return None
        last = (before, chronyc, after)
        time.sleep(0.2)
    return last
