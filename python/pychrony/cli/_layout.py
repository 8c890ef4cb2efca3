"""chronyc's value formats, and report layouts built from them.

A report's layout is a list of lines; a line is a list of pieces, each a
literal ``str`` (printed in tables only) or a ``Value``: how to get one value
from the record, and how chronyc prints it in a table and in its CSV mode
(``chronyc -c``). One layout gives both outputs, as in chronyc, where each
report is one format string whose literal text the CSV mode leaves out.

The formats follow chronyc's ``client.c`` (``print_seconds``,
``print_nanoseconds``, ``print_signed_nanoseconds``, ``print_freq_ppm``,
...): in CSV mode widths and signs are dropped, seconds get 9 decimals,
ppm 3, intervals and dates are plain numbers.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: chronyd's "never" of a ``last_*_ago`` field.
NEVER = 2**32 - 1

Getter = Callable[[Any], Any]


@dataclass(frozen=True)
class Value:
    """One value of a report line: its getter and its two printed forms."""

    get: Getter
    table: Callable[[Any], str]
    csv: Callable[[Any], str]
    #: Left out (with its line in a table) when the value is None: a field
    #: an older chronyd does not send (``ServerStats``, ``NTPData``).
    optional: bool = False


Piece = str | Value
Line = Sequence[Piece]


def attr(name: str) -> Getter:
    """A getter of the field `name`."""
    return lambda record: getattr(record, name)


def _getter(source: str | Getter) -> Getter:
    return attr(source) if isinstance(source, str) else source


def plain(value: object) -> object:
    """An enum member's value, or the plain value chronyd sent."""
    return value.value if isinstance(value, enum.Enum) else value


# -- chronyc's number formats --------------------------------------------------


def seconds_text(s: int) -> str:
    """An interval as chronyc's ``print_seconds``: in 4 columns with a unit."""
    if s == NEVER:
        return "   -"
    if s < 1200:
        return f"{s:4d}"
    if s < 36000:
        return f"{s // 60:3d}m"
    if s < 345600:
        return f"{s // 3600:3d}h"
    days = s // 86400
    return f"{days // 365:3d}y" if days > 999 else f"{days:3d}d"


#: (limit, scale, unit) of chronyc's nanoseconds formats, in order; past the
#: last limit the value is shown in years.
_TIME_STEPS: tuple[tuple[float, float, str, int], ...] = (
    # limit, divisor, unit, decimals
    (9999.5e-9, 1e-9, "ns", 0),
    (9999.5e-6, 1e-6, "us", 0),
    (9999.5e-3, 1e-3, "ms", 0),
    (999.5, 1.0, "s", 1),
    (99999.5, 1.0, "s", 0),
    (99999.5 * 60, 60.0, "m", 0),
    (99999.5 * 3600, 3600.0, "h", 0),
    (99999.5 * 86400, 86400.0, "d", 0),
)
_YEAR = 86400.0 * 365


def _time_unit(magnitude: float) -> tuple[float, str, int]:
    for limit, divisor, unit, decimals in _TIME_STEPS:
        if magnitude < limit:
            return divisor, unit, decimals
    return _YEAR, "y", 0


def nanoseconds_text(s: float, signed: bool) -> str:
    """Seconds with a unit, as chronyc's ``print_nanoseconds``.

    With `signed`, as ``print_signed_nanoseconds``: a sign and one column more.
    """
    divisor, unit, decimals = _time_unit(abs(s))
    sub_second = unit in ("ns", "us", "ms")
    width = (4 if sub_second else 5) + (1 if signed else 0)
    value = s / divisor if signed else abs(s) / divisor
    sign = "+" if signed else ""
    return f"{value:{sign}{width}.{decimals}f}{unit}"


def ppm_text(f: float, signed: bool) -> str:
    """A frequency as chronyc's ``print_freq_ppm`` / ``print_signed_freq_ppm``."""
    sign = "+" if signed else ""
    decimals = 3 if abs(f) < 99999.5 else 0
    return f"{f:{sign}10.{decimals}f}"


def refid_name(ref_id: int) -> str:
    """A reference ID as chronyc's text: its printable ASCII bytes, others dropped."""
    raw = (ref_id & 0xFFFFFFFF).to_bytes(4, "big")
    return "".join(chr(byte) for byte in raw if 32 <= byte <= 126)


def address_refid(address: str) -> int:
    """The reference ID chronyd gives an address.

    IPv4: the address; IPv6: the first 4 bytes of its MD5; 0 for anything
    else (unspecified, ``ID#…``).
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return 0
    if parsed.version == 4:
        return int(parsed)
    digest = hashlib.md5(parsed.packed, usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big")


def date_text(when: float) -> str:
    """A date as chronyc's ``%T``: ``Mon Dec 01 23:04:45 2026`` (UTC)."""
    return time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(int(when // 1)))


def timespec_text(when: float) -> str:
    """A time in chronyc's CSV form: seconds since the epoch, 9 decimals."""
    whole = int(when // 1)
    nanos = round((when - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    return f"{whole}.{nanos:09d}"


LEAP_TEXT = {0: "Normal", 1: "Insert second", 2: "Delete second", 3: "Not synchronised"}
LEAP_CHAR = {0: "N", 1: "+", 2: "-", 3: "?"}
NTP_MODE_TEXT = {1: "Symmetric active", 2: "Symmetric passive", 4: "Server"}
TIMESTAMP_TEXT = {"D": "Daemon", "K": "Kernel", "H": "Hardware"}


def leap_text(value: object) -> str:
    """A leap status as chronyc's ``%L``: the leap status in words (``Invalid`` if unknown)."""
    return LEAP_TEXT.get(code(value), "Invalid")


def code(value: object) -> int:
    """An enum's or a plain value's number (-1 when it has none)."""
    raw = plain(value)
    return int(raw) if isinstance(raw, (int, float)) else -1


def _char(value: object) -> str:
    raw = plain(value)
    if isinstance(raw, int):
        return chr(raw) if raw else ""
    return str(raw)


# -- the pieces a layout is made of ----------------------------------------------


def text(source: str | Getter, width: int = 0) -> Value:
    """``%s`` / ``%-Ns``: a string, right-aligned in `width` (left if negative)."""
    return Value(
        _getter(source),
        lambda v: f"{v:<{-width}}" if width < 0 else f"{v:>{width}}",
        str,
    )


def char(source: str | Getter) -> Value:
    """``%c``: one character."""
    return Value(_getter(source), _char, _char)


def uint(source: str | Getter, width: int = 0, optional: bool = False) -> Value:
    """``%u``, ``%d``, ``%U``, ``%Q``: a decimal integer in `width` columns."""
    return Value(_getter(source), lambda v: f"{code(v):{width}d}", lambda v: str(code(v)), optional)


def octal(source: str | Getter, width: int) -> Value:
    """``%o``: an octal integer (chronyc's reachability)."""
    return Value(_getter(source), lambda v: f"{v:{width}o}", lambda v: f"{v:o}")


def refid(source: str | Getter) -> Value:
    """``%R``: a reference ID as 8 upper-case hex digits."""
    return Value(_getter(source), lambda v: f"{v:08X}", lambda v: f"{v:08X}")


def interval(source: str | Getter) -> Value:
    """``%I``: seconds as ``print_seconds`` shows them; CSV: decimal."""
    return Value(_getter(source), seconds_text, str)


def duration(source: str | Getter, signed: bool = False) -> Value:
    """``%S`` / ``%+S``: seconds with a unit; CSV: ``%.9f``."""
    return Value(_getter(source), lambda v: nanoseconds_text(v, signed), lambda v: f"{v:.9f}")


def ppm(source: str | Getter, signed: bool = False) -> Value:
    """``%P`` / ``%+P``: ppm in 10 columns; CSV: ``%.3f``."""
    return Value(_getter(source), lambda v: ppm_text(v, signed), lambda v: f"{v:.3f}")


def fixed(source: str | Getter, decimals: int, width: int = 0, signed: bool = False) -> Value:
    """``%W.Pf`` / ``%+.Pf``: a float; CSV: the same decimals, no sign or width."""
    sign = "+" if signed else ""
    return Value(
        _getter(source), lambda v: f"{v:{sign}{width}.{decimals}f}", lambda v: f"{v:.{decimals}f}"
    )


def slow_fast(source: str | Getter, unit: str) -> Value:
    """``%.9O`` (unit "seconds") / ``%.3F`` ("ppm"): magnitude, unit, slow or fast.

    CSV: the signed value with 9 / 3 decimals.
    """
    decimals = 9 if unit == "seconds" else 3

    def table(v: float) -> str:
        # An offset > 0 is a slow clock; a frequency > 0 a fast one.
        slow = (v > 0.0) if unit == "seconds" else not (v > 0.0)
        return f"{abs(v):.{decimals}f} {unit} {'slow' if slow else 'fast'}"

    return Value(_getter(source), table, lambda v: f"{v:.{decimals}f}")


def date(source: str | Getter) -> Value:
    """``%T``: a UTC date; CSV: seconds since the epoch."""
    return Value(_getter(source), date_text, timespec_text)


def leap(source: str | Getter, short: bool = False) -> Value:
    """``%L`` (words) / ``%1L`` (one character); CSV: the words."""
    return Value(
        _getter(source),
        (lambda v: LEAP_CHAR.get(code(v), "?")) if short else leap_text,
        leap_text,
    )


def yes_no(source: str | Getter) -> Value:
    """``%B``: ``Yes`` / ``No``."""
    return Value(_getter(source), _yes_no, _yes_no)


def _yes_no(v: object) -> str:
    return "Yes" if v else "No"


def ntp_mode(source: str | Getter) -> Value:
    """``%M``: an NTP mode in words."""
    return Value(_getter(source), _ntp_mode, _ntp_mode)


def _ntp_mode(v: object) -> str:
    return NTP_MODE_TEXT.get(code(v), "Invalid")


def timestamping(source: str | Getter) -> Value:
    """``%N``: a timestamp source in words."""
    return Value(_getter(source), _timestamping, _timestamping)


def _timestamping(v: object) -> str:
    return TIMESTAMP_TEXT.get(_char(v), "Invalid")


def bits(source: str | Getter, count: int) -> Value:
    """``%.Nb``: the low `count` bits, most significant first."""

    def show(v: object) -> str:
        return f"{code(v) & ((1 << count) - 1):0{count}b}"

    return Value(_getter(source), show, show)


def clientlog_interval(source: str | Getter) -> Value:
    """``%C``: a client log interval (log2 seconds), `` -`` for unknown (127+)."""
    return Value(_getter(source), lambda v: " -" if v >= 127 else f"{v:2d}", lambda v: str(v))


# -- rendering -------------------------------------------------------------------


def _present(piece: Piece, record: object) -> bool:
    return not (isinstance(piece, Value) and piece.optional and piece.get(record) is None)


def table_lines(layout: Sequence[Line], record: object) -> list[str]:
    """The table lines of one record (a line with a missing optional value is left out)."""
    out = []
    for line in layout:
        if not all(_present(piece, record) for piece in line):
            continue
        out.append(
            "".join(
                piece if isinstance(piece, str) else piece.table(piece.get(record))
                for piece in line
            )
        )
    return out


def csv_line(layout: Sequence[Line], record: object) -> str:
    """The CSV line of one record: every value, comma-separated."""
    return ",".join(
        piece.csv(piece.get(record))
        for line in layout
        for piece in line
        if isinstance(piece, Value) and _present(piece, record)
    )


def header(title: str) -> list[str]:
    """A column heading as chronyc prints it: the title and a line of ``=``."""
    return [title, "=" * len(title)]
