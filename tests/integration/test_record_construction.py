"""Records the bridge builds in one pass (without running the dataclass's
``__init__``, ``crates/pychrony/src/convert.rs``) are the objects ``__init__``
would build: same fields, same instance ``__dict__``, equal, hashable,
frozen; and a model class that is not a plain dataclass is still called."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import pychrony
from pychrony import ChronyConnection, models
from pychrony.registry import REPORTS

pytestmark = pytest.mark.integration


def records(conn: ChronyConnection, address: str) -> list[Any]:
    """One record or more of every dataclass report the lab client serves."""
    found: list[Any] = []
    for report in REPORTS:
        if report.dataclass is str:
            continue
        args = {a: address for a in report.args}
        value = getattr(conn, report.method)(**args)
        found.extend(value if isinstance(value, list) else [value])
    return [r for r in found if r is not None]


def test_records_equal_what_init_builds(client: Any) -> None:
    with ChronyConnection(client.socket) as conn:
        ntp = next(
            s.address for s in conn.get_sources() if s.mode is not pychrony.SourceMode.REFCLOCK
        )
        built = records(conn, ntp)
    assert {type(r) for r in built} >= {pychrony.TrackingStatus, pychrony.Source}
    for record in built:
        names = [f.name for f in dataclasses.fields(record)]
        rebuilt = type(record)(**{n: getattr(record, n) for n in names})
        assert rebuilt == record
        assert hash(rebuilt) == hash(record)
        assert vars(rebuilt) == vars(record)
        assert list(vars(record)) == names  # field order, as __init__ stores them
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, names[0], None)


def test_a_class_with_post_init_is_called(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    @dataclasses.dataclass(frozen=True)
    class Checked(models.TrackingStatus):
        def __post_init__(self) -> None:
            calls.append(self)

    monkeypatch.setattr(models, "TrackingStatus", Checked)
    with ChronyConnection(client.socket) as conn:
        tracking = conn.get_tracking()
    assert type(tracking) is Checked
    assert calls == [tracking]


def test_a_field_that_is_a_property_goes_through_its_setter(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A field a subclass makes a data descriptor is set through it, as the
    generated ``__init__`` (``object.__setattr__``) sets it, not stored
    straight into the instance's ``__dict__``."""
    stored: list[int] = []

    def get(self: Any) -> int:
        return int(vars(self)["_stratum"])

    def put(self: Any, value: int) -> None:
        stored.append(value)
        vars(self)["_stratum"] = value

    class Watched(models.TrackingStatus):
        stratum = property(get, put)  # type: ignore[assignment]

    monkeypatch.setattr(models, "TrackingStatus", Watched)
    with ChronyConnection(client.socket) as conn:
        tracking = conn.get_tracking()
    assert type(tracking) is Watched
    assert stored == [tracking.stratum]
    assert "stratum" not in vars(tracking)


def test_an_error_building_a_record_ends_the_read_and_the_connection_goes_on(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per-source records are built as their replies arrive: an exception
    raised building one (here the second) is the call's, and the same
    connection then reads the whole list (the replies still in flight are
    told apart from the next call's)."""
    built: list[Any] = []

    @dataclasses.dataclass(frozen=True)
    class Failing(models.Source):
        def __post_init__(self) -> None:
            built.append(self)
            if len(built) == 2:
                raise ArithmeticError("the second record")

    with ChronyConnection(client.socket) as conn:
        count = len(conn.get_sources())
        assert count >= 2
        monkeypatch.setattr(models, "Source", Failing)
        with pytest.raises(ArithmeticError, match="the second record"):
            conn.get_sources()
        assert len(built) == 2
        monkeypatch.undo()
        again = conn.get_sources()
        assert len(again) == count and all(type(s) is pychrony.Source for s in again)
        assert conn.get_tracking().stratum >= 0
