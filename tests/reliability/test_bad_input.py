"""Bad input from the caller: every case raises a clear error at once
(ChronyConnectionError, ValueError or TypeError, with a message that names
the problem), never a crash or a hang. No chronyd is needed."""

from __future__ import annotations

import math
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import pytest

import pychrony
from pychrony import ChronyConnection, ChronyConnectionError
from support.fake_chronyd import short_private_dir

#: Bad input is rejected before any waiting: well under the smallest timeout.
QUICK = 0.5


def _fails(call: Callable[[], object], kind: type[BaseException]) -> BaseException:
    start = time.monotonic()
    with pytest.raises(kind) as info:
        call()
    assert time.monotonic() - start < QUICK
    return info.value


def _open(address: object, **options: object) -> Callable[[], object]:
    def run() -> object:
        with ChronyConnection(address, timeout=0.05, retries=0, **options) as conn:  # type: ignore[arg-type]
            return conn.get_tracking()

    return run


def _function(address: object, **options: object) -> Callable[[], object]:
    return lambda: pychrony.get_tracking(address, **options)  # type: ignore[arg-type]


@pytest.fixture(params=["connection", "function"])
def opener(request: pytest.FixtureRequest) -> Callable[..., Callable[[], object]]:
    """``ChronyConnection`` in a ``with`` block, or the module-level function."""
    return _open if request.param == "connection" else _function


# -- addresses -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "named"),
    [
        ("", 'address ""'),
        (" ", 'address " "'),
        ("\n", "invalid chronyd address"),
        ("/" + "a" * 120, "sun_path"),
        ("/" + "a" * 107, "the limit is 107"),
        ("/tmp/chronyd\0.sock", "NUL byte"),
        ("127.0.0.1\0", "NUL byte"),
        ("127.0.0.1:0", 'port "0"'),
        ("127.0.0.1:65536", 'port "65536"'),
        ("127.0.0.1:70000", 'port "70000"'),
        ("127.0.0.1:-1", 'port "-1"'),
        ("127.0.0.1:", 'port ""'),
        ("localhost:abc", 'port "abc"'),
        ("[::1]:0", 'port "0"'),
        ("[::1]:65536", 'port "65536"'),
        ("[::1", "missing ']'"),
        (":323", "host is empty"),
        ("::1:zz", "not an IPv6 address"),
    ],
)
def test_malformed_address(
    opener: Callable[..., Callable[[], object]], address: str, named: str
) -> None:
    exc = _fails(opener(address), ChronyConnectionError)
    assert named in str(exc)
    assert exc.error_code == 7  # CHRONY_INVALID_ARGUMENT


#: A host name the resolver rejects without sending a query (its first label
#: is longer than the 63 bytes DNS allows): a name like "nonexistent.invalid"
#: would send DNS queries to the system's resolver, off this machine.
UNRESOLVABLE = "x" * 64 + ".invalid"


@pytest.mark.parametrize("address", [UNRESOLVABLE, f"{UNRESOLVABLE}:323"])
def test_host_name_that_does_not_resolve(
    opener: Callable[..., Callable[[], object]], address: str
) -> None:
    exc = _fails(opener(address), ChronyConnectionError)
    assert UNRESOLVABLE in str(exc)
    assert "resolv" in str(exc)


def test_the_unresolvable_name_is_rejected_without_a_query() -> None:
    """getaddrinfo refuses the name at once (EAI_NONAME), as it does for any
    name with an over-long label: no resolver is asked."""
    start = time.monotonic()
    with pytest.raises(socket.gaierror) as info:
        socket.getaddrinfo(UNRESOLVABLE.encode(), 323)
    assert info.value.errno == socket.EAI_NONAME
    assert time.monotonic() - start < 0.1


def test_a_directory_instead_of_a_socket(
    opener: Callable[..., Callable[[], object]], tmp_path: Path
) -> None:
    exc = _fails(opener(str(tmp_path)), ChronyConnectionError)
    assert str(exc).startswith(f"Failed to connect to {tmp_path}. Is chronyd running?")
    assert f"{tmp_path} is not a socket" in str(exc)
    assert exc.error_code == -1
    assert os.listdir(tmp_path) == []  # nothing created inside it


def test_a_regular_file_instead_of_a_socket(
    opener: Callable[..., Callable[[], object]], tmp_path: Path
) -> None:
    path = tmp_path / "chronyd.sock"
    path.write_text("not a socket\n")
    exc = _fails(opener(str(path)), ChronyConnectionError)
    assert str(exc).startswith(f"Failed to connect to {path}. Is chronyd running?")
    assert f"{path} is not a socket" in str(exc)
    assert exc.error_code == -1
    assert os.listdir(tmp_path) == ["chronyd.sock"]
    assert path.read_text() == "not a socket\n"


def test_a_path_where_nothing_exists(
    opener: Callable[..., Callable[[], object]], tmp_path: Path
) -> None:
    path = tmp_path / "missing" / "chronyd.sock"
    exc = _fails(opener(str(path)), ChronyConnectionError)
    assert str(exc).startswith(f"Failed to connect to {path}. Is chronyd running?")
    assert exc.error_code == -1


@pytest.fixture
def deep_socket() -> Iterator[str]:
    """A socket whose directory leaves too little of sun_path for the client
    socket beside it (``pychrony.<6>/<5>/s``, 24 bytes: at most 83 fit)."""
    base = short_private_dir()
    directory = os.path.join(base, "d" * (84 - len(base)))
    os.mkdir(directory)
    path = os.path.join(directory, "s")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    try:
        yield path
    finally:
        server.close()
        shutil.rmtree(base, ignore_errors=True)


def test_socket_in_a_directory_too_long_for_the_client_socket(deep_socket: str) -> None:
    exc = _fails(_open(deep_socket), ChronyConnectionError)
    assert "client socket" in str(exc)
    assert "SUN_LEN" in str(exc)
    # The directories made for the client socket were removed again.
    assert os.listdir(os.path.dirname(deep_socket)) == ["s"]


@pytest.mark.parametrize("address", [b"/run/chrony/chronyd.sock", 323, Path("/run"), ["/run"]])
def test_address_of_the_wrong_type(address: object) -> None:
    exc = _fails(lambda: ChronyConnection(address), TypeError)  # type: ignore[arg-type]
    assert "address must be a str or None" in str(exc)
    assert type(address).__name__ in str(exc)
    exc = _fails(lambda: pychrony.get_tracking(address), TypeError)  # type: ignore[arg-type]
    assert "address must be a str or None" in str(exc)


# -- options ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "kind", "named"),
    [
        ({"timeout": 0}, ValueError, "timeout must be a number of seconds from 0.001"),
        ({"timeout": 0.0}, ValueError, "from 0.001 to 3600"),
        ({"timeout": 1e-300}, ValueError, "from 0.001 to 3600"),
        ({"timeout": -1}, ValueError, "got -1"),
        ({"timeout": -0.5}, ValueError, "got -0.5"),
        ({"timeout": math.nan}, ValueError, "got nan"),
        ({"timeout": math.inf}, ValueError, "got inf"),
        ({"timeout": -math.inf}, ValueError, "got -inf"),
        ({"timeout": 1e9}, ValueError, "to 3600"),
        ({"timeout": 3600.001}, ValueError, "to 3600"),
        ({"timeout": "1"}, TypeError, "timeout must be a number of seconds"),
        ({"timeout": None}, TypeError, "timeout must be a number of seconds"),
        ({"timeout": True}, TypeError, "of type bool"),
        ({"timeout": 1j}, TypeError, "of type complex"),
        ({"retries": -1}, ValueError, "retries must be between 0 and 30, got -1"),
        ({"retries": 31}, ValueError, "got 31"),
        ({"retries": 10**100}, ValueError, "retries must be between 0 and 30"),
        ({"retries": 1.5}, TypeError, "retries must be an int, got 1.5 of type float"),
        ({"retries": 2.0}, TypeError, "of type float"),
        ({"retries": True}, TypeError, "got True of type bool"),
        ({"retries": "2"}, TypeError, "of type str"),
        ({"backend": "rust"}, ValueError, "unknown backend 'rust'"),
        ({"backend": None}, TypeError, "backend must be a str"),
    ],
)
def test_bad_option(
    opener: Callable[..., Callable[[], object]],
    options: dict[str, object],
    kind: type[Exception],
    named: str,
) -> None:
    call = (
        (lambda: ChronyConnection("127.0.0.1", **options))  # type: ignore[arg-type]
        if opener is _open
        else _function("127.0.0.1", **options)
    )
    exc = _fails(call, kind)
    assert named in str(exc)


def test_timeout_too_large_for_a_float_is_a_value_error() -> None:
    """``timeout=10**400`` is an int no float can hold: it must be rejected like
    any other too-large timeout, with ValueError (today: OverflowError from
    ``float()``, which is neither ValueError nor TypeError)."""
    exc = _fails(lambda: ChronyConnection("127.0.0.1", timeout=10**400), Exception)
    assert isinstance(exc, ValueError), repr(exc)
    assert "timeout" in str(exc)


@pytest.mark.parametrize("timeout", [1e-300, 5e-324, 1e-9, 0.0009])
def test_timeouts_too_short_to_see_a_reply_are_rejected(timeout: float) -> None:
    """Positive but below a millisecond: no reply could arrive in time."""
    exc = _fails(lambda: pychrony.get_tracking("127.0.0.1:9", timeout=timeout), ValueError)
    assert "from 0.001 to 3600" in str(exc)


def test_other_real_numbers_are_accepted() -> None:
    # Any numbers.Real works as a timeout: a Fraction, an int.
    for timeout in (Fraction(1, 20), 1):
        with ChronyConnection("127.0.0.1:9", timeout=timeout, retries=0) as conn:  # type: ignore[arg-type]
            assert conn.address == "127.0.0.1:9"
            exc = _fails(conn.get_tracking, ChronyConnectionError)
            assert "refused" in str(exc)
