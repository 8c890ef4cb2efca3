"""Test helpers for code that uses pychrony: factories and pytest fixtures.

Installed packages register this module as a pytest plugin (entry point
``pychrony``), so the fixtures ``tracking_status``, ``source``,
``source_stats`` and ``rtc_data`` are available in any test suite without
imports. The ``make_*`` factories work with any test framework::

    from pychrony.testing import make_source, make_tracking
    from pychrony import LeapStatus, SourceState

    unsynced = make_tracking(reference_id=0, leap_status=LeapStatus.UNSYNC)
    falseticker = make_source(state=SourceState.FALSETICKER)

Every factory starts from the matching ``*_DEFAULTS`` dict, which describes a
healthy, synchronised stratum-2 client (same values as pychrony 2.0.3), and
applies the keyword overrides. An unknown field name raises ``TypeError``.
Values are not validated, so tests can build unusual reports on purpose.

The plugin imports only the pure-Python parts of pychrony; it does not load
the compiled extension.
"""

from typing import Any

import pytest

from pychrony.models import (
    Activity,
    LeapStatus,
    ManualSample,
    RTCData,
    ServerStats,
    Smoothing,
    Source,
    SourceMode,
    SourceState,
    SourceStats,
    TrackingStatus,
)

__all__ = [  # noqa: RUF022 - upstream order, pinned by tests/contract
    "make_tracking",
    "make_source",
    "make_source_stats",
    "make_rtc_data",
    "TRACKING_DEFAULTS",
    "SOURCE_DEFAULTS",
    "SOURCESTATS_DEFAULTS",
    "RTCDATA_DEFAULTS",
    # Additions over pychrony 2.0.3:
    "make_activity",
    "ACTIVITY_DEFAULTS",
    "make_server_stats",
    "SERVERSTATS_DEFAULTS",
    "make_smoothing",
    "SMOOTHING_DEFAULTS",
    "make_source_name",
    "SOURCE_NAME_DEFAULT",
    "make_manual_sample",
    "MANUAL_SAMPLE_DEFAULTS",
]

#: Field values of ``make_tracking()``: synchronised at stratum 2 to 127.0.0.1.
TRACKING_DEFAULTS: dict[str, Any] = {
    "reference_id": 0x7F000001,
    "reference_id_name": "127.0.0.1",
    "reference_ip": "127.0.0.1",
    "stratum": 2,
    "leap_status": LeapStatus.NORMAL,
    "ref_time": 1705320000.1234567,
    "offset": 0.000123456,
    "last_offset": 0.000111222,
    "rms_offset": 0.0001,
    "frequency": 1.234,
    "residual_freq": 0.001,
    "skew": 0.005,
    "root_delay": 0.001234,
    "root_dispersion": 0.002345,
    "update_interval": 64.0,
}

#: Field values of ``make_source()``: a selected, fully reachable NTP server.
SOURCE_DEFAULTS: dict[str, Any] = {
    "address": "192.168.1.100",
    "poll": 6,
    "stratum": 2,
    "state": SourceState.SELECTED,
    "mode": SourceMode.CLIENT,
    "flags": 0,
    "reachability": 255,
    "last_sample_ago": 32,
    "orig_latest_meas": 0.000123456,
    "latest_meas": 0.000123456,
    "latest_meas_err": 0.00001,
}

#: Field values of ``make_source_stats()``: eight samples of 192.168.1.100.
SOURCESTATS_DEFAULTS: dict[str, Any] = {
    "reference_id": 0xC0A80164,
    "address": "192.168.1.100",
    "samples": 8,
    "runs": 3,
    "span": 512,
    "std_dev": 0.0001,
    "resid_freq": 0.001,
    "skew": 0.005,
    "offset": 0.000123456,
    "offset_err": 0.00001,
}

#: Field values of ``make_rtc_data()``: a calibrated RTC, one day of samples.
RTCDATA_DEFAULTS: dict[str, Any] = {
    "ref_time": 1705320000.1234567,
    "samples": 10,
    "runs": 4,
    "span": 86400,
    "offset": 0.123456,
    "freq_offset": -1.234,
}


#: Field values of ``make_activity()``: five sources online, one unresolved.
ACTIVITY_DEFAULTS: dict[str, Any] = {
    "online": 5,
    "offline": 0,
    "burst_online": 0,
    "burst_offline": 0,
    "unresolved": 1,
}


#: Field values of ``make_server_stats()``: a chronyd 4.4+ serving a few NTP
#: clients (every counter present).
SERVERSTATS_DEFAULTS: dict[str, Any] = {
    "ntp_packets_received": 1200,
    "ntp_packets_dropped": 0,
    "command_packets_received": 35,
    "command_packets_dropped": 0,
    "client_log_records_dropped": 0,
    "nts_ke_connections_accepted": 0,
    "nts_ke_connections_dropped": 0,
    "authenticated_ntp_packets": 0,
    "interleaved_ntp_packets": 0,
    "ntp_timestamps_held": 0,
    "ntp_timestamp_span": 0,
    "ntp_daemon_rx_timestamps": 0,
    "ntp_daemon_tx_timestamps": 1200,
    "ntp_kernel_rx_timestamps": 1200,
    "ntp_kernel_tx_timestamps": 0,
    "ntp_hardware_rx_timestamps": 0,
    "ntp_hardware_tx_timestamps": 0,
}


#: Field values of ``make_smoothing()``: smoothing out a 1 ms offset.
SMOOTHING_DEFAULTS: dict[str, Any] = {
    "active": True,
    "leap_only": False,
    "offset": 0.001,
    "frequency": -0.5,
    "wander": 0.0001,
    "last_update_ago": 8.0,
    "remaining_time": 120.0,
}


#: What ``make_source_name()`` returns: a configured host name.
SOURCE_NAME_DEFAULT = "ntp.example.org"


#: Field values of ``make_manual_sample()``: a clock found 0.5 s fast.
MANUAL_SAMPLE_DEFAULTS: dict[str, Any] = {
    "when": 1705320000.0,
    "slewed_offset": -0.5,
    "orig_offset": -0.5,
    "residual": 0.0,
}


def make_tracking(**overrides: Any) -> TrackingStatus:
    """Build a ``TrackingStatus`` from ``TRACKING_DEFAULTS`` and the overrides.

    Args:
        **overrides: Field values replacing the defaults.

    Returns:
        The new ``TrackingStatus``.

    Raises:
        TypeError: An override names no field of ``TrackingStatus``.
    """
    return TrackingStatus(**{**TRACKING_DEFAULTS, **overrides})


def make_source(**overrides: Any) -> Source:
    """Build a ``Source`` from ``SOURCE_DEFAULTS`` and the overrides.

    Args:
        **overrides: Field values replacing the defaults.

    Returns:
        The new ``Source``.

    Raises:
        TypeError: An override names no field of ``Source``.
    """
    return Source(**{**SOURCE_DEFAULTS, **overrides})


def make_source_stats(**overrides: Any) -> SourceStats:
    """Build a ``SourceStats`` from ``SOURCESTATS_DEFAULTS`` and the overrides.

    Args:
        **overrides: Field values replacing the defaults.

    Returns:
        The new ``SourceStats``.

    Raises:
        TypeError: An override names no field of ``SourceStats``.
    """
    return SourceStats(**{**SOURCESTATS_DEFAULTS, **overrides})


def make_rtc_data(**overrides: Any) -> RTCData:
    """Build an ``RTCData`` from ``RTCDATA_DEFAULTS`` and the overrides.

    Args:
        **overrides: Field values replacing the defaults.

    Returns:
        The new ``RTCData``.

    Raises:
        TypeError: An override names no field of ``RTCData``.
    """
    return RTCData(**{**RTCDATA_DEFAULTS, **overrides})


def make_activity(**overrides: Any) -> Activity:
    """Build an ``Activity`` from ``ACTIVITY_DEFAULTS`` and the overrides.

    Args:
        **overrides: Field values replacing the defaults.

    Returns:
        The new ``Activity``.

    Raises:
        TypeError: An override names no field of ``Activity``.
    """
    return Activity(**{**ACTIVITY_DEFAULTS, **overrides})


def make_server_stats(**overrides: Any) -> ServerStats:
    """Build a ``ServerStats`` from ``SERVERSTATS_DEFAULTS`` and the overrides.

    Args:
        **overrides: Field values replacing the defaults (None for a counter
            an older chronyd does not report).

    Returns:
        The new ``ServerStats``.

    Raises:
        TypeError: An override names no field of ``ServerStats``.
    """
    return ServerStats(**{**SERVERSTATS_DEFAULTS, **overrides})


def make_smoothing(**overrides: Any) -> Smoothing:
    """Build a ``Smoothing`` from ``SMOOTHING_DEFAULTS`` and the overrides.

    Args:
        **overrides: Field values replacing the defaults.

    Returns:
        The new ``Smoothing``.

    Raises:
        TypeError: An override names no field of ``Smoothing``.
    """
    return Smoothing(**{**SMOOTHING_DEFAULTS, **overrides})


def make_manual_sample(**overrides: Any) -> ManualSample:
    """Build a ``ManualSample`` from ``MANUAL_SAMPLE_DEFAULTS`` and the overrides.

    Args:
        **overrides: Field values replacing the defaults.

    Returns:
        The new ``ManualSample``.

    Raises:
        TypeError: An override names no field of ``ManualSample``.
    """
    return ManualSample(**{**MANUAL_SAMPLE_DEFAULTS, **overrides})


def make_source_name(name: str = SOURCE_NAME_DEFAULT) -> str:
    """Return a source's configured name, as ``get_source_name`` does.

    Args:
        name: The name (``SOURCE_NAME_DEFAULT`` if not given).

    Returns:
        The name.
    """
    return name


@pytest.fixture
def tracking_status() -> TrackingStatus:
    """Provide ``make_tracking()``: a synchronised ``TrackingStatus``."""
    return make_tracking()


@pytest.fixture
def source() -> Source:
    """Provide ``make_source()``: a selected, reachable ``Source``."""
    return make_source()


@pytest.fixture
def source_stats() -> SourceStats:
    """Provide ``make_source_stats()``: a ``SourceStats`` with enough samples."""
    return make_source_stats()


@pytest.fixture
def rtc_data() -> RTCData:
    """Provide ``make_rtc_data()``: a calibrated ``RTCData``."""
    return make_rtc_data()
