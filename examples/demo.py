"""Print every report chronyd offers through pychrony.

Uses the chronyd this machine runs (auto-detect: its Unix socket, then UDP
port 323). When none answers, starts a private one with the project's lab
(``tests/lab/chronylab.py``; needs root and Debian's ``chrony`` package) and
reads from that instead. Run it with ``make demo``.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import pychrony
from pychrony import ChronyConnection, ChronyError


def show(conn: ChronyConnection) -> None:
    """Print tracking, sources, source statistics and RTC data."""
    # Read first: an auto-detected UDP address is only proven by an answer.
    t = conn.get_tracking()
    print(f"chronyd at {conn.address} ({conn.transport.value if conn.transport else '?'})\n")
    print("Tracking")
    for field in t.__dataclass_fields__:
        print(f"  {field:<17} {getattr(t, field)}")
    print(f"  synchronised: {t.is_synchronized()}, leap pending: {t.is_leap_pending()}\n")

    print("Sources")
    print(
        f"  {'address':<16} {'mode':<9} {'state':<14} {'str':>3} {'poll':>4} {'reach':>5} "
        f"{'last rx':>10} {'offset (s)':>14} {'error (s)':>12}"
    )
    for s in conn.get_sources():
        last = "never" if s.last_sample_ago == 0xFFFFFFFF else str(s.last_sample_ago)
        print(
            f"  {s.address:<16} {s.mode.name:<9} {s.state.name:<14} {s.stratum:>3} {s.poll:>4} "
            f"{s.reachability:>5o} {last:>10} {s.latest_meas:>+14.9f} {s.latest_meas_err:>12.9f}"
        )
    print("\nSource statistics")
    print(
        f"  {'address':<16} {'NP':>3} {'NR':>3} {'span':>5} {'freq (ppm)':>11} {'skew':>9} "
        f"{'offset (s)':>14} {'std dev (s)':>12}"
    )
    for st in conn.get_source_stats():
        print(
            f"  {st.address:<16} {st.samples:>3} {st.runs:>3} {st.span:>5} {st.resid_freq:>11.3f} "
            f"{st.skew:>9.3f} {st.offset:>+14.9f} {st.std_dev:>12.9f}"
        )
    rtc = conn.get_rtc_data()
    print("\nRTC")
    if rtc is None:
        print("  not tracked by this chronyd (no RTC driver, or no rtcfile/rtcsync)")
    else:
        for field in rtc.__dataclass_fields__:
            print(f"  {field:<12} {getattr(rtc, field)}")


def main() -> int:
    """Run the demo; returns the exit status."""
    print(f"pychrony {pychrony.__version__}\n")
    try:
        with ChronyConnection(timeout=0.5, retries=1) as conn:
            show(conn)
            return 0
    except ChronyError as exc:
        print(f"No chronyd answered on the default addresses ({exc}).")
        print("Starting a private chronyd with the lab...\n")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lab"))
    import chronylab

    with ExitStack() as stack:
        lab = stack.enter_context(chronylab.Lab())
        inst = lab.start("client")
        with ChronyConnection(inst.socket) as conn:
            show(conn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
