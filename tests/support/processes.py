"""Running code in a fresh interpreter, with a hard timeout."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence

import pytest


def run_python(
    code: str,
    *args: str,
    timeout: float = 60.0,
    python: str = sys.executable,
    prefix: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    what: str = "the subprocess",
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code args...`` (`code` dedented) and return what it did.

    `python` defaults to this interpreter, the one pychrony is installed in;
    `prefix` goes before it (e.g. ``unshare --net``); `env` replaces the
    environment. The exit status is the caller's to check. A run still going
    after `timeout` seconds is killed and fails the test as a hang of `what`:
    the cases run this way guard against crashes and hangs, and a hang must
    fail one test, not stop the suite.
    """
    argv = [*prefix, python, "-c", textwrap.dedent(code), *args]
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=None if env is None else dict(env),
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{what} hung for {timeout} s: {exc.stdout!r} {exc.stderr!r}")
