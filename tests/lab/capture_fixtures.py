#!/usr/bin/env python3
"""Record chronyd's raw cmdmon replies as golden fixtures for the Rust codec.

Starts a lab (profiles ``client`` and ``empty``, see chronylab.py), talks to
the ``client`` over its Unix socket and to ``empty`` over its UDP command port
with the minimal cmdmon client below (protocol version 6, see CMDMON.md), and
writes the reply datagrams plus ``chronyc -c`` output taken right after to
``crates/chrony-core/tests/fixtures/chronyd-<version>.json``:

    {"chronyd_version": "...", "captured": "<UTC time>", "transport": "unix",
     "replies": [{"command": 33, "request_index": null, "hex": "...",
                  "transport": "unix", "reply": 5, "status": 0}, ...],
     "chronyc": {"tracking": "...", "sources": "...", "sourcestats": "..."},
     "error_replies": [...],          # SOURCE_DATA/SOURCESTATS index = n
     "empty": {"transport": "udp", "replies": [...], "chronyc": {...}},
     "serverstats": {"reply": {...}, "chronyc": "...", "udp": {...}},
     "smoothing": {"reply": {...}, "chronyc": "...", "disabled": {...}},
     "sourcename": {"replies": [{..., "address": "<IPAddr hex>"}], "chronyc": "..."},
     "manual": {"reply": {...}, "chronyc": "...", "empty": {...}},
     "ntpdata": [{"instance": "client", "replies": [{..., "address": "<IPAddr hex>"}],
                  "chronyc": "..."}, {"instance": "secure", ...}],
     "selectdata": [{"instance": "client", "replies": [...], "chronyc": "..."}, ...],
     "authdata": [{"instance": "client", "replies": [{..., "address": ...}], ...}, ...],
     "clients": {"replies": [...], "chronyc": "...", "chronyc_nke": "..."}}

``replies`` holds, in order: TRACKING, N_SOURCES, SOURCE_DATA and SOURCESTATS
for every index, RTCREPORT (status 13: no RTC), ACTIVITY. ``serverstats``
holds the lab server's SERVER_STATS reply (Unix socket) with ``chronyc -c
serverstats`` taken right after, and the UDP reply to the same request
(status 2, "501 Not authorised"); ``smoothing`` the client's SMOOTHING reply
(it runs with ``smoothtime``) with ``chronyc -c smoothing``, and the empty
instance's (status 6, not enabled); ``sourcename`` NTP_SOURCE_NAME for every
NTP source's address (``request_index`` is its SOURCE_DATA index) with
``chronyc -c -N sources -a``; ``manual`` MANUAL_LIST of an instance given
three ``chronyc settime`` samples with ``chronyc -c manual list``, and of the
empty one (no samples); ``ntpdata``, ``selectdata`` and ``authdata`` the
NTP_DATA and AUTH_DATA replies for every NTP source's address and SELECT_DATA
for every index, of the ``client`` and of the ``secure`` instance (a
key-authenticated and an interleaved source), each with chronyc's ``-c
ntpdata`` / ``selectdata -a`` / ``authdata -a``; ``clients`` the pages of
CLIENT_ACCESSES_BY_INDEX3 of the lab's server (``request_index`` is the
page's first index; min_hits 0, never a reset) with ``chronyc -c clients``
and ``clients -k``. Values in chronyc's output
were sampled a few milliseconds after the replies, so offsets, LastRx and
reach may differ slightly; names, modes, states, strata and polls match.

Needs root and chronyd (like the lab). Usage:
``python3 tests/lab/capture_fixtures.py [--output FILE]``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import secrets
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

# Run as a script: Python puts this directory, and so chronylab, on sys.path.
import chronylab

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "crates" / "chrony-core" / "tests" / "fixtures"

PROTO_VERSION = 6
PKT_REQUEST, PKT_REPLY = 1, 2
HEADER = struct.Struct("!BBBBHHIII")  # version, type, res1, res2, command, attempt, seq, pad1, pad2
REPLY_HEADER = struct.Struct("!BBBBHHH")  # version, type, res1, res2, command, reply, status
REPLY_HEADER_LEN = 28

# Request codes and padded request lengths (= successful reply lengths).
N_SOURCES, SOURCE_DATA, TRACKING, SOURCESTATS, RTCREPORT, ACTIVITY = 14, 15, 33, 34, 35, 44
SERVER_STATS, SMOOTHING, NTP_SOURCE_NAME, MANUAL_LIST = 54, 51, 65, 41
NTP_DATA, AUTH_DATA, CLIENT_ACCESSES_BY_INDEX3, SELECT_DATA = 57, 67, 68, 69
#: The client smooths the time it would serve (it serves none): SMOOTHING
#: then has a report to give.
SMOOTHTIME = "smoothtime 400 0.001"
LENGTHS = {
    NTP_DATA: 172,  # the longest reply (NTP_DATA2): every version accepts it
    AUTH_DATA: 52,
    CLIENT_ACCESSES_BY_INDEX3: 520,
    SELECT_DATA: 76,
    MANUAL_LIST: 416,
    SMOOTHING: 52,
    NTP_SOURCE_NAME: 284,
    SERVER_STATS: 196,  # the longest reply (SERVER_STATS4): every version accepts it
    N_SOURCES: 32,
    SOURCE_DATA: 76,
    TRACKING: 104,
    SOURCESTATS: 84,
    RTCREPORT: 56,
    ACTIVITY: 48,
}
STT_SUCCESS, STT_NOSUCHSOURCE, STT_NORTC = 0, 4, 13


class CmdmonError(RuntimeError):
    pass


class Cmdmon:
    """One chronyd, over its Unix socket (`path`) or UDP (`port` on 127.0.0.1)."""

    def __init__(self, *, path: str | None = None, port: int | None = None) -> None:
        self._client_path: str | None = None
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            # chronyd answers with sendto() to our address: bind to a path
            # beside its socket, writable by chronyd's user.
            self._client_path = os.path.join(os.path.dirname(path), f"capture.{os.getpid()}.sock")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._client_path)
            self.sock.bind(self._client_path)
            os.chmod(self._client_path, 0o666)
            self.sock.connect(path)
        elif port is not None:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.connect(("127.0.0.1", port))
        else:
            raise ValueError("need path or port")

    def close(self) -> None:
        self.sock.close()
        if self._client_path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._client_path)

    def __enter__(self) -> Cmdmon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, command: int, body: bytes = b"", *, tries: int = 3) -> bytes:
        """Send one request (fresh random sequence per attempt), return the
        matching raw reply datagram."""
        timeout = 1.0
        for attempt in range(tries):
            seq = secrets.randbits(32)
            packet = HEADER.pack(PROTO_VERSION, PKT_REQUEST, 0, 0, command, attempt, seq, 0, 0)
            packet += body
            packet += bytes(max(0, LENGTHS[command] - len(packet)))
            self.sock.send(packet)
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                self.sock.settimeout(left)
                try:
                    data = self.sock.recv(4096)
                except TimeoutError:
                    break
                if len(data) < REPLY_HEADER_LEN:
                    continue
                version, kind, res1, res2, cmd, _reply, _status = REPLY_HEADER.unpack_from(data)
                if (version, kind, res1, res2, cmd) != (PROTO_VERSION, PKT_REPLY, 0, 0, command):
                    continue
                if struct.unpack_from("!I", data, 16)[0] != seq:
                    continue
                return data
            timeout *= 2
        raise CmdmonError(f"no reply to command {command}")


def _entry(command: int, index: int | None, data: bytes, transport: str) -> dict[str, Any]:
    _v, _t, _r1, _r2, _c, reply, status = REPLY_HEADER.unpack_from(data)
    return {
        "command": command,
        "request_index": index,
        "hex": data.hex(),
        "transport": transport,
        "reply": reply,
        "status": status,
    }


def _chronyc_outputs(inst: chronylab.Instance) -> dict[str, str]:
    return {
        "tracking": chronylab.chronyc(inst, "-c", "tracking"),
        "sources": chronylab.chronyc(inst, "-c", "sources", "-a"),
        "sourcestats": chronylab.chronyc(inst, "-c", "sourcestats", "-a"),
        "activity": chronylab.chronyc(inst, "-c", "activity"),
    }


def _wait_settled(inst: chronylab.Instance, timeout: float = 30.0) -> None:
    """Until GPS has a full reach register (8 samples) and a source is selected."""
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = chronylab.chronyc(inst, "-c", "sources", "-a")
        rows = [r.split(",") for r in out.splitlines()]
        gps_full = any(r[2] == chronylab.REFCLOCK_REFID and r[5] == "377" for r in rows)
        if gps_full and any(r[1] == "*" for r in rows):
            return
        time.sleep(0.25)
    raise SystemExit(f"client did not settle within {timeout} s:\n{out}")


def capture_client(inst: chronylab.Instance) -> dict[str, Any]:
    replies: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    with Cmdmon(path=inst.socket) as c:
        replies.append(_entry(TRACKING, None, c.request(TRACKING), "unix"))
        data = c.request(N_SOURCES)
        replies.append(_entry(N_SOURCES, None, data, "unix"))
        (n,) = struct.unpack_from("!I", data, REPLY_HEADER_LEN)
        for cmd in (SOURCE_DATA, SOURCESTATS):
            for i in range(n):
                replies.append(_entry(cmd, i, c.request(cmd, struct.pack("!i", i)), "unix"))
        replies.append(_entry(RTCREPORT, None, c.request(RTCREPORT), "unix"))
        replies.append(_entry(ACTIVITY, None, c.request(ACTIVITY), "unix"))
        for cmd in (SOURCE_DATA, SOURCESTATS):
            errors.append(_entry(cmd, n, c.request(cmd, struct.pack("!i", n)), "unix"))
    return {"replies": replies, "chronyc": _chronyc_outputs(inst), "error_replies": errors}


def capture_serverstats(server: chronylab.Instance, empty: chronylab.Instance) -> dict[str, Any]:
    """SERVER_STATS of the lab's server (it serves the client's NTP requests)
    over its Unix socket with chronyc's output right after, and the "501 Not
    authorised" reply to the same request over UDP (from ``empty``)."""
    assert empty.cmdport is not None
    with Cmdmon(path=server.socket) as c:
        reply = _entry(SERVER_STATS, None, c.request(SERVER_STATS), "unix")
    chronyc = chronylab.chronyc(server, "-c", "serverstats")
    with Cmdmon(port=empty.cmdport) as c:
        udp = _entry(SERVER_STATS, None, c.request(SERVER_STATS), "udp")
    return {"reply": reply, "chronyc": chronyc, "udp": udp}


def capture_smoothing(client: chronylab.Instance, empty: chronylab.Instance) -> dict[str, Any]:
    """SMOOTHING of the client (``smoothtime``) with chronyc's output right
    after, and the "505 Facility not enabled" reply of ``empty`` (no
    ``smoothtime``)."""
    with Cmdmon(path=client.socket) as c:
        reply = _entry(SMOOTHING, None, c.request(SMOOTHING), "unix")
    chronyc = chronylab.chronyc(client, "-c", "smoothing")
    with Cmdmon(path=empty.socket) as c:
        disabled = _entry(SMOOTHING, None, c.request(SMOOTHING), "unix")
    return {"reply": reply, "chronyc": chronyc, "disabled": disabled}


def capture_sourcename(client: chronylab.Instance, replies: list[dict[str, Any]]) -> dict[str, Any]:
    """NTP_SOURCE_NAME for the address of every NTP source in ``replies``
    (SOURCE_DATA, refclocks left out), with ``chronyc -c -N sources -a``."""
    names = []
    with Cmdmon(path=client.socket) as c:
        for r in replies:
            body = bytes.fromhex(r["hex"])[REPLY_HEADER_LEN:]
            if r["command"] != SOURCE_DATA or struct.unpack_from("!H", body, 26)[0] == 2:
                continue
            address = body[:20]
            entry = _entry(
                NTP_SOURCE_NAME, r["request_index"], c.request(NTP_SOURCE_NAME, address), "unix"
            )
            names.append({**entry, "address": address.hex()})
    chronyc = chronylab.chronyc(client, "-c", "-N", "sources", "-a")
    return {"replies": names, "chronyc": chronyc}


def capture_manual(inst: chronylab.Instance, empty: chronylab.Instance) -> dict[str, Any]:
    """MANUAL_LIST of `inst` after three ``chronyc settime`` samples (lab
    setup: manual mode on a ``-x`` daemon, samples a second or more apart)
    with ``chronyc -c manual list``, and of ``empty`` (no samples)."""
    chronylab.chronyc(inst, "manual", "on")
    for i in range(3):
        chronylab.chronyc(
            inst, "settime", time.strftime("%H:%M:%S", time.localtime(time.time() + 1 + i))
        )
        time.sleep(1.2)
    with Cmdmon(path=inst.socket) as c:
        reply = _entry(MANUAL_LIST, None, c.request(MANUAL_LIST), "unix")
    chronyc = chronylab.chronyc(inst, "-c", "manual", "list")
    with Cmdmon(path=empty.socket) as c:
        none = _entry(MANUAL_LIST, None, c.request(MANUAL_LIST), "unix")
    return {"reply": reply, "chronyc": chronyc, "empty": none}


def _ntp_source_addresses(c: Cmdmon) -> list[tuple[int, bytes]]:
    """(SOURCE_DATA index, IPAddr bytes) of every NTP source (refclocks out)."""
    (n,) = struct.unpack_from("!I", c.request(N_SOURCES), REPLY_HEADER_LEN)
    found = []
    for i in range(n):
        body = c.request(SOURCE_DATA, struct.pack("!i", i))[REPLY_HEADER_LEN:]
        if struct.unpack_from("!H", body, 26)[0] != 2:
            found.append((i, body[:20]))
    return found


def capture_by_address(inst: chronylab.Instance, command: int, *chronyc: str) -> dict[str, Any]:
    """`command` (NTP_DATA or AUTH_DATA) for every NTP source's address, with
    chronyc's output right after."""
    replies = []
    with Cmdmon(path=inst.socket) as c:
        for index, address in _ntp_source_addresses(c):
            entry = _entry(command, index, c.request(command, address), "unix")
            replies.append({**entry, "address": address.hex()})
    out = chronylab.chronyc(inst, "-c", *chronyc)
    return {"instance": inst.name, "replies": replies, "chronyc": out}


def capture_selectdata(inst: chronylab.Instance) -> dict[str, Any]:
    """SELECT_DATA for every index, with ``chronyc -c selectdata -a``."""
    with Cmdmon(path=inst.socket) as c:
        (n,) = struct.unpack_from("!I", c.request(N_SOURCES), REPLY_HEADER_LEN)
        replies = [
            _entry(SELECT_DATA, i, c.request(SELECT_DATA, struct.pack("!i", i)), "unix")
            for i in range(n)
        ]
    out = chronylab.chronyc(inst, "-c", "selectdata", "-a")
    return {"instance": inst.name, "replies": replies, "chronyc": out}


def capture_clients(server: chronylab.Instance) -> dict[str, Any]:
    """Every page of CLIENT_ACCESSES_BY_INDEX3 (8 records a page, min_hits 0,
    reset 0: read only), with ``chronyc -c clients`` and ``clients -k``."""
    replies = []
    index = 0
    with Cmdmon(path=server.socket) as c:
        while True:
            data = c.request(CLIENT_ACCESSES_BY_INDEX3, struct.pack("!IIII", index, 8, 0, 0))
            replies.append(_entry(CLIENT_ACCESSES_BY_INDEX3, index, data, "unix"))
            n_indices, next_index, n_clients = struct.unpack_from("!III", data, REPLY_HEADER_LEN)
            if next_index >= n_indices or n_clients < 8 or next_index <= index:
                break
            index = next_index
    return {
        "replies": replies,
        "chronyc": chronylab.chronyc(server, "-c", "clients"),
        "chronyc_nke": chronylab.chronyc(server, "-c", "clients", "-k"),
    }


def _wait_secure(inst: chronylab.Instance, timeout: float = 30.0) -> None:
    """Until the secure instance has an authenticated and an interleaved response."""
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = chronylab.chronyc(inst, "-c", "ntpdata")
        rows = [r.split(",") for r in out.splitlines()]
        if any(r[27] == "Yes" for r in rows) and any(r[26] == "Yes" for r in rows):
            return
        time.sleep(0.25)
    raise SystemExit(f"secure did not get authenticated and interleaved responses:\n{out}")


def capture_empty(inst: chronylab.Instance) -> dict[str, Any]:
    assert inst.cmdport is not None
    with Cmdmon(port=inst.cmdport) as c:
        replies = [
            _entry(cmd, None, c.request(cmd), "udp") for cmd in (TRACKING, N_SOURCES, RTCREPORT)
        ]
    return {"transport": "udp", "replies": replies, "chronyc": _chronyc_outputs(inst)}


def check(fixture: dict[str, Any]) -> list[str]:
    """What the fixture must cover; returns the missing items."""
    families, polls, modes, never, refclock_ids = set(), set(), set(), False, set()
    for r in fixture["replies"]:
        data = bytes.fromhex(r["hex"])
        if r["command"] == RTCREPORT and r["status"] != STT_NORTC:
            return ["RTCREPORT did not fail with status 13"]
        if r["command"] != SOURCE_DATA:
            continue
        body = data[REPLY_HEADER_LEN:]
        family = struct.unpack_from("!H", body, 16)[0]
        poll, _stratum, _state, mode = struct.unpack_from("!hHHH", body, 20)
        since = struct.unpack_from("!I", body, 32)[0]
        families.add(family)
        polls.add(poll)
        modes.add(mode)
        never = never or since == 0xFFFFFFFF
        if mode == 2:
            refclock_ids.add(body[:4].rstrip(b"\0").decode("ascii", "replace"))
    missing = []
    for family, what in ((1, "IPv4"), (2, "IPv6"), (3, "unresolved (ID#)")):
        if family not in families:
            missing.append(f"a {what} source")
    if -6 not in polls:
        missing.append("a source with poll -6")
    if 1 not in modes:
        missing.append("a peer")
    if chronylab.REFCLOCK_REFID not in refclock_ids:
        missing.append("the GPS reference clock")
    if not never:
        missing.append("a never-sampled source")
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output", help="default: crates/chrony-core/tests/fixtures/chronyd-<version>.json"
    )
    args = parser.parse_args()
    if not chronylab.chronyd_available():
        print("capture_fixtures: needs root and chronyd/chronyc", file=sys.stderr)
        return 1
    version_line = chronylab.chronyd_version()
    version = version_line.split(" version ")[1].split()[0]
    with chronylab.Lab() as lab:
        client = lab.start("client", extra_config=[SMOOTHTIME])
        empty = lab.start("empty")
        _wait_settled(client)
        captured = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        client_part = capture_client(client)
        empty_part = capture_empty(empty)
        serverstats = capture_serverstats(lab["server"], empty)
        smoothing = capture_smoothing(client, empty)
        sourcename = capture_sourcename(client, client_part["replies"])
        manual = capture_manual(lab.start("empty", name="manual"), empty)
        secure = lab.start("secure")
        _wait_secure(secure)
        per_source = {
            "ntpdata": [capture_by_address(i, NTP_DATA, "ntpdata") for i in (client, secure)],
            "selectdata": [capture_selectdata(i) for i in (client, secure)],
            "authdata": [
                capture_by_address(i, AUTH_DATA, "authdata", "-a") for i in (client, secure)
            ],
            "clients": capture_clients(lab["server"]),
        }
    fixture: dict[str, Any] = {
        "chronyd_version": version_line,
        "captured": captured,
        "transport": "unix",
        **client_part,
        "empty": empty_part,
        "serverstats": serverstats,
        "smoothing": smoothing,
        "sourcename": sourcename,
        "manual": manual,
        **per_source,
    }
    missing = check(fixture)
    if missing:
        print("capture_fixtures: capture lacks " + ", ".join(missing), file=sys.stderr)
        return 1
    out = Path(args.output) if args.output else FIXTURES / f"chronyd-{version}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fixture, indent=2) + "\n")
    try:
        shown = out.resolve().relative_to(REPO)
    except ValueError:
        shown = out
    print(f"wrote {shown}: {len(fixture['replies'])} replies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
