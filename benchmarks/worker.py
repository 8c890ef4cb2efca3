"""The benchmark's timing worker: run by ``bench.py`` once with this package's
Python and once with the reference's (pychrony 2.0.3), so both are measured by
the same code in an interpreter of their own.

It reads one JSON command a line on stdin and answers each with one JSON line:

- ``{"op": "time", "method", "args", "mode", "calls", "address"}``: times
  ``calls`` calls of ``ChronyConnection.<method>(**args)``, each on its own,
  and answers ``{"ns": [...]}``. ``mode`` ``"reused"``: on one connection
  kept open between commands; ``"fresh"``: a connection opened and closed by
  every call (``with ChronyConnection(address) as c: c.<method>()``).
- ``{"op": "rss", "method", "args", "calls", "address"}``: ``calls`` calls on
  one connection after a warm-up, and the resident set size before and
  after: ``{"before_kib", "after_kib", "max_kib"}``.

A method this pychrony lacks answers ``{"unsupported": true}``; a failure
``{"error": "..."}``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pychrony

_connections: dict[str, Any] = {}


def _connection(address: str) -> Any:
    conn = _connections.get(address)
    if conn is None:
        conn = _connections[address] = pychrony.ChronyConnection(address)
        conn.__enter__()
    return conn


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _time(cmd: dict[str, Any]) -> dict[str, Any]:
    method, args, calls, address = cmd["method"], cmd["args"], cmd["calls"], cmd["address"]
    if not hasattr(pychrony.ChronyConnection, method):
        return {"unsupported": True}
    clock = time.perf_counter_ns
    out = []
    if cmd["mode"] == "reused":
        call = getattr(_connection(address), method)
        for _ in range(calls):
            start = clock()
            call(**args)
            out.append(clock() - start)
    else:
        connect = pychrony.ChronyConnection
        for _ in range(calls):
            start = clock()
            with connect(address) as conn:
                getattr(conn, method)(**args)
            out.append(clock() - start)
    return {"ns": out}


def _rss(cmd: dict[str, Any]) -> dict[str, Any]:
    method, args, calls = cmd["method"], cmd["args"], cmd["calls"]
    if not hasattr(pychrony.ChronyConnection, method):
        return {"unsupported": True}
    call = getattr(_connection(cmd["address"]), method)
    for _ in range(min(calls, 1000)):  # allocator pools and caches warm up
        call(**args)
    before = top = _rss_kib()
    step = max(calls // 20, 1)
    for i in range(calls):
        call(**args)
        if i % step == 0:
            top = max(top, _rss_kib())
    after = _rss_kib()
    return {"before_kib": before, "after_kib": after, "max_kib": max(top, after)}


def main() -> int:
    """Serve commands until stdin closes."""
    ops = {"time": _time, "rss": _rss}
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            answer = ops[cmd["op"]](cmd)
        except Exception as exc:  # reported to bench.py, which prints it
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    for conn in _connections.values():
        conn.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
