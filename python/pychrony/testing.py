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
    AuthData,
    AuthMode,
    ClientAccess,
    LeapStatus,
    ManualSample,
    NTPData,
    NTPMode,
    NTPTests,
    RTCData,
    SelectData,
    SelectOptions,
    SelectState,
    ServerStats,
    Smoothing,
    Source,
    SourceMode,
    SourceState,
    SourceStats,
    TimestampSource,
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
    "make_ntp_data",
    "NTPDATA_DEFAULTS",
    "make_select_data",
    "SELECTDATA_DEFAULTS",
    "make_auth_data",
    "AUTHDATA_DEFAULTS",
    "make_client_access",
    "CLIENT_ACCESS_DEFAULTS",
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

#: Field values of ``make_ntp_data()``: a server on 192.168.1.100 that passed
#: every test, answering a chronyd of 4.6 or later.
NTPDATA_DEFAULTS: dict[str, Any] = {
    "remote_address": "192.168.1.100",
    "remote_port": 123,
    "local_address": "192.168.1.10",
    "leap_status": LeapStatus.NORMAL,
    "version": 4,
    "mode": NTPMode.SERVER,
    "stratum": 2,
    "poll": 6,
    "precision": -25,
    "root_delay": 0.001234,
    "root_dispersion": 0.002345,
    "reference_id": 0xC0A80001,
    "ref_time": 1705320000.1234567,
    "offset": 0.000123456,
    "peer_delay": 0.000345,
    "peer_dispersion": 0.000012,
    "response_time": 0.000021,
    "jitter_asymmetry": 0.0,
    "tests": NTPTests(0x3FF),
    "interleaved": False,
    "authenticated": False,
    "tx_timestamping": TimestampSource.KERNEL,
    "rx_timestamping": TimestampSource.KERNEL,
    "total_tx": 100,
    "total_rx": 100,
    "total_valid_rx": 100,
    "total_good_rx": 99,
    "total_kernel_tx": 100,
    "total_kernel_rx": 100,
    "total_hw_tx": 0,
    "total_hw_rx": 0,
}

#: Field values of ``make_select_data()``: the best source, 192.168.1.100.
SELECTDATA_DEFAULTS: dict[str, Any] = {
    "reference_id": 0xC0A80164,
    "address": "192.168.1.100",
    "state": SelectState.BEST,
    "authentication": False,
    "leap_status": LeapStatus.NORMAL,
    "configured_options": SelectOptions(0),
    "effective_options": SelectOptions(0),
    "last_sample_ago": 32,
    "score": 1.0,
    "low_limit": -0.000234,
    "high_limit": 0.000456,
}

#: Field values of ``make_auth_data()``: 192.168.1.100 with symmetric key 1
#: (SHA256, 256 bits).
AUTHDATA_DEFAULTS: dict[str, Any] = {
    "address": "192.168.1.100",
    "mode": AuthMode.SYMMETRIC,
    "key_type": 3,
    "key_id": 1,
    "key_length": 256,
    "last_ke_ago": 4294967295,
    "ke_attempts": 0,
    "nak": False,
    "cookies": 0,
    "cookie_length": 0,
}

#: Field values of ``make_client_access()``: an NTP client polling every 64 s.
CLIENT_ACCESS_DEFAULTS: dict[str, Any] = {
    "address": "192.168.1.20",
    "ntp_hits": 100,
    "ntp_drops": 0,
    "ntp_interval": 6,
    "ntp_interval_limit": 127,
    "last_ntp_hit_ago": 12,
    "cmd_hits": 0,
    "cmd_drops": 0,
    "cmd_interval": 127,
    "last_cmd_hit_ago": 4294967295,
    "nke_hits": 0,
    "nke_drops": 0,
    "nke_interval": 127,
    "last_nke_hit_ago": 4294967295,
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


def make_ntp_data(**overrides: Any) -> NTPData:
    """Build a ``NTPData`` from ``NTPDATA_DEFAULTS`` and the overrides.

    Args:
        **overrides: Field values replacing the defaults.

    Returns:
        The new ``NTPData``.

    Raises:
        TypeError: An override names no field of ``NTPData``.
    """
    return NTPData(**{**NTPDATA_DEFAULTS, **overrides})


def make_select_data(**overrides: Any) -> SelectData:
    """Build a ``SelectData`` from ``SELECTDATA_DEFAULTS`` and the overrides.

    Args:
        **overrides: Field values replacing the defaults.

    Returns:
        The new ``SelectData``.

    Raises:
        TypeError: An override names no field of ``SelectData``.
    """
    return SelectData(**{**SELECTDATA_DEFAULTS, **overrides})


def make_auth_data(**overrides: Any) -> AuthData:
    """Build a ``AuthData`` from ``AUTHDATA_DEFAULTS`` and the overrides.

    Args:
        **overrides: Field values replacing the defaults.

    Returns:
        The new ``AuthData``.

    Raises:
        TypeError: An override names no field of ``AuthData``.
    """
    return AuthData(**{**AUTHDATA_DEFAULTS, **overrides})


def make_client_access(**overrides: Any) -> ClientAccess:
    """Build a ``ClientAccess`` from ``CLIENT_ACCESS_DEFAULTS`` and the overrides.

    Args:
        **overrides: Field values replacing the defaults.

    Returns:
        The new ``ClientAccess``.

    Raises:
        TypeError: An override names no field of ``ClientAccess``.
    """
    return ClientAccess(**{**CLIENT_ACCESS_DEFAULTS, **overrides})


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
