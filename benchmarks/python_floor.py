"""What a round trip costs from CPython itself, beside the Rust floor.

``bench.py`` divides our times by ``chrony-floor``'s, a Rust client with
nothing on top. A call from Python also pays for the interpreter. This
measures, on one lab chronyd (on a tmpfs, as ``bench.py``'s labs), round by
round and interleaved, one TRACKING round trip made by:

- ``chrony-floor`` (``rt``: one request on a prepared socket);
- CPython alone: ``socket.send`` and ``socket.recv`` of a prepared request on
  a prepared socket, checking only the sequence number (no decoding, no
  objects): the least any Python-hosted client can spend;
- the same, and then the ``TrackingStatus`` the call returns, made the
  cheapest way Python has (``object.__new__`` and one ``__dict__.update``
  from values prepared beforehand; still no decoding): the least a Python
  client that returns the record can spend;
- ``ChronyConnection.get_tracking()`` on a reused connection.

Each call is timed on its own (``perf_counter_ns``), as ``worker.py`` times
ours. It prints the medians and the ratios; it asserts nothing.

Run: ``.venv/bin/python benchmarks/python_floor.py [calls] [rounds]``
(``make bench`` runs it with a few hundred calls).
"""

from __future__ import annotations

import os
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lab"))

from bench import Floor, build_floor, tmpfs_dir

import chronylab
import pychrony

#: chronyd's TRACKING command, and the length its request is padded to (the
#: reply's, 104 bytes).
TRACKING, LENGTH = 33, 104


def python_round_trips(
    server: str, calls: int, directory: str, record: dict[str, object] | None = None
) -> list[int]:
    """Nanoseconds of each of `calls` TRACKING round trips made with the
    socket module alone, on a socket bound and connected beforehand; with
    `record` (a ``TrackingStatus``'s fields), each also makes a
    ``TrackingStatus`` of them."""
    path = os.path.join(directory, "s")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(path)
        os.chmod(path, 0o666)
        sock.connect(server)
        packets = [
            struct.pack("!BBBBHHIII", 6, 1, 0, 0, TRACKING, 0, seq, 0, 0).ljust(LENGTH, b"\0")
            for seq in range(1, calls + 1)
        ]
        clock = time.perf_counter_ns
        out = []
        new, cls = object.__new__, pychrony.TrackingStatus
        for packet in packets:
            start = clock()
            sock.send(packet)
            reply = sock.recv(1024)
            if record is not None:
                new(cls).__dict__.update(record)
            out.append(clock() - start)
            if reply[16:20] != packet[8:12]:
                raise RuntimeError("a reply to another request")
        return out
    finally:
        sock.close()
        os.unlink(path)


def ours(conn: pychrony.ChronyConnection, calls: int) -> list[int]:
    """Nanoseconds of each of `calls` reused-connection get_tracking()."""
    clock = time.perf_counter_ns
    out = []
    for _ in range(calls):
        start = clock()
        conn.get_tracking()
        out.append(clock() - start)
    return out


def main() -> int:
    """Measure and print."""
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    floor_bin = build_floor()
    times: dict[str, list[float]] = {"rust": [], "python": [], "record": [], "ours": []}
    with chronylab.Lab(tmpfs_dir()) as lab:
        inst = lab.start("client")
        floor = Floor([str(floor_bin)], "chrony-floor")
        scratch = tempfile.mkdtemp(dir=os.path.dirname(inst.socket))
        try:
            floor.ok(f"open {inst.socket}")
            with pychrony.ChronyConnection(inst.socket) as conn:
                fields = dict(vars(conn.get_tracking()))
                for _ in range(rounds):
                    rust = floor.ok(f"time rt {calls} TRACKING")
                    times["rust"].append(statistics.median(rust))
                    python = python_round_trips(inst.socket, calls, scratch)
                    times["python"].append(statistics.median(python))
                    record = python_round_trips(inst.socket, calls, scratch, fields)
                    times["record"].append(statistics.median(record))
                    times["ours"].append(statistics.median(ours(conn, calls)))
        finally:
            floor.close()
            os.rmdir(scratch)
    med = {k: statistics.median(v) / 1000 for k, v in times.items()}
    print(
        f"TRACKING round trip, median of {rounds} round medians of {calls} calls, µs: "
        f"chrony-floor (Rust) {med['rust']:.1f}; CPython socket.send+recv {med['python']:.1f}; "
        f"the same and a TrackingStatus of prepared values {med['record']:.1f}; "
        f"pychrony get_tracking (reused) {med['ours']:.1f}"
    )
    print(
        f"ratios: CPython / Rust {med['python'] / med['rust']:.2f}; "
        f"CPython with the record / Rust {med['record'] / med['rust']:.2f}; "
        f"ours / Rust {med['ours'] / med['rust']:.2f}; "
        f"ours / CPython with the record {med['ours'] / med['record']:.2f}"
    )
    # The same ratios round by round (each round's figures were measured
    # back to back): their spread shows how far one run's medians can be
    # trusted.
    for name, over in (("python", "rust"), ("record", "rust"), ("ours", "rust")):
        each = sorted(a / b for a, b in zip(times[name], times[over], strict=True))
        print(
            f"per round, {name} / {over}: median {statistics.median(each):.2f}, "
            f"from {each[0]:.2f} to {each[-1]:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
