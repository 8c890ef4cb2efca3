"""``__version__`` and the one-call ``get_*`` helpers (the exports: tests/contract)."""

import ast
import importlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import pychrony
from pychrony import ChronyDataError
from pychrony.exceptions import ChronyConnectionError, _ReportUnavailableError
from pychrony.testing import make_rtc_data, make_source_stats, make_tracking
from support.fake_core import FakeBehaviour

# pychrony.__all__ (2.0.3's names, then ADDITIONS) is pinned by the contract
# test, tests/contract/test_surface.py.


def test_version_is_a_string() -> None:
    assert isinstance(pychrony.__version__, str)
    assert pychrony.__version__


def test_version_fallback_when_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    # __version__ is read on first use (and kept): forget it, restored afterwards.
    monkeypatch.delattr(pychrony, "__version__")
    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert pychrony.__version__ == "0.0.0+unknown"


def test_version_from_distribution_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def fake_version(name: str) -> str:
        asked.append(name)
        return "9.8.7"

    monkeypatch.delattr(pychrony, "__version__")
    monkeypatch.setattr(importlib.metadata, "version", fake_version)
    assert pychrony.__version__ == "9.8.7"
    assert asked == ["pychrony-rs"]


def _typed_imports() -> dict[str, tuple[str, str]]:
    """The names the ``if TYPE_CHECKING:`` block of ``pychrony/__init__.py``
    imports (what type checkers see), with their module and attribute."""
    tree = ast.parse(Path(pychrony.__file__).read_text(encoding="utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    )
    return {
        alias.asname or alias.name: (str(node.module), alias.name)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_names_imported_on_first_use_are_the_typed_imports() -> None:
    """Each public name pychrony imports on first use (PEP 562) is the
    object its typed import names, and every public name has one."""
    typed = _typed_imports()
    assert set(pychrony.__all__) - {"__version__"} <= typed.keys()
    for name, (module, attribute) in typed.items():
        assert getattr(pychrony, name) is getattr(importlib.import_module(module), attribute), name
    assert set(dir(pychrony)) >= typed.keys() | set(pychrony.__all__)
    with pytest.raises(AttributeError, match="no attribute 'get_trackin'"):
        pychrony.get_trackin  # type: ignore[attr-defined]  # noqa: B018


def test_import_pychrony_loads_nothing_else() -> None:
    """``import pychrony`` imports none of its modules, nor the extension
    (what ``python -X importtime -c "import pychrony"`` measures)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; before = set(sys.modules); import pychrony; "
            "print(sorted(set(sys.modules) - before))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "['pychrony']"


# --- one-call helpers ----------------------------------------------------------------------


def test_get_tracking(fake_core: FakeBehaviour) -> None:
    assert pychrony.get_tracking() == make_tracking()
    client = fake_core.clients[0]
    assert client.args == (None, 1.0, 2, "native")
    assert client.close_calls == 1


def test_helpers_pass_options(fake_core: FakeBehaviour) -> None:
    sources = pychrony.get_sources("192.0.2.1:323", timeout=3, retries=5, backend="libchrony")
    assert [s.address for s in sources] == ["192.168.1.100", "192.0.2.7"]
    assert fake_core.clients[0].args == ("192.0.2.1:323", 3.0, 5, "libchrony")
    assert fake_core.clients[0].closed


def test_get_source_stats(fake_core: FakeBehaviour) -> None:
    assert pychrony.get_source_stats(socket_path="/run/chrony/alt.sock") == [make_source_stats()]
    assert fake_core.clients[0].args[0] == "/run/chrony/alt.sock"
    assert fake_core.clients[0].closed


def test_get_rtc_data(fake_core: FakeBehaviour) -> None:
    assert pychrony.get_rtc_data() == make_rtc_data()
    assert fake_core.clients[0].closed


def test_get_rtc_data_raises_when_no_rtc(fake_core: FakeBehaviour) -> None:
    fake_core.rtc_error = _ReportUnavailableError("RTC tracking is unavailable", 13)
    with pytest.raises(ChronyDataError) as caught:
        pychrony.get_rtc_data()
    assert isinstance(caught.value, _ReportUnavailableError)
    assert fake_core.clients[0].closed


def test_helpers_validate_options(fake_core: FakeBehaviour) -> None:
    with pytest.raises(ValueError, match="timeout"):
        pychrony.get_tracking(timeout=0)
    with pytest.raises(TypeError, match="retries"):
        pychrony.get_sources(retries=True)
    with pytest.raises(ValueError, match="backend"):
        pychrony.get_source_stats(backend="cffi")
    assert fake_core.clients == []


def test_helpers_propagate_connect_errors(fake_core: FakeBehaviour) -> None:
    fake_core.connect_error = ChronyConnectionError("no chronyd", 111)
    with pytest.raises(ChronyConnectionError, match="no chronyd"):
        pychrony.get_tracking()
    assert fake_core.clients == []
