"""Our public surface equals upstream pychrony 2.0.3's, plus documented additions.

``reference_api.json`` was produced by running ``scripts/describe_api.py``
with upstream pychrony 2.0.3 installed. This test runs the same description
on the pychrony importable here and compares. The only differences allowed
are the ones listed in ``ADDED_TO_ALL``, ``ADDED_FUNCTIONS``,
``ADDED_CONNECTION_PARAMS`` and ``ADDED_EXCEPTIONS``; anything else (a renamed field, a changed
default, a different MRO, a changed ``str()`` of an exception...) fails.

To refresh the reference (only when the upstream version we follow changes),
run ``python scripts/describe_api.py -o tests/contract/reference_api.json``
with that upstream release installed instead of ours.
"""

import copy
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).with_name("reference_api.json")

#: Names we export beyond upstream's ``__all__``, in this order, after upstream's.
ADDED_TO_ALL = ["get_tracking", "get_sources", "get_source_stats", "get_rtc_data"]

_OPTIONS = (
    "(socket_path: str | None = None, *, timeout: float = 1.0, retries: int = 2, "
    "backend: str = 'native')"
)
#: The one-call helpers (module-level functions) and their exact signatures.
ADDED_FUNCTIONS = {
    "get_tracking": f"{_OPTIONS} -> TrackingStatus",
    "get_sources": f"{_OPTIONS} -> list[Source]",
    "get_source_stats": f"{_OPTIONS} -> list[SourceStats]",
    "get_rtc_data": f"{_OPTIONS} -> RTCData",
}

#: Keyword-only options ChronyConnection.__init__ has beyond upstream's ``address``.
ADDED_CONNECTION_PARAMS = [
    {"name": "timeout", "kind": "KEYWORD_ONLY", "annotation": "float", "default": "1.0"},
    {"name": "retries", "kind": "KEYWORD_ONLY", "annotation": "int", "default": "2"},
    {"name": "backend", "kind": "KEYWORD_ONLY", "annotation": "str", "default": "'native'"},
]


#: Exception classes of ``pychrony.exceptions`` beyond upstream's, with their
#: MRO. Each behaves exactly as upstream's ``ChronyError`` (constructor, str,
#: repr, args, pickling), which the test checks; they are not in ``__all__``.
ADDED_EXCEPTIONS = {
    # Raised in a sub-interpreter; an ImportError too, so that existing
    # ``except ImportError`` handlers keep catching it.
    "ChronySubinterpreterError": [
        "ChronySubinterpreterError",
        "ChronyError",
        "ImportError",
        "Exception",
        "BaseException",
        "object",
    ],
}


def _load_describe_script() -> ModuleType:
    """Import scripts/describe_api.py as a module (scripts/ is not a package)."""
    path = ROOT / "scripts" / "describe_api.py"
    spec = importlib.util.spec_from_file_location("describe_api", path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    """Upstream 2.0.3's description."""
    return json.loads(REFERENCE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    """Our description, normalised through JSON like the reference file."""
    description = _load_describe_script().describe()
    return json.loads(json.dumps(description, sort_keys=True))  # type: ignore[no-any-return]


def _as_added_exception(base: dict[str, Any], name: str, mro: list[str]) -> dict[str, Any]:
    """Upstream's description of ``ChronyError``, renamed to the added class ``name``."""
    # Every string that starts with the class name: "type", "repr", the MRO.
    expected: dict[str, Any] = json.loads(json.dumps(base).replace('"ChronyError', f'"{name}'))
    expected["mro"] = mro
    return expected


def _without_additions(ours: dict[str, Any]) -> dict[str, Any]:
    """Our description with exactly the documented additions taken out.

    Each removal asserts that the addition is present in the documented form,
    so a missing or altered addition fails too.
    """
    trimmed = copy.deepcopy(ours)
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    for name, mro in ADDED_EXCEPTIONS.items():
        expected = _as_added_exception(reference["exceptions"]["ChronyError"], name, mro)
        assert trimmed["exceptions"].pop(name, None) == expected, f"added exception {name} changed"

    names = trimmed["all"]
    assert names[-len(ADDED_TO_ALL) :] == ADDED_TO_ALL, "additions to __all__ changed"
    del names[-len(ADDED_TO_ALL) :]

    assert trimmed["functions"] == ADDED_FUNCTIONS, "module-level functions changed"
    trimmed["functions"] = {}

    params = trimmed["connection"]["init_params"]
    assert params[-len(ADDED_CONNECTION_PARAMS) :] == ADDED_CONNECTION_PARAMS, (
        "ChronyConnection's extra keyword-only options changed"
    )
    del params[-len(ADDED_CONNECTION_PARAMS) :]
    return trimmed


def test_reference_file_is_upstream_2_0_3(reference: dict[str, Any]) -> None:
    """The pinned file really describes upstream (no additions, all sections present)."""
    assert reference["functions"] == {}
    assert [p["name"] for p in reference["connection"]["init_params"]] == ["self", "address"]
    assert set(reference) == {
        "all",
        "connection",
        "dataclasses",
        "enums",
        "exceptions",
        "functions",
        "module_all",
        "ref_id_to_name",
        "testing",
        "version_type",
    }


@pytest.mark.parametrize(
    "section",
    [
        "all",
        "version_type",
        "module_all",
        "dataclasses",
        "enums",
        "exceptions",
        "functions",
        "connection",
        "ref_id_to_name",
        "testing",
    ],
)
def test_section_matches_upstream(
    section: str, reference: dict[str, Any], ours: dict[str, Any]
) -> None:
    """Each section equals upstream's once the documented additions are removed."""
    assert _without_additions(ours)[section] == reference[section]


def test_no_extra_sections(reference: dict[str, Any], ours: dict[str, Any]) -> None:
    """Both descriptions have the same sections (the comparison above is complete)."""
    assert set(ours) == set(reference)
