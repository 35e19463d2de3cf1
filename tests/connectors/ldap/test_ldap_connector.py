"""What only the LDAP connector does, against the real slapd: TLS, the ppolicy states and how
binds see them, lockout safety, Password Modify and its fallback, refusals, stale DNs, rights,
paging, options, reconnects; and the cases every ldap3 connector passes (StartTLS, concurrent
calls: ``tests/connectors/ldap3_cases.py``)."""

from __future__ import annotations

import logging
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from credsync.connectors.base import (
    Account,
    Capability,
    PasswordOptions,
    StepOutcome,
    TestStep,
    VerifyOutcome,
)
from credsync.connectors.ldap import LdapConnector
from credsync.connectors.ldap._client import LdapClient
from credsync.errors import (
    AccountNotFound,
    ConfigError,
    DirectoryAuthFailed,
    DirectoryDenied,
    DirectoryTlsError,
    NotSupported,
    PolicyRejected,
)
from credsync.testing.conformance import run, strong_password
from credsync.testing.slapd import LdapOu, SlapdFacts
from credsync.types import Secret

from ..ldap3_cases import Ldap3Cases, all_ok, named_steps
from ..ldap3_world import PUBLIC_CAS
from .world import LdapWorld

pytestmark = pytest.mark.slapd

PASSWORD_MODIFY = "1.3.6.1.4.1.4203.1.11.1"


class TestLdap3Cases(Ldap3Cases):
    @pytest.fixture
    def world(self, ldap_ou: LdapOu) -> LdapWorld:
        return LdapWorld(ldap_ou)


def connector(ldap_ou: LdapOu, **changes: Any) -> LdapConnector:
    return LdapConnector(ldap_ou.config(**changes))


def steps_of(ldap_ou: LdapOu, **changes: Any) -> dict[str, TestStep]:
    return named_steps(connector(ldap_ou, **changes))


async def collect(conn: LdapConnector) -> list[Account]:
    return [a async for a in conn.iter_accounts()]


class RecordingClient(LdapClient):
    """The real client, noting which password operation went out; ``hide`` drops OIDs from
    the root DSE it reports (a server without them, as far as the connector can tell)."""

    def __init__(self, *args: Any, hide: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hide = {h.encode() for h in hide}
        self.calls: list[str] = []
        change = self.wire.change

        async def recorded(*args: Any) -> Any:
            self.calls.append("password_modify")
            return await change(*args)

        self.wire.change = recorded  # type: ignore[method-assign]

    def root_dse(self) -> dict[str, list[bytes]]:
        dse = super().root_dse()
        return {k: [v for v in vs if bytes(v) not in self.hide] for k, vs in dse.items()}

    def modify(self, dn: str, changes: dict[str, Any], then_read: Any = ()) -> Any:
        self.calls.append("modify " + ",".join(changes))
        return super().modify(dn, changes, then_read)


# --- TLS and binding ----------------------------------------------------------------------------
def test_certificate_name_is_checked(ldap_ou: LdapOu) -> None:
    steps = steps_of(ldap_ou, tls_server_name="ldap.example.org")
    assert steps["tls"].outcome is StepOutcome.FAILED
    assert "mismatch" in steps["tls"].detail
    assert "CN=localhost" in steps["tls"].detail
    assert steps["bind"].outcome is StepOutcome.SKIPPED
    assert steps_of(ldap_ou, tls_server_name="localhost")["tls"].outcome is StepOutcome.OK


@pytest.mark.parametrize("which", ["ldaps_url", "ldap_url"])
def test_unknown_ca_is_a_tls_error(ldap_ou: LdapOu, which: str) -> None:
    url = getattr(ldap_ou.facts, which)
    steps = steps_of(ldap_ou, url=url, ca_file=PUBLIC_CAS)
    assert steps["tls"].outcome is StepOutcome.FAILED
    # slapd (GnuTLS) sends its CA along: OpenSSL finds a root it does not trust.
    assert "self-signed certificate in certificate chain" in steps["tls"].detail
    assert "CN=localhost,O=credsync tests" in steps["tls"].detail
    conn = connector(ldap_ou, url=url, ca_file=PUBLIC_CAS)
    try:
        with pytest.raises(DirectoryTlsError, match="self-signed certificate in certificate"):
            run(conn.get_account(str(uuid.uuid4())))
    finally:
        run(conn.close())


def test_ca_given_as_pem_text(ldap_ou: LdapOu) -> None:
    pem = ldap_ou.facts.ca_file.read_text()
    assert all_ok(steps_of(ldap_ou, ca_file=None, ca_pem=pem))


def test_insecure_skip_verify_is_a_warning(ldap_ou: LdapOu) -> None:
    steps = steps_of(ldap_ou, ca_file=PUBLIC_CAS, insecure_skip_verify=True)
    assert steps["tls"].outcome is StepOutcome.WARNING
    assert steps["bind"].outcome is StepOutcome.OK


def test_wrong_bind_password(ldap_ou: LdapOu) -> None:
    secret = "Not-The-Password-123"
    steps = steps_of(ldap_ou, bind_password=Secret(secret))
    assert steps["bind"].outcome is StepOutcome.FAILED
    assert "invalidCredentials" in steps["bind"].detail
    conn = connector(ldap_ou, bind_password=Secret(secret))
    try:
        for _ in range(6):  # more than the lockout threshold of the users' policy
            with pytest.raises(DirectoryAuthFailed, match="invalidCredentials") as caught:
                run(conn.get_account(ldap_ou.create_user().uuid))
            assert secret not in str(caught.value)
            assert secret not in repr(caught.value.__cause__)
        assert secret not in repr(conn)
    finally:
        run(conn.close())
    # The bind identity has a policy of its own without lockout: still in.
    assert all_ok(steps_of(ldap_ou))


def test_steps_say_what_they_saw(ldap_ou: LdapOu) -> None:
    steps = steps_of(ldap_ou)
    assert steps["bind"].detail.startswith(f"bound as {ldap_ou.facts.bind_dn}")
    assert "0 accounts" in steps["search"].detail
    assert "no account in scope yet" in steps["password change right"].detail
    ldap_ou.create_user()
    steps = steps_of(ldap_ou)
    assert all_ok(steps), steps
    assert "1 accounts (objectClass=inetOrgPerson)" in steps["search"].detail
    assert "lockout after 5 failures" in steps["password policy"].detail
    assert "checked without changing it" in steps["password change right"].detail


def test_without_the_default_policy_dn_the_step_warns(ldap_ou: LdapOu) -> None:
    ldap_ou.create_user()
    steps = steps_of(ldap_ou, options={})
    assert steps["password policy"].outcome is StepOutcome.WARNING
    assert "password_policy_dn" in steps["password policy"].detail


# --- mapping ------------------------------------------------------------------------------------
def test_account_fields(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user(display_name="Alice Example", mail="alice.x@example.org")
    plain = ldap_ou.create_user()
    conn = connector(ldap_ou)
    try:
        account = run(conn.get_account(user.uuid))
        assert Capability.PASSWORD_TIMESTAMP in conn.capabilities
        state = ldap_ou.admin.state(user.dn)
        assert account.id == user.uuid
        assert account.username == user.name
        assert account.upn == "alice.x@example.org"
        assert account.names() == {user.name.lower(), "alice.x@example.org"}
        assert account.display_name == "Alice Example"
        assert account.dn == user.dn
        assert account.domain is None
        assert account.enabled
        assert not account.locked_out
        assert not account.password_expired
        assert not account.must_change_password
        assert account.password_stamp == state["pwdChangedTime"][0]
        assert account.password_changed_at is not None
        assert account.password_changed_at.strftime("%Y%m%d%H%M%SZ") == account.password_stamp
        assert run(conn.get_account(plain.uuid)).display_name == plain.name  # cn
    finally:
        run(conn.close())


def test_naming_attribute_and_filter_options(ldap_ou: LdapOu) -> None:
    inside = ldap_ou.create_user(extra={"departmentNumber": "42"})
    ldap_ou.create_user()
    options = {
        "user_filter": "(&(objectClass=inetOrgPerson)(departmentNumber=42))",
        "naming_attribute": "mail",
        "password_policy_dn": ldap_ou.facts.policy_dn or "",
    }
    conn = connector(ldap_ou, options=options)
    try:
        accounts = run(collect(conn))
        assert [a.id for a in accounts] == [inside.uuid]
        assert accounts[0].username == inside.mail
    finally:
        run(conn.close())


@pytest.mark.parametrize(
    "options",
    [
        {"user_filter": "objectClass=person"},
        {"user_filter": "(objectClass=person))("},
        {"naming_attribute": "uid)(x"},
        {"page_size": "0"},
    ],
)
def test_bad_options_are_config_errors(ldap_ou: LdapOu, options: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=next(iter(options))):
        connector(ldap_ou, options=options)


@pytest.mark.parametrize("url", ["http://127.0.0.1", "ldaps://", "ldaps://h/dc=x", "ldap://h:x"])
def test_bad_urls_are_config_errors(ldap_ou: LdapOu, url: str) -> None:
    with pytest.raises(ConfigError, match="url"):
        connector(ldap_ou, url=url)


def test_paging_over_more_entries_than_a_page(ldap_ou: LdapOu) -> None:
    users = {ldap_ou.create_user().uuid for _ in range(7)}
    sub = ldap_ou.admin.new_ou("sub", parent=ldap_ou.dn)
    users |= {ldap_ou.admin.create_user(sub).uuid for _ in range(2)}
    conn = connector(ldap_ou, options={"page_size": "2"})
    try:
        accounts = run(collect(conn))
        assert sorted(a.id for a in accounts) == sorted(users)
        assert run(conn.test_connection())[3].detail.startswith("9 accounts")
    finally:
        run(conn.close())


# --- states and binds ---------------------------------------------------------------------------
def test_disabled_account(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    ldap_ou.admin.disable(user.dn)
    conn = connector(ldap_ou)
    try:
        account = run(conn.get_account(user.uuid))
        assert not account.enabled
        for password in (user.password, "Wrong-pw-1"):  # locked for good: no password counts
            result = run(conn.verify_password(account, Secret(password)))
            assert result.outcome is VerifyOutcome.ACCOUNT_DISABLED
            assert "invalidCredentials" in result.detail
        assert "pwdFailureTime" not in ldap_ou.admin.state(user.dn)
    finally:
        run(conn.close())


def test_validity_period_disables(ldap_ou: LdapOu) -> None:
    ended = ldap_ou.create_user(extra={"pwdEndTime": "20200101000000Z"})
    conn = connector(ldap_ou)
    try:
        account = run(conn.get_account(ended.uuid))
        assert not account.enabled
        result = run(conn.verify_password(account, Secret(ended.password)))
        assert result.outcome is VerifyOutcome.ACCOUNT_DISABLED
    finally:
        run(conn.close())


def test_expired_by_age(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    ldap_ou.admin.age_password(user.dn)
    conn = connector(ldap_ou)
    try:
        account = run(conn.get_account(user.uuid))
        assert account.password_expired
        assert not account.must_change_password
        right = run(conn.verify_password(account, Secret(user.password)))
        assert right.outcome is VerifyOutcome.PASSWORD_EXPIRED
        assert "passwordExpired" in right.detail
        wrong = run(conn.verify_password(account, Secret("Wrong-pw-1")))
        assert wrong.outcome is VerifyOutcome.WRONG_PASSWORD
    finally:
        run(conn.close())
    # Without the default policy's DN the age can't be judged.
    blind = connector(ldap_ou, options={})
    try:
        assert not run(blind.get_account(user.uuid)).password_expired
    finally:
        run(blind.close())


def test_must_change_binds_but_is_expired(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    ldap_ou.admin.expire_password(user.dn)
    conn = connector(ldap_ou)
    try:
        account = run(conn.get_account(user.uuid))
        assert account.must_change_password
        assert account.password_expired
        right = run(conn.verify_password(account, Secret(user.password)))
        assert right.outcome is VerifyOutcome.PASSWORD_EXPIRED
        assert "changeAfterReset" in right.detail
        wrong = run(conn.verify_password(account, Secret("Wrong-pw-1")))
        assert wrong.outcome is VerifyOutcome.WRONG_PASSWORD
    finally:
        run(conn.close())


def test_lockout_ends_by_the_policys_duration(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    ldap_ou.admin.lock_out(user.dn)
    later = datetime.now(UTC) + timedelta(seconds=301)
    now_conn = connector(ldap_ou)
    then_conn = LdapConnector(ldap_ou.config(), clock=lambda: later)
    blind = connector(ldap_ou, options={})
    try:
        assert run(now_conn.get_account(user.uuid)).locked_out
        assert not run(then_conn.get_account(user.uuid)).locked_out
        assert run(blind.get_account(user.uuid)).locked_out  # duration unknown: still locked
    finally:
        for conn in (now_conn, then_conn, blind):
            run(conn.close())


def failures(ldap_ou: LdapOu, dn: str) -> int:
    return len(ldap_ou.admin.state(dn).get("pwdFailureTime", []))


def test_one_check_is_one_bind_and_locked_accounts_count_nothing(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    conn = connector(ldap_ou)
    try:
        account = run(conn.get_account(user.uuid))
        wrong = run(conn.verify_password(account, Secret("Wrong-pw-1")))
        assert wrong.outcome is VerifyOutcome.WRONG_PASSWORD
        assert wrong.detail == "invalidCredentials"
        assert failures(ldap_ou, user.dn) == 1  # one failed bind, never retried
        ldap_ou.admin.bad_binds(user.dn, 3)
        # The 5th failure locks the account: it was a wrong password, and is reported so (the
        # engine won't bind with it again), saying the account is locked now.
        fifth = run(conn.verify_password(account, Secret("Wrong-pw-2")))
        assert fifth.outcome is VerifyOutcome.WRONG_PASSWORD
        assert "locked out now" in fifth.detail
        locked = run(conn.get_account(user.uuid))
        assert locked.locked_out
        for password in (user.password, "Wrong-pw-3"):
            result = run(conn.verify_password(locked, Secret(password)))
            assert result.outcome is VerifyOutcome.LOCKED_OUT
        assert failures(ldap_ou, user.dn) == 5  # binds to a locked account count nothing
        assert run(conn.verify_password(locked, Secret(""))).outcome is VerifyOutcome.WRONG_PASSWORD
    finally:
        run(conn.close())


def test_a_moved_account_is_followed(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    sub = ldap_ou.admin.new_ou("moved", parent=ldap_ou.dn)
    conn = connector(ldap_ou)
    try:
        stale = run(conn.get_account(user.uuid))
        moved = ldap_ou.admin.move(user.dn, sub)
        assert run(conn.verify_password(stale, Secret(user.password))).outcome is VerifyOutcome.OK
        new = strong_password()
        after = run(conn.set_password(stale, Secret(new), PasswordOptions()))
        assert after.dn == moved
        assert run(conn.verify_password(stale, Secret(new))).outcome is VerifyOutcome.OK
        renamed = ldap_ou.admin.rename(moved, "uid=renamed")
        result = run(conn.verify_password(after, Secret("Wrong-pw-1")))
        assert result.outcome is VerifyOutcome.WRONG_PASSWORD
        assert failures(ldap_ou, renamed) == 1  # the bind at the old DN named no entry
    finally:
        run(conn.close())


def test_a_deleted_account_is_not_found(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    conn = connector(ldap_ou)
    try:
        account = run(conn.get_account(user.uuid))
        ldap_ou.admin.delete(user.dn)
        with pytest.raises(AccountNotFound):
            run(conn.verify_password(account, Secret(user.password)))
        with pytest.raises(AccountNotFound):
            run(conn.set_password(account, Secret(strong_password()), PasswordOptions()))
    finally:
        run(conn.close())


# --- setting passwords --------------------------------------------------------------------------
def recording(ldap_ou: LdapOu, *hide: str) -> tuple[LdapConnector, RecordingClient]:
    config = ldap_ou.config()
    client = RecordingClient(config, hide=hide)
    return LdapConnector(config, client=client), client


def test_set_password_uses_password_modify(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    ldap_ou.admin.expire_password(user.dn)
    conn, client = recording(ldap_ou)
    try:
        before = run(conn.get_account(user.uuid))
        new = strong_password()
        after = run(conn.set_password(before, Secret(new), PasswordOptions()))
        assert client.calls == ["password_modify"]
        assert after.password_stamp == ldap_ou.admin.state(user.dn)["pwdChangedTime"][0]
        assert after.password_stamp != before.password_stamp
        assert not after.must_change_password  # our change clears pwdReset
        assert ldap_ou.admin.read(user.dn, ["userPassword"])["userPassword"][0].startswith("{")
        assert run(conn.verify_password(after, Secret(new))).outcome is VerifyOutcome.OK
    finally:
        run(conn.close())


def test_without_password_modify_userpassword_is_replaced(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    conn, client = recording(ldap_ou, PASSWORD_MODIFY)
    try:
        account = run(conn.get_account(user.uuid))
        new = strong_password()
        after = run(conn.set_password(account, Secret(new), PasswordOptions(must_change=True)))
        assert client.calls == ["modify userPassword", "modify pwdReset"]
        assert after.must_change_password
        stored = ldap_ou.admin.read(user.dn, ["userPassword"])["userPassword"][0]
        assert stored.startswith("{SSHA}")  # the server hashed it (olcPPolicyHashCleartext)
        with pytest.raises(PolicyRejected, match="Password fails quality checking policy"):
            run(conn.set_password(account, Secret("short"), PasswordOptions()))
        result = run(conn.verify_password(after, Secret(new)))
        assert result.outcome is VerifyOutcome.PASSWORD_EXPIRED  # must change
    finally:
        run(conn.close())


def test_policy_refusals_are_verbatim(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    conn = connector(ldap_ou)
    try:
        account = run(conn.get_account(user.uuid))
        with pytest.raises(PolicyRejected) as short:
            run(conn.set_password(account, Secret("Sh0rt!"), PasswordOptions()))
        assert str(short.value) == (
            f"set password of {user.dn}: constraintViolation: Password fails quality checking "
            "policy (ppolicy: passwordTooShort)"
        )
        run(conn.set_password(account, Secret(strong_password()), PasswordOptions()))
        with pytest.raises(PolicyRejected) as history:
            run(conn.set_password(account, Secret(user.password), PasswordOptions()))
        assert str(history.value).endswith(
            "constraintViolation: Password is in history of old passwords "
            "(ppolicy: passwordInHistory)"
        )
        assert user.password not in str(history.value)
    finally:
        run(conn.close())


def test_setting_the_current_password_again_succeeds(
    ldap_ou: LdapOu, caplog: pytest.LogCaptureFixture
) -> None:
    user = ldap_ou.create_user()
    conn = connector(ldap_ou)
    caplog.set_level(logging.DEBUG)
    try:
        account = run(conn.get_account(user.uuid))
        again = run(conn.set_password(account, Secret(user.password), PasswordOptions(True)))
        assert again.password_stamp == account.password_stamp  # nothing changed...
        assert again.must_change_password  # ...but what was asked for on top is done
        assert "has that password already" in caplog.text
        assert user.password not in caplog.text
    finally:
        run(conn.close())


def test_a_disabled_account_stays_disabled(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    ldap_ou.admin.disable(user.dn)
    conn = connector(ldap_ou)
    try:
        account = run(conn.get_account(user.uuid))
        after = run(conn.set_password(account, Secret(strong_password()), PasswordOptions()))
        assert not after.enabled
        assert ldap_ou.admin.state(user.dn)["pwdAccountLockedTime"] == ["000001010000Z"]
    finally:
        run(conn.close())


def test_identity_without_the_right(ldap_ou: LdapOu) -> None:
    outside = ldap_ou.admin.new_ou("helpdesk", parent=ldap_ou.dn)
    helpdesk = ldap_ou.admin.create_user(outside)
    target_ou = ldap_ou.admin.new_ou("people", parent=ldap_ou.dn)
    target = ldap_ou.admin.create_user(target_ou)
    changes = {"bind_username": helpdesk.dn, "bind_password": Secret(helpdesk.password)}
    steps = steps_of(ldap_ou, base_dn=target_ou, **changes)
    assert steps["search"].outcome is StepOutcome.OK
    right = steps["password change right"]
    assert right.outcome is StepOutcome.FAILED
    assert "insufficientAccessRights" in right.detail
    conn = connector(ldap_ou, base_dn=target_ou, **changes)
    try:
        account = run(conn.get_account(target.uuid))
        with pytest.raises(DirectoryDenied, match="insufficientAccessRights"):
            run(conn.set_password(account, Secret(strong_password()), PasswordOptions()))
    finally:
        run(conn.close())
    assert ldap_ou.admin.bind_answer(target.dn, target.password)[0] == 0  # nothing changed


# --- a server without ppolicy -------------------------------------------------------------------
def test_plain_server(slapd_plain: SlapdFacts) -> None:
    world = LdapOu.create(slapd_plain)
    try:
        user = world.create_user()
        conn = LdapConnector(world.config())
        try:
            steps = {s.name: s for s in run(conn.test_connection())}
            assert steps["password policy"].outcome is StepOutcome.WARNING
            assert "no password policy" in steps["password policy"].detail
            assert steps["password change right"].outcome is StepOutcome.OK
            account = run(conn.get_account(user.uuid))
            assert Capability.PASSWORD_TIMESTAMP not in conn.capabilities
            assert account.password_stamp is None
            assert account.enabled
            assert not account.locked_out
            new = strong_password()
            after = run(conn.set_password(account, Secret(new), PasswordOptions()))
            assert run(conn.verify_password(after, Secret(new))).outcome is VerifyOutcome.OK
            wrong = run(conn.verify_password(after, Secret(user.password)))
            assert wrong.outcome is VerifyOutcome.WRONG_PASSWORD
            with pytest.raises(NotSupported, match="no password policy"):
                run(conn.set_password(after, Secret(new), PasswordOptions(must_change=True)))
        finally:
            run(conn.close())
    finally:
        world.close()


def test_an_empty_password_is_never_bound(ldap_ou: LdapOu) -> None:
    """A simple bind with a DN and no password is an unauthenticated one: never sent."""
    user = ldap_ou.create_user()
    conn = connector(ldap_ou)
    try:
        account = run(conn.get_account(user.uuid))
        result = run(conn.verify_password(account, Secret("")))
        assert result.outcome is VerifyOutcome.WRONG_PASSWORD
        assert not conn._client.wire.checks._idle  # no connection was even opened
    finally:
        run(conn.close())


# --- connections --------------------------------------------------------------------------------
def test_dropped_connection_is_reopened(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    conn = connector(ldap_ou)
    try:
        account = run(conn.get_account(user.uuid))
        run(conn.verify_password(account, Secret(user.password)))
        (first,) = conn._client.wire.checks._idle
        run(conn.verify_password(account, Secret(user.password)))
        assert conn._client.wire.checks._idle == [first]  # reused, across event loops too
        run(conn.set_password(account, Secret(strong_password()), PasswordOptions()))
        # The admin connection, and those the check and the change used (kept for the next).
        admin = conn._client._admin.conn
        assert admin is not None
        admin.socket.shutdown(socket.SHUT_RDWR)
        for pool in (conn._client.wire.checks, conn._client.wire.changes):
            (kept,) = pool._idle
            kept.sock.shutdown(socket.SHUT_RDWR)
        assert run(conn.get_account(user.uuid)).id == user.uuid
        new = strong_password()
        after = run(conn.set_password(account, Secret(new), PasswordOptions()))
        assert run(conn.verify_password(after, Secret(new))).outcome is VerifyOutcome.OK
    finally:
        run(conn.close())


def test_without_a_base_dn_the_servers_naming_context_is_used(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    conn = connector(ldap_ou, base_dn="")
    try:
        assert run(conn.get_account(user.uuid)).dn == user.dn
        assert repr(conn).endswith(f"base_dn='{ldap_ou.facts.base_dn}')")
        assert user.uuid in {a.id for a in run(collect(conn))}
    finally:
        run(conn.close())
