"""The per-source reports of issue 11 (ntpdata, selectdata, authdata,
clients) against the lab's chronyd of the version under test: field by field
with that version's ``chronyc -c -n``, on both backends where libchrony has
the report, and their errors on each transport.

The lab's sources are polled 64 times a second, so most values move between
any two reads. Each comparison reads ours, runs chronyc, reads ours again:
every chronyc row must equal one of our two reads (give or take chronyc's
printed precision), which holds whenever at most one exchange happened
meanwhile; otherwise the comparison is tried again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

import chronylab
import pychrony
from pychrony import (
    AuthData,
    AuthMode,
    ChronyConnection,
    ChronyDataError,
    ChronyLibraryError,
    ChronyUnauthorizedError,
    ClientAccess,
    NTPData,
    NTPMode,
    NTPTests,
    SelectData,
    SelectOptions,
    SelectState,
    TimestampSource,
)
from support.agreement import (
    LEAP_TEXT,
    Mismatch,
    assert_unauthorized,
    half_ulp,
    retry,
    use_backend,
)

pytestmark = pytest.mark.integration

ATTEMPTS = 20

#: chronyc's words for the enum values (client.c).
MODE_TEXT = {
    NTPMode.ACTIVE_SYMMETRIC: "Symmetric active",
    NTPMode.PASSIVE_SYMMETRIC: "Symmetric passive",
    NTPMode.SERVER: "Server",
}
TSS_TEXT = {
    TimestampSource.DAEMON: "Daemon",
    TimestampSource.KERNEL: "Kernel",
    TimestampSource.HARDWARE: "Hardware",
}
AUTH_MODE_TEXT = {AuthMode.NONE: "-", AuthMode.SYMMETRIC: "SK", AuthMode.NTS: "NTS"}
#: chronyc's option letters, in its column order (the fifth is always '-').
OPTION_LETTERS = [
    (SelectOptions.NOSELECT, "N"),
    (SelectOptions.PREFER, "P"),
    (SelectOptions.TRUST, "T"),
    (SelectOptions.REQUIRE, "R"),
]


def release() -> tuple[int, ...]:
    return tuple(int(p) for p in chronylab.chronyd_release().split(".")[:2])


# What chronyc prints for each field, as (text, our value) pairs: "int" and
# "text" compare exactly, "float" within chronyc's printed precision.
Cell = tuple[str, str, Any]


def agrees(cells: Sequence[Cell]) -> str | None:
    """None when every cell agrees, else the first that does not."""
    for kind, text, ours in cells:
        if kind == "float":
            # ref_time: a float of seconds since 1970 holds ~0.2 µs.
            slack = max(half_ulp(text), abs(ours) * 2e-16 * 4)
            ok = abs(float(text) - ours) <= slack
        elif kind == "int":
            ok = int(text) == ours
        else:
            ok = text == ours
        if not ok:
            return f"{kind} {text!r} vs ours {ours!r}"
    return None


def compare_rows(
    what: str,
    rows: list[list[str]],
    first: Sequence[object],
    second: Sequence[object],
    cells: Callable[[list[str], Any], list[Cell]],
) -> None:
    """Every chronyc row equals the record of our first or our second read."""
    if not len(rows) == len(first) == len(second):
        raise Mismatch(f"{what}: chronyc {len(rows)} rows, ours {len(first)} / {len(second)}")
    for i, (row, a, b) in enumerate(zip(rows, first, second, strict=True)):
        why_a, why_b = agrees(cells(row, a)), agrees(cells(row, b))
        if why_a and why_b:
            raise Mismatch(f"{what} row {i} {row}: {why_a}; {why_b}")


def csv_rows(inst: chronylab.Instance, *args: str) -> list[list[str]]:
    out = chronylab.chronyc(inst, "-c", "-n", *args)
    return [line.split(",") for line in out.splitlines() if line]


@pytest.fixture(scope="module")
def secure(lab: chronylab.Lab) -> Iterator[chronylab.Instance]:
    """A client of the lab's server with a key-authenticated source and an
    interleaved one (profile ``secure``), once both have answered so."""
    inst = lab.start("secure")
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            data = pychrony.get_ntp_data(inst.socket)
            if any(d.authenticated for d in data) and any(d.interleaved for d in data):
                break
            time.sleep(0.1)
        yield inst
    finally:
        inst.stop()


@pytest.fixture(params=["client", "secure"])
def ntp_client(request: pytest.FixtureRequest, lab: chronylab.Lab) -> chronylab.Instance:
    """The lab's client (never-answering, unresolved and refclock sources) and
    the secure one (authentication, interleaved mode)."""
    if request.param == "secure":
        return request.getfixturevalue("secure")  # type: ignore[no-any-return]
    return lab["client"]


# -- ntpdata -------------------------------------------------------------------


def _tests_text(tests: NTPTests) -> list[str]:
    bits = format(tests.value, "010b")
    return [bits[:3], bits[3:6], bits[6:]]


def _ntpdata_cells(row: list[str], d: NTPData) -> list[Cell]:
    totals = [d.total_tx, d.total_rx, d.total_valid_rx, d.total_good_rx]
    if release() >= (4, 6):
        totals += [d.total_kernel_tx, d.total_kernel_rx, d.total_hw_tx, d.total_hw_rx]
    local = d.local_address or "[UNSPEC]"
    cells: list[Cell] = [
        ("text", row[0], d.remote_address),
        ("int", row[2], d.remote_port),
        ("text", row[3], local),
        ("text", row[5], LEAP_TEXT.get(d.leap_status, "?")),  # type: ignore[call-overload]
        ("int", row[6], d.version),
        ("text", row[7], MODE_TEXT.get(d.mode, "Invalid")),  # type: ignore[call-overload]
        ("int", row[8], d.stratum),
        ("int", row[9], d.poll),
        ("int", row[11], d.precision),
        ("float", row[13], d.root_delay),
        ("float", row[14], d.root_dispersion),
        ("text", row[15], f"{d.reference_id:08X}"),
        ("float", row[17], d.ref_time),
        ("float", row[18], d.offset),
        ("float", row[19], d.peer_delay),
        ("float", row[20], d.peer_dispersion),
        ("float", row[21], d.response_time),
        ("float", row[22], d.jitter_asymmetry),
        ("text", ",".join(row[23:26]), ",".join(_tests_text(d.tests))),
        ("text", row[26], "Yes" if d.interleaved else "No"),
        ("text", row[27], "Yes" if d.authenticated else "No"),
        ("text", row[28], TSS_TEXT.get(d.tx_timestamping, "Invalid")),  # type: ignore[call-overload]
        ("text", row[29], TSS_TEXT.get(d.rx_timestamping, "Invalid")),  # type: ignore[call-overload]
        ("int", str(len(row) - 30), len(totals)),
    ]
    cells += [("int", text, v) for text, v in zip(row[30:], totals, strict=False)]
    return cells


def test_ntpdata_values(lab: chronylab.Lab, secure: chronylab.Instance) -> None:
    data = {d.remote_address: d for d in pychrony.get_ntp_data(lab["client"].socket)}
    # Reference clocks and the unresolved source are not listed (as chronyc).
    assert chronylab.REFCLOCK_REFID not in data and "ID#0000000001" not in data
    assert "127.0.0.1" in data
    answered = data["127.0.0.1"]
    assert answered.mode == NTPMode.SERVER and answered.stratum == chronylab.LOCAL_STRATUM
    assert isinstance(answered.tests, NTPTests)
    assert (answered.total_kernel_tx is None) == (release() < (4, 6))
    # A source that never answered: plain values where no member fits.
    silent = data["127.0.0.2"]
    assert silent.mode == 0 and type(silent.mode) is int
    assert silent.tx_timestamping == "\0" and type(silent.tx_timestamping) is str
    assert silent.local_address == "" and silent.version == 0
    # The secure lab: one authenticated source, one interleaved.
    secure_data = pychrony.get_ntp_data(secure.socket)
    assert any(d.authenticated for d in secure_data)
    assert any(d.interleaved for d in secure_data)


@pytest.mark.parametrize("backend", ["native", "libchrony"])
def test_ntpdata_by_address(
    lab: chronylab.Lab, backend: str, request: pytest.FixtureRequest
) -> None:
    use_backend(backend, request)
    inst = lab["client"]
    every = pychrony.get_ntp_data(inst.socket, backend=backend)
    for d in every:
        [one] = pychrony.get_ntp_data(inst.socket, address=d.remote_address, backend=backend)
        assert one.remote_address == d.remote_address and one.remote_port == d.remote_port
    # An unresolved source is asked for by its ID# address.
    [unresolved] = pychrony.get_ntp_data(inst.socket, address="ID#0000000001", backend=backend)
    assert unresolved.remote_address == "ID#0000000001" and unresolved.mode == 0
    with pytest.raises(ChronyDataError, match="503 No such source") as caught:
        pychrony.get_ntp_data(inst.socket, address="192.0.2.99", backend=backend)
    assert caught.value.error_code == 11
    with pytest.raises(ValueError, match="reference clock"):
        pychrony.get_ntp_data(inst.socket, address=chronylab.REFCLOCK_REFID, backend=backend)
    with (
        ChronyConnection(inst.socket, backend=backend) as conn,
        pytest.raises(TypeError, match="address must be a str or None"),
    ):
        conn.get_ntp_data(1)  # type: ignore[arg-type]


# -- selectdata ----------------------------------------------------------------


def _options_text(options: SelectOptions) -> list[str]:
    return [letter if flag in options else "-" for flag, letter in OPTION_LETTERS] + ["-"]


def _selectdata_cells(row: list[str], s: SelectData) -> list[Cell]:
    state = s.state.value if isinstance(s.state, SelectState) else s.state
    return [
        ("text", row[0], state),
        ("text", row[1], s.address),
        ("text", row[2], "Y" if s.authentication else "N"),
        ("text", ",".join(row[3:8]), ",".join(_options_text(s.configured_options))),
        ("text", ",".join(row[8:13]), ",".join(_options_text(s.effective_options))),
        ("int", row[13], s.last_sample_ago),
        ("float", row[14], s.score),
        ("float", row[15], s.low_limit),
        ("float", row[16], s.high_limit),
        ("text", row[17], LEAP_TEXT.get(s.leap_status, "?")),  # type: ignore[call-overload]
    ]


def test_selectdata_values(lab: chronylab.Lab, secure: chronylab.Instance) -> None:
    data = {s.address: s for s in pychrony.get_select_data(lab["client"].socket)}
    # Every source: the reference clock and the unresolved one too.
    assert {chronylab.REFCLOCK_REFID, "ID#0000000001", "127.0.0.1"} <= set(data)
    assert all(isinstance(s.state, SelectState) for s in data.values())
    # authselectmode mix: the authenticated source is required and trusted.
    auth = [s for s in pychrony.get_select_data(secure.socket) if s.authentication]
    assert auth and SelectOptions.REQUIRE in auth[0].effective_options
    assert auth[0].configured_options == SelectOptions(0)


# -- authdata ------------------------------------------------------------------


def _authdata_cells(row: list[str], a: AuthData) -> list[Cell]:
    # chronyc: name, mode, key ID, type, key length, last, attempts, NAK,
    # cookies, cookie length (NAK before the cookies, CMDMON.md §7.1).
    return [
        ("text", row[0], a.address),
        ("text", row[1], AUTH_MODE_TEXT.get(a.mode, "?")),  # type: ignore[call-overload]
        ("int", row[2], a.key_id),
        ("int", row[3], a.key_type),
        ("int", row[4], a.key_length),
        ("int", row[5], a.last_ke_ago),
        ("int", row[6], a.ke_attempts),
        ("int", row[7], int(a.nak)),
        ("int", row[8], a.cookies),
        ("int", row[9], a.cookie_length),
    ]


def test_authdata_values(
    secure: chronylab.Instance, backend: str, request: pytest.FixtureRequest
) -> None:
    use_backend(backend, request)
    [keyed] = pychrony.get_auth_data(secure.socket, address="127.0.0.1", backend=backend)
    assert keyed.address == "127.0.0.1"
    assert keyed.mode == AuthMode.SYMMETRIC and keyed.key_id == chronylab.AUTH_KEY_ID
    assert keyed.key_type == 3 and keyed.key_length == 256  # SHA256
    assert keyed.last_ke_ago == 2**32 - 1
    with pytest.raises(ChronyDataError, match="503 No such source"):
        pychrony.get_auth_data(secure.socket, address="192.0.2.99", backend=backend)


# -- agreement of the per-source reports ----------------------------------------

#: For each: how ours is read, chronyc's command, and how a row compares.
AGREEMENT: dict[str, tuple[Callable[[ChronyConnection], Sequence[Any]], tuple[str, ...], Any]] = {
    "ntpdata": (lambda c: c.get_ntp_data(), ("ntpdata",), _ntpdata_cells),
    "selectdata": (lambda c: c.get_select_data(), ("selectdata", "-a"), _selectdata_cells),
    "authdata": (lambda c: c.get_auth_data(), ("authdata", "-a"), _authdata_cells),
}


@pytest.mark.parametrize("report", list(AGREEMENT))
@pytest.mark.parametrize("backend", ["native", "libchrony"])
def test_agrees_with_chronyc(
    ntp_client: chronylab.Instance, report: str, backend: str, request: pytest.FixtureRequest
) -> None:
    use_backend(backend, request)
    inst = ntp_client
    read, command, cells = AGREEMENT[report]

    def compare() -> None:
        with ChronyConnection(inst.socket, backend=backend) as conn:
            a = read(conn)
            rows = csv_rows(inst, *command)
            b = read(conn)
        compare_rows(report, rows, a, b, cells)

    retry(compare, ATTEMPTS, 0.05)


# -- clients -------------------------------------------------------------------


def _clients_cells(row: list[str], c: ClientAccess) -> list[Cell]:
    return [
        ("text", row[0], c.address),
        ("int", row[1], c.ntp_hits),
        ("int", row[2], c.ntp_drops),
        ("int", row[3], c.ntp_interval),
        ("int", row[4], c.ntp_interval_limit),
        ("int", row[5], c.last_ntp_hit_ago),
        ("int", row[6], c.cmd_hits),
        ("int", row[7], c.cmd_drops),
        ("int", row[8], c.cmd_interval),
        ("int", row[9], c.last_cmd_hit_ago),
    ]


def _clients_nke_cells(row: list[str], c: ClientAccess) -> list[Cell]:
    return [
        *_clients_cells(row, c)[:6],
        ("int", row[6], c.nke_hits),
        ("int", row[7], c.nke_drops),
        ("int", row[8], c.nke_interval),
        ("int", row[9], c.last_nke_hit_ago),
    ]


@pytest.mark.parametrize("nke", [False, True], ids=["ntp-cmd", "nts-ke"])
def test_clients_agree_with_chronyc(lab: chronylab.Lab, nke: bool) -> None:
    inst = lab["server"]

    def compare() -> None:
        with ChronyConnection(inst.socket) as conn:
            a = conn.get_clients()
            rows = csv_rows(inst, "clients", *(["-k"] if nke else []))
            b = conn.get_clients()
        compare_rows("clients", rows, a, b, _clients_nke_cells if nke else _clients_cells)

    retry(compare, ATTEMPTS, 0.05)
    clients = pychrony.get_clients(inst.socket)
    assert {"127.0.0.1"} <= {c.address for c in clients}
    # Intervals keep chronyd's 127 for "unknown"; counters are never reset.
    assert all(c.cmd_interval == 127 for c in clients)
    assert all(c.ntp_hits > 0 for c in clients)


def test_clients_of_a_daemon_without_clients(victim: chronylab.Instance) -> None:
    # A fresh daemon: nothing asked it over UDP or NTP yet (requests on its
    # Unix socket are not logged per client).
    assert pychrony.get_clients(victim.socket) == []


def test_clients_is_not_a_libchrony_report(lab: chronylab.Lab, libchrony: str) -> None:
    with pytest.raises(ChronyLibraryError, match="cannot read the clients report"):
        pychrony.get_clients(lab["server"].socket, backend="libchrony")


# -- over UDP: 501 ---------------------------------------------------------------

REPORTS = {
    "ntpdata": lambda c: c.get_ntp_data(),
    "selectdata": lambda c: c.get_select_data(),
    "authdata": lambda c: c.get_auth_data(),
    "clients": lambda c: c.get_clients(),
}


@pytest.mark.parametrize(
    ("report", "backend"),
    # libchrony has no clients report (test_clients_is_not_a_libchrony_report).
    [
        (r, b)
        for r in REPORTS
        for b in ("native", "libchrony")
        if (r, b) != ("clients", "libchrony")
    ],
)
def test_over_udp_is_unauthorized(
    lab: chronylab.Lab, report: str, backend: str, request: pytest.FixtureRequest
) -> None:
    use_backend(backend, request)
    inst = lab["client"]
    with ChronyConnection(f"127.0.0.1:{inst.cmdport}", backend=backend) as conn:
        with pytest.raises(ChronyUnauthorizedError) as caught:
            REPORTS[report](conn)
        assert_unauthorized(caught.value)
        # The connection stays usable.
        assert conn.get_activity().unresolved == 1
