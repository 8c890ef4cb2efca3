"""Field-by-field agreement with chronyc (-c -n) and with the reference
pychrony 2.0.3 on the same chronyd.

chronyd's values move (the lab's sources are polled 64 times a second), so
every comparison brackets the other reader between two reads of ours taken
back to back: a value must lie between our two reads, widened by the other
side's printed precision. The read is retried a few times when a value
jumped twice inside the window.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import chronylab
import pychrony
from pychrony import ChronyConnection, SourceMode, SourceState
from support.agreement import LEAP_TEXT, Mismatch, between, half_ulp, retry
from support.prerequisites import require_reference_python

pytestmark = pytest.mark.integration

MODE_CHAR = {SourceMode.CLIENT: "^", SourceMode.PEER: "=", SourceMode.REFCLOCK: "#"}
STATE_CHAR = {
    SourceState.SELECTED: "*",
    SourceState.NONSELECTABLE: "?",
    SourceState.FALSETICKER: "x",
    SourceState.JITTERY: "~",
    SourceState.UNSELECTED: "+",
    SourceState.SELECTABLE: "-",
}


def check_numbers(
    where: str, theirs: Sequence[str], ours_a: Sequence[Any], ours_b: Sequence[Any]
) -> None:
    for i, (text, a, b) in enumerate(zip(theirs, ours_a, ours_b, strict=True)):
        if not between(float(text), float(a), float(b), half_ulp(text)):
            raise Mismatch(f"{where} column {i}: chronyc {text}, ours {a} / {b}")


def tracking_row(t: pychrony.TrackingStatus) -> list[Any]:
    return [
        t.stratum,
        t.ref_time,
        t.offset,
        t.last_offset,
        t.rms_offset,
        t.frequency,
        t.residual_freq,
        t.skew,
        t.root_delay,
        t.root_dispersion,
        t.update_interval,
    ]


@pytest.mark.parametrize("name", ["client", "empty"])
def test_tracking_agrees_with_chronyc(lab: chronylab.Lab, name: str) -> None:
    inst = lab[name]

    def compare() -> None:
        with ChronyConnection(inst.socket) as conn:
            a = conn.get_tracking()
            out = chronylab.chronyc(inst, "-c", "tracking").strip().split(",")
            b = conn.get_tracking()
        if out[0] != f"{a.reference_id:08X}" or out[0] != f"{b.reference_id:08X}":
            raise Mismatch(f"reference id: chronyc {out[0]}, ours {a.reference_id:08X}")
        name_shown = a.reference_ip or chronylab_refid_chronyc(a.reference_id)
        assert out[1] == name_shown, (out[1], name_shown)
        assert out[13] == LEAP_TEXT[a.leap_status]
        check_numbers("tracking", out[2:13], tracking_row(a), tracking_row(b))

    retry(compare)


@pytest.mark.parametrize("name", ["client", "empty", "many"])
@pytest.mark.parametrize("backend", ["native", "libchrony"])
def test_activity_agrees_with_chronyc(
    lab: chronylab.Lab, name: str, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "libchrony":
        request.getfixturevalue("libchrony")
    inst = lab[name]
    addresses = [inst.socket] + ([f"127.0.0.1:{inst.cmdport}"] if inst.cmdport else [])

    def compare() -> None:
        for address in addresses:
            a = pychrony.get_activity(address, backend=backend)
            # chronyc's five lines, in order: online, offline, burst online,
            # burst offline, unresolved.
            out = chronylab.chronyc(inst, "-c", "-n", "activity").strip().split(",")
            b = pychrony.get_activity(address, backend=backend)
            ours = [a.online, a.offline, a.burst_online, a.burst_offline, a.unresolved]
            if ours != [b.online, b.offline, b.burst_online, b.burst_offline, b.unresolved]:
                raise Mismatch(f"activity moved between reads: {a} {b}")
            assert out == [str(v) for v in ours], (address, out, a)

    retry(compare)
    if name == "client":
        # Its unresolved source is counted as such.
        assert pychrony.get_activity(inst.socket).unresolved == 1


def chronylab_refid_chronyc(refid: int) -> str:
    """chronyc's rule for a reference id without address: printable bytes kept."""
    return "".join(chr(b) for b in refid.to_bytes(4, "big") if 32 <= b <= 126)


def source_row(s: pychrony.Source) -> list[Any]:
    return [
        s.stratum,
        s.poll,
        s.last_sample_ago,
        s.latest_meas,
        s.orig_latest_meas,
        s.latest_meas_err,
    ]


def test_sources_agree_with_chronyc(client: chronylab.Instance) -> None:
    def compare() -> None:
        with ChronyConnection(client.socket) as conn:
            a = conn.get_sources()
            lines = chronylab.chronyc(client, "-c", "sources", "-a").strip().splitlines()
            b = conn.get_sources()
        if len(lines) != len(a) or len(b) != len(a):
            raise Mismatch(f"{len(lines)} sources from chronyc, {len(a)}/{len(b)} ours")
        for line, sa, sb in zip(lines, a, b, strict=True):
            cols = line.split(",")
            assert cols[2] == sa.address == sb.address
            assert cols[0] == MODE_CHAR[sa.mode]
            if cols[1] not in (STATE_CHAR[sa.state], STATE_CHAR[sb.state]):
                raise Mismatch(f"{sa.address} state: chronyc {cols[1]}, ours {sa.state}/{sb.state}")
            if int(cols[5], 8) not in (sa.reachability, sb.reachability):
                raise Mismatch(f"{sa.address} reach: chronyc {cols[5]}, ours {sa.reachability:o}")
            numbers = [cols[3], cols[4], cols[6], cols[7], cols[8], cols[9]]
            check_numbers(sa.address, numbers, source_row(sa), source_row(sb))

    retry(compare)


def stats_row(s: pychrony.SourceStats) -> list[Any]:
    return [s.samples, s.runs, s.span, s.resid_freq, s.skew, s.offset, s.std_dev]


def test_sourcestats_agree_with_chronyc(client: chronylab.Instance) -> None:
    def compare() -> None:
        with ChronyConnection(client.socket) as conn:
            a = conn.get_source_stats()
            lines = chronylab.chronyc(client, "-c", "sourcestats", "-a").strip().splitlines()
            b = conn.get_source_stats()
        if len(lines) != len(a) or len(b) != len(a):
            raise Mismatch(f"{len(lines)} rows from chronyc, {len(a)}/{len(b)} ours")
        for line, sa, sb in zip(lines, a, b, strict=True):
            cols = line.split(",")
            assert cols[0] == sa.address == sb.address
            check_numbers(sa.address, cols[1:8], stats_row(sa), stats_row(sb))

    retry(compare)


# --- the reference pychrony 2.0.3 -------------------------------------------

REFERENCE_DUMP = r"""
import dataclasses, enum, json, sys, pychrony
def plain(obj):
    d = dataclasses.asdict(obj)
    return {k: (v.name if isinstance(v, enum.Enum) else v) for k, v in d.items()}
with pychrony.ChronyConnection(sys.argv[1]) as conn:
    out = {
        "version": pychrony.__version__,
        "tracking": plain(conn.get_tracking()),
        "sources": [plain(s) for s in conn.get_sources()],
        "source_stats": [plain(s) for s in conn.get_source_stats()],
        "rtc": conn.get_rtc_data(),
        "types": {c.__name__: [(f.name, f.type.__name__) for f in dataclasses.fields(c)]
                  for c in (pychrony.TrackingStatus, pychrony.Source,
                            pychrony.SourceStats, pychrony.RTCData)},
    }
print(json.dumps(out))
"""


def plain(obj: Any) -> dict[str, Any]:
    return {
        k: (v.name if isinstance(v, enum.Enum) else v) for k, v in dataclasses.asdict(obj).items()
    }


def check_records(kind: str, theirs: list[dict[str, Any]], a: list[Any], b: list[Any]) -> None:
    if not (len(theirs) == len(a) == len(b)):
        raise Mismatch(f"{kind}: {len(theirs)} records from the reference, {len(a)}/{len(b)} ours")
    for ref, ra, rb in zip(theirs, map(plain, a), map(plain, b), strict=True):
        for key, value in ref.items():
            ours = (ra[key], rb[key])
            if ours[0] != ours[1]:
                # Moved while the reference ran (its interpreter takes a while
                # to start): only values stable across the window are compared.
                continue
            if kind == "sources" and key == "poll":
                # The reference reads the signed 16-bit poll as unsigned.
                ours = (ours[0] & 0xFFFF, ours[1] & 0xFFFF)
            if kind == "source_stats" and key == "address" and value == "":
                # The reference leaves a reference clock's address empty; we
                # give its ref-id name, as chronyc does.
                assert ra["reference_id"] != 0 and ra[key] == pychrony.models._ref_id_to_name(
                    ra["reference_id"]
                )
                continue
            if isinstance(value, float) and not isinstance(value, bool):
                if not between(value, float(ours[0]), float(ours[1]), 1e-9 * abs(value)):
                    raise Mismatch(f"{kind} {key}: reference {value}, ours {ours}")
            elif value not in ours:
                raise Mismatch(f"{kind} {key}: reference {value!r}, ours {ours}")


@pytest.mark.parametrize("name", ["client", "empty", "many"])
def test_same_results_as_reference(lab: chronylab.Lab, name: str) -> None:
    python = require_reference_python()
    client = lab[name]

    def compare() -> None:
        with ChronyConnection(client.socket) as conn:
            a = (conn.get_tracking(), conn.get_sources(), conn.get_source_stats())
            done = subprocess.run(
                [python, "-c", REFERENCE_DUMP, client.socket],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            b = (conn.get_tracking(), conn.get_sources(), conn.get_source_stats())
            rtc = conn.get_rtc_data()
        ref = json.loads(done.stdout)
        assert ref["version"] == "2.0.3"
        assert ref["rtc"] is None and rtc is None
        for cls in (
            pychrony.TrackingStatus,
            pychrony.Source,
            pychrony.SourceStats,
            pychrony.RTCData,
        ):
            ours = [[f.name, f.type.__name__] for f in dataclasses.fields(cls)]  # type: ignore[union-attr]
            assert ref["types"][cls.__name__] == ours
        check_records("tracking", [ref["tracking"]], [a[0]], [b[0]])
        check_records("sources", ref["sources"], a[1], b[1])
        check_records("source_stats", ref["source_stats"], a[2], b[2])

    retry(compare)


@pytest.mark.parametrize("name", ["empty", "many"])
def test_script_written_for_the_reference_runs_unchanged(lab: chronylab.Lab, name: str) -> None:
    """The same 2.0.3-style script, run by the reference and by this package
    on the same (unsynchronised, so stable) chronyd, prints the same summary."""
    script = str(Path(__file__).with_name("reference_script.py"))
    socket = lab[name].socket
    outputs = []
    for python in (require_reference_python(), sys.executable):
        done = subprocess.run(
            [python, script, socket], capture_output=True, text=True, timeout=60, check=True
        )
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[1]["missing"] == ["ChronyConnectionError", True]
    assert outputs[1]["outside_with"] is True
