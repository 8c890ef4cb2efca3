"""Our public surface equals upstream pychrony 2.0.3's, plus ``ADDITIONS``.

``ADDITIONS`` below is the one list of what we add to 2.0.3's surface: names
added to ``pychrony``, ``pychrony.exceptions``, ``pychrony.models`` and
``pychrony.testing``, and keyword-only parameters added to 2.0.3's
callables. Every check here consults it, and nothing else allows a
difference: a public name that is neither 2.0.3's nor in ``ADDITIONS`` fails,
and so does an addition that is missing or not in its declared form.

Two pinned descriptions of 2.0.3 are compared:

* ``reference_api.json``, produced by ``scripts/describe_api.py`` with
  upstream pychrony 2.0.3 installed: ``__all__`` of each module, dataclasses,
  enums, exceptions (MRO, constructor, str/repr/args/pickling),
  ``ChronyConnection``, the testing plugin. This test runs the same
  description on the pychrony importable here; anything else that differs
  (a renamed field, a changed default, a different MRO, ...) fails.
* ``UPSTREAM_PUBLIC``: every public attribute (a name without a leading
  underscore) of each module after importing the four of them, as 2.0.3 has
  them: the names ``reference_api.json`` lists plus those it does not (the
  modules' imports, ``UPSTREAM_UNDESCRIBED``). With
  ``PYCHRONY_REFERENCE_PYTHON`` set (``make reference``) it is checked
  against 2.0.3 itself.

To refresh the reference (only when the upstream version we follow changes),
run ``python scripts/describe_api.py -o tests/contract/reference_api.json``
with that upstream release installed instead of ours, and update
``UPSTREAM_UNDESCRIBED`` from what ``test_upstream_public_is_2_0_3s`` reports.
"""

import copy
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import pychrony
from support.prerequisites import require_reference_python
from support.processes import run_python

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).with_name("reference_api.json")

#: The modules whose names are pinned, in the order they are imported.
MODULES = ("pychrony", "pychrony.exceptions", "pychrony.models", "pychrony.testing")

#: A parameter as ``describe_api.describe_params`` records it.
Param = dict[str, str]


@dataclass(frozen=True)
class Additions:
    """What this package adds to pychrony 2.0.3's public surface."""

    #: Names added to ``pychrony``, also appended to its ``__all__`` in this
    #: order: each a function, with its exact signature.
    pychrony: dict[str, str]
    #: Exception classes added to ``pychrony.exceptions`` (which has no
    #: ``__all__``), with their MRO. Each must behave exactly as 2.0.3's
    #: ``ChronyError`` does (constructor, str, repr, args, pickling).
    exceptions: dict[str, list[str]]
    #: Names added to ``pychrony.models``, appended to its ``__all__``.
    models: tuple[str, ...]
    #: Report dataclasses added to ``pychrony.models`` (and exported from
    #: ``pychrony``, where ``pychrony`` lists them as ``DATACLASS``), with
    #: their field names in order.
    dataclasses: dict[str, list[str]]
    #: Enums added to ``pychrony.models`` (and exported from ``pychrony``,
    #: where ``pychrony`` lists them as ``ENUM``): their base (``Enum`` or
    #: ``Flag``) and their members with values, in order.
    enums: dict[str, tuple[str, list[list[Any]]]]
    #: Names added to ``pychrony.testing``, appended to its ``__all__``.
    testing: tuple[str, ...]
    #: Keyword-only parameters appended to a 2.0.3 callable's parameters.
    keyword_only: dict[str, list[Param]]
    #: Methods added to ``ChronyConnection``, with their signatures.
    methods: dict[str, str]

    def names(self, module: str) -> list[str]:
        """The public names added to `module` (``pychrony.testing`` also
        imports the added dataclasses, as 2.0.3's imports its own)."""
        return {
            "pychrony": list(self.pychrony),
            "pychrony.exceptions": list(self.exceptions),
            "pychrony.models": list(self.models),
            "pychrony.testing": [*self.testing, *self.dataclasses, *self.enums],
        }[module]


#: Options of ``ChronyConnection`` and of the one-call functions, beyond
#: 2.0.3's ``address``: keyword-only, so positional use stays as in 2.0.3.
OPTIONS: list[Param] = [
    {"name": "timeout", "kind": "KEYWORD_ONLY", "annotation": "float", "default": "1.0"},
    {"name": "retries", "kind": "KEYWORD_ONLY", "annotation": "int", "default": "2"},
    {"name": "backend", "kind": "KEYWORD_ONLY", "annotation": "str", "default": "'native'"},
]
_SHOWN_OPTIONS = ", ".join(f"{p['name']}: {p['annotation']} = {p['default']}" for p in OPTIONS)
_ONE_CALL = f"(socket_path: str | None = None, *, {_SHOWN_OPTIONS})"
#: In ``Additions.pychrony``: a name that is a dataclass, not a function.
DATACLASS = "dataclass"
#: In ``Additions.pychrony``: a name that is an enum of ``pychrony.models``
#: (declared in ``Additions.enums``).
ENUM = "enum"
#: In ``Additions.pychrony``: a name that is an exception class of
#: ``pychrony.exceptions`` (declared in ``Additions.exceptions``).
EXCEPTION = "exception"

#: The only differences from 2.0.3's surface that the contract allows.
ADDITIONS = Additions(
    # The one-call helpers: open, query, close.
    pychrony={
        "get_tracking": f"{_ONE_CALL} -> TrackingStatus",
        "get_sources": f"{_ONE_CALL} -> list[Source]",
        "get_source_stats": f"{_ONE_CALL} -> list[SourceStats]",
        "get_rtc_data": f"{_ONE_CALL} -> RTCData",
        # The reports beyond 2.0.3's: the dataclass, then the function.
        "Activity": DATACLASS,
        "get_activity": f"{_ONE_CALL} -> Activity",
        "ServerStats": DATACLASS,
        "get_server_stats": f"{_ONE_CALL} -> ServerStats",
        "ChronyUnauthorizedError": EXCEPTION,
        "Smoothing": DATACLASS,
        "get_smoothing": f"{_ONE_CALL} -> Smoothing",
        # A report with an argument of its own: a keyword before the options.
        "get_source_name": (
            f"(socket_path: str | None = None, *, address: str, {_SHOWN_OPTIONS}) -> str"
        ),
        "ManualSample": DATACLASS,
        "get_manual_list": f"{_ONE_CALL} -> list[ManualSample]",
        # Reports with an optional address of their own (None: every source).
        "NTPMode": ENUM,
        "TimestampSource": ENUM,
        "NTPTests": ENUM,
        "NTPData": DATACLASS,
        "get_ntp_data": (
            f"(socket_path: str | None = None, *, address: str | None = None, {_SHOWN_OPTIONS})"
            " -> list[NTPData]"
        ),
        "SelectState": ENUM,
        "SelectOptions": ENUM,
        "SelectData": DATACLASS,
        "get_select_data": f"{_ONE_CALL} -> list[SelectData]",
        "AuthMode": ENUM,
        "AuthData": DATACLASS,
        "get_auth_data": (
            f"(socket_path: str | None = None, *, address: str | None = None, {_SHOWN_OPTIONS})"
            " -> list[AuthData]"
        ),
        "ClientAccess": DATACLASS,
        "get_clients": f"{_ONE_CALL} -> list[ClientAccess]",
        # The command line's helpers (issue 12).
        "to_dict": "(report: object) -> dict[str, Any] | list[dict[str, Any]]",
        "from_dict": "(cls: type[~T], data: Mapping[str, Any]) -> ~T",
        "wait_sync": (
            "(socket_path: str | None = None, *, max_tries: int = 0, max_correction: float = 0.0,"
            " max_skew: float = 0.0, interval: float = 10.0,"
            # (a Callable annotation renders with its classes' full names)
            " on_try: Callable[[<class 'int'>, pychrony.models.TrackingStatus |"
            " pychrony.exceptions.ChronyError], None] | None = None,"
            f" {_SHOWN_OPTIONS}) -> TrackingStatus"
        ),
        "ChronyNotSynchronizedError": EXCEPTION,
    },
    exceptions={
        # pychrony.wait_sync's "not synchronised in time" (issue 12).
        "ChronyNotSynchronizedError": [
            "ChronyNotSynchronizedError",
            "ChronyError",
            "Exception",
            "BaseException",
            "object",
        ],
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
        # chronyd's "501 Not authorised" (a Unix-socket-only command over
        # UDP): a permission problem, and a ChronyDataError as 2.0.3's
        # reports raised for it.
        "ChronyUnauthorizedError": [
            "ChronyUnauthorizedError",
            "ChronyPermissionError",
            "ChronyDataError",
            "ChronyError",
            "Exception",
            "BaseException",
            "object",
        ],
    },
    models=(
        "Activity",
        "ServerStats",
        "Smoothing",
        "ManualSample",
        "NTPMode",
        "TimestampSource",
        "NTPTests",
        "NTPData",
        "SelectState",
        "SelectOptions",
        "SelectData",
        "AuthMode",
        "AuthData",
        "ClientAccess",
    ),
    dataclasses={
        "Activity": ["online", "offline", "burst_online", "burst_offline", "unresolved"],
        "ServerStats": [
            "ntp_packets_received",
            "ntp_packets_dropped",
            "command_packets_received",
            "command_packets_dropped",
            "client_log_records_dropped",
            "nts_ke_connections_accepted",
            "nts_ke_connections_dropped",
            "authenticated_ntp_packets",
            "interleaved_ntp_packets",
            "ntp_timestamps_held",
            "ntp_timestamp_span",
            "ntp_daemon_rx_timestamps",
            "ntp_daemon_tx_timestamps",
            "ntp_kernel_rx_timestamps",
            "ntp_kernel_tx_timestamps",
            "ntp_hardware_rx_timestamps",
            "ntp_hardware_tx_timestamps",
        ],
        "Smoothing": [
            "active",
            "leap_only",
            "offset",
            "frequency",
            "wander",
            "last_update_ago",
            "remaining_time",
        ],
        "ManualSample": ["when", "slewed_offset", "orig_offset", "residual"],
        "NTPData": [
            "remote_address",
            "remote_port",
            "local_address",
            "leap_status",
            "version",
            "mode",
            "stratum",
            "poll",
            "precision",
            "root_delay",
            "root_dispersion",
            "reference_id",
            "ref_time",
            "offset",
            "peer_delay",
            "peer_dispersion",
            "response_time",
            "jitter_asymmetry",
            "tests",
            "interleaved",
            "authenticated",
            "tx_timestamping",
            "rx_timestamping",
            "total_tx",
            "total_rx",
            "total_valid_rx",
            "total_good_rx",
            "total_kernel_tx",
            "total_kernel_rx",
            "total_hw_tx",
            "total_hw_rx",
        ],
        "SelectData": [
            "reference_id",
            "address",
            "state",
            "authentication",
            "leap_status",
            "configured_options",
            "effective_options",
            "last_sample_ago",
            "score",
            "low_limit",
            "high_limit",
        ],
        "AuthData": [
            "address",
            "mode",
            "key_type",
            "key_id",
            "key_length",
            "last_ke_ago",
            "ke_attempts",
            "nak",
            "cookies",
            "cookie_length",
        ],
        "ClientAccess": [
            "address",
            "ntp_hits",
            "ntp_drops",
            "ntp_interval",
            "ntp_interval_limit",
            "last_ntp_hit_ago",
            "cmd_hits",
            "cmd_drops",
            "cmd_interval",
            "last_cmd_hit_ago",
            "nke_hits",
            "nke_drops",
            "nke_interval",
            "last_nke_hit_ago",
        ],
    },
    enums={
        "NTPMode": ("Enum", [["ACTIVE_SYMMETRIC", 1], ["PASSIVE_SYMMETRIC", 2], ["SERVER", 4]]),
        "TimestampSource": ("Enum", [["DAEMON", "D"], ["KERNEL", "K"], ["HARDWARE", "H"]]),
        "NTPTests": (
            "Flag",
            [
                ["TEST1", 0x200],
                ["TEST2", 0x100],
                ["TEST3", 0x80],
                ["TEST5", 0x40],
                ["TEST6", 0x20],
                ["TEST7", 0x10],
                ["TESTA", 0x8],
                ["TESTB", 0x4],
                ["TESTC", 0x2],
                ["TESTD", 0x1],
            ],
        ),
        "SelectState": (
            "Enum",
            [
                ["NOSELECT", "N"],
                ["UNSYNCHRONISED", "s"],
                ["MISSING_SAMPLES", "M"],
                ["UNACCEPTABLE_DISTANCE", "d"],
                ["LARGE_DISTANCE", "D"],
                ["JITTERY", "~"],
                ["WAITS_FOR_OTHERS", "w"],
                ["WAITS_FOR_SOURCES", "W"],
                ["STALE", "S"],
                ["ORPHAN", "O"],
                ["NOT_TRUSTED", "T"],
                ["FALSETICKER", "x"],
                ["STRATUM_OUT_OF_RANGE", "r"],
                ["NOT_PREFERRED", "P"],
                ["WAITS_FOR_UPDATE", "U"],
                ["OUTLIER", "L"],
                ["COMBINED", "+"],
                ["BEST", "*"],
            ],
        ),
        "SelectOptions": (
            "Flag",
            [["NOSELECT", 0x1], ["PREFER", 0x2], ["TRUST", 0x4], ["REQUIRE", 0x8]],
        ),
        "AuthMode": ("Enum", [["NONE", 0], ["SYMMETRIC", 1], ["NTS", 2]]),
    },
    testing=(
        "make_activity",
        "ACTIVITY_DEFAULTS",
        "make_server_stats",
        "SERVERSTATS_DEFAULTS",
        "make_smoothing",
        "SMOOTHING_DEFAULTS",
        "make_source_name",
        "SOURCE_NAME_DEFAULT",
        "make_manual_sample",
        "MANUAL_SAMPLE_DEFAULTS",
        "make_ntp_data",
        "NTPDATA_DEFAULTS",
        "make_select_data",
        "SELECTDATA_DEFAULTS",
        "make_auth_data",
        "AUTHDATA_DEFAULTS",
        "make_client_access",
        "CLIENT_ACCESS_DEFAULTS",
    ),
    keyword_only={"ChronyConnection": OPTIONS},
    methods={
        "get_activity": "(self) -> Activity",
        "get_server_stats": "(self) -> ServerStats",
        "get_smoothing": "(self) -> Smoothing | None",
        "get_source_name": "(self, address: str) -> str",
        "get_manual_list": "(self) -> list[ManualSample]",
        "get_ntp_data": "(self, address: str | None = None) -> list[NTPData]",
        "get_select_data": "(self) -> list[SelectData]",
        "get_auth_data": "(self, address: str | None = None) -> list[AuthData]",
        "get_clients": "(self) -> list[ClientAccess]",
    },
)

_REFERENCE_API: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))

#: 2.0.3's public names that ``reference_api.json`` does not list (the names
#: each module imports), by module.
UPSTREAM_UNDESCRIBED: dict[str, set[str]] = {
    # from importlib.metadata import PackageNotFoundError, version; submodules
    "pychrony": {"PackageNotFoundError", "version", "exceptions", "models", "testing"},
    "pychrony.exceptions": set(),
    "pychrony.models": {"Enum", "dataclass"},
    "pychrony.testing": {
        "Any",
        "pytest",
        *(_REFERENCE_API["enums"].keys() - {"Transport"}),
        *_REFERENCE_API["dataclasses"],
    },
}

#: Public attributes of each module in 2.0.3, imports included, after
#: ``import`` of all four ``MODULES`` in a fresh interpreter (``_PUBLIC_NAMES``).
UPSTREAM_PUBLIC: dict[str, set[str]] = {
    "pychrony": set(_REFERENCE_API["all"]) - {"__version__"},
    "pychrony.exceptions": set(_REFERENCE_API["exceptions"]),
    "pychrony.models": {n for n in _REFERENCE_API["module_all"]["pychrony.models"] if n[0] != "_"},
    "pychrony.testing": set(_REFERENCE_API["testing"]["public"]),
}
for _module, _names in UPSTREAM_UNDESCRIBED.items():
    UPSTREAM_PUBLIC[_module] |= _names

#: Prints the public names of each of ``MODULES`` as JSON: ``dir()``, which
#: for 2.0.3 is what its modules hold, and for ours also lists the names
#: ``pychrony`` imports on first use (PEP 562). It runs in a fresh
#: interpreter, where nothing else (such as pytest's plugin loading) has
#: imported anything yet, and works with both packages.
_PUBLIC_NAMES = """
    import importlib, json, sys
    modules = [importlib.import_module(name) for name in sys.argv[1:]]
    print(json.dumps({m.__name__: sorted(n for n in dir(m) if not n.startswith("_"))
                      for m in modules}))
"""


def _public_names(python: str) -> dict[str, set[str]]:
    done = run_python(_PUBLIC_NAMES, *MODULES, python=python)
    assert done.returncode == 0, done.stderr
    return {module: set(names) for module, names in json.loads(done.stdout).items()}


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    """Upstream 2.0.3's description (a copy: a test may not change the pin)."""
    return copy.deepcopy(_REFERENCE_API)


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    """Our description, made by ``scripts/describe_api.py`` in a fresh interpreter
    (as the reference file was), so nothing pytest imported shows in it."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "describe_api.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _as_added_exception(base: dict[str, Any], name: str, mro: list[str]) -> dict[str, Any]:
    """Upstream's description of ``ChronyError``, renamed to the added class ``name``."""
    # Every string that starts with the class name: "type", "repr", the MRO.
    expected: dict[str, Any] = json.loads(json.dumps(base).replace('"ChronyError', f'"{name}'))
    expected["mro"] = mro
    return expected


def _without_additions(ours: dict[str, Any]) -> dict[str, Any]:
    """Our description with exactly the ``ADDITIONS`` taken out.

    Each removal asserts that the addition is present in the declared form,
    so a missing or altered addition fails too.
    """
    trimmed = copy.deepcopy(ours)
    for name, mro in ADDITIONS.exceptions.items():
        expected = _as_added_exception(_REFERENCE_API["exceptions"]["ChronyError"], name, mro)
        assert trimmed["exceptions"].pop(name, None) == expected, f"added exception {name} changed"

    _drop_tail(trimmed["all"], list(ADDITIONS.pychrony), "pychrony.__all__")
    for module, added in (
        ("pychrony.models", ADDITIONS.models),
        ("pychrony.testing", ADDITIONS.testing),
    ):
        _drop_tail(trimmed["module_all"][module], list(added), f"{module}.__all__")

    added_functions = {
        n: sig for n, sig in ADDITIONS.pychrony.items() if sig not in (DATACLASS, ENUM, EXCEPTION)
    }
    functions = {name: trimmed["functions"].pop(name, None) for name in added_functions}
    assert functions == added_functions, "module-level functions changed"
    assert [n for n, sig in ADDITIONS.pychrony.items() if sig == DATACLASS] == list(
        ADDITIONS.dataclasses
    ), "every added dataclass is exported from pychrony"
    assert {n for n, sig in ADDITIONS.pychrony.items() if sig == EXCEPTION} <= set(
        ADDITIONS.exceptions
    ), "an exception exported from pychrony is declared in ADDITIONS.exceptions"
    assert [n for n, sig in ADDITIONS.pychrony.items() if sig == ENUM] == list(ADDITIONS.enums), (
        "every added enum is exported from pychrony"
    )
    for name, (base, members) in ADDITIONS.enums.items():
        expected = {
            "members": members,
            "module": "pychrony.models",
            "mro": [name, *(["Flag"] if base == "Flag" else []), "Enum", "object"],
        }
        assert trimmed["enums"].pop(name, None) == expected, f"added enum {name} changed"
    for name, fields in ADDITIONS.dataclasses.items():
        described = trimmed["dataclasses"].pop(name, None)
        assert described is not None, f"added dataclass {name} is missing"
        assert [f["name"] for f in described["fields"]] == fields, f"fields of {name} changed"

    methods = trimmed["connection"]["methods"]
    added_methods = {name: methods.pop(name, None) for name in ADDITIONS.methods}
    assert added_methods == ADDITIONS.methods, "methods added to ChronyConnection changed"

    testing = trimmed["testing"]
    _drop_tail(testing["all"], list(ADDITIONS.testing), "pychrony.testing's __all__")
    for name in ADDITIONS.testing:
        testing["public"].remove(name)
        for section in (
            "defaults",
            "default_types",
            "factories",
            "factory_unknown_field",
            "fixtures",
        ):
            testing[section].pop(name, None)

    for callable_name, params in ADDITIONS.keyword_only.items():
        assert callable_name == "ChronyConnection", (
            f"no description of {callable_name}'s parameters"
        )
        assert all(p["kind"] == "KEYWORD_ONLY" for p in params), (
            f"{callable_name}: not keyword-only"
        )
        _drop_tail(trimmed["connection"]["init_params"], params, f"{callable_name}'s options")
    return trimmed


def _drop_tail(items: list[Any], tail: list[Any], what: str) -> None:
    """Remove `tail` from the end of `items`, asserting that it is there."""
    if tail:
        assert items[-len(tail) :] == tail, f"additions to {what} changed"
        del items[-len(tail) :]


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


def test_all_is_upstream_plus_additions(reference: dict[str, Any]) -> None:
    """``pychrony.__all__`` is 2.0.3's, then the additions, and every name exists."""
    assert pychrony.__all__ == reference["all"] + list(ADDITIONS.pychrony)
    for name in pychrony.__all__:
        assert hasattr(pychrony, name), name


@pytest.mark.parametrize("module", MODULES)
def test_no_public_name_beyond_upstream_and_additions(module: str) -> None:
    """Each module's public names are exactly 2.0.3's plus its ``ADDITIONS``."""
    ours = _public_names(sys.executable)[module]
    upstream = UPSTREAM_PUBLIC[module]
    added = set(ADDITIONS.names(module))
    unexpected = sorted(ours - upstream - added)
    assert not unexpected, (
        f"public names in {module} that are neither pychrony 2.0.3's nor in ADDITIONS: "
        f"{unexpected}; make them private (a leading underscore, also for imports: "
        "`import x as _x`) or declare them in ADDITIONS"
    )
    assert sorted(upstream - ours) == [], f"2.0.3's public names missing from {module}"
    assert sorted(added - ours) == [], f"ADDITIONS missing from {module}"
    assert not added & upstream, f"ADDITIONS lists 2.0.3 names of {module}"


def test_upstream_public_is_2_0_3s() -> None:
    """``UPSTREAM_PUBLIC`` is what pychrony 2.0.3 itself has."""
    assert _public_names(require_reference_python()) == UPSTREAM_PUBLIC
