"""Every error travels the API and back as itself: the code and HTTP status the API answers
with for an error class turn back (``error_of_code``, used by the CLI against a server) into a
class with the same exit code, so a remote command exits as the local one would."""

from __future__ import annotations

import pytest

import credsync.errors as errors
from credsync.api.errors import status_of
from credsync.errors import CredsyncError, error_of_code


def _every_class() -> list[type[CredsyncError]]:
    return [
        cls
        for name in errors.__all__
        if isinstance(cls := getattr(errors, name), type) and issubclass(cls, CredsyncError)
    ]


@pytest.mark.parametrize("cls", _every_class(), ids=lambda cls: cls.__name__)
def test_an_error_comes_back_with_its_exit_code(cls: type[CredsyncError]) -> None:
    status, code = status_of(cls("x"))
    assert 400 <= status < 600
    assert error_of_code(code).exit_code == cls.exit_code, code


def test_codes_name_one_class_each_and_the_api_own_codes_are_known() -> None:
    own = {}
    for cls in _every_class():
        if "code" in cls.__dict__:
            assert cls.code not in own, (cls, own.get(cls.code))
            own[cls.code] = cls
    assert error_of_code("not_found") is errors.NotFound
    assert error_of_code("too_large") is errors.InvalidInput
    assert error_of_code("run_in_progress") is errors.RunInProgress
    assert error_of_code("something new") is CredsyncError
