"""Reports as JSON-ready data, and back: ``to_dict`` and ``from_dict``.

``to_dict`` turns a report (one dataclass of ``pychrony.models``, or a list of
them) into dicts of plain values, the form ``pychrony --json`` prints:

* field names as in the dataclass, in its order;
* an enum by its member's name (``"NORMAL"``); a flag enum as the list of
  its members' names (``["TEST1", "TEST2"]``); a value chronyd sent that
  the enum does not know stays the plain value it is in the dataclass;
* the "never" of a ``last_*_ago`` field (chronyd's 2**32 - 1) as ``None``.

``from_dict(cls, data)`` is the inverse: ``from_dict(Source, to_dict(src))
== src``.

Example::

    import json
    import pychrony

    status = pychrony.get_tracking()
    text = json.dumps(pychrony.to_dict(status))
    again = pychrony.from_dict(pychrony.TrackingStatus, json.loads(text))
    assert again == status
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["from_dict", "to_dict"]

#: chronyd's "never" in ``last_*_ago`` fields (``Source.last_sample_ago``).
NEVER = 2**32 - 1

T = TypeVar("T")


def _is_sentinel_field(name: str) -> bool:
    return name.startswith("last_") and name.endswith("_ago")


def _flag_names(value: enum.Flag) -> list[str | int]:
    """The names of the single-bit members set in `value`, in order.

    Bits that no member names follow, as one int.
    """
    names: list[str | int] = []
    covered = 0
    for member in type(value):
        bits = int(member.value)
        if bits and bits & (bits - 1) == 0 and member in value and member.name is not None:
            names.append(member.name)
            covered |= bits
    rest = int(value.value) & ~covered
    if rest:
        names.append(rest)
    return names


def _plain(name: str, value: object) -> object:
    if isinstance(value, enum.Flag):
        return _flag_names(value)
    if isinstance(value, enum.Enum):
        return value.name
    if (
        _is_sentinel_field(name)
        and isinstance(value, int)
        and not isinstance(value, bool)
        and value == NEVER
    ):
        return None
    return value


def _record_to_dict(record: object) -> dict[str, Any]:
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        raise TypeError(f"to_dict() takes a report dataclass or a list of them, not {record!r}")
    return {
        field.name: _plain(field.name, getattr(record, field.name))
        for field in dataclasses.fields(record)
    }


def to_dict(report: object) -> dict[str, Any] | list[dict[str, Any]]:
    """Turn a report into JSON-ready data (what ``pychrony --json`` prints).

    Args:
        report: One report dataclass (``TrackingStatus``, ``Source``, ...)
            or a list (or tuple) of them.

    Returns:
        A dict of the dataclass's fields, in order (a list of such dicts for
        a list): enums by member name, flag enums as lists of member names,
        the "never" (2**32 - 1) of ``last_*_ago`` fields as None, every other
        value as it is.

    Raises:
        TypeError: `report` is neither a dataclass instance nor a list of them.
    """
    if isinstance(report, (list, tuple)):
        return [_record_to_dict(record) for record in report]
    return _record_to_dict(report)


def _enum_in(annotation: object) -> type[enum.Enum] | None:
    """The enum class a field's annotation names, if any.

    ``LeapStatus``, or the ``NTPMode`` of ``NTPMode | int``.
    """
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation
    for arg in typing.get_args(annotation):
        found = _enum_in(arg)
        if found is not None:
            return found
    return None


def _from_plain(name: str, annotation: object, value: object) -> object:
    enum_cls = _enum_in(annotation)
    if enum_cls is not None:
        if issubclass(enum_cls, enum.Flag) and isinstance(value, list):
            result = enum_cls(0)
            for item in value:
                if isinstance(item, str):
                    result |= enum_cls[item]
                else:
                    result = enum_cls(int(result.value) | int(item))
            return result
        if isinstance(value, str) and value in enum_cls.__members__:
            return enum_cls[value]
        return value
    if value is None and _is_sentinel_field(name) and annotation is int:
        return NEVER
    return value


def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build a report dataclass from what ``to_dict`` gave (or JSON of it).

    Args:
        cls: The dataclass, e.g. ``pychrony.Source``.
        data: Its fields by name, as ``to_dict`` returns them.

    Returns:
        The `cls` instance; ``from_dict(type(r), to_dict(r)) == r``.

    Raises:
        TypeError: `cls` is not a dataclass, or `data` lacks a field or has
            one `cls` does not.
        KeyError: An enum member name that `cls`'s enum does not have.
    """
    if not dataclasses.is_dataclass(cls) or not isinstance(cls, type):
        raise TypeError(f"from_dict() takes a report dataclass, not {cls!r}")
    hints = typing.get_type_hints(cls)
    fields = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(unknown)}")
    missing = [name for name in fields if name not in data]
    if missing:
        raise TypeError(f"{cls.__name__} needs the field {', '.join(sorted(missing))}")
    values = {name: _from_plain(name, hints[name], value) for name, value in data.items()}
    return cls(**values)
