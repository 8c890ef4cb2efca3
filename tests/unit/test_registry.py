"""The report registry: Python's (``pychrony.registry``) equals the Rust
core's (``_core.reports()``), and every registered report has its method,
module-level function, dataclass and testing factory, with the shapes and
signatures the registration gives."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest

import pychrony
import pychrony.testing
from pychrony import ChronyConnection, models
from pychrony._core import reports as core_reports
from pychrony.registry import REPORTS, ReportInfo, by_name

OPTIONS = ["timeout", "retries", "backend"]


def test_python_and_rust_registries_agree() -> None:
    ours = [
        {
            "name": r.name,
            "method": r.method,
            "dataclass": r.dataclass.__name__,
            "shape": r.shape,
            "args": r.args,
            "udp": r.udp,
        }
        for r in REPORTS
    ]
    assert ours == core_reports()


def test_names_are_unique_and_found() -> None:
    assert len({r.name for r in REPORTS}) == len(REPORTS)
    assert len({r.method for r in REPORTS}) == len(REPORTS)
    assert by_name("sourcestats").method == "get_source_stats"
    with pytest.raises(KeyError, match="the reports are tracking"):
        by_name("nosuch")


def _returns(report: ReportInfo) -> object:
    one = report.dataclass
    return {"single": one, "optional": one | None, "list": list[one], "text": one}[report.shape]  # type: ignore[valid-type]


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: r.name)
def test_each_report_has_its_surface(report: ReportInfo) -> None:
    # The dataclass: frozen, in pychrony.models, exported from pychrony; a
    # text report gives a str instead.
    if report.shape == "text":
        assert report.dataclass is str
    else:
        assert getattr(models, report.dataclass.__name__) is report.dataclass
        assert getattr(pychrony, report.dataclass.__name__) is report.dataclass
        assert dataclasses.is_dataclass(report.dataclass)
        assert report.dataclass.__dataclass_params__.frozen  # type: ignore[attr-defined]

    # The method: the report's own arguments only, returning its shape.
    method = getattr(ChronyConnection, report.method)
    params = list(inspect.signature(method).parameters)
    assert params == ["self", *report.args]
    hints = typing.get_type_hints(method)
    assert hints["return"] == _returns(report)

    # The module function: socket_path, then keywords: the report's own, then
    # the options; the same return type, except that an optional report's
    # function raises instead of returning None.
    function = getattr(pychrony, report.method)
    assert report.method in pychrony.__all__
    signature = inspect.signature(function)
    assert list(signature.parameters) == ["socket_path", *report.args, *OPTIONS]
    kinds = [p.kind for p in signature.parameters.values()]
    assert kinds[0] is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(k is inspect.Parameter.KEYWORD_ONLY for k in kinds[1:])
    assert signature.parameters["timeout"].default == 1.0
    assert signature.parameters["retries"].default == 2
    assert signature.parameters["backend"].default == "native"
    expected = report.dataclass if report.shape == "optional" else _returns(report)
    assert typing.get_type_hints(function)["return"] == expected

    # The testing factory builds one record.
    factory = getattr(pychrony.testing, report.factory)
    assert type(factory()) is report.dataclass
