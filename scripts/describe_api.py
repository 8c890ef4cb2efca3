#!/usr/bin/env python3
"""Describe the public surface of an importable ``pychrony`` as JSON.

Run it with any interpreter that can import a pychrony (ours or upstream
2.0.3) to pin or compare the drop-in surface::

    python scripts/describe_api.py                    # JSON to stdout
    python scripts/describe_api.py -o surface.json    # JSON to a file

``tests/contract/reference_api.json`` is this script's output for upstream
pychrony 2.0.3; ``tests/contract/test_surface.py`` imports ``describe()`` and
compares our package against it.

What is recorded: ``__all__`` of the package and its public modules; for each
dataclass its fields (name and type), dataclass parameters and public
methods; enum members and bases; exception MROs, constructor signatures and
how ``str``/``repr``/``args``/pickling behave; ``ChronyConnection``'s
constructor parameters, methods and properties; the testing module's names,
factory signatures, fixtures and default values; ``_ref_id_to_name`` on a few
IDs. Module paths of private implementation classes (where
``ChronyConnection`` is defined) are left out on purpose: they are not part
of the drop-in promise.
"""

import argparse
import dataclasses
import enum
import importlib
import inspect
import json
import pickle
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

#: Reference IDs fed to ``pychrony.models._ref_id_to_name``.
REF_ID_SAMPLES = (
    0,
    0x47505300,
    0x53484D30,
    0x7F000001,
    0x7F7F0101,
    0x41000000,
    0x00000041,
    0x41004200,
    0x20202020,
    0x7E000000,
    0x1F000000,
    0xFFFFFFFF,
)


def type_name(annotation: Any) -> str:
    """Render an annotation the same way on every Python version and module layout.

    Classes become their qualified name without module (``TrackingStatus``,
    ``traceback``), unions ``A | B``, generics ``list[Source]``; strings that
    could not be evaluated stay as written.
    """
    if annotation is inspect.Parameter.empty:
        return ""
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, typing.TypeVar):
        return f"~{annotation.__name__}"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        return " | ".join(type_name(arg) for arg in args)
    if origin is not None:
        base = getattr(origin, "__qualname__", None) or repr(origin)
        if args:
            return f"{base}[{', '.join(type_name(arg) for arg in args)}]"
        return base
    if isinstance(annotation, type):
        return annotation.__qualname__
    if annotation is typing.Any:
        return "Any"
    return repr(annotation)


def _signature(func: Callable[..., Any]) -> inspect.Signature:
    """Signature with string annotations evaluated when possible."""
    try:
        return inspect.signature(func, eval_str=True)
    except (NameError, TypeError, SyntaxError):
        return inspect.signature(func)


def describe_params(func: Callable[..., Any]) -> list[dict[str, str]]:
    """Parameters of ``func`` as name, kind, annotation and default (repr)."""
    return [
        {
            "name": param.name,
            "kind": param.kind.name,
            "annotation": type_name(param.annotation),
            "default": "" if param.default is inspect.Parameter.empty else repr(param.default),
        }
        for param in _signature(func).parameters.values()
    ]


class _Shown:
    """Annotation stand-in whose ``repr`` is an already normalised name."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def describe_signature(func: Callable[..., Any]) -> str:
    """``(a: int, *, b: str = 'x') -> bool`` with normalised annotation names.

    ``inspect.Signature`` does the layout (``/``, ``*``, defaults); only the
    annotations are swapped for their ``type_name`` text.
    """
    sig = _signature(func)
    empty = inspect.Parameter.empty
    params = [
        param.replace(
            annotation=empty if param.annotation is empty else _Shown(type_name(param.annotation))
        )
        for param in sig.parameters.values()
    ]
    ret = sig.return_annotation
    shown = sig.replace(
        parameters=params,
        return_annotation=empty if ret is empty else _Shown(type_name(ret)),
    )
    return str(shown)


def _public_methods(cls: type) -> dict[str, str]:
    """Public functions defined in ``cls`` itself, with their signatures."""
    return {
        name: describe_signature(member)
        for name, member in sorted(vars(cls).items())
        if not name.startswith("_") and inspect.isfunction(member)
    }


def _properties(cls: type) -> dict[str, str]:
    """Properties defined in ``cls`` itself, with their return annotation."""
    result: dict[str, str] = {}
    for name, member in sorted(vars(cls).items()):
        if isinstance(member, property) and not name.startswith("_") and member.fget:
            result[name] = type_name(_signature(member.fget).return_annotation)
    return result


def describe_dataclass(cls: type) -> dict[str, Any]:
    """Fields, parameters and methods of a dataclass."""
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    hints = typing.get_type_hints(cls)
    return {
        "module": cls.__module__,
        "mro": [base.__qualname__ for base in cls.__mro__],
        "params": {
            name: getattr(params, name)
            for name in ("init", "repr", "eq", "order", "unsafe_hash", "frozen")
        },
        "fields": [
            {
                "name": field.name,
                # The raw field type must be a class, not a string; record both.
                "type": type_name(field.type),
                "type_is_class": isinstance(field.type, type),
                "resolved": type_name(hints[field.name]),
                "has_default": field.default is not dataclasses.MISSING
                or field.default_factory is not dataclasses.MISSING,
                "kw_only": bool(getattr(field, "kw_only", False)),
            }
            for field in dataclasses.fields(cls)
        ],
        "match_args": list(getattr(cls, "__match_args__", ())),
        "has_slots": "__slots__" in vars(cls),
        "hashable": cls.__hash__ is not None,
        "init": describe_signature(cls),
        "methods": _public_methods(cls),
    }


def describe_enum(cls: type[enum.Enum]) -> dict[str, Any]:
    """Members, values and bases of an enum."""
    return {
        "module": cls.__module__,
        "mro": [base.__qualname__ for base in cls.__mro__],
        "members": [[member.name, member.value] for member in cls],
    }


def _exception_behaviour(cls: type[BaseException]) -> dict[str, Any]:
    """``str``/``repr``/``args``/attributes and a pickle round trip of an instance."""
    params = [p for p in _signature(cls.__init__).parameters.values() if p.name != "self"]
    call_args: tuple[Any, ...] = ("boom",) if len(params) < 2 else ("boom", 7)
    samples: dict[str, Any] = {}
    variants = [call_args, ("boom",)] if len(call_args) > 1 else [call_args]
    for args in variants:
        error = cls(*args)
        copy = pickle.loads(pickle.dumps(error))
        samples[repr(args)] = {
            "str": str(error),
            "repr": repr(error),
            "args": list(error.args),
            "message": getattr(error, "message", "<missing>"),
            "error_code": getattr(error, "error_code", "<missing>"),
            "pickled": {
                "type": type(copy).__qualname__,
                "str": str(copy),
                "args": list(copy.args),
                "message": getattr(copy, "message", "<missing>"),
                "error_code": getattr(copy, "error_code", "<missing>"),
            },
        }
    return samples


def describe_exception(cls: type[BaseException]) -> dict[str, Any]:
    """MRO, constructor and behaviour of an exception class."""
    return {
        "module": cls.__module__,
        "mro": [base.__qualname__ for base in cls.__mro__],
        "init": describe_signature(cls.__init__),
        "behaviour": _exception_behaviour(cls),
    }


def _jsonable(value: Any) -> Any:
    """Enum members as ``Class.NAME``, everything else unchanged."""
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    return value


def _fixture_info(obj: Any) -> dict[str, Any] | None:
    """Scope/autouse of a pytest fixture function, or None if ``obj`` is not one."""
    marker = getattr(obj, "_fixture_function_marker", None)  # pytest >= 8.4
    if marker is None:
        marker = getattr(obj, "_pytestfixturefunction", None)  # older pytest
    if marker is None:
        return None
    return {
        "scope": str(marker.scope),
        "autouse": bool(marker.autouse),
        "params": None if marker.params is None else list(marker.params),
        "name": marker.name,
    }


def describe_testing() -> dict[str, Any]:
    """Names, factories, fixtures and defaults of ``pychrony.testing``."""
    testing = importlib.import_module("pychrony.testing")
    public = sorted(
        name
        for name, obj in vars(testing).items()
        if not name.startswith("_")
        and not isinstance(obj, types.ModuleType)
        and getattr(obj, "__module__", testing.__name__) == testing.__name__
    )
    defaults = {
        name: {key: _jsonable(value) for key, value in getattr(testing, name).items()}
        for name in public
        if name.endswith("_DEFAULTS")
    }
    factories = {
        name: describe_signature(getattr(testing, name))
        for name in public
        if name.startswith("make_")
    }
    fixtures = {
        name: info for name in public if (info := _fixture_info(getattr(testing, name))) is not None
    }
    # What a factory does with an unknown field name.
    unknown: dict[str, str] = {}
    for name in factories:
        try:
            getattr(testing, name)(no_such_field=1)
        except Exception as error:
            unknown[name] = type(error).__qualname__
        else:
            unknown[name] = "no error"
    return {
        "all": list(testing.__all__) if hasattr(testing, "__all__") else None,
        "public": public,
        "defaults": defaults,
        "default_types": {name: type(getattr(testing, name)).__qualname__ for name in defaults},
        "factories": factories,
        "factory_unknown_field": unknown,
        "fixtures": fixtures,
    }


def describe_connection(cls: Any) -> dict[str, Any]:
    """Constructor, methods and properties of ``ChronyConnection``."""
    dunders = {name: describe_signature(getattr(cls, name)) for name in ("__enter__", "__exit__")}
    return {
        "mro": [base.__qualname__ for base in cls.__mro__],
        "init_params": describe_params(cls.__init__),
        "methods": _public_methods(cls),
        "properties": _properties(cls),
        "context_manager": dunders,
    }


def describe() -> dict[str, Any]:
    """Describe the ``pychrony`` importable in this interpreter."""
    package = importlib.import_module("pychrony")
    models = importlib.import_module("pychrony.models")
    exceptions = importlib.import_module("pychrony.exceptions")

    result: dict[str, Any] = {
        "all": list(package.__all__),
        "version_type": type(getattr(package, "__version__", None)).__qualname__,
        "module_all": {
            name: (
                list(importlib.import_module(name).__all__)
                if hasattr(importlib.import_module(name), "__all__")
                else None
            )
            for name in ("pychrony.models", "pychrony.exceptions", "pychrony.testing")
        },
        "dataclasses": {},
        "enums": {},
        "exceptions": {},
        "functions": {},
    }
    for name in package.__all__:
        obj = getattr(package, name)
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            result["dataclasses"][name] = describe_dataclass(obj)
        elif isinstance(obj, type) and issubclass(obj, enum.Enum):
            result["enums"][name] = describe_enum(obj)
        elif isinstance(obj, type) and issubclass(obj, BaseException):
            result["exceptions"][name] = describe_exception(obj)
        elif inspect.isfunction(obj):
            result["functions"][name] = describe_signature(obj)
    # Public exception classes reachable only through pychrony.exceptions.
    for name, obj in sorted(vars(exceptions).items()):
        if (
            not name.startswith("_")
            and isinstance(obj, type)
            and issubclass(obj, BaseException)
            and obj.__module__ == exceptions.__name__
            and name not in result["exceptions"]
        ):
            result["exceptions"][name] = describe_exception(obj)

    result["connection"] = describe_connection(package.ChronyConnection)
    ref_id_to_name = models._ref_id_to_name
    result["ref_id_to_name"] = {
        "signature": describe_signature(ref_id_to_name),
        "samples": {f"0x{ref_id:08X}": ref_id_to_name(ref_id) for ref_id in REF_ID_SAMPLES},
    }
    result["testing"] = describe_testing()
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: write the description as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-o", "--output", help="write to this file instead of stdout")
    options = parser.parse_args(argv)
    text = json.dumps(describe(), indent=2, sort_keys=True) + "\n"
    if options.output:
        with open(options.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
