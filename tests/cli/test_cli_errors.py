"""How ``pychrony`` fails: one line on stderr naming the cause and the fix,
exit status 1 (2 for usage errors), never a traceback."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import chronylab
from pychrony.cli import main
from support.cli import run_cli
from support.lab import in_child

pytestmark = pytest.mark.integration


def assert_one_line_failure(done: object, *needles: str, status: int = 1) -> str:
    rc, out, err = done.returncode, done.stdout, done.stderr  # type: ignore[attr-defined]
    assert rc == status, (rc, out, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 if status == 1 else lines, err
    for needle in needles:
        assert needle in err, err
    return str(err)


def test_no_chronyd_at_the_address(tmp_path: Path) -> None:
    missing = str(tmp_path / "chronyd.sock")
    err = assert_one_line_failure(run_cli("tracking", "-a", missing, process=True), missing)
    assert err.startswith("pychrony: ")
    assert "bindcmdaddress" in err  # the fix: name chronyd's socket


def test_no_chronyd_on_a_udp_port() -> None:
    done = run_cli(
        "sources", "-a", "127.0.0.1:1", "--timeout", "0.05", "--retries", "0", process=True
    )
    assert_one_line_failure(done, "127.0.0.1")


def test_a_stopped_chronyd(victim: chronylab.Instance) -> None:
    socket, port = victim.socket, victim.cmdport
    victim.stop()
    assert_one_line_failure(run_cli("tracking", "-a", socket, process=True), socket)
    done = run_cli(
        "tracking", "-a", f"127.0.0.1:{port}", "--timeout", "0.05", "--retries", "0", process=True
    )
    assert_one_line_failure(done, f"127.0.0.1:{port}")


def test_a_paused_chronyd_times_out(victim: chronylab.Instance) -> None:
    victim.pause()
    done = run_cli("tracking", "-a", victim.socket, "--timeout", "0.05", "--retries", "1")
    assert_one_line_failure(done, victim.socket)


def test_permission_denied(client: chronylab.Instance) -> None:
    """As a user who may not open the socket (`nobody`): in a forked child,
    since /root and the lab are not readable for others."""

    def body() -> str:
        err = io.StringIO()
        out = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = main(["tracking", "-a", client.socket], stdout=out)
        return json.dumps([status, out.getvalue(), err.getvalue()])

    status, out, err = json.loads(in_child(body, user="nobody"))
    assert (status, out) == (1, "")
    assert len(err.splitlines()) == 1, err
    assert err.startswith("pychrony: ")
    assert "ermission" in err
    assert "127.0.0.1" in err or "root" in err  # the fix: another way in


def test_unix_only_report_over_udp(udp_address: str) -> None:
    err = assert_one_line_failure(run_cli("serverstats", "-a", udp_address, process=True), "501")
    assert "Unix socket" in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["nosuchreport"], "invalid choice"),
        (["tracking", "--timeout", "soon"], "--timeout"),
        (["tracking", "--timeout", "0"], "timeout"),
        (["tracking", "--retries", "-1"], "retries"),
        (["tracking", "--backend", "other"], "--backend"),
        (["tracking", "--json", "--csv"], "cannot be combined"),
        (["sourcename"], "ADDRESS"),
        (["waitsync", "--max-tries", "-2"], "--max-tries"),
        (["tracking", "unexpected"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_exit_2(argv: list[str], needle: str) -> None:
    done = run_cli(*argv)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0].startswith("usage: pychrony")
    assert done.stderr.splitlines()[-1].startswith("pychrony")
    assert needle in done.stderr.splitlines()[-1]


def test_help_and_version() -> None:
    done = run_cli("--help", process=True)
    assert done.returncode == 0
    for command in ("tracking", "sources", "manual", "all", "check", "waitsync"):
        assert command in done.stdout
    sub = run_cli("sources", "--help")
    assert sub.returncode == 0
    assert "--all-sources" in sub.stdout
    assert "--csv" in sub.stdout
    version = run_cli("--version", process=True)
    assert version.returncode == 0
    assert version.stdout.startswith("pychrony-rs ")


def test_console_script_is_installed() -> None:
    """``pychrony`` (pyproject's [project.scripts]) beside this Python."""
    script = Path(sys.executable).with_name("pychrony")
    if not script.exists():
        found = shutil.which("pychrony")
        assert found, "no pychrony console script: reinstall the package (make setup)"
        script = Path(found)
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.startswith("pychrony-rs ")


def test_import_pychrony_does_not_import_the_cli() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pychrony; print(sorted(m for m in sys.modules if "
            "m.startswith('pychrony.cli') or m == 'argparse'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_a_reader_that_goes_away_is_no_error(lab: chronylab.Lab) -> None:
    """`pychrony all | head -c 10`: exit 0, no traceback, no broken-pipe noise
    (150 sources: more than a pipe holds)."""
    with subprocess.Popen(
        [sys.executable, "-m", "pychrony", "all", "--json", "-a", lab["many"].socket],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.read(10)
        proc.stdout.close()
        err = proc.stderr.read()
        status = proc.wait(timeout=60)
    assert status == 0
    assert "Traceback" not in err
    assert "BrokenPipe" not in err
    assert all(line.startswith("pychrony all: ") for line in err.splitlines())


def test_a_bad_source_address_is_a_usage_error(client: chronylab.Instance) -> None:
    done = run_cli("sourcename", "not-an-address", "-a", client.socket)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith("pychrony sourcename: error: ")
    assert "not-an-address" in done.stderr
    unknown = run_cli("sourcename", "10.9.9.9", "-a", client.socket)
    assert unknown.returncode == 1
    assert (
        unknown.stderr
        == "pychrony: chronyd answered the sourcename request with status 503 No such source\n"
    )
