"""Auto-detection on the default paths, inside a private mount and network
namespace where the lab runs chronyd at /run/chrony/chronyd.sock and on UDP
port 323 (the host's are never touched)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from support.lab import LAB_SCRIPT
from support.processes import run_python

pytestmark = pytest.mark.integration

PROBE = r"""
import json, os, shutil, pychrony
out = {}
with pychrony.ChronyConnection() as conn:
    out["unix"] = [conn.address, conn.transport.value, len(conn.get_sources())]
# Hide the Unix socket: auto-detect falls back to the command port.
os.rename("/run/chrony/chronyd.sock", "/run/chrony/hidden.sock")
try:
    with pychrony.ChronyConnection() as conn:
        out["udp"] = [conn.address, conn.transport.value, conn.get_tracking().stratum]
    out["module"] = len(pychrony.get_sources())
finally:
    os.rename("/run/chrony/hidden.sock", "/run/chrony/chronyd.sock")
print(json.dumps(out))
"""


def test_auto_detect_in_namespace(lab: object) -> None:
    if os.geteuid() != 0:
        pytest.skip("namespaces need root")
    done = run_python(
        PROBE, prefix=[sys.executable, str(LAB_SCRIPT), "default-ns", "--"], timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    address, transport, n_sources = out["unix"]
    assert address == "/run/chrony/chronyd.sock"
    assert transport == "unix_socket"
    assert n_sources >= 4
    assert out["udp"][:2] == ["127.0.0.1:323", "command_port"]
    assert out["udp"][2] >= 1
    assert out["module"] == n_sources
