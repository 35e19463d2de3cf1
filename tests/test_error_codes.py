"""Every error travels the API and back as itself: the code and HTTP status the API answers
with for an error class turn back (``error_of_code``, used by the CLI against a server) into a
class with the same exit code, so a remote command exits as the local one would. The statuses
and exit codes are the boundaries' tables (``api.errors``, ``cli.exits``), not the classes'."""

from __future__ import annotations

import pytest

import credsync.errors as errors
from credsync.api.errors import HTTP_STATUSES, status_of
from credsync.cli.exits import EXIT_CODES, exit_code_of
from credsync.errors import CredsyncError, error_of_code
from credsync.sync.enforce import EnforceUnconfirmed
from credsync.vault.csvio import ImportRejected


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
    assert exit_code_of(error_of_code(code)) == exit_code_of(cls), code


@pytest.mark.parametrize(
    "cls",
    [*_every_class(), ImportRejected, EnforceUnconfirmed],
    ids=lambda cls: cls.__name__,
)
def test_every_error_class_has_an_exit_code_and_a_status_through_the_tables(
    cls: type[CredsyncError],
) -> None:
    assert 1 <= exit_code_of(cls) <= 9
    status, code = status_of(cls)
    assert 400 <= status < 600
    assert code == cls.code
    # the boundaries' business, not the classes'
    assert not hasattr(cls, "exit_code")
    assert not hasattr(cls, "http_status")


def test_a_subclass_has_its_parents_exit_code_and_status_unless_it_has_its_own() -> None:
    assert errors.RunInProgress not in EXIT_CODES
    assert exit_code_of(errors.RunInProgress) == exit_code_of(errors.Conflict) == 5
    assert status_of(errors.RunInProgress)[0] == status_of(errors.Conflict)[0] == 409
    assert exit_code_of(errors.SchemaOutOfDate) == 7
    assert status_of(errors.SchemaOutOfDate("x")) == (503, "storage_unavailable")
    assert status_of(errors.PermissionDenied) == (403, "forbidden")  # its own, under AuthError
    assert exit_code_of(errors.PermissionDenied) == 3  # its parent's
    assert status_of(errors.PolicyRejected) == (422, "policy_rejected")
    assert exit_code_of(errors.PolicyRejected) == 8
    assert exit_code_of(errors.VaultError) == 1  # nothing of its own: the base's
    assert set(EXIT_CODES) | set(HTTP_STATUSES) <= set(_every_class())


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
