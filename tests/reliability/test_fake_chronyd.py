"""Fault injection: a fake chronyd (``support.fake_chronyd.FakeChronyd``, over
UDP and over a Unix socket) that is silent, late, repetitive, confused or broken.

Every case ends within the call's deadline in one of pychrony's exceptions
(or with the right result), and the same connection then works again.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import pychrony
from pychrony import (
    ChronyConnection,
    ChronyConnectionError,
    ChronyDataError,
    ChronyError,
    RTCData,
    TrackingStatus,
)
from support.fake_chronyd import (
    CMD_N_SOURCES,
    CMD_RTCREPORT,
    NORMAL_STRATUM,
    RPY_N_SOURCES,
    RPY_RTC,
    FakeChronyd,
    answer_normally,
    answer_sources,
    command_of,
    reply,
    sequence_of,
    tracking_body,
)

TIMEOUT = 0.02
RETRIES = 1
BOUND = TIMEOUT * (2 ** (RETRIES + 1) - 1)
SLACK = 0.25


@pytest.fixture
def conn(fake: FakeChronyd) -> Iterator[ChronyConnection]:
    """An open connection to the fake; after the test it must still work."""
    with ChronyConnection(fake.address, timeout=TIMEOUT, retries=RETRIES) as connection:
        yield connection
        fake.normal()
        for _ in range(2):
            assert connection.get_tracking().stratum == NORMAL_STRATUM


def _call(call: Callable[[], object]) -> tuple[float, object]:
    """Runs `call`; returns the time it took and its result or ChronyError."""
    start = time.monotonic()
    try:
        result: object = call()
    except ChronyError as exc:
        result = exc
    elapsed = time.monotonic() - start
    assert elapsed < BOUND + SLACK, elapsed
    return elapsed, result


def _times_out(conn: ChronyConnection) -> ChronyConnectionError:
    elapsed, exc = _call(conn.get_tracking)
    assert isinstance(exc, ChronyConnectionError), exc
    assert exc.error_code == 6
    assert "did not answer" in str(exc)
    # It waited for every resend before giving up.
    assert elapsed >= BOUND * 0.9, elapsed
    return exc


def _data_error(conn: ChronyConnection, code: int) -> ChronyDataError:
    _, exc = _call(conn.get_tracking)
    assert isinstance(exc, ChronyDataError), exc
    assert exc.error_code == code, exc
    return exc


# -- silence and late replies ---------------------------------------------


def test_silence_times_out_after_each_resend(fake: FakeChronyd, conn: ChronyConnection) -> None:
    fake.behave(lambda req, n: [])
    _times_out(conn)
    requests = list(fake.requests)
    assert len(requests) == RETRIES + 1
    assert all(r[:2] == b"\x06\x01" for r in requests)
    assert [struct.unpack_from(">H", r, 6)[0] for r in requests] == list(range(RETRIES + 1))
    # Each resend has a fresh sequence number.
    assert len({sequence_of(r) for r in requests}) == len(requests)


def test_reply_only_after_the_first_resend_gives_the_result(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    fake.behave(lambda req, n: [] if n == 0 else answer_normally(req, stratum=7))
    elapsed, result = _call(conn.get_tracking)
    assert isinstance(result, TrackingStatus), result
    assert result.stratum == 7
    assert elapsed >= TIMEOUT * 0.9
    assert len(fake.requests) == 2


def test_replies_always_carrying_the_previous_sequence_are_ignored(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    previous: list[bytes] = []

    def late(req: bytes, n: int) -> list[bytes]:
        out = [reply(previous[-1], body=tracking_body(9))] if previous else []
        previous.append(req)
        return out

    fake.behave(late)
    _times_out(conn)


def test_late_reply_to_the_first_request_then_the_right_one(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    first: list[bytes] = []

    def late(req: bytes, n: int) -> list[bytes]:
        if n == 0:
            first.append(req)
            return []
        # The answer to the first transmission arrives only now, just before
        # the answer to the resend. Its sequence number is no longer the
        # outstanding one (as in chronyc): it is discarded.
        return [reply(first[0], body=tracking_body(8)), *answer_normally(req, stratum=9)]

    fake.behave(late)
    _, result = _call(conn.get_tracking)
    assert isinstance(result, TrackingStatus), result
    assert result.stratum == 9


def test_replies_arriving_after_the_call_gave_up_never_answer_the_next_call(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    unanswered: list[bytes] = []

    def hold(req: bytes, n: int) -> list[bytes]:
        unanswered.append(req)
        return []

    fake.behave(hold)
    _times_out(conn)
    fake.behave(lambda req, n: answer_normally(req, stratum=11))
    for req in unanswered:  # now late: the call that sent them is over
        fake.send_to_last_peer(reply(req, body=tracking_body(2)))
    time.sleep(0.02)
    for _ in range(3):
        _, result = _call(conn.get_tracking)
        assert isinstance(result, TrackingStatus), result
        assert result.stratum == 11


def test_duplicated_replies_each_call_gets_its_own(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    def twice(req: bytes, n: int) -> list[bytes]:
        datagram = reply(req, body=tracking_body(n % 16))
        return [datagram, datagram]

    fake.behave(twice)
    for n in range(6):
        _, result = _call(conn.get_tracking)
        assert isinstance(result, TrackingStatus), result
        assert result.stratum == n


# -- replies that do not fit the request ----------------------------------


def test_reply_for_another_command_is_ignored(fake: FakeChronyd, conn: ChronyConnection) -> None:
    # Right sequence, wrong command: not an answer to this request.
    fake.behave(
        lambda req, n: [reply(req, command=CMD_N_SOURCES, reply_code=RPY_N_SOURCES, body=bytes(4))]
    )
    _times_out(conn)


def test_reply_for_another_command_then_the_right_one(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    fake.behave(
        lambda req, n: [
            reply(req, command=CMD_RTCREPORT, reply_code=RPY_RTC, body=bytes(28)),
            *answer_normally(req, stratum=4),
        ]
    )
    _, result = _call(conn.get_tracking)
    assert isinstance(result, TrackingStatus), result
    assert result.stratum == 4


def test_reply_code_of_another_command_is_a_data_error(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    fake.behave(lambda req, n: [reply(req, reply_code=RPY_RTC, body=bytes(76))])
    exc = _data_error(conn, 13)
    assert "reply code" in str(exc)


def test_truncated_reply_is_a_data_error(fake: FakeChronyd, conn: ChronyConnection) -> None:
    fake.behave(lambda req, n: [reply(req, body=tracking_body(1)[:40])])
    exc = _data_error(conn, 14)
    assert "truncated" in str(exc)


def test_datagram_shorter_than_a_header_is_ignored(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    fake.behave(lambda req, n: [reply(req)[:20]])
    _times_out(conn)


def test_oversize_reply_is_a_data_error(fake: FakeChronyd, conn: ChronyConnection) -> None:
    fake.behave(lambda req, n: [reply(req, body=tracking_body(1) + bytes(2000))])
    exc = _data_error(conn, 14)
    assert "oversize" in str(exc)


def test_reply_of_exactly_1024_bytes_is_accepted(fake: FakeChronyd, conn: ChronyConnection) -> None:
    # Bytes beyond the documented length are ignored.
    fake.behave(lambda req, n: [reply(req, body=tracking_body(3) + bytes(1024 - 104))])
    _, result = _call(conn.get_tracking)
    assert isinstance(result, TrackingStatus), result
    assert result.stratum == 3


def test_reply_of_1025_bytes_is_oversize(fake: FakeChronyd, conn: ChronyConnection) -> None:
    fake.behave(lambda req, n: [reply(req, body=tracking_body(3) + bytes(1025 - 104))])
    assert "oversize" in str(_data_error(conn, 14))


@pytest.mark.parametrize(("version", "code"), [(5, 12), (4, 12), (7, 13), (255, 13)])
def test_other_protocol_version_is_a_data_error(
    fake: FakeChronyd, conn: ChronyConnection, version: int, code: int
) -> None:
    fake.behave(lambda req, n: [reply(req, version=version, status=18)])
    exc = _data_error(conn, code)
    assert f"protocol version {version}" in str(exc)


@pytest.mark.parametrize("pkt_type", [0, 1, 3, 255])
def test_wrong_packet_type_is_ignored(
    fake: FakeChronyd, conn: ChronyConnection, pkt_type: int
) -> None:
    fake.behave(lambda req, n: [reply(req, pkt_type=pkt_type, body=tracking_body(1))])
    _times_out(conn)


def test_nonzero_reserved_bytes_are_ignored(fake: FakeChronyd, conn: ChronyConnection) -> None:
    def reserved(req: bytes, n: int) -> list[bytes]:
        datagram = bytearray(reply(req, body=tracking_body(1)))
        datagram[2] = 1
        return [bytes(datagram)]

    fake.behave(reserved)
    _times_out(conn)


# -- error statuses ----------------------------------------------------------

#: libchrony's chrony_err for each status on TRACKING: 2 UNAUTHORIZED (9),
#: 3 OLD_SERVER (12), 6/13 DISABLED (10), 18/19 NEW_SERVER (13), others
#: UNEXPECTED_STATUS (11).
#: The number chronyc prints for each status (CMDMON.md §2.6).
CHRONYC_TEXT = {
    1: "500", 2: "501", 3: "502", 4: "503", 5: "504", 6: "505", 7: "507",
    8: "208", 9: "209", 10: "510", 11: "511", 12: "512", 13: "513", 14: "514",
    15: "519", 16: "516", 17: "515", 18: "517", 19: "518", 20: "520", 21: "521",
}  # fmt: skip
STATUS_CODES = {status: 11 for status in range(1, 22)} | {
    2: 9,
    3: 12,
    6: 10,
    13: 10,
    18: 13,
    19: 13,
}


@pytest.mark.parametrize("status", sorted(STATUS_CODES))
def test_error_status_on_tracking(fake: FakeChronyd, conn: ChronyConnection, status: int) -> None:
    fake.behave(lambda req, n: [reply(req, status=status)])
    exc = _data_error(conn, STATUS_CODES[status])
    assert "tracking" in str(exc).lower()
    if status == 2:
        assert "Unix socket" in str(exc)
    # The message carries chronyc's text for the status ("500 Failure", ...).
    assert CHRONYC_TEXT[status] in str(exc)
    # The module-level function raises the same.
    with pytest.raises(ChronyDataError) as info:
        pychrony.get_tracking(fake.address, timeout=TIMEOUT, retries=RETRIES)
    assert info.value.error_code == STATUS_CODES[status]


@pytest.mark.parametrize("status", [6, 13])
def test_rtc_not_available_is_none_on_the_connection_and_an_error_from_the_function(
    fake: FakeChronyd, conn: ChronyConnection, status: int
) -> None:
    fake.behave(lambda req, n: [reply(req, status=status)])
    _, result = _call(conn.get_rtc_data)
    assert result is None
    with pytest.raises(ChronyDataError) as info:
        pychrony.get_rtc_data(fake.address, timeout=TIMEOUT, retries=RETRIES)
    assert info.value.error_code == 10
    fake.normal()
    rtc = conn.get_rtc_data()
    assert isinstance(rtc, RTCData)
    assert rtc.samples == 7


@pytest.mark.parametrize("status", [1, 2, 3, 4, 18, 19, 20])
def test_rtc_other_failures_raise_rather_than_none(
    fake: FakeChronyd, conn: ChronyConnection, status: int
) -> None:
    fake.behave(lambda req, n: [reply(req, status=status)])
    _, exc = _call(conn.get_rtc_data)
    assert isinstance(exc, ChronyDataError), exc
    assert exc.error_code == STATUS_CODES[status]


def test_error_status_on_the_source_count(fake: FakeChronyd, conn: ChronyConnection) -> None:
    fake.behave(
        lambda req, n: (
            [reply(req, status=1)] if command_of(req) == CMD_N_SOURCES else answer_normally(req)
        )
    )
    for call in (conn.get_sources, conn.get_source_stats):
        _, exc = _call(call)
        assert isinstance(exc, ChronyDataError), exc
        assert exc.error_code == 11


# -- garbage -------------------------------------------------------------------


def test_garbage_datagrams_are_ignored(fake: FakeChronyd, conn: ChronyConnection) -> None:
    rng = random.Random(20240601)

    def garbage(req: bytes, n: int) -> list[bytes]:
        return [rng.randbytes(rng.randrange(0, 1200)) for _ in range(5)]

    fake.behave(garbage)
    _times_out(conn)


def test_garbage_before_the_reply_is_skipped(fake: FakeChronyd, conn: ChronyConnection) -> None:
    rng = random.Random(7)

    def noisy(req: bytes, n: int) -> list[bytes]:
        noise = [rng.randbytes(rng.randrange(0, 300)) for _ in range(20)]
        return [*noise, *answer_normally(req, stratum=6)]

    fake.behave(noisy)
    for _ in range(5):
        _, result = _call(conn.get_tracking)
        assert isinstance(result, TrackingStatus), result
        assert result.stratum == 6


def test_garbage_bodies_give_a_result_or_a_data_error(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    """Right header, random body (with a valid stratum, so decoding goes past
    the first check): a TrackingStatus or ChronyDataError, nothing else."""
    rng = random.Random(99)
    outcomes: dict[str, int] = {}
    for _ in range(300):
        body = bytearray(rng.randbytes(76))
        struct.pack_into(">H", body, 24, rng.randrange(16))
        fake.behave(lambda req, n, body=bytes(body): [reply(req, body=body)])
        _, result = _call(conn.get_tracking)
        assert isinstance(result, (TrackingStatus, ChronyDataError)), result
        name = type(result).__name__
        outcomes[name] = outcomes.get(name, 0) + 1
    assert sum(outcomes.values()) == 300


def test_random_headers_with_matching_sequence(fake: FakeChronyd, conn: ChronyConnection) -> None:
    """Version, status, reply code and body length random; command and
    sequence right: a result or one of our errors, at once."""
    rng = random.Random(4242)

    def always(datagram: Callable[[bytes], bytes]) -> Callable[[bytes, int], list[bytes]]:
        return lambda req, n: [datagram(req)]

    for _ in range(150):
        version = rng.choice([6, 6, 6, rng.randrange(256)])
        status = rng.choice([0, 0, rng.randrange(65536)])
        code = rng.choice([5, rng.randrange(65536)])
        body = rng.randbytes(rng.choice([0, 10, 76, 200]))
        fake.behave(
            always(
                lambda req, v=version, s=status, c=code, b=body: reply(
                    req, version=v, status=s, reply_code=c, body=b
                )
            )
        )
        _, result = _call(conn.get_tracking)
        assert isinstance(result, (TrackingStatus, ChronyError)), result


def test_a_flood_of_garbage_does_not_extend_the_deadline(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    rng = random.Random(5)
    flood = [rng.randbytes(rng.randrange(1, 64)) for _ in range(1500)]
    fake.behave(lambda req, n: flood)
    _times_out(conn)


def test_ctrl_c_interrupts_a_call_while_garbage_streams_in(fake: FakeChronyd) -> None:
    stop = threading.Event()

    def stream(req: bytes, n: int) -> list[bytes]:
        # Keep the client's socket busy with datagrams that answer nothing.
        end = time.monotonic() + 1.5
        while not stop.is_set() and time.monotonic() < end:
            with contextlib.suppress(OSError):
                fake.send_to_last_peer(b"\x06\x02\0\0garbage")
        return []

    fake.behave(stream)
    with ChronyConnection(fake.address, timeout=3.0, retries=0) as conn:
        timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
        start = time.monotonic()
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                conn.get_tracking()
            waited = time.monotonic() - start
        finally:
            stop.set()
            timer.join()
        assert waited < 0.2 + SLACK, waited
        time.sleep(0.05)  # let the stream end
        fake.normal()
        assert conn.get_tracking().stratum == NORMAL_STRATUM


# -- source lists --------------------------------------------------------------


def test_sources_and_statistics_from_the_fake(fake: FakeChronyd, conn: ChronyConnection) -> None:
    addresses = ["192.0.2.1", "192.0.2.2", "198.51.100.7"]
    fake.behave(lambda req, n: answer_sources(req, addresses))
    _, sources = _call(conn.get_sources)
    assert [s.address for s in sources] == addresses  # type: ignore[attr-defined]
    _, stats = _call(conn.get_source_stats)
    assert [s.address for s in stats] == addresses  # type: ignore[attr-defined]
    assert [s.samples for s in stats] == [8, 8, 8]  # type: ignore[attr-defined]


def test_source_list_shrinking_while_read_is_read_again(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    """The count says 3; the last record is gone by the time it is asked for
    (status 4); the next count says 2: the result is the list of 2."""
    counts: list[int] = []

    def shrinking(req: bytes, n: int) -> list[bytes]:
        if command_of(req) == CMD_N_SOURCES:
            counts.append(n)
            return [reply(req, body=struct.pack(">I", 3 if len(counts) == 1 else 2))]
        return answer_sources(req, ["192.0.2.1", "192.0.2.2"])

    fake.behave(shrinking)
    _, sources = _call(conn.get_sources)
    assert [s.address for s in sources] == ["192.0.2.1", "192.0.2.2"]  # type: ignore[attr-defined]
    assert len(counts) == 2


def test_source_list_that_never_settles_ends_in_a_data_error(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    # The count always says 3, but index 2 never exists: bounded re-reads.
    fake.behave(
        lambda req, n: (
            [reply(req, body=struct.pack(">I", 3))]
            if command_of(req) == CMD_N_SOURCES
            else answer_sources(req, ["192.0.2.1", "192.0.2.2"])
        )
    )
    for call in (conn.get_sources, conn.get_source_stats):
        _, exc = _call(call)
        assert isinstance(exc, ChronyDataError), exc
        assert exc.error_code == 11
        assert CHRONYC_TEXT[4] in str(exc)
    counts = [r for r in fake.requests if command_of(r) == CMD_N_SOURCES]
    assert 2 <= len(counts) <= 2 * 10


def test_implausible_source_count_is_a_data_error(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    fake.behave(lambda req, n: [reply(req, body=struct.pack(">I", 0xFFFFFFFF))])
    _, exc = _call(conn.get_sources)
    assert isinstance(exc, ChronyDataError), exc
    assert "4294967295" in str(exc)


def test_many_sources_never_answered_end_at_the_deadline(
    fake: FakeChronyd, conn: ChronyConnection
) -> None:
    fake.behave(
        lambda req, n: (
            [reply(req, body=struct.pack(">I", 5000))] if command_of(req) == CMD_N_SOURCES else []
        )
    )
    elapsed, exc = _call(conn.get_sources)
    assert isinstance(exc, ChronyConnectionError), exc
    assert "did not answer" in str(exc)
    assert elapsed >= BOUND * 0.9
    # Requests stay within a small window: not 5000 datagrams at once.
    assert len(fake.requests) < 100
