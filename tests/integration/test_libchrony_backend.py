"""The pychrony reports once more through ``backend="libchrony"`` (chrony's C
library, loaded at run time), and the error when it cannot be loaded."""

from __future__ import annotations

import os

import pytest

import chronylab
import pychrony
from pychrony import ChronyConnection, ChronyDataError, SourceMode, Transport
from support.lab import SYNC_STRATA
from support.processes import run_python

pytestmark = pytest.mark.integration


def test_four_reports(libchrony: str, address: str) -> None:
    with ChronyConnection(address, backend="libchrony") as conn:
        assert conn.transport is (
            Transport.UNIX_SOCKET if address.startswith("/") else Transport.COMMAND_PORT
        )
        tracking = conn.get_tracking()
        sources = conn.get_sources()
        stats = conn.get_source_stats()
        assert conn.get_rtc_data() is None
    assert tracking.stratum in SYNC_STRATA
    by_address = {s.address: s for s in sources}
    assert by_address["127.0.0.1"].poll == -6  # libchrony's unsigned poll is corrected
    assert by_address["GPS"].mode is SourceMode.REFCLOCK
    assert "ID#0000000001" in by_address
    assert [s.address for s in stats] == [s.address for s in sources]
    with pytest.raises(ChronyDataError) as info:
        pychrony.get_rtc_data(address, backend="libchrony")
    assert info.value.error_code == 10


def test_same_records_as_native(libchrony: str, client: chronylab.Instance) -> None:
    with (
        ChronyConnection(client.socket) as native,
        ChronyConnection(client.socket, backend="libchrony") as lib,
    ):
        assert [s.address for s in lib.get_sources()] == [s.address for s in native.get_sources()]
        assert lib.get_tracking().reference_id == native.get_tracking().reference_id


def test_many_sources(libchrony: str, lab: chronylab.Lab) -> None:
    sources = pychrony.get_sources(lab["many"].socket, backend="libchrony")
    assert len({s.address for s in sources}) == chronylab.MANY_SOURCES


def test_missing_library_is_a_library_error(client: chronylab.Instance) -> None:
    probe = (
        "import pychrony\n"
        "try:\n"
        f"    pychrony.get_tracking({client.socket!r}, backend='libchrony')\n"
        "except pychrony.ChronyLibraryError as exc:\n"
        "    assert exc.error_code is None\n"
        "    print('library-error:', exc)\n"
        f"print('native:', pychrony.get_tracking({client.socket!r}).stratum)\n"
    )
    env = dict(os.environ, LIBCHRONY_PATH="/nonexistent/libchrony.so.0")
    done = run_python(probe, env=env)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.startswith("library-error:")
    assert "/nonexistent/libchrony.so.0" in first
    assert "LIBCHRONY_PATH" in first and "fetch-libchrony.sh" in first
    assert int(second.split()[1]) in SYNC_STRATA


def test_unknown_backend_is_a_value_error(client: chronylab.Instance) -> None:
    with pytest.raises(ValueError, match="libchrony"):
        ChronyConnection(client.socket, backend="ctypes")
