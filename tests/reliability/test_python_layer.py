"""The Python layer under conditions a plain call never meets: signals that
land inside a report's conversion, calls made while the interpreter shuts
down, and sub-interpreters. Each case runs in a fresh interpreter."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

import chronylab
from support.processes import run_python

#: Calls in the signal test, and the interrupts it needs at least.
SIGNAL_CALLS = 600
MIN_INTERRUPTS = 50


# -- Ctrl-C at any moment of a report ---------------------------------------------

_SIGNALS = """
    import json, random, signal, sys, time
    import pychrony

    address, calls = sys.argv[1], int(sys.argv[2])
    armed = False

    def handler(signum, frame):
        # Only inside the call under test: an interrupt anywhere else would
        # break this loop rather than test pychrony.
        if armed:
            raise KeyboardInterrupt

    signal.signal(signal.SIGALRM, handler)
    rng = random.Random(11)
    outcomes = {}
    with pychrony.ChronyConnection(address) as conn:
        start = time.monotonic()
        conn.get_sources()
        # Spread the signals over a whole call: waiting, decoding, converting.
        span = max(time.monotonic() - start, 0.001) * 1.2
        for _ in range(calls):
            signal.setitimer(signal.ITIMER_REAL, rng.uniform(0.0001, span))
            try:
                armed = True
                conn.get_sources()
                armed = False
                outcome = "completed"
            except KeyboardInterrupt:
                armed = False
                outcome = "KeyboardInterrupt"
            except BaseException as exc:
                armed = False
                outcome = f"{type(exc).__name__}: {exc}"[:200]
            signal.setitimer(signal.ITIMER_REAL, 0)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(json.dumps(outcomes))
"""


def test_signal_inside_a_report_is_only_ever_keyboard_interrupt(
    lab: chronylab.Lab,
) -> None:
    """SIGALRM (its handler raising KeyboardInterrupt, as Ctrl-C does) at
    random moments of hundreds of ``get_sources()`` on 150 sources: every
    interrupted call raises KeyboardInterrupt itself, never a ChronyDataError
    ("unknown ... value") or anything else, and the connection keeps working."""
    done = run_python(_SIGNALS, lab["many"].socket, str(SIGNAL_CALLS))
    assert done.returncode == 0, done.stderr
    outcomes: dict[str, int] = json.loads(done.stdout)
    others = {k: v for k, v in outcomes.items() if k not in ("completed", "KeyboardInterrupt")}
    assert others == {}, outcomes
    assert outcomes.get("KeyboardInterrupt", 0) >= MIN_INTERRUPTS, outcomes
    assert outcomes.get("completed", 0) > 0, outcomes


# -- calls during interpreter shutdown ---------------------------------------------

_SHUTDOWN = """
    import atexit, sys
    import pychrony
    # The holders' modules (pychrony imports them on first use only).
    import numbers, pychrony.models

    address, holder, warm = sys.argv[1], sys.argv[2], sys.argv[3] == "warm"
    if warm:
        pychrony.get_tracking(address, timeout=1.0)

    def late(where):
        try:
            status = pychrony.get_tracking(address, timeout=1.0, retries=2)
            print(where, "result", type(status).__name__, flush=True)
        except BaseException as exc:
            print(where, "error", type(exc).__name__, exc, flush=True)

    class Late:
        def __del__(self):
            late("del")

    if holder == "atexit":
        # A reference cycle: collected by the last collection at shutdown.
        cycle = Late()
        cycle.self = cycle
        del cycle
        atexit.register(late, "atexit")
    else:
        # Released while finalisation clears that module's namespace.
        setattr(sys.modules[holder], "_pychrony_test_late", Late())
"""


@pytest.mark.parametrize(
    ("holder", "warm"),
    [
        ("numbers", "warm"),
        ("numbers", "cold"),
        # Once the extension holds pychrony.models' classes, that module is
        # never cleared, so only the cold case calls from its teardown.
        ("pychrony.models", "cold"),
        ("atexit", "warm"),
        ("atexit", "cold"),
    ],
)
def test_a_call_during_interpreter_shutdown_passes_the_option_checks(
    udp_address: str, holder: str, warm: str
) -> None:
    """A call from ``__del__`` or atexit while the interpreter shuts down
    (``numbers`` or pychrony's own modules being cleared) is not refused as
    ``TypeError: timeout must be a number ... got 1.0 of type float``. With
    the extension loaded before ("warm") it returns the report; loading it
    for the first time at that point ("cold") fails as any import then
    does, with ImportError."""
    done = run_python(_SHUTDOWN, udp_address, holder, warm)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines, done.stderr
    for line in lines:
        assert "TypeError" not in line, lines
        outcome = line.split()[1:3]
        if warm == "warm":
            assert outcome == ["result", "TrackingStatus"], lines
        else:
            assert outcome in (["result", "TrackingStatus"], ["error", "ImportError"]), lines


# -- sub-interpreters ------------------------------------------------------------------

#: Run in the sub-interpreter; ``ADDRESS`` is set by the main interpreter.
_IN_SUBINTERPRETER = """
    import pychrony
    from pychrony.exceptions import ChronySubinterpreterError
    try:
        pychrony.get_tracking(ADDRESS)
    except ChronySubinterpreterError as exc:
        print("sub", type(exc).__name__, isinstance(exc, ImportError),
              isinstance(exc, pychrony.ChronyError), exc.error_code, exc, flush=True)
    except BaseException as exc:
        print("sub unexpected", type(exc).__name__, exc, flush=True)
    else:
        print("sub no error", flush=True)
"""

_SUBINTERPRETER = """
    import sys
    try:
        import _interpreters as interpreters  # 3.13+
    except ImportError:
        import _xxsubinterpreters as interpreters  # 3.10-3.12
    import pychrony

    address, main_first, code = sys.argv[1], sys.argv[2] == "main-first", sys.argv[3]
    if main_first:
        print("main", pychrony.get_tracking(address).stratum, flush=True)
    sub = interpreters.create()
    interpreters.run_string(sub, f"ADDRESS = {address!r}\\n" + code)
    interpreters.destroy(sub)
    # The main interpreter is unaffected, whichever ran first.
    print("main", pychrony.get_tracking(address).stratum, flush=True)
"""


@pytest.mark.parametrize("order", ["main-first", "sub-first"])
def test_a_sub_interpreter_gets_a_clear_chrony_error(udp_address: str, order: str) -> None:
    """In a sub-interpreter the first call raises ChronySubinterpreterError
    (a ChronyError and an ImportError) saying why, instead of PyO3's bare
    ImportError; the extension is never loaded there, so the main
    interpreter keeps working even when the sub-interpreter called first."""
    if sys.version_info >= (3, 14):
        pytest.skip("the private sub-interpreter module changed in 3.14")
    done = run_python(_SUBINTERPRETER, udp_address, order, textwrap.dedent(_IN_SUBINTERPRETER))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    subs = [line for line in lines if line.startswith("sub")]
    assert len(subs) == 1, lines
    assert subs[0].startswith("sub ChronySubinterpreterError True True None "), subs
    assert "sub-interpreter" in subs[0], subs
    mains = [line for line in lines if line.startswith("main")]
    assert len(mains) == (2 if order == "main-first" else 1), lines
