"""The local-accounts connector beyond the conformance suite, against the real Samba
standalone server: lockout safety, guest sessions, locked and disabled accounts, the AES and
RC4 resets, who may reset, and the error table's policy refusal."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from impacket.dcerpc.v5 import samr

from credsync.connectors.base import PasswordOptions, StepOutcome, VerifyOutcome
from credsync.connectors.local_accounts import LocalAccountsConnector
from credsync.connectors.local_accounts._client import LEVEL_AES, LEVEL_RC4, login
from credsync.connectors.local_accounts._errors import translate
from credsync.errors import (
    DirectoryAuthFailed,
    DirectoryDenied,
    PermanentConnectorError,
    PolicyRejected,
    TransientConnectorError,
)
from credsync.testing.conformance import run, strong_password
from credsync.testing.samba_standalone import LocalMachine, StandaloneFacts, StandaloneServer
from credsync.types import Secret


def _bad_count(conn: LocalAccountsConnector, rid: int) -> int:
    state = conn._session.user(rid)
    assert state is not None
    return state.bad_password_count


def test_no_login_when_the_bad_count_is_within_two_of_the_threshold(
    local_machine: LocalMachine, conn: LocalAccountsConnector
) -> None:
    user = local_machine.admin.create_user()
    threshold = local_machine.facts.lockout_threshold
    local_machine.admin.fail_logins(user.name, threshold - 2)
    account = run(conn.get_account(user.sid))
    with pytest.raises(TransientConnectorError, match="within 2 of the lockout threshold"):
        run(conn.verify_password(account, Secret(user.password)))
    assert _bad_count(conn, user.rid) == threshold - 2  # nothing tried: the count stayed


def test_one_failed_login_per_password_stamp(
    local_machine: LocalMachine, conn: LocalAccountsConnector
) -> None:
    user = local_machine.admin.create_user()
    account = run(conn.get_account(user.sid))
    wrong = run(conn.verify_password(account, Secret("Wrong-" + uuid.uuid4().hex)))
    assert wrong.outcome is VerifyOutcome.WRONG_PASSWORD
    assert "STATUS_LOGON_FAILURE" in wrong.detail
    with pytest.raises(TransientConnectorError, match="one failed login per password stamp"):
        run(conn.verify_password(account, Secret("Wrong-" + uuid.uuid4().hex)))
    assert _bad_count(conn, user.rid) == 1
    # a new stamp (the password was set) allows a check again
    new = strong_password()
    after = run(conn.set_password(account, Secret(new), PasswordOptions()))
    assert run(conn.verify_password(after, Secret(new))).outcome is VerifyOutcome.OK


def test_disabled_and_locked_accounts_are_reported_without_a_login(
    local_machine: LocalMachine, conn: LocalAccountsConnector
) -> None:
    disabled, locked = local_machine.admin.create_users(2)
    local_machine.admin.disable(disabled.name)
    local_machine.admin.fail_logins(locked.name, local_machine.facts.lockout_threshold)
    off = run(conn.get_account(disabled.sid))
    assert (off.enabled, off.locked_out) == (False, False)
    shut = run(conn.get_account(locked.sid))
    assert (shut.enabled, shut.locked_out) == (True, True)
    result = run(conn.verify_password(off, Secret("Wrong-" + uuid.uuid4().hex)))
    assert result.outcome is VerifyOutcome.ACCOUNT_DISABLED
    assert _bad_count(conn, disabled.rid) == 0  # a wrong password was never tried
    result = run(conn.verify_password(shut, Secret(locked.password)))
    assert result.outcome is VerifyOutcome.LOCKED_OUT
    assert "no login tried" in result.detail


def test_reset_is_aes_first_and_clears_must_change(
    local_machine: LocalMachine, conn: LocalAccountsConnector
) -> None:
    user = local_machine.admin.create_user()
    local_machine.admin.expire(user.name)
    account = run(conn.get_account(user.sid))
    assert account.must_change_password
    new = strong_password()
    level, state = conn._session.set_password(user.rid, new, False)
    assert level == LEVEL_AES
    assert state.password_last_set != 0  # PasswordExpired=0: no "must change" left
    facts = local_machine.facts
    assert login(facts.host, facts.port, facts.machine, user.name, new, 5).status is None
    after = run(conn.get_account(user.sid))
    assert not after.must_change_password
    assert not after.password_expired


def test_rc4_level_26_resets_too(local_machine: LocalMachine, conn: LocalAccountsConnector) -> None:
    user = local_machine.admin.create_user()
    conn._session.connect()
    conn._session.aes = False  # as after a server refused level 31
    new = strong_password()
    level, _ = conn._session.set_password(user.rid, new, False)
    assert level == LEVEL_RC4
    facts = local_machine.facts
    assert login(facts.host, facts.port, facts.machine, user.name, new, 5).status is None


def test_only_an_administrator_may_reset(local_machine: LocalMachine) -> None:
    plain, victim = local_machine.admin.create_users(2)
    config = local_machine.config(bind_username=plain.name, bind_password=Secret(plain.password))
    connector = LocalAccountsConnector(config)
    try:
        steps = run(connector.test_connection())
        right = next(s for s in steps if s.name == "reset password right")
        assert right.outcome is StepOutcome.FAILED
        assert "STATUS_ACCESS_DENIED" in right.detail
        account = run(connector.get_account(victim.sid))
        with pytest.raises(DirectoryDenied, match="STATUS_ACCESS_DENIED"):
            run(connector.set_password(account, Secret(strong_password()), PasswordOptions()))
    finally:
        run(connector.close())
    facts = local_machine.facts
    assert (
        login(facts.host, facts.port, facts.machine, victim.name, victim.password, 5).status is None
    )


def test_connection_steps_report_smb_and_the_lockout_policy(conn: LocalAccountsConnector) -> None:
    steps = {s.name: s for s in run(conn.test_connection())}
    assert list(steps) == ["tcp", "smb", "ntlm", "samr", "reset password right"]
    assert "signing required" in steps["smb"].detail
    assert "locks out after 5 bad passwords" in steps["samr"].detail


def test_a_wrong_machine_name_names_the_machines_own(local_machine: LocalMachine) -> None:
    config = local_machine.config(options={"machine": "OTHERBOX"})
    connector = LocalAccountsConnector(config)
    try:
        with pytest.raises(PermanentConnectorError, match="SAM is named FILESRV1, not OTHERBOX"):
            run(connector.get_account(f"S-1-5-21-1-2-3-{1000}"))
    finally:
        run(connector.close())


def test_accounts_link_by_machine_and_name(
    local_machine: LocalMachine, conn: LocalAccountsConnector
) -> None:
    user = local_machine.admin.create_user()
    account = run(conn.account_named(f"FILESRV1\\{user.name}"))
    assert account.id == user.sid
    assert f"filesrv1\\{user.name}" in account.names()
    assert account.password_stamp
    assert int(account.password_stamp) > 0


def test_refusal_is_policy_rejected_verbatim() -> None:
    # Windows answers a reset that breaks its rules with STATUS_PASSWORD_RESTRICTION (Samba's
    # standalone server checks none on a reset): the error impacket raises for it.
    refused = samr.DCERPCSessionError(error_code=0xC000006C)
    err = translate(refused, where="set the password of FILESRV1\\ann")
    assert isinstance(err, PolicyRejected)
    assert str(err).startswith("set the password of FILESRV1\\ann: STATUS_PASSWORD_RESTRICTION: ")
    assert "password update rule has been violated" in str(err)


# --- a server that maps bad passwords to guest ---------------------------------------------
@pytest.fixture(scope="module")
def guest_machine() -> Iterator[StandaloneFacts]:
    server = StandaloneServer(guest=True)
    facts = server.start()
    try:
        yield facts
    finally:
        server.stop()


def test_a_guest_session_is_never_a_right_password(guest_machine: StandaloneFacts) -> None:
    machine = LocalMachine.of(guest_machine)
    user = machine.admin.create_user()
    wrong = "Wrong-" + uuid.uuid4().hex
    assert login(guest_machine.host, guest_machine.port, "FILESRV1", user.name, wrong, 5).guest
    connector = LocalAccountsConnector(machine.config())
    try:
        account = run(connector.get_account(user.sid))
        right = run(connector.verify_password(account, Secret(user.password)))
        assert right.outcome is VerifyOutcome.OK
        result = run(connector.verify_password(account, Secret(wrong)))
        assert result.outcome is VerifyOutcome.WRONG_PASSWORD
        assert "guest" in result.detail
    finally:
        run(connector.close())
    bad_bind = LocalAccountsConnector(machine.config(bind_password=Secret(wrong)))
    try:
        with pytest.raises(DirectoryAuthFailed, match="guest"):
            run(bad_bind.get_account(user.sid))
    finally:
        run(bad_bind.close())
