"""The Graph connector's mapping of a user's JSON to an Account, without the simulator."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from credsync.connectors.base import Account
from credsync.connectors.graph._mapping import complete, parse_time, policies_with, to_account

from .fakes import user_json


def test_a_user_maps_to_an_account() -> None:
    uid = str(uuid.uuid4())
    account = to_account(user_json(uid, onPremisesSyncEnabled=True))
    assert account.id == uid
    assert account.username == account.upn == f"{uid[:8]}@contoso.test"
    assert account.names() == {account.upn.casefold()}
    assert account.domain is None
    assert account.password_stamp == "2026-11-22T07:41:03Z"
    assert account.password_changed_at is not None
    assert account.password_changed_at.isoformat() == "2026-11-22T07:41:03+00:00"
    assert account.synced_from_on_premises
    assert account.enabled
    assert not account.must_change_password


def test_must_change_with_mfa_counts_and_no_stamp_is_none() -> None:
    user = user_json(str(uuid.uuid4()), lastPasswordChangeDateTime=None, accountEnabled=False)
    user["passwordProfile"] = {"forceChangePasswordNextSignInWithMfa": True}
    account = to_account(user)
    assert account.must_change_password
    assert account.password_expired
    assert account.password_stamp is None
    assert account.password_changed_at is None
    assert not account.enabled


def test_every_field_of_the_mapped_account_is_the_one_named() -> None:
    """to_account gives Account's fields by position: each lands where its name says."""
    user = user_json("guid-7", displayName="Ada Lovelace", onPremisesSyncEnabled=True)
    user["passwordProfile"] = {"forceChangePasswordNextSignIn": True}
    expected = Account(
        id="guid-7",
        username=user["userPrincipalName"],
        upn=user["userPrincipalName"],
        domain=None,
        display_name="Ada Lovelace",
        dn=None,
        enabled=True,
        locked_out=False,
        password_expired=True,
        must_change_password=True,
        password_stamp="2026-11-22T07:41:03Z",
        password_changed_at=dt.datetime(2026, 11, 22, 7, 41, 3, tzinfo=dt.UTC),
        synced_from_on_premises=True,
        protected=False,
        password_changed_by=None,
    )
    assert to_account(user) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T07:41:03Z", dt.datetime(2026, 11, 22, 7, 41, 3, tzinfo=dt.UTC)),
        ("2026-11-22T07:41:03.5Z", dt.datetime(2026, 11, 22, 7, 41, 3, 500000, tzinfo=dt.UTC)),
        ("2026-11-22T08:41:03+01:00", dt.datetime(2026, 11, 22, 7, 41, 3, tzinfo=dt.UTC)),
        ("2026-11-22T07:41:03", dt.datetime(2026, 11, 22, 7, 41, 3, tzinfo=dt.UTC)),
        ("not a time", None),
    ],
)
def test_graph_times_parse_to_utc(text: str, expected: dt.datetime | None) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is dt.UTC


def test_incomplete_delta_objects_are_recognised() -> None:
    assert complete(user_json("x"))
    assert not complete({"id": "x", "lastPasswordChangeDateTime": "2026-11-22T07:41:03Z"})


def test_policies_keep_what_is_there() -> None:
    assert policies_with(None, "DisablePasswordExpiration") == "DisablePasswordExpiration"
    assert (
        policies_with("DisableStrongPassword", "DisablePasswordExpiration")
        == "DisableStrongPassword, DisablePasswordExpiration"
    )
    assert policies_with("disablepasswordexpiration", "DisablePasswordExpiration") == (
        "disablepasswordexpiration"
    )
