"""The ``pychrony`` command (also ``python -m pychrony``).

Every report of ``pychrony.registry.REPORTS`` is a subcommand, printed as
chronyc prints it, or as JSON (``--json``, ``--json-lines``) or chronyc's CSV
(``--csv``); ``all`` prints every report, ``check`` is a monitoring plugin
and ``waitsync`` waits for synchronisation. ``pychrony --help`` lists them.

``import pychrony`` does not import this package.
"""

from pychrony.cli._frame import main, run_console, version_line

__all__ = ["main", "run_console", "version_line"]
