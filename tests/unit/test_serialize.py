"""``pychrony.to_dict`` / ``pychrony.from_dict``: JSON-ready, and a round
trip gives an equal object, for every report of the registry."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

import pytest

import pychrony
import pychrony.testing
from pychrony import LeapStatus, Source, SourceMode, SourceState, TrackingStatus
from pychrony.registry import REPORTS, ReportInfo

RECORDS = [r for r in REPORTS if r.shape != "text"]


@pytest.mark.parametrize("report", RECORDS, ids=lambda r: r.name)
def test_round_trip_through_json(report: ReportInfo) -> None:
    record = getattr(pychrony.testing, report.factory)()
    data = json.loads(json.dumps(pychrony.to_dict(record)))
    assert list(data) == list(record.__dataclass_fields__)
    assert pychrony.from_dict(report.dataclass, data) == record
    listed = json.loads(json.dumps(pychrony.to_dict([record, record])))
    assert [pychrony.from_dict(report.dataclass, d) for d in listed] == [record, record]


def test_enums_by_name() -> None:
    data = pychrony.to_dict(pychrony.testing.make_source())
    assert (data["state"], data["mode"]) == ("SELECTED", "CLIENT")
    assert pychrony.to_dict(pychrony.testing.make_tracking())["leap_status"] == "NORMAL"


def test_never_is_null_and_back() -> None:
    src = pychrony.testing.make_source(last_sample_ago=2**32 - 1)
    data = pychrony.to_dict(src)
    assert data["last_sample_ago"] is None
    assert pychrony.from_dict(Source, data) == src


def test_unknown_enum_values_stay_plain() -> None:
    src = pychrony.testing.make_source(mode=7)
    data = pychrony.to_dict(src)
    assert data["mode"] == 7
    assert pychrony.from_dict(Source, data) == src


class Bits(enum.Flag):
    ONE = 1
    TWO = 2
    FOUR = 4


@dataclass(frozen=True)
class WithFlags:
    bits: Bits
    last_thing_ago: int


def test_flags_as_lists_of_names() -> None:
    record = WithFlags(Bits.ONE | Bits.FOUR, 5)
    data = pychrony.to_dict(record)
    assert data == {"bits": ["ONE", "FOUR"], "last_thing_ago": 5}
    assert pychrony.from_dict(WithFlags, data) == record
    assert pychrony.to_dict(WithFlags(Bits(0), 1))["bits"] == []


def test_errors() -> None:
    with pytest.raises(TypeError, match="dataclass"):
        pychrony.to_dict(3)
    with pytest.raises(TypeError, match="dataclass"):
        pychrony.from_dict(int, {})
    data = pychrony.to_dict(pychrony.testing.make_tracking())
    with pytest.raises(TypeError, match="needs the field"):
        pychrony.from_dict(TrackingStatus, {k: v for k, v in data.items() if k != "skew"})
    with pytest.raises(TypeError, match="has no field"):
        pychrony.from_dict(TrackingStatus, {**data, "extra": 1})
    assert pychrony.from_dict(Source, pychrony.to_dict(pychrony.testing.make_source())).mode is (
        SourceMode.CLIENT
    )
    assert SourceState.SELECTED and LeapStatus.NORMAL
