"""``pychrony REPORT`` against the lab's chronyd of the version under test:
tables line by line with that version's ``chronyc -n`` (moving numbers
masked, ``-v`` legends left out), ``--csv`` with ``chronyc -c -n`` (moving
numbers within chronyc's printed precision), ``--json`` parsed back and equal
to what the library reads.

Every report of the registry is covered (``CHRONYC_ARGS`` must name it), so
a report added later is compared here as soon as it is registered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import chronylab
import pychrony
from pychrony import ChronyConnection
from pychrony.cli._output import unresolved
from pychrony.registry import REPORTS, ReportInfo
from support.cli import (
    ALL_SOURCES,
    ATTEMPTS,
    CHRONYC_ARGS,
    SAMPLED,
    csv_agrees,
    field_agrees,
    lines_agree,
    ok,
    pychrony_args,
    run_cli,
)
from support.lab import enter_manual_samples

pytestmark = pytest.mark.integration

#: The address ``sourcename`` is asked for: the lab's unresolvable source.
SOURCENAME_ADDRESS = "ID#0000000001"
#: Reports the lab's client instance does not provide (chronyd says so).
UNAVAILABLE = {"rtcdata"}
SERVED = [r for r in REPORTS if r.name not in UNAVAILABLE]


@pytest.fixture(scope="module")
def manual_daemon(lab: chronylab.Lab) -> Iterator[chronylab.Instance]:
    inst = lab.start("empty", name="cli-manual")
    try:
        enter_manual_samples(inst, 2)
        yield inst
    finally:
        inst.stop()


@pytest.fixture
def daemon_of(
    request: pytest.FixtureRequest, lab: chronylab.Lab, client: chronylab.Instance
) -> Any:
    """The lab instance that serves each report with something in it."""

    def pick(report: ReportInfo) -> chronylab.Instance:
        if report.name == "smoothing":
            return request.getfixturevalue("smoothing_client")  # type: ignore[no-any-return]
        if report.name == "manual list":
            return request.getfixturevalue("manual_daemon")  # type: ignore[no-any-return]
        if report.name == "clients":
            return lab["server"]
        return client

    return pick


def _extra(report: ReportInfo) -> list[str]:
    return [SOURCENAME_ADDRESS] if report.name == "sourcename" else []


def test_every_report_has_a_chronyc_command() -> None:
    assert {r.name for r in REPORTS} <= set(CHRONYC_ARGS)


@pytest.mark.parametrize("report", SERVED, ids=lambda r: r.name)
def test_table_is_chronycs(report: ReportInfo, daemon_of: Any) -> None:
    inst = daemon_of(report)
    problem: str | None = None
    for _ in range(ATTEMPTS):
        theirs = chronylab.chronyc(inst, *CHRONYC_ARGS[report.name], *_extra(report))
        ours = ok(*pychrony_args(report.name), "-a", inst.socket, *_extra(report))
        problem = lines_agree(ours.splitlines(), theirs.splitlines())
        if problem is None:
            break
    assert problem is None, f"{report.name}: {problem}"


@pytest.mark.parametrize("report", SERVED, ids=lambda r: r.name)
def test_csv_is_chronycs(report: ReportInfo, daemon_of: Any) -> None:
    inst = daemon_of(report)
    extra = _extra(report)
    difference = csv_agrees(
        lambda: ok(*pychrony_args(report.name), "--csv", "-a", inst.socket, *extra),
        lambda: chronylab.chronyc(inst, "-c", *CHRONYC_ARGS[report.name], *extra),
        sampled=report.name in SAMPLED,
    )
    assert difference is None, "{}: ours / chronyc / ours:\n{}\n--\n{}\n--\n{}".format(
        report.name, *difference
    )


#: Tries of the JSON comparison (each a few milliseconds).
JSON_ATTEMPTS = 60


def _library(inst: chronylab.Instance, report: ReportInfo) -> Any:
    with ChronyConnection(inst.socket) as conn:
        kwargs = {"address": SOURCENAME_ADDRESS} if report.name == "sourcename" else {}
        value = getattr(conn, report.method)(**kwargs)
    if report.shape == "text":
        return value
    if report.shape == "list" and report.name not in ALL_SOURCES:
        # pychrony, as chronyc, lists resolved sources only unless told otherwise
        value = [record for record in value if not unresolved(record)]
    return pychrony.to_dict(value)


def _agrees(ours: Any, before: Any, after: Any) -> bool:
    if isinstance(ours, dict):
        return (
            isinstance(before, dict)
            and isinstance(after, dict)
            and list(ours) == list(before) == list(after)
            and all(_agrees(ours[k], before[k], after[k]) for k in ours)
        )
    if isinstance(ours, list):
        return (
            isinstance(before, list)
            and isinstance(after, list)
            and len(ours) == len(before) == len(after)
            and all(_agrees(*items) for items in zip(ours, before, after, strict=True))
        )
    if ours in (before, after):
        return True
    numbers = (int, float)
    if isinstance(ours, bool) or not all(isinstance(v, numbers) for v in (ours, before, after)):
        return False
    return field_agrees(repr(float(ours)), repr(float(before)), repr(float(after)))


@pytest.mark.parametrize("report", SERVED, ids=lambda r: r.name)
def test_json_is_the_librarys(report: ReportInfo, daemon_of: Any) -> None:
    inst = daemon_of(report)
    args = [*pychrony_args(report.name), "--json", "-a", inst.socket, *_extra(report)]
    # Dozens of values, polled 64 times a second: a window where none moved
    # twice can take many tries (8 were seen to fail for sourcestats).
    for _ in range(JSON_ATTEMPTS):
        before = _library(inst, report)
        ours = json.loads(ok(*args))
        after = _library(inst, report)
        if _agrees(ours, before, after):
            break
    else:
        pytest.fail(f"{report.name}: ours {ours}\nlibrary {before} / {after}")
    if report.shape == "list":
        assert all(
            pychrony.from_dict(report.dataclass, item).__class__ is report.dataclass
            for item in ours
        )
    elif report.shape != "text":
        assert type(pychrony.from_dict(report.dataclass, ours)) is report.dataclass


def test_json_lines_is_one_record_a_line(client: chronylab.Instance) -> None:
    lines = ok("sources", "--json-lines", "--all-sources", "-a", client.socket).splitlines()
    with ChronyConnection(client.socket) as conn:
        sources = conn.get_sources()
    records = [pychrony.from_dict(pychrony.Source, json.loads(line)) for line in lines]
    assert [r.address for r in records] == [s.address for s in sources]


def test_unresolved_sources_need_all_sources(client: chronylab.Instance) -> None:
    shown = ok("sources", "--csv", "-a", client.socket)
    everything = ok("--all-sources", "sources", "--csv", "-a", client.socket)
    assert SOURCENAME_ADDRESS not in shown
    assert f",{SOURCENAME_ADDRESS}," in everything
    theirs = chronylab.chronyc(client, "-c", "sources")
    assert len(shown.splitlines()) == len(theirs.splitlines())


def test_options_before_and_after_the_subcommand(client: chronylab.Instance) -> None:
    before = ok("--csv", "-a", client.socket, "activity")
    after = ok("activity", "--csv", "-a", client.socket)
    mixed = ok("-a", "/nonexistent/socket", "activity", "-a", client.socket, "--csv")
    assert before == after == mixed
    assert len(before.split(",")) == 5


def test_verbose_prints_chronycs_legend(client: chronylab.Instance) -> None:
    plain = ok("sources", "-a", client.socket).splitlines()
    verbose = ok("sources", "-v", "-a", client.socket).splitlines()
    assert verbose[-len(plain) :][:2] == plain[:2]
    assert any("Source mode  '^' = server" in line for line in verbose)


def test_rtcdata_unavailable_as_chronyc_says(client: chronylab.Instance) -> None:
    theirs = chronylab.chronyc(client, "rtcdata", check=False)
    done = run_cli("rtcdata", "-a", client.socket)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "513 RTC driver not running" in done.stderr
    assert "rtcfile" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "513" in theirs or theirs == ""


def test_all_prints_every_served_report(client: chronylab.Instance) -> None:
    done = run_cli("all", "--json", "-a", client.socket)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    served = {r.name for r in REPORTS if r.shape != "text"} - {"rtcdata", "smoothing"}
    assert set(document) == served
    assert document["tracking"]["reference_id_name"] in ("GPS", "127.0.0.1", "::1")
    notes = done.stderr.splitlines()
    assert sorted(line.split()[2] for line in notes) == ["rtcdata", "smoothing"]
    assert all(line.startswith("pychrony all: ") for line in notes)


def test_all_over_udp_skips_the_unix_socket_reports(
    client: chronylab.Instance, udp_address: str
) -> None:
    done = run_cli("all", "-a", udp_address)
    assert done.returncode == 0, done.stderr
    assert "[tracking]" in done.stdout
    assert "[sources]" in done.stdout
    assert "[serverstats]" not in done.stdout
    assert "pychrony all: serverstats skipped: " in done.stderr
    assert "Unix socket" in done.stderr


def test_all_tables_are_the_reports_tables(client: chronylab.Instance) -> None:
    done = run_cli("all", "--csv", "-a", client.socket)
    assert done.returncode == 0, done.stderr
    sections = done.stdout.split("\n\n")
    assert sections[0].splitlines()[0] == "[tracking]"
    assert sections[1].splitlines()[0] == "[sources]"
    assert len(sections[1].splitlines()) - 1 == len(
        ok("sources", "--csv", "-a", client.socket).splitlines()
    )


def test_python_m_pychrony_prints_chronycs_table(client: chronylab.Instance) -> None:
    """The command as users run it, in its own process."""
    for _ in range(ATTEMPTS):
        theirs = chronylab.chronyc(client, "sources")
        done = run_cli("sources", "-a", client.socket, process=True)
        assert done.returncode == 0, done.stderr
        if lines_agree(done.stdout.splitlines(), theirs.splitlines()) is None:
            break
    else:
        pytest.fail(f"{done.stdout}\n--\n{theirs}")


def test_manual_list_as_chronyc_spells_it(manual_daemon: chronylab.Instance) -> None:
    assert ok("manual", "list", "-a", manual_daemon.socket) == ok(
        "manual", "-a", manual_daemon.socket
    )


def test_libchrony_backend(client: chronylab.Instance, libchrony: str) -> None:
    """Same table through libchrony; what libchrony lacks is skipped in `all`."""
    native = ok("sources", "--csv", "--all-sources", "-a", client.socket).splitlines()
    through = ok(
        "sources", "--csv", "--all-sources", "--backend", "libchrony", "-a", client.socket
    ).splitlines()
    assert [line.split(",")[:4] for line in through] == [line.split(",")[:4] for line in native]
    done = run_cli("all", "--backend", "libchrony", "-a", client.socket)
    assert done.returncode == 0, done.stderr
    assert "[tracking]" in done.stdout
    assert "pychrony all: manual list skipped: " in done.stderr
