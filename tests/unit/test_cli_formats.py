"""chronyc's value formats as ``pychrony.cli`` prints them (``client.c``'s
``print_seconds``, ``print_nanoseconds``, ``print_signed_nanoseconds``,
``print_freq_ppm``), and the tables of the reports no lab daemon fills."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from pychrony import LeapStatus
from pychrony.cli._layout import (
    address_refid,
    nanoseconds_text,
    ppm_text,
    refid_name,
    seconds_text,
    timespec_text,
)
from pychrony.cli._reports import csv, format_of, table


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "   0"),
        (1199, "1199"),
        (1200, " 20m"),
        (35999, "599m"),
        (36000, " 10h"),
        (345599, " 95h"),
        (345600, "  4d"),
        (86400 * 999, "999d"),
        (86400 * 1000, "  2y"),
        (2**32 - 1, "   -"),
    ],
)
def test_print_seconds(value: int, shown: str) -> None:
    assert seconds_text(value) == shown


@pytest.mark.parametrize(
    ("value", "unsigned", "signed"),
    [
        (0.0, "   0ns", "   +0ns"),
        (-3e-9, "   3ns", "   -3ns"),
        (9999.4e-9, "9999ns", "+9999ns"),
        (9999.6e-9, "  10us", "  +10us"),
        (-0.0123, "  12ms", "  -12ms"),
        (4.0, "4000ms", "+4000ms"),
        (12.0, " 12.0s", " +12.0s"),
        (-999.4, "999.4s", "-999.4s"),
        (1000.0, " 1000s", " +1000s"),
        (99999.6, " 1667m", " +1667m"),
        (3600.0 * 100000, " 4167d", " +4167d"),
        (86400.0 * 365 * 100000, "100000y", "+100000y"),
    ],
)
def test_print_nanoseconds(value: float, unsigned: str, signed: str) -> None:
    assert nanoseconds_text(value, signed=False) == unsigned
    assert nanoseconds_text(value, signed=True) == signed


def test_print_freq_ppm() -> None:
    assert ppm_text(1.5, signed=False) == "     1.500"
    assert ppm_text(-1.5, signed=True) == "    -1.500"
    assert ppm_text(123456.0, signed=True) == "   +123456"


def test_refids_and_times() -> None:
    assert refid_name(0x47505300) == "GPS"
    assert refid_name(0x7F7F0101) == ""
    assert address_refid("127.0.0.1") == 0x7F000001
    assert address_refid("") == 0
    assert address_refid("ID#0000000001") == 0
    assert 0 < address_refid("::1") < 2**32
    assert timespec_text(1.5) == "1.500000000"
    assert timespec_text(1796166648.9999999999) == "1796166649.000000000"


# -- the reports of issue 11, before their dataclasses land -----------------------
#
# Records with the field names of issue 11 (plain values where the dataclasses
# will hold enums: the layouts read both), and what chronyc 4.6.1 printed for
# the same values on the lab (`chronyc -n` and `chronyc -c -n`).


def _render(report: str, records: list[SimpleNamespace], *, single: bool = False) -> list[str]:
    fmt = format_of(report, object)
    return table(fmt, records, single=single)


def _csv(report: str, records: list[SimpleNamespace]) -> list[str]:
    return csv(format_of(report, object), records)


SELECT = [
    SimpleNamespace(
        reference_id=0x47505300,
        address="GPS",
        state="*",
        authentication=False,
        leap_status=0,
        configured_options=0,
        effective_options=0,
        last_sample_ago=0,
        score=1.0,
        low_limit=-93e-9,
        high_limit=16e-9,
    ),
    SimpleNamespace(
        reference_id=0x7F000002,
        address="127.0.0.2",
        state="M",
        authentication=False,
        leap_status=3,
        configured_options=0x1 | 0x8,
        effective_options=0x2,
        last_sample_ago=2**32 - 1,
        score=1.0,
        low_limit=0.0,
        high_limit=0.0,
    ),
]


def test_selectdata_is_chronycs() -> None:
    assert _render("selectdata", SELECT) == [
        "S Name/IP Address        Auth COpts EOpts Last Score     Interval  Leap",
        "=======================================================================",
        "* GPS                       N ----- -----    0   1.0   -93ns   +16ns  N",
        "M 127.0.0.2                 N N--R- -P---    -   1.0    +0ns    +0ns  ?",
    ]
    assert _csv("selectdata", SELECT) == [
        "*,GPS,N,-,-,-,-,-,-,-,-,-,-,0,1.0,-0.000000093,0.000000016,Normal",
        "M,127.0.0.2,N,N,-,-,R,-,-,P,-,-,-,4294967295,1.0,0.000000000,0.000000000,Not synchronised",
    ]


AUTH = [
    SimpleNamespace(
        address="127.0.0.1",
        mode=0,
        key_type=0,
        key_id=0,
        key_length=0,
        last_ke_ago=2**32 - 1,
        ke_attempts=0,
        nak=False,
        cookies=0,
        cookie_length=0,
    ),
    SimpleNamespace(
        address="ID#0000000001",
        mode=2,
        key_type=15,
        key_id=0,
        key_length=256,
        last_ke_ago=1500,
        ke_attempts=1,
        nak=True,
        cookies=8,
        cookie_length=100,
    ),
]


def test_authdata_is_chronycs() -> None:
    assert _render("authdata", AUTH) == [
        "Name/IP address             Mode KeyID Type KLen Last Atmp  NAK Cook CLen",
        "=========================================================================",
        "127.0.0.1                      -     0    0    0    -    0    0    0    0",
        "ID#0000000001                NTS     0   15  256  25m    1    1    8  100",
    ]
    assert _csv("authdata", AUTH) == [
        "127.0.0.1,-,0,0,0,4294967295,0,0,0,0",
        "ID#0000000001,NTS,0,15,256,1500,1,1,8,100",
    ]


CLIENTS = [
    SimpleNamespace(
        address="127.0.0.1",
        ntp_hits=37492,
        ntp_drops=0,
        ntp_interval=-4,
        ntp_interval_limit=127,
        last_ntp_hit_ago=0,
        cmd_hits=0,
        cmd_drops=0,
        cmd_interval=127,
        last_cmd_hit_ago=2**32 - 1,
        nke_hits=0,
        nke_drops=0,
        nke_interval=127,
        last_nke_hit_ago=2**32 - 1,
    )
]


def test_clients_is_chronycs() -> None:
    assert _render("clients", CLIENTS) == [
        "Hostname                      NTP   Drop Int IntL Last     Cmd   Drop Int  Last",
        "===============================================================================",
        "127.0.0.1                   37492      0  -4   -     0       0      0   -     -",
    ]
    assert _csv("clients", CLIENTS) == ["127.0.0.1,37492,0,-4,127,0,0,0,127,4294967295"]


def _ntp(**changes: object) -> SimpleNamespace:
    values: dict[str, object] = dict(
        remote_address="127.0.0.1",
        remote_port=33597,
        local_address="127.0.0.1",
        leap_status=0,
        version=4,
        mode=4,
        stratum=3,
        poll=-6,
        precision=-25,
        root_delay=0.0,
        root_dispersion=0.0,
        reference_id=0x7F7F0101,
        ref_time=1796167192.979589646,
        offset=-6.324e-6,
        peer_delay=16.571e-6,
        peer_dispersion=0.059e-6,
        response_time=109.786e-6,
        jitter_asymmetry=0.41,
        tests=0x3FD,
        interleaved=False,
        authenticated=False,
        tx_timestamping="K",
        rx_timestamping="K",
        total_tx=12013,
        total_rx=12012,
        total_valid_rx=12012,
        total_good_rx=6244,
        total_kernel_tx=12013,
        total_kernel_rx=12012,
        total_hw_tx=0,
        total_hw_rx=0,
    )
    values.update(changes)
    return SimpleNamespace(**values)


def test_ntpdata_is_chronycs() -> None:
    lines = _render("ntpdata", [_ntp()], single=True)
    assert lines == [
        "Remote address  : 127.0.0.1 (7F000001)",
        "Remote port     : 33597",
        "Local address   : 127.0.0.1 (7F000001)",
        "Leap status     : Normal",
        "Version         : 4",
        "Mode            : Server",
        "Stratum         : 3",
        "Poll interval   : -6 (0 seconds)",
        "Precision       : -25 (0.000000030 seconds)",
        "Root delay      : 0.000000 seconds",
        "Root dispersion : 0.000000 seconds",
        "Reference ID    : 7F7F0101 ()",
        "Reference time  : Tue Dec 01 23:19:52 2026",
        "Offset          : -0.000006324 seconds",
        "Peer delay      : 0.000016571 seconds",
        "Peer dispersion : 0.000000059 seconds",
        "Response time   : 0.000109786 seconds",
        "Jitter asymmetry: +0.41",
        "NTP tests       : 111 111 1101",
        "Interleaved     : No",
        "Authenticated   : No",
        "TX timestamping : Kernel",
        "RX timestamping : Kernel",
        "Total TX        : 12013",
        "Total RX        : 12012",
        "Total valid RX  : 12012",
        "Total good RX   : 6244",
        "Total kernel TX : 12013",
        "Total kernel RX : 12012",
        "Total HW TX     : 0",
        "Total HW RX     : 0",
    ]
    # Every source: a blank line before each, as chronyc prints them.
    assert _render("ntpdata", [_ntp(), _ntp()]) == ["", *lines, "", *lines]


def test_ntpdata_csv_and_a_source_that_never_answered() -> None:
    never = _ntp(
        remote_address="127.0.0.2",
        remote_port=46565,
        local_address="",
        version=0,
        mode=0,
        stratum=0,
        poll=0,
        precision=0,
        reference_id=0,
        ref_time=0.0,
        offset=0.0,
        peer_delay=0.0,
        peer_dispersion=0.0,
        response_time=0.0,
        jitter_asymmetry=0.0,
        tests=0,
        tx_timestamping="\0",
        rx_timestamping=0,
        total_tx=199,
        total_rx=0,
        total_valid_rx=0,
        total_good_rx=0,
        total_kernel_tx=199,
        total_kernel_rx=0,
    )
    assert _csv("ntpdata", [never]) == [
        "127.0.0.2,7F000002,46565,[UNSPEC],00000000,Normal,0,Invalid,0,0,1,0,1.000000000,"
        "0.000000,0.000000,00000000,,0.000000000,0.000000000,0.000000000,0.000000000,"
        "0.000000000,0.00,000,000,0000,No,No,Invalid,Invalid,199,0,0,0,199,0,0,0"
    ]
    # chronyd before 4.6 sends no kernel/hardware counters: chronyc 4.3 has no lines for them.
    old = _ntp(total_kernel_tx=None, total_kernel_rx=None, total_hw_tx=None, total_hw_rx=None)
    shown = _render("ntpdata", [old], single=True)
    assert shown[-1] == "Total good RX   : 6244"
    assert _csv("ntpdata", [old])[0].endswith(",12013,12012,12012,6244")


def test_a_report_without_a_layout_still_prints() -> None:
    """A report registered later with no chronyc layout here: field lines, and
    its fields in order as CSV."""

    @dataclass(frozen=True)
    class NewReport:
        name: str
        count: int
        when_time: float
        ratio: float
        leap: LeapStatus

    record = NewReport("x", 3, 1.5, 0.25, LeapStatus.INSERT)
    fmt = format_of("newreport", NewReport)
    assert table(fmt, [record], single=True) == [
        "name      : x",
        "count     : 3",
        "when_time : 1.500000000",
        "ratio     : 0.250000000",
        "leap      : INSERT",
    ]
    assert csv(fmt, [record]) == ["x,3,1.500000000,0.250000000,INSERT"]
