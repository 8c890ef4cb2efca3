"""Benchmark: pychrony-rs against the reference pychrony 2.0.3, same chronyd,
same run.

Starts a lab ``client`` chronyd, then times each report over its Unix socket
(N calls on one open connection, best of several rounds) with this package
in-process and with the reference in its own interpreter
(``PYCHRONY_REFERENCE_PYTHON``, as ``make reference`` creates). Prints the
time per call of each and the ratio reference/ours (above 1: we are faster).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lab"))

import chronylab
import pychrony

CALLS = int(os.environ.get("BENCH_CALLS", "300"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
REPORTS = ("get_tracking", "get_sources", "get_source_stats", "get_rtc_data")

TIMER = rf"""
import json, sys, time
import pychrony
address, calls, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = {{}}
with pychrony.ChronyConnection(address) as conn:
    for name in {REPORTS!r}:
        method = getattr(conn, name)
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(calls):
                method()
            best = min(best, (time.perf_counter() - start) / calls)
        out[name] = best
print(json.dumps(out))
"""


def time_in(python: str, address: str) -> dict[str, float]:
    """Per-call seconds of each report, measured by `python`."""
    done = subprocess.run(
        [python, "-c", TIMER, address, str(CALLS), str(ROUNDS)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> int:
    """Run the benchmark and print a table."""
    reference = os.environ.get("PYCHRONY_REFERENCE_PYTHON", "")
    if not reference or not Path(reference).exists():
        print("set PYCHRONY_REFERENCE_PYTHON to a Python with pychrony==2.0.3 (make reference)")
        return 2
    with chronylab.Lab() as lab:
        inst = lab.start("client")
        ours = time_in(sys.executable, inst.socket)
        theirs = time_in(reference, inst.socket)
        n_sources = len(pychrony.get_sources(inst.socket))
    print(
        f"chronyd lab client ({n_sources} sources), Unix socket; {CALLS} calls x best of {ROUNDS}"
    )
    print(f"{'report':<18} {'pychrony-rs':>12} {'pychrony 2.0.3':>15} {'ratio':>7}")
    for name in REPORTS:
        print(
            f"{name:<18} {ours[name] * 1e6:>10.1f}us {theirs[name] * 1e6:>13.1f}us "
            f"{theirs[name] / ours[name]:>6.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
