"""``pychrony waitsync`` and ``pychrony.wait_sync`` against the lab: chronyc's
rule for "synchronised", its try lines, and giving up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import chronylab
import pychrony
from pychrony import ChronyConnectionError, ChronyError, ChronyNotSynchronizedError
from support.cli import run_cli

pytestmark = pytest.mark.integration

TRY = re.compile(r"^try: (\d+), refid: ([0-9A-F]{8}), correction: \d+\.\d{9}, skew: \d+\.\d{3}$")


def test_synchronised_client_returns_at_once(client: chronylab.Instance, synced: None) -> None:
    done = run_cli("waitsync", "-a", client.socket, "--max-tries", "3", "--interval", "0.1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    match = TRY.match(lines[0])
    assert match, lines
    assert match.group(1) == "1"
    assert match.group(2) not in ("00000000", "7F7F0101")


def test_csv_try_lines(client: chronylab.Instance, synced: None) -> None:
    done = run_cli("waitsync", "--csv", "-a", client.socket, "--max-tries", "1")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"1,[0-9A-F]{8},\d+\.\d{9},\d+\.\d{3}\n", done.stdout), done.stdout


@pytest.mark.parametrize("profile", ["empty", "server"])
def test_gives_up_on_unsynchronised_or_local_only(lab: chronylab.Lab, profile: str) -> None:
    """`empty` has no reference; `server` follows only its local one."""
    done = run_cli("waitsync", "-a", lab[profile].socket, "--max-tries", "3", "--interval", "0.1")
    assert done.returncode == 1
    assert [TRY.match(line).group(1) for line in done.stdout.splitlines()] == ["1", "2", "3"]  # type: ignore[union-attr]
    assert len(done.stderr.splitlines()) == 1
    assert "not synchronised after 3 tries" in done.stderr


def test_limits_are_applied(client: chronylab.Instance) -> None:
    done = run_cli(
        "waitsync",
        "-a",
        client.socket,
        "--max-tries",
        "2",
        "--interval",
        "0.1",
        "--max-correction",
        "1e-15",
    )
    assert done.returncode == 1
    assert len(done.stdout.splitlines()) == 2


def test_library_returns_the_status_that_satisfied_it(
    client: chronylab.Instance, synced: None
) -> None:
    seen: list[int] = []
    status = pychrony.wait_sync(
        client.socket, max_tries=2, interval=0.1, on_try=lambda n, _: seen.append(n)
    )
    assert isinstance(status, pychrony.TrackingStatus)
    assert status.reference_id not in (0, 0x7F7F0101)
    assert seen == [1]


def test_library_raises_when_not_synchronised_in_time(lab: chronylab.Lab) -> None:
    with pytest.raises(ChronyNotSynchronizedError, match="after 2 tries") as caught:
        pychrony.wait_sync(lab["empty"].socket, max_tries=2, interval=0.1, max_skew=1.0)
    assert isinstance(caught.value, ChronyError)
    assert caught.value.error_code is None


def test_library_raises_the_last_connection_failure(tmp_path: Path) -> None:
    results: list[object] = []
    with pytest.raises(ChronyConnectionError):
        pychrony.wait_sync(
            str(tmp_path / "none.sock"),
            max_tries=2,
            interval=0.1,
            on_try=lambda n, r: results.append(r),
        )
    assert len(results) == 2
    assert all(isinstance(r, ChronyConnectionError) for r in results)


def test_command_reports_each_failed_try(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.sock")
    done = run_cli("waitsync", "-a", missing, "--max-tries", "2", "--interval", "0.1")
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 2
    assert all(missing in line for line in done.stderr.splitlines())


@pytest.fixture
def synced(client: chronylab.Instance) -> None:
    """Lab setup: the client has synchronised (it does within seconds of starting)."""
    pychrony.wait_sync(client.socket, max_tries=100, interval=0.2)
