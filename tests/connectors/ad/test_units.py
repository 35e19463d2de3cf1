"""The AD connector's pure parts, without a directory: mapping, AD's own error cases, ACL
reading. (What it shares with the LDAP connector: ``tests/connectors/test_ldap3.py``.)"""

from __future__ import annotations

import struct
import uuid
from datetime import UTC, datetime

import pytest
from ldap3.core import exceptions as lx
from ldap3.utils.conv import escape_filter_chars

from credsync.connectors.ad import _acl
from credsync.connectors.ad._errors import bind_code, translate
from credsync.connectors.ad._mapping import (
    after_reset,
    filetime_to_datetime,
    guid_filter_value,
    to_account,
)
from credsync.errors import DirectoryAuthFailed, PermanentConnectorError, PolicyRejected

GUID = uuid.UUID("57c3fb70-1d7c-4d31-ae18-8b8832b70b63")


def entry(**values: str) -> dict[str, list[bytes]]:
    out = {"objectGUID": [GUID.bytes_le]}
    out.update({k: [v.encode()] for k, v in values.items()})
    return out


def test_mapping_of_a_normal_account() -> None:
    account = to_account(
        "CN=a,DC=x",
        entry(
            sAMAccountName="alice",
            userPrincipalName="alice@x.test",
            userAccountControl="512",
            pwdLastSet="134397914523367600",
            adminCount="1",
        ),
        domain="X",
    )
    assert account.id == str(GUID)
    assert account.enabled
    assert not account.locked_out
    assert not account.password_expired
    assert account.protected
    assert account.password_stamp == "134397914523367600"
    assert account.password_changed_at == datetime(2026, 11, 22, 3, 24, 12, 336760, tzinfo=UTC)
    assert account.names() == {"alice", "alice@x.test", "x\\alice"}


@pytest.mark.parametrize(
    ("values", "enabled", "locked", "expired", "must_change"),
    [
        ({"userAccountControl": "514"}, False, False, False, False),
        ({"pwdLastSet": "0"}, True, False, True, True),
        ({"msDS-User-Account-Control-Computed": "16"}, True, True, False, False),
        ({"msDS-User-Account-Control-Computed": "8388608"}, True, False, True, False),
        ({"lockoutTime": "134397914701082440"}, True, True, False, False),  # no computed attr
        ({"lockoutTime": "0"}, True, False, False, False),
    ],
)
def test_mapping_of_flags(
    values: dict[str, str], enabled: bool, locked: bool, expired: bool, must_change: bool
) -> None:
    base = {"sAMAccountName": "a", "userAccountControl": "512", "pwdLastSet": "1"}
    account = to_account("CN=a", entry(**{**base, **values}), domain=None)
    assert (account.enabled, account.locked_out) == (enabled, locked)
    assert (account.password_expired, account.must_change_password) == (expired, must_change)


@pytest.mark.parametrize(
    ("before", "values", "locked", "expired"),
    [
        ({"msDS-User-Account-Control-Computed": "16", "lockoutTime": "5"}, {"lockoutTime": "5"},
         True, False),  # a reset unlocks nothing
        ({"msDS-User-Account-Control-Computed": "16", "lockoutTime": "5"}, {"lockoutTime": "0"},
         False, False),  # lockoutTime cleared: the lockout ended
        ({"lockoutTime": "5"}, {"lockoutTime": "5"}, True, False),
        ({"msDS-User-Account-Control-Computed": "8388608"}, {}, False, False),  # a new password
        ({}, {"pwdLastSet": "0"}, False, True),  # must change at next logon
    ],
)  # fmt: skip
def test_the_account_after_a_reset_takes_what_the_reset_changed(
    before: dict[str, str], values: dict[str, str], locked: bool, expired: bool
) -> None:
    base = {"sAMAccountName": "a", "userPrincipalName": "a@x.test", "userAccountControl": "512",
            "pwdLastSet": "134397914523367600", "adminCount": "1", "displayName": "A"}  # fmt: skip
    account = to_account("CN=a,DC=x", entry(**{**base, **before}), domain="X")
    read_back = {"userAccountControl": "512", "pwdLastSet": "134397914601082440", **values}
    after = after_reset(account, entry(**read_back))
    assert (after.locked_out, after.password_expired) == (locked, expired)
    assert after.must_change_password == (read_back["pwdLastSet"] == "0")
    assert after.password_stamp == read_back["pwdLastSet"]
    assert after.password_changed_at == filetime_to_datetime(int(read_back["pwdLastSet"]))
    kept = ("id", "username", "upn", "domain", "display_name", "dn", "protected")
    assert [getattr(after, k) for k in kept] == [getattr(account, k) for k in kept]
    assert not after_reset(account, entry(**{**read_back, "userAccountControl": "514"})).enabled


def test_filetime_and_guid_filter() -> None:
    assert filetime_to_datetime(0) is None
    assert filetime_to_datetime(0x7FFFFFFFFFFFFFFF) is None
    assert filetime_to_datetime(116444736000000000) == datetime(1970, 1, 1, tzinfo=UTC)
    assert guid_filter_value(str(GUID)) == "".join(f"\\{b:02x}" for b in GUID.bytes_le)


def result(cls: type[lx.LDAPOperationResult], description: str, message: str) -> Exception:
    return cls(result=0, description=description, message=message)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            result(
                lx.LDAPConstraintViolationResult,
                "constraintViolation",
                "0000052D: Constraint violation - the password is too short",
            ),
            PolicyRejected,
        ),
        (
            result(
                lx.LDAPUnwillingToPerformResult,
                "unwillingToPerform",
                "0000052D: SvcErr: DSID-031A126C, problem 5003 (WILL_NOT_PERFORM)",
            ),
            PolicyRejected,
        ),
        (
            result(lx.LDAPConstraintViolationResult, "constraintViolation", "00000056: old"),
            PermanentConnectorError,
        ),
        (
            lx.LDAPBindError(
                "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, "
                "data 775, v1db1"
            ),
            DirectoryAuthFailed,
        ),
    ],
)
def test_translate_ads_own_cases(exc: Exception, expected: type[Exception]) -> None:
    """AD's cases in the table every ldap3 kind shares (see tests/connectors/test_ldap3.py)."""
    translated = translate(exc, where="doing it")
    assert type(translated) is expected
    assert str(translated).startswith("doing it: ")
    assert type(translate(exc, where="set", password_change=True)) is expected


def test_translate_keeps_the_directory_words() -> None:
    exc = result(
        lx.LDAPConstraintViolationResult,
        "constraintViolation",
        "0000052D: Constraint violation - check_password_restrictions: the password is too short.",
    )
    assert "check_password_restrictions: the password is too short." in str(
        translate(exc, where="set")
    )


def test_bind_codes() -> None:
    assert bind_code("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, "
                     "data 775, v1db1") == "775"  # fmt: skip
    assert bind_code("no code") is None


def _sid(text: str) -> bytes:
    parts = text.split("-")
    subs = [int(p) for p in parts[3:]]
    head = bytes([int(parts[1]), len(subs)]) + int(parts[2]).to_bytes(6, "big")
    return head + struct.pack(f"<{len(subs)}I", *subs)


def _ace(kind: int, flags: int, mask: int, sid: str, object_type: uuid.UUID | None = None) -> bytes:
    body = struct.pack("<I", mask)
    if kind in (5, 6):
        body += struct.pack("<I", 1 if object_type else 0)
        body += object_type.bytes_le if object_type else b""
    body += _sid(sid)
    return struct.pack("<BBH", kind, flags, 4 + len(body)) + body


def _descriptor(*aces: bytes) -> bytes:
    acl = b"".join(aces)
    acl = struct.pack("<BBHHH", 4, 0, 8 + len(acl), len(aces), 0) + acl
    return struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + acl


def test_acl_reading() -> None:
    helpdesk = "S-1-5-21-1-2-3-1105"
    reset = _acl.RESET_PASSWORD
    descriptor = _descriptor(
        _ace(6, 0, 0x100, "S-1-5-21-1-2-3-1200", reset),  # someone else denied
        _ace(5, 0x12, 0x100, helpdesk, reset),  # inherited allow
        _ace(0, 0, 0x20014, "S-1-5-11"),  # read for authenticated users
    )
    aces = _acl.parse_dacl(descriptor)
    assert [a.sid for a in aces] == ["S-1-5-21-1-2-3-1200", helpdesk, "S-1-5-11"]
    assert _acl.reset_password_decision(aces, [helpdesk]) == _acl.Decision(True, helpdesk)
    assert _acl.reset_password_decision(aces, ["S-1-5-21-1-2-3-1200"]).allowed is False
    assert _acl.reset_password_decision(aces, ["S-1-5-21-1-2-3-9"]).allowed is None
    container = _acl.parse_dacl(_descriptor(_ace(0, 0, 0xF01FF, helpdesk)))  # not inherited
    assert _acl.reset_password_decision(container, [helpdesk], on_container=True).allowed is None


def test_filter_escape_is_rfc_4515() -> None:
    """The escape the connector's name lookups use (ldap3's): the five special characters as
    ``\\xx``, the backslash too, and any other text (non-ASCII included) as it is."""
    assert escape_filter_chars("Zoë*(x)\\y\x00z") == "Zoë\\2a\\28x\\29\\5cy\\00z"
    assert escape_filter_chars("CONTOSO admin") == "CONTOSO admin"


def test_a_relay_scope_is_auto_creates_filter_with_equality_terms() -> None:
    from credsync.connectors.ad._identities import identity_filter
    from credsync.connectors.identities import IdentityScope

    scope = IdentityScope(groups=("CN=O365,DC=x",), enabled_only=True,
                          filters=(("department", "Sales (EU)*"),))  # fmt: skip
    text = identity_filter(scope)
    assert "(department=Sales \\28EU\\29\\2a)" in text
    assert "(memberOf:1.2.840.113556.1.4.1941:=CN=O365,DC=x)" in text
    assert "(!(userAccountControl:1.2.840.113556.1.4.803:=2))" in text
    assert "userAccountControl" not in identity_filter(IdentityScope(enabled_only=False))
