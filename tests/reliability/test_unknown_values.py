"""Values a newer chronyd may send that this version's enums do not know
(injected with the fake chronyd: no chronyd here sends them).

The reports of issue 10's rules keep them: ``NTPMode``, ``AuthMode`` and
``LeapStatus`` fields hold the plain int, ``TimestampSource`` and
``SelectState`` fields the plain one-character str, and bits no member of
``NTPTests`` or ``SelectOptions`` names are dropped; nothing raises.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

import pychrony
from pychrony import (
    AuthMode,
    LeapStatus,
    NTPMode,
    NTPTests,
    SelectOptions,
    SelectState,
    TimestampSource,
)
from support.fake_chronyd import CMD_N_SOURCES, RPY_N_SOURCES, FakeChronyd, command_of, reply

CMD_NTP_DATA, RPY_NTP_DATA2 = 57, 26
CMD_AUTH_DATA, RPY_AUTH_DATA = 67, 20
CMD_SELECT_DATA, RPY_SELECT_DATA = 69, 23
Behaviour = Callable[[bytes, int], list[bytes]]
ADDRESS = bytes([192, 0, 2, 1]) + bytes(12) + struct.pack(">HH", 1, 0)


def ntpdata_body(mode: int, leap: int, flags: int, tx: bytes, rx: bytes) -> bytes:
    body = bytearray(144)
    body[0:20] = ADDRESS
    struct.pack_into(">HBBBB", body, 40, 123, leap, 4, mode, 2)
    struct.pack_into(">H", body, 92, flags)
    body[94:96] = tx + rx
    return bytes(body)


def selectdata_body(state: bytes, leap: int, options: int) -> bytes:
    body = bytearray(48)
    body[4:24] = ADDRESS
    body[24:27] = state + bytes([1, leap])
    struct.pack_into(">HH", body, 28, options, options)
    return bytes(body)


def answer(body_ntp: bytes, body_select: bytes, auth_mode: int) -> Behaviour:
    """A chronyd with one source answering with these bodies."""

    def behave(request: bytes, _n: int) -> list[bytes]:
        command = command_of(request)
        if command == CMD_N_SOURCES:
            return [reply(request, body=struct.pack(">I", 1), reply_code=RPY_N_SOURCES)]
        if command == CMD_NTP_DATA:
            return [reply(request, reply_code=RPY_NTP_DATA2, body=body_ntp)]
        if command == CMD_SELECT_DATA:
            return [reply(request, reply_code=RPY_SELECT_DATA, body=body_select)]
        if command == CMD_AUTH_DATA:
            body = struct.pack(">HH", auth_mode, 42) + bytes(20)
            return [reply(request, reply_code=RPY_AUTH_DATA, body=body)]
        return [reply(request, status=3)]

    return behave


def test_unknown_values_stay_plain(fake_udp: FakeChronyd) -> None:
    fake_udp.behave(
        answer(
            ntpdata_body(mode=3, leap=7, flags=0x8000 | 0x3C00 | 0x201, tx=b"Q", rx=b"K"),
            selectdata_body(state=b"?", leap=9, options=0xF0 | 0x2),
            auth_mode=9,
        )
    )
    [ntp] = pychrony.get_ntp_data(fake_udp.address, address="192.0.2.1")
    assert ntp.mode == 3 and type(ntp.mode) is int
    assert ntp.leap_status == 7 and type(ntp.leap_status) is int
    assert ntp.tx_timestamping == "Q" and type(ntp.tx_timestamping) is str
    assert ntp.rx_timestamping is TimestampSource.KERNEL
    # Bits 0x3C00 are no test: dropped; 0x8000 is `authenticated`.
    assert ntp.tests == NTPTests.TEST1 | NTPTests.TESTD
    assert ntp.authenticated and not ntp.interleaved

    [sel] = pychrony.get_select_data(fake_udp.address)
    assert sel.state == "?" and type(sel.state) is str
    assert sel.leap_status == 9 and type(sel.leap_status) is int
    assert sel.configured_options == SelectOptions.PREFER
    assert sel.effective_options == SelectOptions.PREFER
    assert sel.authentication

    [auth] = pychrony.get_auth_data(fake_udp.address, address="192.0.2.1")
    assert auth.mode == 9 and type(auth.mode) is int
    assert auth.address == "192.0.2.1" and auth.key_type == 42


@pytest.mark.parametrize(
    ("mode", "state", "auth_mode"),
    [(4, b"*", 1), (1, b"r", 2), (2, b"L", 0)],
)
def test_known_values_are_members(
    fake_udp: FakeChronyd, mode: int, state: bytes, auth_mode: int
) -> None:
    fake_udp.behave(
        answer(
            ntpdata_body(mode=mode, leap=0, flags=0x3FF, tx=b"H", rx=b"D"),
            selectdata_body(state=state, leap=3, options=0xF),
            auth_mode=auth_mode,
        )
    )
    [ntp] = pychrony.get_ntp_data(fake_udp.address, address="192.0.2.1")
    assert ntp.mode is NTPMode(mode) and ntp.leap_status is LeapStatus.NORMAL
    assert ntp.tests == NTPTests(0x3FF)
    assert (ntp.tx_timestamping, ntp.rx_timestamping) == (
        TimestampSource.HARDWARE,
        TimestampSource.DAEMON,
    )
    [sel] = pychrony.get_select_data(fake_udp.address)
    assert sel.state is SelectState(state.decode())
    assert sel.leap_status is LeapStatus.UNSYNC
    assert sel.effective_options == SelectOptions(0xF)
    [auth] = pychrony.get_auth_data(fake_udp.address, address="192.0.2.1")
    assert auth.mode is AuthMode(auth_mode)
