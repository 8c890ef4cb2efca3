"""The exception hierarchy: attributes, ``str``/``repr``, pickling."""

import pickle

import pytest

import pychrony
from pychrony.exceptions import (
    ChronyConnectionError,
    ChronyDataError,
    ChronyError,
    ChronyLibraryError,
    ChronyPermissionError,
    ChronyUnauthorizedError,
    _ReportUnavailableError,
)

WITH_CODE = [
    ChronyError,
    ChronyConnectionError,
    ChronyPermissionError,
    ChronyDataError,
    ChronyUnauthorizedError,
    _ReportUnavailableError,
]


def test_hierarchy() -> None:
    assert issubclass(ChronyError, Exception)
    assert ChronyError.__mro__[1:] == (Exception, BaseException, object)
    for cls in (ChronyConnectionError, ChronyPermissionError, ChronyDataError, ChronyLibraryError):
        assert cls.__mro__[1:] == (ChronyError, Exception, BaseException, object)
    assert _ReportUnavailableError.__mro__[1:3] == (ChronyDataError, ChronyError)
    # "501 Not authorised": a permission error, and caught as the
    # ChronyDataError that 2.0.3 raised for it.
    assert ChronyUnauthorizedError.__mro__[1:4] == (
        ChronyPermissionError,
        ChronyDataError,
        ChronyError,
    )


def test_public_exceptions_are_exported() -> None:
    for cls in (
        ChronyError,
        ChronyConnectionError,
        ChronyPermissionError,
        ChronyDataError,
        ChronyLibraryError,
        ChronyUnauthorizedError,
    ):
        assert getattr(pychrony, cls.__name__) is cls
        assert cls.__name__ in pychrony.__all__
    assert "_ReportUnavailableError" not in pychrony.__all__


@pytest.mark.parametrize("cls", WITH_CODE)
def test_message_and_code(cls: type[ChronyError]) -> None:
    error = cls("chronyd is gone", 6)
    assert error.message == "chronyd is gone"
    assert error.error_code == 6
    assert str(error) == "chronyd is gone (error code: 6)"
    assert error.args == ("chronyd is gone",)
    assert repr(error) == f"{cls.__name__}('chronyd is gone')"


@pytest.mark.parametrize("cls", WITH_CODE)
def test_without_code(cls: type[ChronyError]) -> None:
    error = cls("no reply")
    assert error.error_code is None
    assert str(error) == "no reply"
    assert cls("no reply", error_code=None).error_code is None


def test_code_zero_is_shown() -> None:
    # 0 is a code, only None means "no code".
    assert str(ChronyError("odd", 0)) == "odd (error code: 0)"


def test_keyword_arguments() -> None:
    error = ChronyPermissionError(message="denied", error_code=13)
    assert (error.message, error.error_code) == ("denied", 13)


def test_library_error_takes_no_code() -> None:
    error = ChronyLibraryError("libchrony.so.0 not found")
    assert error.error_code is None
    assert error.message == "libchrony.so.0 not found"
    assert str(error) == "libchrony.so.0 not found"
    with pytest.raises(TypeError):
        ChronyLibraryError("x", 3)  # type: ignore[call-arg]


def test_message_is_required() -> None:
    with pytest.raises(TypeError):
        ChronyError()  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "error",
    [
        ChronyError("base", 1),
        ChronyConnectionError("timeout", 6),
        ChronyPermissionError("denied", 13),
        ChronyDataError("bad reply"),
        ChronyLibraryError("missing"),
        _ReportUnavailableError("no RTC", 13),
    ],
    ids=lambda error: type(error).__name__,
)
def test_pickle_round_trip(error: ChronyError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.message == error.message
    assert copy.error_code == error.error_code
    assert copy.args == error.args
    assert str(copy) == str(error)


def test_catchable_as_base() -> None:
    with pytest.raises(ChronyDataError) as caught:
        raise _ReportUnavailableError("RTC tracking is unavailable", 13)
    assert isinstance(caught.value, ChronyError)
    assert caught.value.error_code == 13
