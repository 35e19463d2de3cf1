"""What only Active Directory does, against the real Samba DC: TLS names, bind name forms, AD's
bind sub-codes, stale DNs, rights, scope, paging, reconnects; and the cases every ldap3
connector passes (StartTLS, concurrent calls: ``tests/connectors/ldap3_cases.py``)."""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from typing import Any

import pytest
from ldap3 import MODIFY_REPLACE
from ldap3.utils.conv import escape_filter_chars

from credsync.connectors._ldap3 import ADMIN_CONNECTIONS
from credsync.connectors.ad import ActiveDirectoryConnector
from credsync.connectors.ad import connector as ad_connector
from credsync.connectors.base import PasswordOptions, StepOutcome, TestStep, VerifyOutcome
from credsync.errors import (
    AccountNotFound,
    DirectoryAuthFailed,
    DirectoryDenied,
    PermanentConnectorError,
)
from credsync.testing.conformance import run, strong_password
from credsync.testing.fault_proxy import FaultProxy
from credsync.testing.samba import OuWorld
from credsync.types import Secret

from ..ldap3_cases import Ldap3Cases, all_ok, named_steps
from ..ldap3_world import PUBLIC_CAS
from .world import AdWorld

pytestmark = pytest.mark.samba


class TestLdap3Cases(Ldap3Cases):
    @pytest.fixture
    def world(self, ad_ou: OuWorld) -> AdWorld:
        return AdWorld(ad_ou)


def connector(ad_ou: OuWorld, **changes: Any) -> ActiveDirectoryConnector:
    return ActiveDirectoryConnector(ad_ou.config(**changes))


def steps_of(ad_ou: OuWorld, **changes: Any) -> dict[str, TestStep]:
    return named_steps(connector(ad_ou, **changes))


@pytest.mark.parametrize("form", ["admin_dn", "admin_upn", "admin_netbios"])
def test_bind_name_forms(ad_ou: OuWorld, form: str) -> None:
    steps = steps_of(ad_ou, bind_username=getattr(ad_ou.facts, form))
    assert all_ok(steps), steps


def test_certificate_name_is_checked(ad_ou: OuWorld) -> None:
    # 127.0.0.1 is not the certificate's name; tls_server_name says which name to accept.
    steps = steps_of(ad_ou, tls_server_name=None)
    assert steps["tls"].outcome is StepOutcome.FAILED
    assert "mismatch" in steps["tls"].detail
    assert "CN=DC1.example.test" in steps["tls"].detail
    assert steps["bind"].outcome is StepOutcome.SKIPPED
    steps = steps_of(ad_ou, tls_server_name="dc2.example.test")
    assert steps["tls"].outcome is StepOutcome.FAILED
    ok = steps_of(ad_ou, tls_server_name="DC1.example.test")
    assert ok["tls"].outcome is StepOutcome.OK
    assert "DC1.example.test" in ok["tls"].detail


def test_unknown_ca_is_named(ad_ou: OuWorld) -> None:
    for url in (ad_ou.facts.ldaps_url, ad_ou.facts.ldap_url):
        steps = steps_of(ad_ou, url=url, ca_file=PUBLIC_CAS)
        assert steps["tls"].outcome is StepOutcome.FAILED
        assert "unable to get local issuer certificate" in steps["tls"].detail
        assert "CN=DC1.example.test" in steps["tls"].detail


def test_insecure_skip_verify_is_a_warning(ad_ou: OuWorld) -> None:
    steps = steps_of(ad_ou, ca_file=PUBLIC_CAS, tls_server_name=None, insecure_skip_verify=True)
    assert steps["tls"].outcome is StepOutcome.WARNING
    assert steps["bind"].outcome is StepOutcome.OK


def test_wrong_bind_password_says_ads_words(ad_ou: OuWorld) -> None:
    secret = "Not-The-Password-123"
    steps = steps_of(ad_ou, bind_password=Secret(secret))
    assert steps["bind"].outcome is StepOutcome.FAILED
    assert "data 52e" in steps["bind"].detail
    conn = connector(ad_ou, bind_password=Secret(secret))
    try:
        with pytest.raises(DirectoryAuthFailed, match="data 52e") as caught:
            run(conn.get_account(ad_ou.create_user().guid))
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value.__cause__)
        assert secret not in repr(conn)
    finally:
        run(conn.close())


@pytest.mark.parametrize(
    ("break_it", "outcome", "code"),
    [
        ("disable", VerifyOutcome.ACCOUNT_DISABLED, "data 533"),
        ("expire_account", VerifyOutcome.ACCOUNT_DISABLED, "data 701"),
        ("expire_password", VerifyOutcome.PASSWORD_EXPIRED, "data 773"),
        ("lock_out", VerifyOutcome.LOCKED_OUT, "data 775"),
    ],
)
def test_bind_sub_codes(ad_ou: OuWorld, break_it: str, outcome: VerifyOutcome, code: str) -> None:
    user = ad_ou.create_user()
    getattr(ad_ou.admin, break_it)(user.dn)
    conn = connector(ad_ou)
    try:
        account = run(conn.get_account(user.guid))
        result = run(conn.verify_password(account, Secret(user.password)))
        assert result.outcome is outcome
        assert code in result.detail
        # AD checks the password first: a wrong one is "wrong" whatever else is true
        # (except locked out, which AD reports either way).
        wrong = run(conn.verify_password(account, Secret("Wrong-pw-1")))
        expected = outcome if break_it == "lock_out" else VerifyOutcome.WRONG_PASSWORD
        assert wrong.outcome is expected
    finally:
        run(conn.close())


def test_an_empty_password_is_never_bound(ad_ou: OuWorld) -> None:
    """A simple bind with a DN and no password is an unauthenticated bind, which a DC may
    answer with success: it is never sent, and the check is an error, not a match."""
    user = ad_ou.create_user()
    conn = connector(ad_ou)
    try:
        account = run(conn.get_account(user.guid))
        with pytest.raises(PermanentConnectorError, match="never bound"):
            run(conn.verify_password(account, Secret("")))
        assert not conn._client.wire.checks._idle  # no connection was even opened
    finally:
        run(conn.close())


def test_stale_dn_is_followed(ad_ou: OuWorld) -> None:
    user = ad_ou.create_user()
    other = ad_ou.admin.conn  # a sub-OU inside the test's OU, so the account stays in scope
    sub = f"OU=moved,{ad_ou.dn}"
    other.add(sub, ["organizationalUnit"])
    conn = connector(ad_ou)
    try:
        stale = run(conn.get_account(user.guid))
        ad_ou.admin.move(user.dn, sub)
        assert run(conn.verify_password(stale, Secret(user.password))).outcome is VerifyOutcome.OK
        new = strong_password()
        after = run(conn.set_password(stale, Secret(new), PasswordOptions()))
        assert after.dn is not None
        assert after.dn.lower().endswith(sub.lower())
        assert run(conn.verify_password(stale, Secret(new))).outcome is VerifyOutcome.OK
    finally:
        run(conn.close())


def test_the_account_a_push_returns_is_the_account_as_read_after_it(ad_ou: OuWorld) -> None:
    """set_password reads back only what a reset changes (``_mapping.after_reset``): what it
    returns is what a whole read of the account says right after, field for field (the
    password stamp the push's check records above all), and with must-change too."""
    user = ad_ou.create_user()
    conn = connector(ad_ou)
    try:
        for options in (PasswordOptions(), PasswordOptions(must_change=True), PasswordOptions()):
            account = run(conn.get_account(user.guid))
            after = run(conn.set_password(account, Secret(strong_password()), options))
            assert after.password_stamp != account.password_stamp
            assert after == run(conn.get_account(user.guid))
    finally:
        run(conn.close())


def test_never_expires_sets_the_flag(ad_ou: OuWorld) -> None:
    user = ad_ou.create_user()
    conn = connector(ad_ou)
    try:
        account = run(conn.get_account(user.guid))
        run(conn.set_password(account, Secret(strong_password()), PasswordOptions()))
        assert not ad_ou.admin.account_state(user.dn)["userAccountControl"] & 0x10000
        opts = PasswordOptions(never_expires=True)
        run(conn.set_password(account, Secret(strong_password()), opts))
        assert ad_ou.admin.account_state(user.dn)["userAccountControl"] & 0x10000
        run(conn.set_password(account, Secret(strong_password()), PasswordOptions()))
        assert ad_ou.admin.account_state(user.dn)["userAccountControl"] & 0x10000  # kept
    finally:
        run(conn.close())


def test_plain_user_lacks_rights(ad_ou: OuWorld) -> None:
    helpdesk = ad_ou.create_user()
    target = ad_ou.create_user()
    steps = steps_of(ad_ou, bind_username=helpdesk.upn, bind_password=Secret(helpdesk.password))
    assert steps["search"].outcome is StepOutcome.OK
    assert steps["reset password right"].outcome in (StepOutcome.WARNING, StepOutcome.FAILED)
    conn = connector(ad_ou, bind_username=helpdesk.upn, bind_password=Secret(helpdesk.password))
    try:
        account = run(conn.get_account(target.guid))
        with pytest.raises(DirectoryDenied):
            run(conn.set_password(account, Secret(strong_password()), PasswordOptions()))
        # No DirSync right either: every read is a full one, and says so.
        first = run(conn.changes_since(None))
        assert first.full
        assert target.guid in {a.id for a in first.changed}
    finally:
        run(conn.close())


def test_admin_may_reset(ad_ou: OuWorld) -> None:
    steps = steps_of(ad_ou)
    step = steps["reset password right"]
    assert step.outcome is StepOutcome.OK, step
    assert re.search(r"granted to (Domain|Enterprise) Admins S-1-5-21-", step.detail)


def test_scope_domain_computers_and_paging(ad_ou: OuWorld) -> None:
    users = {ad_ou.create_user().guid for _ in range(5)}
    ad_ou.admin.conn.add(
        f"CN=pc1,{ad_ou.dn}", ["computer"], {"sAMAccountName": "pc1$", "userAccountControl": "4096"}
    )
    conn = connector(ad_ou, options={"page_size": "2"})

    async def collect() -> list[Any]:
        return [a async for a in conn.iter_accounts()]

    try:
        accounts = run(collect())
        assert {a.id for a in accounts} == users
        assert all(a.domain == "EXAMPLE" for a in accounts)
        assert all(not a.protected for a in accounts)
    finally:
        run(conn.close())
    admin_scope = connector(ad_ou, base_dn=f"CN=Users,{ad_ou.facts.base_dn}")
    try:
        by_name = {a.username: a for a in run(_collect(admin_scope))}
        assert by_name["Administrator"].protected
        assert "example\\administrator" in by_name["Administrator"].names()
    finally:
        run(admin_scope.close())


async def _collect(conn: ActiveDirectoryConnector) -> list[Any]:
    return [a async for a in conn.iter_accounts()]


def test_moved_out_of_scope_is_removed(ad_ou: OuWorld) -> None:
    user = ad_ou.create_user()
    outside = ad_ou.admin.new_ou("out")
    conn = connector(ad_ou)
    try:
        first = run(conn.changes_since(None))
        ad_ou.admin.move(user.dn, outside)
        later = run(conn.changes_since(first.cursor))
        assert user.guid in later.removed
        with pytest.raises(AccountNotFound):
            run(conn.get_account(user.guid))
    finally:
        run(conn.close())
        ad_ou.admin.delete_tree(outside)


def test_cursor_of_another_scope_reads_everything(ad_ou: OuWorld) -> None:
    conn = connector(ad_ou)
    other = connector(ad_ou, base_dn=f"CN=Users,{ad_ou.facts.base_dn}")
    try:
        cursor = run(conn.changes_since(None)).cursor
        assert run(other.changes_since(cursor)).full
        assert not run(conn.changes_since(cursor)).full
    finally:
        run(conn.close())
        run(other.close())


def test_dropped_connection_is_reopened(ad_ou: OuWorld) -> None:
    user = ad_ou.create_user()
    conn = connector(ad_ou)
    try:
        account = run(conn.get_account(user.guid))
        run(conn.verify_password(account, Secret(user.password)))
        (first,) = conn._client.wire.checks._idle
        run(conn.verify_password(account, Secret(user.password)))
        assert conn._client.wire.checks._idle == [first]  # reused, across event loops too
        # The admin connection and the check's (kept for the next check) dropped.
        admin = conn._client._admin.conn
        assert admin is not None
        admin.socket.shutdown(socket.SHUT_RDWR)
        first.sock.shutdown(socket.SHUT_RDWR)
        assert run(conn.get_account(user.guid)).id == user.guid
        assert run(conn.verify_password(account, Secret(user.password))).outcome is VerifyOutcome.OK
    finally:
        run(conn.close())


def test_a_search_s_entries_are_not_kept_on_its_connection(ad_ou: OuWorld) -> None:
    """ldap3 keeps the last search's every entry (raw and decoded) on the connection until its
    next operation: dropped once the call took what it needs (issue 20: the agent's memory
    grew with the accounts of all its directories)."""
    users = [ad_ou.create_user() for _ in range(3)]
    conn = connector(ad_ou)
    admins = conn._client._admins
    try:
        assert {u.guid for u in users} <= {a.id for a in run(_collect(conn))}  # paged
        assert run(conn.get_account(users[0].guid)).id == users[0].guid  # a one-shot search
        opened = [link.conn for link in admins if link.conn is not None]
        assert opened
        assert all(c.response is None for c in opened)
    finally:
        run(conn.close())


def test_bind_names_holding_filter_characters_are_found(ad_ou: OuWorld) -> None:
    """The bind name is looked up (to check its rights) as a filter value: ``*``, ``(`` and
    ``)`` in it are characters, not a wildcard or a filter's brackets."""
    tag = uuid.uuid4().hex[:8]
    realm = ad_ou.facts.realm.lower()
    user = ad_ou.create_user(name=f"p(1){tag}")  # a sAMAccountName may hold parentheses
    starred = f"st*r(1){tag}@{realm}"
    ad_ou.admin.conn.modify(user.dn, {"userPrincipalName": [(MODIFY_REPLACE, [starred])]})
    # What "st*r(1)..." would also match if the star were a wildcard.
    decoy = ad_ou.create_user()
    decoy_upn = f"st-a-r(1){tag}@{realm}"
    ad_ou.admin.conn.modify(decoy.dn, {"userPrincipalName": [(MODIFY_REPLACE, [decoy_upn])]})
    bracketed = starred.replace("(", "\\28").replace(")", "\\29")  # the star left as it is
    wildcard = f"(userPrincipalName={bracketed})"
    assert ad_ou.admin.conn.search(ad_ou.dn, wildcard, attributes=["1.1"])
    assert len(ad_ou.admin.conn.entries) == 2  # the decoy is there to be found by mistake
    netbios = f"{ad_ou.facts.netbios_domain}\\{user.name}"
    for name in (starred, netbios):
        steps = steps_of(ad_ou, bind_username=name, bind_password=Secret(user.password))
        assert steps["bind"].outcome is StepOutcome.OK, (name, steps)
        found = steps["reset password right"]
        assert "could not find the bind identity" not in found.detail, (name, found)


def test_filter_values_with_a_backslash_or_nul_are_escaped(ad_ou: OuWorld) -> None:
    """ldap3's escape (the connector's) on the real DC: a backslash and a NUL are matched as
    characters (a bind name can't hold them: the connector never builds such a filter from a
    bind, but the escape is the same)."""
    user = ad_ou.create_user()
    odd = f"b\\s(l)*{uuid.uuid4().hex[:8]}@{ad_ou.facts.realm.lower()}"
    ad_ou.admin.conn.modify(user.dn, {"userPrincipalName": [(MODIFY_REPLACE, [odd])]})
    conn = ad_ou.admin.conn
    assert conn.search(
        ad_ou.dn, f"(userPrincipalName={escape_filter_chars(odd)})", attributes=["1.1"]
    )
    assert [e.entry_dn for e in conn.entries] == [user.dn]
    with_nul = escape_filter_chars(f"b\\s(l)*{chr(0)}x")
    assert with_nul == "b\\5cs\\28l\\29\\2a\\00x"
    assert not conn.search(ad_ou.dn, f"(userPrincipalName={with_nul})", attributes=["1.1"])
    assert conn.result["description"] == "success"  # nothing found, and no malformed filter


def test_overlapping_pushes_take_more_admin_connections(ad_ou: OuWorld) -> None:
    """Through a link with latency (a proxy in front of the DC), reads one after another keep
    to one admin connection; pushes made at once (as a run's 4 in flight) open more, up to
    4, rather than wait behind each other on one; each push takes."""
    world = AdWorld(ad_ou)
    users = [world.create_user() for _ in range(8)]
    proxy = FaultProxy(("127.0.0.1", 636))
    proxy.latency = 0.02
    conn = connector(ad_ou, url=f"ldaps://127.0.0.1:{proxy.port}")
    passwords = [strong_password() for _ in users]

    async def pushes() -> tuple[int, int, list[VerifyOutcome]]:
        accounts = [await conn.get_account(u.id) for u in users]
        one_after_another = proxy.accepted
        done = await asyncio.gather(
            *(
                conn.set_password(a, Secret(p), PasswordOptions())
                for a, p in zip(accounts, passwords, strict=True)
            )
        )
        at_once = proxy.accepted
        checks = [
            (await conn.verify_password(a, Secret(p))).outcome
            for a, p in zip(done, passwords, strict=True)
        ]
        return one_after_another, at_once, checks

    try:
        one_after_another, at_once, checks = run(pushes())
        assert one_after_another == 1
        assert 1 < at_once <= ADMIN_CONNECTIONS
        assert checks == [VerifyOutcome.OK] * len(users)
    finally:
        run(conn.close())
        proxy.close()


def test_changed_accounts_are_read_back_several_searches_at_once(
    ad_ou: OuWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The accounts DirSync names are read back by objectGUID a batch to a search, the
    batches side by side on the pool's admin connections: every changed account comes back
    with its new state, and through a link with latency more than one connection opened."""
    monkeypatch.setattr(ad_connector, "_GUID_BATCH", 2)
    world = AdWorld(ad_ou)
    users = [world.create_user() for _ in range(7)]  # 4 searches of 2 (the last of 1)
    proxy = FaultProxy(("127.0.0.1", 636))
    proxy.latency = 0.02
    conn = connector(ad_ou, url=f"ldaps://127.0.0.1:{proxy.port}")
    try:
        cursor = run(conn.changes_since(None)).cursor
        for user in users:
            world.reset_password(user, strong_password())
        later = run(conn.changes_since(cursor))
        assert not later.full
        assert {a.id for a in later.changed} == {u.id for u in users}
        fresh = {a.id: a for a in run(_collect(conn))}
        assert {a.id: a.password_stamp for a in later.changed} == {
            u.id: fresh[u.id].password_stamp for u in users
        }
        assert 1 < proxy.accepted <= ADMIN_CONNECTIONS
    finally:
        run(conn.close())
        proxy.close()


def test_a_paged_read_stopped_early_leaves_the_connector_usable(ad_ou: OuWorld) -> None:
    """The next page is asked for before the caller took the last apart: a caller that stops
    early does not leave that request in the way of the next read."""
    users = {ad_ou.create_user().guid for _ in range(5)}
    conn = connector(ad_ou, options={"page_size": "2"})

    async def first_then_all() -> tuple[str, set[str]]:
        pages = conn.iter_accounts()
        first = await anext(pages)
        await pages.aclose()
        return first.id, {a.id async for a in conn.iter_accounts()}

    try:
        first, every = run(first_then_all())
        assert first in users
        assert every == users
    finally:
        run(conn.close())
