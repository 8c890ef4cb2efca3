"""What a test needs from the machine, and the rule when it is missing.

A test that needs something this machine lacks (chronyd, root, libchrony,
pychrony 2.0.3 for comparisons) FAILS when ``CI`` is set, since CI provides
all of it and a skip would hide a broken setup, and is SKIPPED, with the
reason, everywhere else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Fail under CI, skip elsewhere, saying `reason`."""
    if os.environ.get("CI"):
        pytest.fail(f"unavailable under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def require_libchrony() -> str:
    """The path of libchrony (``LIBCHRONY_PATH``), for ``backend="libchrony"``."""
    path = os.environ.get("LIBCHRONY_PATH", "")
    if not path or not Path(path).exists():
        unavailable("LIBCHRONY_PATH is not set: run scripts/fetch-libchrony.sh (make libchrony)")
    return path


def require_reference_python() -> str:
    """An interpreter with pychrony 2.0.3 (``PYCHRONY_REFERENCE_PYTHON``)."""
    path = os.environ.get("PYCHRONY_REFERENCE_PYTHON", "")
    if not path or not Path(path).exists():
        unavailable(
            "PYCHRONY_REFERENCE_PYTHON does not name a Python with pychrony 2.0.3 "
            "(make reference creates .venv-reference)"
        )
    return path
