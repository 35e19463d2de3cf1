"""The LDAP connector's pure parts, without a server: BER controls, mapping, times, cursors and
the timestamp window, its own error cases, the wire. (What it shares with the AD connector:
``tests/connectors/test_ldap3.py``.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ldap3.core import exceptions as lx

from credsync.connectors.base import Account
from credsync.connectors.ldap._changes import Cursor, read_refresh, since_filter, window
from credsync.connectors.ldap._controls import (
    PPOLICY_OID,
    PolicyError,
    SyncState,
    decode_policy_response,
    decode_sync_done,
    decode_sync_info,
    decode_sync_state,
    sync_request,
)
from credsync.connectors.ldap._errors import SIZE_LIMIT_HINT, policy_error_name, translate
from credsync.connectors.ldap._mapping import (
    Policy,
    account_attributes,
    parse_generalized_time,
    to_account,
)
from credsync.errors import PermanentConnectorError, PolicyRejected, TransientConnectorError

UUID = "3105d3dc-8575-1041-8724-bbe14fa7ca52"
UUID_BYTES = bytes.fromhex(UUID.replace("-", ""))
NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)
POLICY = Policy("cn=default", max_age=86400, lockout=True, lockout_duration=300, must_change=True)


# --- controls (values as OpenLDAP 2.5 sends them) -----------------------------------------------
def test_policy_response_values() -> None:
    assert decode_policy_response(b"0\x00").error is None
    assert decode_policy_response(b"0\x03\x81\x01\x02").error is PolicyError.CHANGE_AFTER_RESET
    assert decode_policy_response(b"0\x03\x81\x01\x00").error is PolicyError.PASSWORD_EXPIRED
    warning = decode_policy_response(b"0\x05\xa0\x03\x81\x01\x02")
    assert (warning.error, warning.grace_remaining) == (None, 2)
    expiring = decode_policy_response(b"0\x06\xa0\x04\x80\x02\x0e\x10")
    assert expiring.time_before_expiration == 3600
    assert PolicyError.PASSWORD_TOO_SHORT.words == "passwordTooShort"
    assert PolicyError.PASSWORD_IN_HISTORY.words == "passwordInHistory"


@pytest.mark.parametrize("value", [b"", b"0", b"0\x05\x81\x01", b"\x04\x00", b"0\x84\xff"])
def test_malformed_values_are_value_errors(value: bytes) -> None:
    with pytest.raises(ValueError, match="BER"):
        decode_policy_response(value)


def test_sync_request_encoding() -> None:
    assert sync_request(None) == b"0\x03\n\x01\x01"
    cookie = b"rid=000,csn=20261206035943.223168Z#000000#000#000000"
    assert sync_request(cookie) == b"09\n\x01\x01\x044" + cookie
    long = b"x" * 200
    assert sync_request(long) == b"0\x81\xce\n\x01\x01\x04\x81\xc8" + long


def test_sync_state_info_and_done() -> None:
    state = decode_sync_state(b"0\x15\n\x01\x01\x04\x10" + UUID_BYTES)
    assert (state.state, state.entry_uuid, state.cookie) == (SyncState.ADD, UUID, None)
    cookie = b"rid=000,csn=1"
    id_set = decode_sync_info(
        b"\xa3" + bytes([len(cookie) + 25]) + b"\x04" + bytes([len(cookie)]) + cookie
        + b"\x01\x01\xff1\x12\x04\x10" + UUID_BYTES
    )  # fmt: skip
    assert (id_set.kind, id_set.uuids, id_set.deletes, id_set.cookie) == (
        "id_set",
        (UUID,),
        True,
        cookie,
    )
    assert decode_sync_info(b"\x80\x02ab").cookie == b"ab"
    present = decode_sync_info(b"\xa2\x03\x01\x01\x00")
    assert (present.kind, present.refresh_done) == ("refresh_present", False)
    done = decode_sync_done(b"0\x07\x04\x02ab\x01\x01\xff")
    assert (done.cookie, done.refresh_deletes) == (b"ab", True)
    assert decode_sync_done(b"0\x00") == decode_sync_done(b"0\x00")
    assert not decode_sync_done(b"0\x00").refresh_deletes
    with pytest.raises(ValueError, match="16 octets"):
        decode_sync_state(b"0\x07\n\x01\x01\x04\x02ab")


def test_read_refresh() -> None:
    other = "00000000-0000-4000-8000-000000000001"
    entries = [
        ("uid=a,o=x", {"entryUUID": [UUID.encode()]}, b"0\x15\n\x01\x02\x04\x10" + UUID_BYTES),
        ("uid=b,o=x", {}, b"0\x15\n\x01\x03\x04\x10" + bytes.fromhex(other.replace("-", ""))),
    ]
    answer = read_refresh(entries, [b"\x80\x02c1"], b"0\x07\x04\x02c2\x01\x01\xff")
    assert [dn for dn, _ in answer.changed] == ["uid=a,o=x"]
    assert answer.removed == [other]
    assert (answer.cookie, answer.present_phase) == (b"c2", False)
    present = read_refresh([], [], b"0\x00")
    assert present.present_phase
    assert present.cookie is None


# --- times and mapping --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20260110120000Z", datetime(2026, 1, 10, 12, 0, tzinfo=UTC)),
        ("20260110120000.5Z", datetime(2026, 1, 10, 12, 0, 0, 500000, tzinfo=UTC)),
        ("202601101200Z", datetime(2026, 1, 10, 12, 0, tzinfo=UTC)),
        ("20260110140000+0200", datetime(2026, 1, 10, 12, 0, tzinfo=UTC)),
        ("000001010000Z", None),
        ("yesterday", None),
        ("20260230120000Z", None),
        (None, None),
    ],
)
def test_generalized_time(text: str | None, expected: datetime | None) -> None:
    assert parse_generalized_time(text) == expected


def entry(**values: str) -> dict[str, list[bytes]]:
    out = {"entryUUID": [UUID.encode()], "uid": [b"alice"], "cn": [b"Alice A"]}
    out.update({k: [v.encode()] for k, v in values.items()})
    return out


def account(policy: Policy | None = POLICY, **values: str) -> Account:
    return to_account(
        "uid=alice,o=x", entry(**values), naming_attribute="uid", policy=policy, now=NOW
    )


def test_mapping_of_a_normal_account() -> None:
    a = account(mail="alice@example.org", pwdChangedTime="20260110110000Z")
    assert (a.id, a.username, a.upn, a.display_name, a.dn) == (
        UUID,
        "alice",
        "alice@example.org",
        "Alice A",
        "uid=alice,o=x",
    )
    assert a.enabled
    assert not a.locked_out
    assert not a.password_expired
    assert a.password_stamp == "20260110110000Z"
    assert a.password_changed_at == datetime(2026, 1, 10, 11, tzinfo=UTC)
    assert account(displayName="Alice Example").display_name == "Alice Example"
    assert account().password_stamp is None


def test_naming_attribute_falls_back_to_the_rdn() -> None:
    raw = {"entryUUID": [UUID.encode()]}
    got = to_account("cn=Bob,o=x", raw, naming_attribute="uid", policy=None, now=NOW)
    assert got.username == "Bob"
    with pytest.raises(ValueError, match="entryUUID"):
        to_account("cn=Bob,o=x", {}, naming_attribute="uid", policy=None, now=NOW)


def test_locked_states() -> None:
    assert not account(pwdAccountLockedTime="000001010000Z").enabled
    recent = (NOW - timedelta(seconds=60)).strftime("%Y%m%d%H%M%SZ")
    old = (NOW - timedelta(seconds=600)).strftime("%Y%m%d%H%M%SZ")
    future = (NOW + timedelta(seconds=60)).strftime("%Y%m%d%H%M%SZ")
    assert account(pwdAccountLockedTime=recent).locked_out
    assert not account(pwdAccountLockedTime=old).locked_out  # the lockout duration passed
    assert not account(pwdAccountLockedTime=future).locked_out  # not in effect yet
    assert account(None, pwdAccountLockedTime=old).locked_out  # duration unknown
    forever = Policy("p", lockout=True, lockout_duration=0)
    assert account(forever, pwdAccountLockedTime=old).locked_out
    no_lockout = Policy("p", lockout=False)
    assert account(no_lockout, pwdAccountLockedTime="000001010000Z").enabled
    assert not account(no_lockout, pwdAccountLockedTime=recent).locked_out
    assert account(pwdAccountTmpLockoutEnd=future).locked_out
    assert not account(pwdEndTime=recent).enabled
    assert not account(pwdStartTime=future).enabled


def test_expiry_and_must_change() -> None:
    aged = account(pwdChangedTime="20260101000000Z")
    assert aged.password_expired
    assert not aged.must_change_password
    assert not account(None, pwdChangedTime="20260101000000Z").password_expired
    reset = account(pwdReset="TRUE", pwdChangedTime="20260110110000Z")
    assert reset.must_change_password
    assert reset.password_expired
    ignored = Policy("p", must_change=False)
    assert not account(ignored, pwdReset="TRUE").must_change_password


def test_attributes_and_policy_entry() -> None:
    assert account_attributes("mail")[:2] == ["mail", "entryUUID"]
    assert account_attributes("uid").count("uid") == 1
    raw = {"pwdMaxAge": [b"60"], "pwdLockout": [b"TRUE"], "pwdMaxFailure": [b"3"]}
    assert Policy.from_entry("cn=p", raw) == Policy("cn=p", 60, True, 0, False, 3)


# --- cursors and the timestamp window -----------------------------------------------------------
def test_cursor_round_trip_and_mismatches() -> None:
    cursor = Cursor("sync", "OU=T,dc=x", "(objectClass=*)", cookie=b"rid=000,csn=1")
    text = cursor.encode()
    back = Cursor.decode(text, base="ou=t,DC=X", search_filter="(objectClass=*)")
    assert back is not None
    assert (back.mode, back.cookie) == ("sync", b"rid=000,csn=1")
    assert Cursor.decode(text, base="ou=other", search_filter="(objectClass=*)") is None
    assert Cursor.decode(text, base="ou=t,dc=x", search_filter="(uid=*)") is None
    for junk in (None, "", "ad1:xyz", "ldap1:", "ldap1:e30=", "ldap1:!!"):
        assert Cursor.decode(junk, base="ou=t,dc=x", search_filter="(objectClass=*)") is None


def stamped(uid: str, stamp: str, csn: str | None = None) -> dict[str, list[bytes]]:
    out = {"entryUUID": [uid.encode()], "modifyTimestamp": [stamp.encode()]}
    if csn:
        out["entryCSN"] = [csn.encode()]
    return out


def test_window_keeps_the_boundary() -> None:
    first = [stamped("a", "20260110120000Z", "c1"), stamped("b", "20260110115000Z", "c2")]
    fresh, since, seen = window(first, None, {})
    assert fresh == [0, 1]
    assert since == "20260110120000Z"
    assert seen == {"a": "c1"}  # b is older than the overlap window
    # Next read: a unchanged (same CSN), a second change of a in the same second (new CSN) and
    # c changed in that second too.
    again = [stamped("a", "20260110120000Z", "c1"), stamped("c", "20260110120000Z", "c3")]
    assert window(again, since, seen)[0] == [1]
    changed = [stamped("a", "20260110120000Z", "c9")]
    assert window(changed, since, seen)[0] == [0]
    no_csn = [stamped("d", "20260110120005Z")]
    # Without entryCSN the version is the modifyTimestamp; the window follows the newest.
    assert window(no_csn, since, seen) == ([0], "20260110120005Z", {"d": "20260110120005Z"})
    assert since_filter("(uid=*)", since) == "(&(uid=*)(modifyTimestamp>=20260110115950Z))"
    with pytest.raises(ValueError, match="GeneralizedTime"):
        since_filter("(uid=*)", "now")


# --- errors -------------------------------------------------------------------------------------
def op_error(cls: type[lx.LDAPOperationResult], description: str, message: str = "") -> Exception:
    return cls(result=0, description=description, message=message)


def test_translation_of_ppolicy_and_size_limits() -> None:
    """LDAP's cases in the table every ldap3 kind shares (see tests/connectors/test_ldap3.py)."""

    def t(exc: BaseException, **kw: bool) -> Exception:
        return translate(exc, where="do it", **kw)

    short = op_error(
        lx.LDAPConstraintViolationResult,
        "constraintViolation",
        "Password fails quality checking policy",
    )
    short.response_controls = {PPOLICY_OID: b"0\x03\x81\x01\x06"}  # type: ignore[attr-defined]
    rejected = t(short, password_change=True)
    assert isinstance(rejected, PolicyRejected)
    assert str(rejected) == (
        "do it: constraintViolation: Password fails quality checking policy "
        "(ppolicy: passwordTooShort)"
    )
    assert policy_error_name(short) == "passwordTooShort"
    assert type(t(short)) is PermanentConnectorError  # not while setting a password
    limit = op_error(lx.LDAPSizeLimitExceededResult, "sizeLimitExceeded")
    assert SIZE_LIMIT_HINT in str(t(limit))
    assert type(t(limit)) is PermanentConnectorError


# --- the wire -----------------------------------------------------------------------------------
def test_wire_framing_and_messages() -> None:
    from credsync.connectors import _ldap_wire as _wire
    from credsync.connectors.ldap._controls import ber_tlv

    # A bind response (message 1) with the password policy control, as slapd sends it.
    control = ber_tlv(0x30, ber_tlv(0x04, PPOLICY_OID.encode()) + ber_tlv(0x04, b"0\x00"))
    result = ber_tlv(0x61, b"\n\x01\x31\x04\x00\x04\x00")
    response = ber_tlv(0x30, b"\x02\x01\x01" + result + ber_tlv(0xA0, control))
    buffer = bytearray(response[:10])
    assert _wire._complete(buffer) is None  # not whole yet
    buffer += response[10:] + b"0\x05"
    assert _wire._complete(buffer) == response
    assert buffer == bytearray(b"0\x05")  # the start of the next message stays
    message_id, tag, body = _wire._operation(response)
    assert (message_id, tag) == (1, 0x61)
    assert _wire._result(body) == (49, "")
    assert _wire._controls(response) == {PPOLICY_OID: b"0\x00"}
    notice = ber_tlv(0x30, b"\x02\x01\x00" + ber_tlv(0x78, b"\n\x01\x34\x04\x00\x04\x00"))
    with pytest.raises(ConnectionResetError, match="notice of disconnection"):
        _wire._operation(notice)
    values = ber_tlv(0x31, ber_tlv(0x04, b"a") + ber_tlv(0x04, b"b"))
    attribute = ber_tlv(0x30, ber_tlv(0x04, b"uid") + values)
    entry = ber_tlv(0x04, b"uid=a") + ber_tlv(0x30, attribute)
    assert _wire._entry(entry) == ("uid=a", {"uid": [b"a", b"b"]})
    failure = _wire._failure(19, "Password is in history of old passwords", response)
    assert isinstance(failure, lx.LDAPConstraintViolationResult)
    assert policy_error_name(failure) is None  # b"0\x00": no error in the control
    busy = _wire.BindAnswer(False, "busy", "try later", {}, 51).failure()
    assert type(translate(busy, where="bind")) is TransientConnectorError
