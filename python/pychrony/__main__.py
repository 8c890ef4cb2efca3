"""``python -m pychrony``: the ``pychrony`` command (``pychrony.cli``).

``--version`` prints the distribution's version (from its metadata, i.e. the
Cargo workspace version that maturin gave the wheel), the compiled core's
version and the version of chronyd's command protocol it speaks, on one
line::

    pychrony-rs 0.1.0 (Rust core 0.1.0, chronyd command protocol 6)
"""

import sys

from pychrony.cli import main, version_line

__all__ = ["main", "version_line"]

if __name__ == "__main__":
    sys.exit(main())
