"""``pychrony check``: every threshold and state in isolation, with its exit
code and perfdata, on reports built by the testing factories (the states a
lab daemon cannot be put in: leap pending, offsets, strata), then on the
lab's daemons (OK, unsynchronised, local only, unreachable, bad arguments).
"""

from __future__ import annotations

import argparse
import io
import re
from pathlib import Path

import pytest

import chronylab
import pychrony
from pychrony import LeapStatus, SourceState
from pychrony.cli._check import CRITICAL, OK, UNKNOWN, WARNING, judge, parse_range
from pychrony.cli._frame import build_parser
from pychrony.testing import make_source, make_tracking
from support.cli import run_cli

STATUS_LINE = re.compile(r"^CHRONY (OK|WARNING|CRITICAL|UNKNOWN): [^|\n]+( \| [^\n]+)?\n$")


def check_args(*argv: str) -> argparse.Namespace:
    parser, _ = build_parser()
    return parser.parse_args(["check", *argv])


def state_of(
    *argv: str, tracking: dict[str, object] | None = None, sources=None
) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    status = make_tracking(**(tracking or {}))
    listed = [make_source()] if sources is None else sources
    return judge(status, listed, check_args(*argv))


# -- ranges --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "alerting", "quiet"),
    [
        ("10", [-1, 10.5, 11], [0, 5, 10]),
        ("10:", [9.9, -1], [10, 11, 1e9]),
        ("~:10", [10.1], [-1e9, 0, 10]),
        ("10:20", [9, 21], [10, 15, 20]),
        ("@10:20", [10, 15, 20], [9, 21]),
        ("0.5", [0.51], [0, 0.5]),
    ],
)
def test_range_syntax(text: str, alerting: list[float], quiet: list[float]) -> None:
    limit = parse_range(text)
    assert [limit.alerts(v) for v in alerting] == [True] * len(alerting)
    assert [limit.alerts(v) for v in quiet] == [False] * len(quiet)


@pytest.mark.parametrize("text", ["", "abc", "20:10", "1:x", "@"])
def test_bad_ranges(text: str) -> None:
    with pytest.raises(ValueError, match="range"):
        parse_range(text)


# -- each threshold and state alone -----------------------------------------------


def test_no_thresholds_ok() -> None:
    assert state_of() == (OK, [])


def test_unsynchronised_is_critical() -> None:
    state, reasons = state_of(
        tracking={
            "reference_id": 0,
            "reference_ip": "",
            "stratum": 0,
            "leap_status": LeapStatus.UNSYNC,
        }
    )
    assert (state, reasons) == (CRITICAL, ["not synchronised"])


def test_local_reference_only_is_warning() -> None:
    state, reasons = state_of(
        tracking={"reference_id": 0x7F7F0101, "reference_ip": "", "stratum": 3}
    )
    assert state == WARNING
    assert reasons == ["following only its local reference (no source)"]


@pytest.mark.parametrize(
    ("leap", "kind"), [(LeapStatus.INSERT, "insert"), (LeapStatus.DELETE, "delete")]
)
def test_leap_second_pending_is_warning(leap: LeapStatus, kind: str) -> None:
    assert state_of(tracking={"leap_status": leap}) == (WARNING, [f"leap second pending ({kind})"])


def test_no_source_reachable_is_critical() -> None:
    sources = [make_source(reachability=0, state=SourceState.NONSELECTABLE)]
    assert state_of(sources=sources) == (CRITICAL, ["none of 1 sources reachable"])


def test_unresolved_sources_are_not_counted() -> None:
    sources = [make_source(), make_source(address="ID#0000000001", reachability=0)]
    assert state_of("--min-sources", "2", sources=sources)[0] == WARNING
    assert state_of("--min-sources", "1", sources=sources) == (OK, [])


@pytest.mark.parametrize(
    ("argv", "offset", "expected"),
    [
        (["-w", "0.0001"], 0.000123456, WARNING),
        (["-w", "0.001"], 0.000123456, OK),
        (["-c", "0.0001"], -0.000123456, CRITICAL),  # the absolute offset
        (["-c", "0.001"], -0.000123456, OK),
        (["-w", "0.0001", "-c", "0.0002"], 0.00015, WARNING),
        (["-w", "0.0001", "-c", "0.0002"], 0.00025, CRITICAL),
        (["-w", "@0:0.001"], 0.0001, WARNING),
    ],
)
def test_offset_thresholds(argv: list[str], offset: float, expected: int) -> None:
    state, reasons = state_of(*argv, tracking={"offset": offset})
    assert state == expected
    assert bool(reasons) == (expected != OK)
    if reasons:
        assert reasons[0].startswith(f"offset {offset:+.9f}s outside ")


@pytest.mark.parametrize(
    ("argv", "stratum", "expected"),
    [
        (["--stratum-warning", "2"], 3, WARNING),
        (["--stratum-warning", "3"], 3, OK),
        (["--stratum-critical", "4"], 5, CRITICAL),
        (["--stratum-critical", "4"], 4, OK),
        (["--stratum-warning", "2", "--stratum-critical", "4"], 3, WARNING),
    ],
)
def test_stratum_thresholds(argv: list[str], stratum: int, expected: int) -> None:
    state, reasons = state_of(*argv, tracking={"stratum": stratum})
    assert state == expected
    assert bool(reasons) == (expected != OK)


def test_min_sources_counts_selectable() -> None:
    sources = [
        make_source(address="10.0.0.1"),
        make_source(address="10.0.0.2", state=SourceState.UNSELECTED),
        make_source(address="10.0.0.3", state=SourceState.FALSETICKER),
    ]
    assert state_of("--min-sources", "2", sources=sources) == (OK, [])
    assert state_of("--min-sources", "3", sources=sources) == (
        WARNING,
        ["2 selectable sources, fewer than 3"],
    )


def test_min_reach_counts_reachable() -> None:
    sources = [make_source(address="10.0.0.1"), make_source(address="10.0.0.2", reachability=0)]
    assert state_of("--min-reach", "1", sources=sources) == (OK, [])
    assert state_of("--min-reach", "2", sources=sources) == (
        WARNING,
        ["1 reachable sources, fewer than 2"],
    )


def test_max_last_rx_on_the_selected_source() -> None:
    sources = [make_source(last_sample_ago=100)]
    assert state_of("--max-last-rx", "100", sources=sources) == (OK, [])
    state, reasons = state_of("--max-last-rx", "99", sources=sources)
    assert state == WARNING
    assert reasons == ["last sample of 192.168.1.100 100s ago, over 99s"]


def test_worst_state_wins_and_reasons_are_worst_first() -> None:
    state, reasons = state_of(
        "-w", "0.0001", "--stratum-critical", "1", tracking={"leap_status": LeapStatus.INSERT}
    )
    assert state == CRITICAL
    assert reasons[0].startswith("stratum 2 outside 1")
    assert set(reasons[1:]) == {"leap second pending (insert)", reasons[1], reasons[2]}


# -- against the lab -----------------------------------------------------------------


def _perfdata(line: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in line.split(" | ", 1)[1].split())


@pytest.mark.integration
def test_ok_on_a_synchronised_client(client: chronylab.Instance, synced: None) -> None:
    done = run_cli("check", "-a", client.socket, "-w", "1", "-c", "2", "--stratum-critical", "5")
    assert done.returncode == OK, done.stdout
    assert STATUS_LINE.match(done.stdout), done.stdout
    assert done.stdout.startswith("CHRONY OK: offset ")
    perf = _perfdata(done.stdout)
    assert re.fullmatch(r"-?\d+\.\d{9}s;1;2", perf["offset"]), perf
    assert re.fullmatch(r"[0-9]+;;5;0;16", perf["stratum"]), perf
    # client: GPS, 127.0.0.1, ::1 (when IPv6), 127.0.0.2, 127.0.0.3; ID# not counted
    assert re.fullmatch(r"[45];;;0", perf["sources"]), perf
    assert perf["reachable"].split(";")[0] in ("2", "3")


@pytest.mark.integration
def test_thresholds_fire_against_the_lab(client: chronylab.Instance) -> None:
    done = run_cli("check", "-a", client.socket, "--min-sources", "99", "--min-reach", "99")
    assert done.returncode == WARNING, done.stdout
    assert done.stdout.startswith("CHRONY WARNING: ")
    perf = _perfdata(done.stdout)
    assert perf["selectable"].split(";")[1] == "99:"
    assert perf["reachable"].split(";")[1] == "99:"


@pytest.mark.integration
def test_unsynchronised_daemon_is_critical(lab: chronylab.Lab) -> None:
    done = run_cli("check", "-a", lab["empty"].socket)
    assert done.returncode == CRITICAL, done.stdout
    assert done.stdout.startswith("CHRONY CRITICAL: not synchronised; offset ")
    assert _perfdata(done.stdout)["sources"] == "0;;;0"


@pytest.mark.integration
def test_local_reference_is_warning(lab: chronylab.Lab) -> None:
    done = run_cli("check", "-a", lab["server"].socket)
    assert done.returncode == WARNING, done.stdout
    assert done.stdout.startswith("CHRONY WARNING: following only its local reference")
    assert _perfdata(done.stdout)["stratum"].startswith(f"{chronylab.LOCAL_STRATUM};")


def test_unreachable_chronyd_is_critical_with_the_cause(tmp_path: Path) -> None:
    missing = str(tmp_path / "chronyd.sock")
    done = run_cli("check", "-a", missing)
    assert done.returncode == CRITICAL
    assert done.stdout.startswith("CHRONY CRITICAL: chronyd not reachable: ")
    assert missing in done.stdout
    assert STATUS_LINE.match(done.stdout), done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["-w", "abc"],
        ["--min-sources", "x"],
        ["--stratum-warning", "5:1"],
        ["--bogus"],
        ["--timeout", "0"],
        ["--min-reach", "-1"],
        ["--max-last-rx", "nan"],
        ["--max-last-rx", "-5"],
    ],
)
def test_bad_arguments_are_unknown_on_stdout(argv: list[str]) -> None:
    done = run_cli("check", *argv)
    assert done.returncode == UNKNOWN, (done.stdout, done.stderr)
    assert done.stdout.startswith("CHRONY UNKNOWN: ")
    assert STATUS_LINE.match(done.stdout), done.stdout
    assert "Traceback" not in done.stderr


def test_status_line_in_process_goes_to_the_given_stdout(tmp_path: Path) -> None:
    from pychrony.cli import main

    out = io.StringIO()
    assert main(["check", "-a", str(tmp_path / "none.sock")], stdout=out) == CRITICAL
    assert out.getvalue().startswith("CHRONY CRITICAL: ")


@pytest.fixture
def synced(client: chronylab.Instance) -> None:
    """Lab setup: the client has synchronised (it does within seconds of starting)."""
    pychrony.wait_sync(client.socket, max_tries=100, interval=0.2)
