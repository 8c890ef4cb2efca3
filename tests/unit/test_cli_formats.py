"""chronyc's value formats as ``pychrony.cli`` prints them (``client.c``'s
``print_seconds``, ``print_nanoseconds``, ``print_signed_nanoseconds``,
``print_freq_ppm``), and the tables of the reports no lab daemon fills."""

from __future__ import annotations

import pytest

from pychrony.cli._layout import (
    address_refid,
    nanoseconds_text,
    ppm_text,
    refid_name,
    seconds_text,
    timespec_text,
)


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
