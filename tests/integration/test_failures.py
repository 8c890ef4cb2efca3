"""Errors a user meets with a real chronyd: wrong paths, permissions, a
stopped daemon, Ctrl-C."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

import chronylab
import pychrony
from pychrony import (
    ChronyConnection,
    ChronyConnectionError,
    ChronyPermissionError,
)
from support.lab import SYNC_STRATA, in_child

pytestmark = pytest.mark.integration


def test_nonexistent_socket_path(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(os.fspath(tmp_path), "nope.sock")
    with pytest.raises(ChronyConnectionError) as info, ChronyConnection(path):
        pass
    assert path in str(info.value)
    assert "is chronyd running" in str(info.value).lower()


def test_udp_port_without_chronyd_is_refused_quickly() -> None:
    start = time.monotonic()
    with pytest.raises(ChronyConnectionError) as info:
        pychrony.get_tracking("127.0.0.1:9", timeout=1.0)
    assert time.monotonic() - start < 1.0
    assert info.value.error_code == 6
    assert "refused" in str(info.value)


def test_port_out_of_range_is_an_error_not_wrapped() -> None:
    with pytest.raises(ChronyConnectionError) as info:
        pychrony.get_tracking("127.0.0.1:70000")
    assert "65535" in str(info.value)
    assert info.value.error_code == 7


def test_stopped_chronyd_times_out_within_the_bound(victim: chronylab.Instance) -> None:
    timeout, retries = 0.05, 2
    bound = timeout * (2 ** (retries + 1) - 1)
    with ChronyConnection(victim.socket, timeout=timeout, retries=retries) as conn:
        assert conn.get_tracking().stratum == 0
        victim.pause()
        try:
            # More calls than chronyd's socket queue holds: each one must still
            # end within the bound, none may block on a full queue.
            for _ in range(15):
                start = time.monotonic()
                with pytest.raises(ChronyConnectionError) as info:
                    conn.get_tracking()
                elapsed = time.monotonic() - start
                assert elapsed < bound + 0.25, elapsed
                assert info.value.error_code == 6
                assert "did not answer" in str(info.value)
        finally:
            victim.resume()
        assert conn.get_tracking().stratum == 0


def test_ctrl_c_interrupts_a_wait(victim: chronylab.Instance) -> None:
    with ChronyConnection(victim.socket, timeout=5.0, retries=0) as conn:
        victim.pause()
        try:
            timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
            start = time.monotonic()
            timer.start()
            with pytest.raises(KeyboardInterrupt):
                conn.get_tracking()
            waited = time.monotonic() - start - 0.2
            timer.join()
            assert waited < 0.3, waited
        finally:
            victim.resume()
        assert conn.get_tracking().leap_status is pychrony.LeapStatus.UNSYNC


def test_unix_socket_refused_for_unprivileged_user(client: chronylab.Instance) -> None:
    """A child running as ``nobody`` is refused the Unix socket, with the fix
    in the message, while the UDP command port works for it."""

    def probe() -> str:
        try:
            with ChronyConnection(client.socket):
                return "opened"
        except ChronyPermissionError as exc:
            refused = f"permission:{exc}"
        t = pychrony.get_tracking(f"127.0.0.1:{client.cmdport}")
        return f"{refused}\nudp:{t.stratum}"

    first, second = in_child(probe, user="nobody").splitlines()
    assert first.startswith("permission:"), first
    assert client.socket in first
    assert "UDP command port" in first
    assert second.startswith("udp:") and int(second[4:]) in SYNC_STRATA


def test_one_connection_shared_by_threads(client: chronylab.Instance) -> None:
    errors: list[BaseException] = []
    results: list[int] = []
    lock = threading.Lock()

    def work(conn: ChronyConnection) -> None:
        try:
            for i in range(25):
                n = len(conn.get_sources()) if i % 2 else conn.get_tracking().stratum
                with lock:
                    results.append(n)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    with ChronyConnection(client.socket) as conn:
        expected_sources = len(conn.get_sources())
        threads = [threading.Thread(target=work, args=(conn,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    assert len(results) == 8 * 25
    assert set(results) <= SYNC_STRATA | {expected_sources}
    assert expected_sources in results


def test_no_client_socket_files_left_behind(client: chronylab.Instance) -> None:
    sock_dir = os.path.dirname(client.socket)
    before = set(os.listdir(sock_dir))
    for _ in range(50):
        with ChronyConnection(client.socket) as conn:
            conn.get_tracking()
    conn = ChronyConnection(client.socket)
    with pytest.raises(ZeroDivisionError), conn:
        raise ZeroDivisionError
    assert set(os.listdir(sock_dir)) == before
    assert not [n for n in before if n.startswith("pychrony.")]
