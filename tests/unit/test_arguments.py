"""Argument errors: the right class, the argument named, and a message of a
readable length whatever the value (a 5000-digit int, a huge string). Checked
on ``ChronyConnection`` and on the module-level functions, which share one
set of checks."""

import os
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest

import pychrony
from pychrony import ChronyConnection
from support.fake_core import FakeBehaviour

#: Longest message an argument error may have.
MAX_MESSAGE = 300

HUGE_INT = 10**5000  # repr() itself refuses this (int max str digits)
HUGE_STR = "x" * 100_000


def _connection(*args: object, **kwargs: object) -> object:
    return ChronyConnection(*args, **kwargs)  # type: ignore[arg-type]


def _function(*args: object, **kwargs: object) -> object:
    return pychrony.get_tracking(*args, **kwargs)  # type: ignore[arg-type]


OPENERS = [pytest.param(_connection, id="ChronyConnection"), pytest.param(_function, id="function")]

#: (positional args, keyword args, exception class, a word the message names)
BAD_ARGUMENTS = [
    ((HUGE_INT,), {}, TypeError, "address"),
    ((HUGE_STR.encode(),), {}, TypeError, "address"),
    ((b"/run/chrony/chronyd.sock",), {}, TypeError, "address"),
    ((os.fsdecode(b"/tmp/\xff/chronyd.sock"),), {}, ValueError, "address"),
    (("/tmp/\udcff" + HUGE_STR,), {}, ValueError, "address"),
    ((), {"timeout": HUGE_INT}, ValueError, "timeout"),
    ((), {"timeout": -HUGE_INT}, ValueError, "timeout"),
    ((), {"timeout": HUGE_STR}, TypeError, "timeout"),
    ((), {"timeout": [1.0] * 10_000}, TypeError, "timeout"),
    ((), {"timeout": float("nan")}, ValueError, "timeout"),
    ((), {"timeout": True}, TypeError, "timeout"),
    ((), {"timeout": Fraction(HUGE_INT, 3)}, ValueError, "timeout"),
    ((), {"timeout": Decimal(1)}, TypeError, "timeout"),
    ((), {"retries": HUGE_INT}, ValueError, "retries"),
    ((), {"retries": -HUGE_INT}, ValueError, "retries"),
    ((), {"retries": 1.5}, TypeError, "retries"),
    ((), {"retries": HUGE_STR}, TypeError, "retries"),
    ((), {"backend": HUGE_STR}, ValueError, "backend"),
    ((), {"backend": HUGE_STR.encode()}, TypeError, "backend"),
    ((), {"backend": HUGE_INT}, TypeError, "backend"),
]


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize(("args", "kwargs", "kind", "named"), BAD_ARGUMENTS)
def test_every_argument_error_is_short_and_names_the_argument(
    fake_core: FakeBehaviour,
    opener: Callable[..., object],
    args: tuple[object, ...],
    kwargs: dict[str, object],
    kind: type[Exception],
    named: str,
) -> None:
    with pytest.raises(kind) as caught:
        opener(*args, **kwargs)
    message = str(caught.value)
    assert type(caught.value) is kind, repr(caught.value)[:MAX_MESSAGE]
    assert message.startswith(named) or f" {named} " in message, message
    assert len(message) < MAX_MESSAGE, f"{len(message)} characters: {message[:400]}"
    assert fake_core.clients == []


def test_a_long_value_is_cut_with_an_ellipsis(fake_core: FakeBehaviour) -> None:
    with pytest.raises(ValueError) as caught:
        ChronyConnection(backend=HUGE_STR)
    assert "'xxxxxxxx" in str(caught.value)
    assert "…" in str(caught.value)
    # A huge int is described, not printed (repr() refuses 5000 digits).
    with pytest.raises(ValueError) as caught:
        ChronyConnection(timeout=HUGE_INT)
    assert f"<int of {HUGE_INT.bit_length()} bits>" in str(caught.value)


def test_a_path_that_is_not_utf8_is_a_value_error_naming_the_address(
    fake_core: FakeBehaviour,
) -> None:
    """``os.fsdecode`` of a non-UTF-8 path gives surrogates, which cannot
    reach chronyd's socket: a ValueError naming ``address``, not the
    UnicodeEncodeError of the conversion to Rust."""
    path = os.fsdecode(b"/run/chrony-\xff/chronyd.sock")
    with pytest.raises(ValueError, match=r"^address ") as caught:
        ChronyConnection(path)
    assert not isinstance(caught.value, UnicodeError)
    assert "UTF-8" in str(caught.value)


def test_good_options_still_pass_through(fake_core: FakeBehaviour) -> None:
    """Subclasses of int and float (and numbers.Real registrations such as
    Fraction) stay accepted, normalised to float and int."""

    class Seconds(float):
        pass

    class Count(int):
        pass

    with ChronyConnection("127.0.0.1", timeout=Seconds(0.5), retries=Count(3)):
        pass
    with ChronyConnection("127.0.0.1", timeout=Fraction(1, 4), retries=0):
        pass
    with ChronyConnection("127.0.0.1", timeout=2, retries=30):
        pass
    assert [c.args for c in fake_core.clients] == [
        ("127.0.0.1", 0.5, 3, "native"),
        ("127.0.0.1", 0.25, 0, "native"),
        ("127.0.0.1", 2.0, 30, "native"),
    ]
    assert all(type(c.args[1]) is float and type(c.args[2]) is int for c in fake_core.clients)
