"""A fake chronyd for fault injection only: ``FakeChronyd``, a small server
thread in this process, over UDP or over a Unix datagram socket, that answers
requests the way a test tells it to, and the encoders for its replies.
Everything a real chronyd can do is tested against a real one (the lab); the
fixtures ``fake``, ``fake_udp`` and ``fake_unix`` are in ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import tempfile
import threading
from collections import deque
from collections.abc import Callable

# -- the wire format (docs: CMDMON.md) ----------------------------------------

PROTO_VERSION = 6
PKT_REPLY = 2
REPLY_HEADER_LEN = 28

CMD_N_SOURCES = 14
CMD_SOURCE_DATA = 15
CMD_TRACKING = 33
CMD_SOURCESTATS = 34
CMD_RTCREPORT = 35

RPY_NULL = 1
RPY_N_SOURCES = 2
RPY_SOURCE_DATA = 3
RPY_TRACKING = 5
RPY_SOURCESTATS = 6
RPY_RTC = 7

TRACKING_BODY_LEN = 76
SOURCE_DATA_BODY_LEN = 48
SOURCESTATS_BODY_LEN = 56
RTC_BODY_LEN = 28


def command_of(request: bytes) -> int:
    """The command code of a request datagram."""
    return int(struct.unpack_from(">H", request, 4)[0])


def sequence_of(request: bytes) -> bytes:
    """The 4 sequence bytes of a request datagram, as sent."""
    return request[8:12]


def reply(
    request: bytes,
    *,
    reply_code: int | None = None,
    status: int = 0,
    body: bytes = b"",
    version: int = PROTO_VERSION,
    pkt_type: int = PKT_REPLY,
    command: int | None = None,
    sequence: bytes | None = None,
) -> bytes:
    """A reply datagram to `request`: 28-byte header, then `body`.

    By default it echoes the request's command and sequence and carries the
    reply code that matches the command (RPY_NULL for an error status).
    """
    cmd = command_of(request) if command is None else command
    if reply_code is None:
        reply_code = (
            RPY_NULL
            if status
            else {
                CMD_TRACKING: RPY_TRACKING,
                CMD_RTCREPORT: RPY_RTC,
                CMD_N_SOURCES: RPY_N_SOURCES,
            }.get(cmd, RPY_NULL)
        )
    header = bytearray(REPLY_HEADER_LEN)
    header[0] = version
    header[1] = pkt_type
    struct.pack_into(">HHH", header, 4, cmd, reply_code, status)
    header[16:20] = sequence_of(request) if sequence is None else sequence
    return bytes(header) + body


def tracking_body(stratum: int, ref_id: int = 0x7F000001) -> bytes:
    """A TRACKING body: `ref_id`, no address, `stratum`, leap normal, every
    time and float zero (a chrony float of 0 is 0)."""
    body = bytearray(TRACKING_BODY_LEN)
    struct.pack_into(">I", body, 0, ref_id)
    struct.pack_into(">HH", body, 24, stratum, 0)
    return bytes(body)


def rtc_body(samples: int) -> bytes:
    """An RTC body with `samples` samples and everything else zero."""
    body = bytearray(RTC_BODY_LEN)
    struct.pack_into(">HH", body, 12, samples, 1)
    return bytes(body)


def index_of(request: bytes) -> int:
    """The source index of a SOURCE_DATA or SOURCESTATS request."""
    return int(struct.unpack_from(">i", request, 20)[0])


def _ipv4(address: str) -> bytes:
    return socket.inet_aton(address) + bytes(12) + struct.pack(">HH", 1, 0)


def source_data_body(address: str) -> bytes:
    """A SOURCE_DATA body: an IPv4 client source, reachable, sampled 1 s ago."""
    body = bytearray(SOURCE_DATA_BODY_LEN)
    body[0:20] = _ipv4(address)
    struct.pack_into(">hHHHHHI", body, 20, 6, 2, 0, 0, 0, 0o377, 1)
    return bytes(body)


def sourcestats_body(address: str) -> bytes:
    """A SOURCESTATS body for an IPv4 source with 8 samples."""
    body = bytearray(SOURCESTATS_BODY_LEN)
    body[0:4] = socket.inet_aton(address)
    body[4:24] = _ipv4(address)
    struct.pack_into(">III", body, 24, 8, 4, 64)
    return bytes(body)


def answer_sources(request: bytes, addresses: list[str]) -> list[bytes]:
    """What chronyd with these IPv4 sources answers (status 4 past the end)."""
    cmd = command_of(request)
    if cmd == CMD_N_SOURCES:
        return [reply(request, body=struct.pack(">I", len(addresses)))]
    if cmd in (CMD_SOURCE_DATA, CMD_SOURCESTATS):
        index = index_of(request)
        if not 0 <= index < len(addresses):
            return [reply(request, status=4)]
        if cmd == CMD_SOURCE_DATA:
            return [
                reply(request, reply_code=RPY_SOURCE_DATA, body=source_data_body(addresses[index]))
            ]
        return [reply(request, reply_code=RPY_SOURCESTATS, body=sourcestats_body(addresses[index]))]
    return answer_normally(request)


def answer_normally(request: bytes, stratum: int = 5) -> list[bytes]:
    """What a healthy chronyd (with no sources and an RTC) answers."""
    cmd = command_of(request)
    if cmd == CMD_TRACKING:
        return [reply(request, body=tracking_body(stratum))]
    if cmd == CMD_RTCREPORT:
        return [reply(request, body=rtc_body(7))]
    if cmd == CMD_N_SOURCES:
        return [reply(request, body=struct.pack(">I", 0))]
    return [reply(request, status=3)]


#: A behaviour gets each request and its number (0, 1, ... since the behaviour
#: was set) and returns the datagrams to send back, in order.
Behaviour = Callable[[bytes, int], list[bytes]]

#: How many of the latest requests a fake keeps.
REQUESTS_KEPT = 256

#: Stratum the fake reports when it answers normally.
NORMAL_STRATUM = 5


class FakeChronyd:
    """A chronyd stand-in on a thread: UDP on 127.0.0.1 or a Unix datagram socket.

    ``behave(fn)`` sets how it answers; ``requests`` records what it got.
    """

    def __init__(self, kind: str, directory: str | None = None) -> None:
        self.kind = kind
        if kind == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        else:
            assert directory is not None
            self.address = os.path.join(directory, "chronyd.sock")
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.bind(self.address)
        self.sock.settimeout(0.05)
        self._lock = threading.Lock()
        self._behaviour: Behaviour = lambda req, n: answer_normally(req)
        self._count = 0
        # The latest requests (bounded, so a long run does not grow memory).
        self.requests: deque[bytes] = deque(maxlen=REQUESTS_KEPT)
        self._peer: object = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"fake-chronyd-{kind}")
        self._thread.daemon = True
        self._thread.start()

    def behave(self, behaviour: Behaviour) -> None:
        """Answer from now on with `behaviour`; the request count restarts at 0."""
        with self._lock:
            self._behaviour = behaviour
            self._count = 0
            self.requests = deque(maxlen=REQUESTS_KEPT)

    def normal(self) -> None:
        """Answer as a healthy chronyd."""
        self.behave(lambda req, n: answer_normally(req))

    def send_to_last_peer(self, datagram: bytes) -> None:
        """Send `datagram` to whoever sent the last request."""
        assert self._peer is not None
        self.sock.sendto(datagram, self._peer)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                request, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._peer = peer
                n = self._count
                self._count += 1
                self.requests.append(request)
                behaviour = self._behaviour
            for datagram in behaviour(request, n):
                # The client may be gone, or its queue full.
                with contextlib.suppress(OSError):
                    self.sock.sendto(datagram, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def short_private_dir() -> str:
    """A new 0750 directory with a short path (client sockets must fit in
    sun_path beside a socket in it)."""
    root = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()
    path = tempfile.mkdtemp(prefix="pyc-rel-", dir=root)
    os.chmod(path, 0o750)
    return path
