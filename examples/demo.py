"""``make demo``: ``pychrony all``, every report as chronyc prints it.

Uses the chronyd this machine runs (auto-detect: its Unix socket, then UDP
port 323). When none answers, starts a private one with the project's lab
(``tests/lab/chronylab.py``; needs root and Debian's ``chrony`` package) and
reads from that instead. Extra arguments go to ``pychrony all`` (``--json``,
``--csv``, ``-v``...): ``python examples/demo.py --json``.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import pychrony
from pychrony import ChronyConnection, ChronyError
from pychrony.cli import main as pychrony_main


def answering_address() -> str | None:
    """The address of the chronyd that answers on the default addresses, if any."""
    try:
        with ChronyConnection(timeout=0.5, retries=1) as conn:
            conn.get_tracking()  # an auto-detected UDP address is only proven by an answer
            return conn.address
    except ChronyError as exc:
        print(f"No chronyd answered on the default addresses ({exc}).", file=sys.stderr)
        return None


def main(argv: list[str]) -> int:
    """Run the demo; returns the exit status of ``pychrony all``."""
    print(
        f"pychrony {pychrony.__version__}: pychrony all {' '.join(argv)}".rstrip(), file=sys.stderr
    )
    address = answering_address()
    if address is not None:
        return pychrony_main(["all", "-a", address, *argv])
    print("Starting a private chronyd with the lab...", file=sys.stderr)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lab"))
    import chronylab

    with ExitStack() as stack:
        lab = stack.enter_context(chronylab.Lab())
        inst = lab.start("client")
        return pychrony_main(["all", "-a", inst.socket, *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
