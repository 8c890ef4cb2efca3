"""``python -m pychrony``: for now only ``--version``.

Prints the distribution's version (from its metadata, i.e. the Cargo
workspace version that maturin gave the wheel), the compiled core's version
and the version of chronyd's command protocol it speaks, on one line::

    pychrony-rs 0.1.0 (Rust core 0.1.0, chronyd command protocol 6)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pychrony
from pychrony import _core


def version_line() -> str:
    """The line ``--version`` prints."""
    return (
        f"pychrony-rs {pychrony.__version__} "
        f"(Rust core {_core.CORE_VERSION}, chronyd command protocol {_core.PROTOCOL_VERSION})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m pychrony",
        description="Read chronyd's monitoring reports (pychrony-rs).",
    )
    parser.add_argument("--version", action="version", version=version_line())
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
