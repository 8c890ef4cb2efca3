"""A stand-in for ``pychrony._core.Client``, for the unit tests.

Unit tests cover the pure-Python logic (option checks, context management,
the ``None`` mapping of ``get_rtc_data``), so they swap the compiled client for
``FakeClient`` through the ``fake_core`` fixture (``tests/conftest.py``). The
real extension is exercised by the integration tests.
"""

import threading
from dataclasses import dataclass, field
from typing import Any

from pychrony.exceptions import ChronyConnectionError, _ReportUnavailableError
from pychrony.testing import make_rtc_data, make_source, make_source_stats, make_tracking


@dataclass
class FakeBehaviour:
    """What the next ``FakeClient`` objects do; tests adjust it before connecting."""

    #: Raised by the constructor instead of connecting, once, if set.
    connect_error: BaseException | None = None
    #: Raised by ``rtc_data()`` instead of returning, if set.
    rtc_error: BaseException | None = None
    #: If set, the constructor waits for it (to widen race windows).
    connect_gate: threading.Event | None = None
    #: If set, ``tracking()`` waits for it, after setting ``in_query``.
    query_gate: threading.Event | None = None
    in_query: threading.Event = field(default_factory=threading.Event)
    #: Every client built, in order.
    clients: list["FakeClient"] = field(default_factory=list)


class FakeClient:
    """Minimal stand-in with the interface documented in ``_core.pyi``."""

    behaviour = FakeBehaviour()

    def __init__(
        self, address: str | None, timeout: float, retries: int, backend: str = "native"
    ) -> None:
        plan = type(self).behaviour
        if plan.connect_gate is not None:
            plan.connect_gate.wait(5)
        if plan.connect_error is not None:
            error, plan.connect_error = plan.connect_error, None
            raise error
        self.args = (address, timeout, retries, backend)
        self.address = address or "/run/chrony/chronyd.sock"
        self.transport = "unix_socket" if self.address.startswith("/") else "command_port"
        self.close_calls = 0
        self.closed = False
        plan.clients.append(self)

    def _check_open(self) -> None:
        if self.closed:
            raise ChronyConnectionError("client is closed")

    def tracking(self) -> Any:
        plan = type(self).behaviour
        if plan.query_gate is not None:
            plan.in_query.set()
            plan.query_gate.wait(5)
        self._check_open()
        return make_tracking()

    def sources(self) -> Any:
        self._check_open()
        return [make_source(), make_source(address="192.0.2.7")]

    def source_stats(self) -> Any:
        self._check_open()
        return [make_source_stats()]

    def rtc_data(self) -> Any:
        self._check_open()
        plan = type(self).behaviour
        if plan.rtc_error is not None:
            raise plan.rtc_error
        return make_rtc_data()

    def read(self, name: str, **kwargs: str) -> Any:
        return {
            "tracking": self.tracking,
            "sources": self.sources,
            "sourcestats": self.source_stats,
            "rtcdata": self.rtc_data,
        }[name]()

    def read_optional(self, name: str) -> Any:
        try:
            return self.read(name)
        except _ReportUnavailableError:
            return None

    def close(self) -> None:
        self.close_calls += 1
        self.closed = True
