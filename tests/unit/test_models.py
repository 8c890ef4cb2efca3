"""Enums, report dataclasses and ``_ref_id_to_name``."""

import dataclasses
import inspect
import pickle
from collections.abc import Callable
from enum import Enum
from typing import Any

import pytest

from pychrony.models import (
    LeapStatus,
    RTCData,
    Source,
    SourceMode,
    SourceState,
    SourceStats,
    TrackingStatus,
    Transport,
    _ref_id_to_name,
)
from pychrony.testing import make_rtc_data, make_source, make_source_stats, make_tracking

# --- enums -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("enum_cls", "members"),
    [
        (LeapStatus, {"NORMAL": 0, "INSERT": 1, "DELETE": 2, "UNSYNC": 3}),
        (
            SourceState,
            {
                "SELECTED": 0,
                "NONSELECTABLE": 1,
                "FALSETICKER": 2,
                "JITTERY": 3,
                "UNSELECTED": 4,
                "SELECTABLE": 5,
            },
        ),
        (SourceMode, {"CLIENT": 0, "PEER": 1, "REFCLOCK": 2}),
        (Transport, {"UNIX_SOCKET": "unix_socket", "COMMAND_PORT": "command_port"}),
    ],
)
def test_enum_members_and_values(enum_cls: type[Enum], members: dict[str, object]) -> None:
    assert {member.name: member.value for member in enum_cls} == members
    assert list(enum_cls.__members__) == list(members)  # declaration order too


@pytest.mark.parametrize("enum_cls", [LeapStatus, SourceState, SourceMode, Transport])
def test_enums_are_plain_enums(enum_cls: type[Enum]) -> None:
    # Upstream uses enum.Enum, not IntEnum/StrEnum: members do not equal raw values.
    assert enum_cls.__mro__ == (enum_cls, Enum, object)
    first = next(iter(enum_cls))
    assert first != first.value
    assert enum_cls(first.value) is first


def test_transport_lookup_by_value() -> None:
    assert Transport("unix_socket") is Transport.UNIX_SOCKET
    assert Transport("command_port") is Transport.COMMAND_PORT
    with pytest.raises(ValueError):
        Transport("udp")


# --- dataclass shape -----------------------------------------------------------------------

EXPECTED_FIELDS = {
    TrackingStatus: [
        ("reference_id", int),
        ("reference_id_name", str),
        ("reference_ip", str),
        ("stratum", int),
        ("leap_status", LeapStatus),
        ("ref_time", float),
        ("offset", float),
        ("last_offset", float),
        ("rms_offset", float),
        ("frequency", float),
        ("residual_freq", float),
        ("skew", float),
        ("root_delay", float),
        ("root_dispersion", float),
        ("update_interval", float),
    ],
    Source: [
        ("address", str),
        ("poll", int),
        ("stratum", int),
        ("state", SourceState),
        ("mode", SourceMode),
        ("flags", int),
        ("reachability", int),
        ("last_sample_ago", int),
        ("orig_latest_meas", float),
        ("latest_meas", float),
        ("latest_meas_err", float),
    ],
    SourceStats: [
        ("reference_id", int),
        ("address", str),
        ("samples", int),
        ("runs", int),
        ("span", int),
        ("std_dev", float),
        ("resid_freq", float),
        ("skew", float),
        ("offset", float),
        ("offset_err", float),
    ],
    RTCData: [
        ("ref_time", float),
        ("samples", int),
        ("runs", int),
        ("span", int),
        ("offset", float),
        ("freq_offset", float),
    ],
}

FACTORIES: dict[type, Callable[..., Any]] = {
    TrackingStatus: make_tracking,
    Source: make_source,
    SourceStats: make_source_stats,
    RTCData: make_rtc_data,
}


@pytest.mark.parametrize("cls", list(EXPECTED_FIELDS))
def test_field_order_and_real_class_types(cls: type) -> None:
    # The types must be classes, not strings (no postponed annotations).
    assert [(f.name, f.type) for f in dataclasses.fields(cls)] == EXPECTED_FIELDS[cls]


@pytest.mark.parametrize("cls", list(EXPECTED_FIELDS))
def test_dataclass_params(cls: type) -> None:
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    flags = (params.frozen, params.eq, params.order, params.unsafe_hash)
    assert flags == (True, True, False, False)
    assert all(
        f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        for f in dataclasses.fields(cls)
    )


@pytest.mark.parametrize("cls", list(EXPECTED_FIELDS))
def test_frozen_equal_hashable_picklable(cls: type) -> None:
    report = FACTORIES[cls]()
    first_field = EXPECTED_FIELDS[cls][0][0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(report, first_field, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(report, first_field)
    twin = FACTORIES[cls]()
    assert report == twin
    assert hash(report) == hash(twin)
    assert len({report, twin}) == 1
    assert pickle.loads(pickle.dumps(report)) == report
    assert dataclasses.replace(report) == report


def test_positional_construction_and_repr() -> None:
    rtc = RTCData(1.5, 3, 2, 600, -0.25, 0.5)
    assert rtc.span == 600
    assert repr(rtc) == (
        "RTCData(ref_time=1.5, samples=3, runs=2, span=600, offset=-0.25, freq_offset=0.5)"
    )


def test_no_validation_in_constructors() -> None:
    # Upstream accepts any values; the Rust layer validates what it decodes.
    source = make_source(state=0, stratum=-1)
    assert vars(source)["state"] == 0
    assert not source.is_selected()


# --- methods --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference_id", "stratum", "expected"),
    [
        (0x7F000001, 2, True),
        (0x7F000001, 15, True),
        (0x7F000001, 16, False),
        (0x7F000001, 17, False),
        (0, 2, False),
        (0, 16, False),
        (1, 0, True),
    ],
)
def test_tracking_is_synchronized(reference_id: int, stratum: int, expected: bool) -> None:
    status = make_tracking(reference_id=reference_id, stratum=stratum)
    assert status.is_synchronized() is expected


@pytest.mark.parametrize(
    ("leap", "expected"),
    [
        (LeapStatus.NORMAL, False),
        (LeapStatus.INSERT, True),
        (LeapStatus.DELETE, True),
        (LeapStatus.UNSYNC, False),
        (1, False),  # a raw value is not a member
    ],
)
def test_tracking_is_leap_pending(leap: object, expected: bool) -> None:
    assert make_tracking(leap_status=leap).is_leap_pending() is expected


@pytest.mark.parametrize(
    ("reachability", "expected"), [(0, False), (1, True), (0o377, True), (-1, False)]
)
def test_source_is_reachable(reachability: int, expected: bool) -> None:
    assert make_source(reachability=reachability).is_reachable() is expected


@pytest.mark.parametrize("state", list(SourceState))
def test_source_is_selected(state: SourceState) -> None:
    assert make_source(state=state).is_selected() is (state is SourceState.SELECTED)


@pytest.mark.parametrize(
    ("samples", "minimum", "expected"),
    [(4, None, True), (3, None, False), (8, None, True), (3, 3, True), (3, 4, False), (0, 0, True)],
)
def test_sourcestats_has_sufficient_samples(
    samples: int, minimum: int | None, expected: bool
) -> None:
    stats = make_source_stats(samples=samples)
    if minimum is None:
        assert stats.has_sufficient_samples() is expected
    else:
        assert stats.has_sufficient_samples(minimum) is expected
        assert stats.has_sufficient_samples(minimum=minimum) is expected


@pytest.mark.parametrize(("samples", "expected"), [(0, False), (1, True), (10, True), (-1, False)])
def test_rtc_is_calibrated(samples: int, expected: bool) -> None:
    assert make_rtc_data(samples=samples).is_calibrated() is expected


# --- reference IDs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref_id", "name"),
    [
        (0x47505300, "GPS"),
        (0x7F000001, "127.0.0.1"),
        (0, ""),
        (0x7F7F0101, "127.127.1.1"),
        (0x53484D30, "SHM0"),
        (0x50505330, "PPS0"),
        (0x41000000, "A"),
        (0x41004200, "A\0B"),  # only trailing NULs are dropped
        (0x00000041, "\0\0\0A"),
        (0x20202020, "    "),
        (0x7E000000, "~"),
        (0x1F000000, "31.0.0.0"),  # control character: not text
        (0xC0A80164, "192.168.1.100"),
        (0xFFFFFFFF, "255.255.255.255"),
    ],
)
def test_ref_id_to_name(ref_id: int, name: str) -> None:
    assert _ref_id_to_name(ref_id) == name


@pytest.mark.parametrize("ref_id", [-1, 2**32])
def test_ref_id_to_name_out_of_range(ref_id: int) -> None:
    with pytest.raises(OverflowError):
        _ref_id_to_name(ref_id)


# --- documentation (FR-013: each field explained, with a chrony reference) -----------------


@pytest.mark.parametrize("cls", list(EXPECTED_FIELDS))
def test_every_field_is_documented(cls: type) -> None:
    doc = inspect.cleandoc(cls.__doc__ or "")  # Python 3.13+ already dedents docstrings
    assert "https://chrony-project.org/doc/4.6/chronyc.html#" in doc
    for name, _ in EXPECTED_FIELDS[cls]:
        assert f"\n    {name}: " in doc, f"{cls.__name__}.{name} is not documented"


@pytest.mark.parametrize("enum_cls", [LeapStatus, SourceState, SourceMode, Transport])
def test_every_enum_member_is_documented(enum_cls: type[Enum]) -> None:
    doc = inspect.cleandoc(enum_cls.__doc__ or "")
    assert "https://chrony-project.org/doc/4.6/chronyc.html" in doc
    for member in enum_cls:
        assert f"\n    {member.name}: " in doc
