"""Helpers shared by every Python test suite, imported as ``support``.

How test support is laid out (one place for all suites):

* ``tests/conftest.py``, the only conftest, holds every fixture: the chronyd
  lab (``lab``, ``client``, ``udp_address``, ``address``, ``victim``), the
  fake chronyd of the fault-injection tests (``fake``, ``fake_udp``,
  ``fake_unix``), the fake compiled client of the unit tests
  (``fake_core``) and the prerequisites (``libchrony``, ``backend``).
  Tests use them by name, never by importing the conftest.
* This package holds what tests import: ``support.lab`` (``SYNC_STRATA``,
  ``in_child``), ``support.prerequisites`` (``unavailable``,
  ``require_libchrony``, ``require_reference_python``),
  ``support.processes`` (``run_python``), ``support.fake_chronyd``
  (``FakeChronyd`` and the reply encoders) and ``support.fake_core``
  (``FakeClient``).

It is importable because pyproject's ``[tool.pytest.ini_options]`` sets
``pythonpath = ["tests", "tests/lab"]``: pytest puts ``tests/`` (for
``support``) and ``tests/lab/`` (for ``chronylab``, which is also a script
and stays beside its README) on ``sys.path`` before it collects anything.
No test or conftest edits ``sys.path`` or loads another file by path.
"""
