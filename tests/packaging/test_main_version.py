"""``python -m pychrony --version`` (``pychrony/__main__.py``), in-process."""

from __future__ import annotations

import pytest

import pychrony
from pychrony import _core
from pychrony.__main__ import main


def test_version_names_package_core_and_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == (
        f"pychrony-rs {pychrony.__version__} "
        f"(Rust core {_core.CORE_VERSION}, chronyd command protocol 6)\n"
    )


def test_core_version_is_the_package_version() -> None:
    """One version: Cargo's workspace version, in the extension and the metadata."""
    assert pychrony.__version__ == _core.CORE_VERSION
    assert _core.PROTOCOL_VERSION == 6


def test_without_arguments_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "--version" in capsys.readouterr().out
