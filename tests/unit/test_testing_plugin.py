"""``pychrony.testing``: defaults, factories and the pytest fixtures."""

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from pychrony import testing
from pychrony.models import (
    AuthData,
    ClientAccess,
    LeapStatus,
    ManualSample,
    NTPData,
    RTCData,
    SelectData,
    ServerStats,
    Smoothing,
    Source,
    SourceMode,
    SourceState,
    SourceStats,
    TrackingStatus,
)
from pychrony.testing import (
    AUTHDATA_DEFAULTS,
    CLIENT_ACCESS_DEFAULTS,
    MANUAL_SAMPLE_DEFAULTS,
    NTPDATA_DEFAULTS,
    RTCDATA_DEFAULTS,
    SELECTDATA_DEFAULTS,
    SERVERSTATS_DEFAULTS,
    SMOOTHING_DEFAULTS,
    SOURCE_DEFAULTS,
    SOURCESTATS_DEFAULTS,
    TRACKING_DEFAULTS,
    make_auth_data,
    make_client_access,
    make_manual_sample,
    make_ntp_data,
    make_rtc_data,
    make_select_data,
    make_server_stats,
    make_smoothing,
    make_source,
    make_source_stats,
    make_tracking,
)
from support.processes import run_python

pytest_plugins = ["pytester"]

CASES = [
    (make_tracking, TRACKING_DEFAULTS, TrackingStatus),
    (make_source, SOURCE_DEFAULTS, Source),
    (make_source_stats, SOURCESTATS_DEFAULTS, SourceStats),
    (make_rtc_data, RTCDATA_DEFAULTS, RTCData),
    (make_server_stats, SERVERSTATS_DEFAULTS, ServerStats),
    (make_smoothing, SMOOTHING_DEFAULTS, Smoothing),
    (make_manual_sample, MANUAL_SAMPLE_DEFAULTS, ManualSample),
    (make_ntp_data, NTPDATA_DEFAULTS, NTPData),
    (make_select_data, SELECTDATA_DEFAULTS, SelectData),
    (make_auth_data, AUTHDATA_DEFAULTS, AuthData),
    (make_client_access, CLIENT_ACCESS_DEFAULTS, ClientAccess),
]


def test_all() -> None:
    assert testing.__all__ == [
        "make_tracking",
        "make_source",
        "make_source_stats",
        "make_rtc_data",
        "TRACKING_DEFAULTS",
        "SOURCE_DEFAULTS",
        "SOURCESTATS_DEFAULTS",
        "RTCDATA_DEFAULTS",
        # Additions over 2.0.3 (tests/contract's ADDITIONS.testing):
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


@pytest.mark.parametrize(("factory", "defaults", "cls"), CASES)
def test_defaults_cover_every_field(
    factory: Callable[..., Any], defaults: dict[str, object], cls: type
) -> None:
    assert list(defaults) == [f.name for f in dataclasses.fields(cls)]


@pytest.mark.parametrize(("factory", "defaults", "cls"), CASES)
def test_factory_uses_defaults(
    factory: Callable[..., Any], defaults: dict[str, object], cls: type
) -> None:
    built = factory()
    assert dataclasses.asdict(built) == defaults
    assert type(built) is cls


@pytest.mark.parametrize(("factory", "defaults", "cls"), CASES)
def test_factory_overrides_without_touching_defaults(
    factory: Callable[..., Any], defaults: dict[str, object], cls: type
) -> None:
    snapshot = dict(defaults)
    name = next(iter(defaults))
    built = factory(**{name: 12345})
    assert getattr(built, name) == 12345
    assert defaults == snapshot


@pytest.mark.parametrize(("factory", "defaults", "cls"), CASES)
def test_factory_rejects_unknown_field(
    factory: Callable[..., Any], defaults: dict[str, object], cls: type
) -> None:
    with pytest.raises(TypeError, match="no_such_field"):
        factory(no_such_field=1)


def test_default_values_match_upstream() -> None:
    # Tests written against pychrony 2.0.3 may rely on these exact numbers.
    assert TRACKING_DEFAULTS["reference_id"] == 0x7F000001
    assert TRACKING_DEFAULTS["stratum"] == 2
    assert TRACKING_DEFAULTS["leap_status"] is LeapStatus.NORMAL
    assert TRACKING_DEFAULTS["offset"] == 0.000123456
    assert TRACKING_DEFAULTS["update_interval"] == 64.0
    assert SOURCE_DEFAULTS["state"] is SourceState.SELECTED
    assert SOURCE_DEFAULTS["mode"] is SourceMode.CLIENT
    assert SOURCE_DEFAULTS["reachability"] == 255
    assert SOURCESTATS_DEFAULTS["reference_id"] == 0xC0A80164
    assert SOURCESTATS_DEFAULTS["samples"] == 8
    assert RTCDATA_DEFAULTS["span"] == 86400
    assert RTCDATA_DEFAULTS["freq_offset"] == -1.234


def test_defaults_describe_a_healthy_client() -> None:
    assert make_tracking().is_synchronized()
    assert not make_tracking().is_leap_pending()
    assert make_source().is_selected()
    assert make_source().is_reachable()
    assert make_source_stats().has_sufficient_samples()
    assert make_rtc_data().is_calibrated()


def _run_with_plugin(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest in-process with only our plugin loaded explicitly.

    Autoload is off so an installed entry point cannot register the module a
    second time; ``--assert=plain`` because the plugin is already imported
    here and cannot be rewritten (pytest would warn).
    """
    return pytester.runpytest("-p", "pychrony.testing", "--assert=plain", *args)


def test_fixtures_through_the_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(
        """
        from pychrony import RTCData, Source, SourceStats, TrackingStatus
        from pychrony.testing import make_tracking

        def test_fixtures(tracking_status, source, source_stats, rtc_data):
            assert isinstance(tracking_status, TrackingStatus)
            assert tracking_status == make_tracking()
            assert isinstance(source, Source) and source.is_selected()
            assert isinstance(source_stats, SourceStats)
            assert isinstance(rtc_data, RTCData) and rtc_data.is_calibrated()
        """
    )
    result = _run_with_plugin(pytester, "-W", "error")
    result.assert_outcomes(passed=1, warnings=0)


def test_fixtures_are_function_scoped(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(
        """
        seen = []

        def test_first(tracking_status, source, source_stats, rtc_data):
            seen.append((tracking_status, source, source_stats, rtc_data))

        def test_second(tracking_status, source, source_stats, rtc_data):
            now = (tracking_status, source, source_stats, rtc_data)
            assert all(a is not b for a, b in zip(seen[0], now))
        """
    )
    _run_with_plugin(pytester).assert_outcomes(passed=2)
    listing = _run_with_plugin(pytester, "--fixtures")
    listing.stdout.fnmatch_lines(
        [
            "*fixtures defined from pychrony.testing*",
            "tracking_status -- *",
            "source -- *",
            "source_stats -- *",
            "rtc_data -- *",
        ]
    )


def test_plugin_import_does_not_load_the_extension() -> None:
    # pytest imports the plugin very early; it must not need the compiled module.
    code = (
        "import sys, pychrony.testing; "
        "assert 'pychrony._core' not in sys.modules, sorted(sys.modules)"
    )
    completed = run_python(code)
    assert completed.returncode == 0, completed.stderr
