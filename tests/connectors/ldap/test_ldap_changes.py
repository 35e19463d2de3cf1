"""Incremental reads against real slapd servers: content synchronisation (syncprov) with its
deletions, moves and present phases, and modifyTimestamp on a server without syncprov, with
its boundary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from credsync.connectors.base import ChangeSet
from credsync.connectors.ldap import LdapConnector
from credsync.testing.conformance import run, strong_password
from credsync.testing.slapd import LdapOu, SlapdAdmin, SlapdFacts, SlapdServer
from credsync.types import Secret

pytestmark = pytest.mark.slapd


@pytest.fixture
def conn(ldap_ou: LdapOu) -> Iterator[LdapConnector]:
    connector = LdapConnector(ldap_ou.config())
    try:
        yield connector
    finally:
        run(connector.close())


def ids(changes: ChangeSet) -> set[str]:
    return {a.id for a in changes.changed}


# --- content synchronisation --------------------------------------------------------------------
def test_sync_reports_changes_deletions_and_leaving(ldap_ou: LdapOu, conn: LdapConnector) -> None:
    quiet, changing, leaving, moving, renaming = (ldap_ou.create_user() for _ in range(5))
    outside = ldap_ou.admin.new_ou("outside")
    try:
        first = run(conn.changes_since(None))
        assert first.full
        assert first.cursor.startswith("ldap1:")
        nothing = run(conn.changes_since(first.cursor))
        assert not nothing.full
        assert nothing.changed == ()
        assert nothing.removed == ()

        ldap_ou.admin.reset_password(changing.dn, strong_password())
        ldap_ou.admin.delete(leaving.dn)
        ldap_ou.admin.move(moving.dn, outside)
        renamed = ldap_ou.admin.rename(renaming.dn, "uid=renamed-" + renaming.name)
        added = ldap_ou.create_user()
        later = run(conn.changes_since(nothing.cursor))
        assert not later.full
        assert ids(later) == {changing.uuid, renaming.uuid, added.uuid}
        assert {a.dn for a in later.changed if a.id == renaming.uuid} == {renamed}
        assert set(later.removed) == {leaving.uuid, moving.uuid}
        assert quiet.uuid not in ids(later) | set(later.removed)

        again = run(conn.changes_since(later.cursor))
        assert (again.changed, again.removed, again.full) == ((), (), False)
    finally:
        ldap_ou.admin.delete_tree(outside)


def test_sync_sees_an_account_leave_the_filter(ldap_ou: LdapOu) -> None:
    kept = ldap_ou.create_user(extra={"departmentNumber": "42"})
    leaving = ldap_ou.create_user(extra={"departmentNumber": "42"})
    options = {"user_filter": "(&(objectClass=inetOrgPerson)(departmentNumber=42))"}
    conn = LdapConnector(ldap_ou.config(options=options))
    try:
        first = run(conn.changes_since(None))
        assert ids(first) == {kept.uuid, leaving.uuid}
        ldap_ou.admin.set(leaving.dn, departmentNumber="7")
        later = run(conn.changes_since(first.cursor))
        assert later.removed == (leaving.uuid,)
        assert ids(later) == set()
    finally:
        run(conn.close())


def test_cursor_of_another_scope_or_filter_reads_everything(ldap_ou: LdapOu) -> None:
    ldap_ou.create_user()
    conn = LdapConnector(ldap_ou.config())
    others = [
        LdapConnector(ldap_ou.config(base_dn=ldap_ou.facts.base_dn)),
        LdapConnector(ldap_ou.config(options={"user_filter": "(objectClass=person)"})),
    ]
    try:
        cursor = run(conn.changes_since(None)).cursor
        for other in others:
            assert run(other.changes_since(cursor)).full
        assert not run(conn.changes_since(cursor)).full
        assert run(conn.changes_since("not-a-cursor")).full
        assert run(conn.changes_since("ldap1:!!!")).full
    finally:
        for c in (conn, *others):
            run(c.close())


def test_a_present_phase_becomes_a_full_read() -> None:
    # A server of its own: a restart empties syncprov's session log, so the next refresh from
    # an older cookie is a present phase, where deletions can't be told without a full list.
    # The connector lives on across the restart: its connections come back by themselves.
    server = SlapdServer()
    facts = server.start()
    try:
        world = LdapOu.create(facts)
        kept, leaving = world.create_user(), world.create_user()
        conn = LdapConnector(world.config())
        try:
            first = run(conn.changes_since(None))
            account = run(conn.get_account(kept.uuid))
            assert run(conn.verify_password(account, Secret(kept.password))).outcome.value == "ok"
            world.admin.delete(leaving.dn)
            world.admin.close()
            facts = server.restart()
            world = LdapOu(world.dn, SlapdAdmin(facts), facts)
            world.create_user()  # something changed since the cookie
            later = run(conn.changes_since(first.cursor))
            assert later.full
            assert kept.uuid in ids(later)
            assert leaving.uuid not in ids(later)
            assert not run(conn.changes_since(later.cursor)).full
            assert run(conn.verify_password(account, Secret(kept.password))).outcome.value == "ok"
        finally:
            run(conn.close())
            world.close()
    finally:
        server.stop()


# --- modifyTimestamp ----------------------------------------------------------------------------
@pytest.fixture
def plain_ou(slapd_plain: SlapdFacts) -> Iterator[LdapOu]:
    world = LdapOu.create(slapd_plain)
    try:
        yield world
    finally:
        world.close()


def test_timestamps_without_syncprov(plain_ou: LdapOu) -> None:
    quiet, changing, leaving = (plain_ou.create_user() for _ in range(3))
    conn = LdapConnector(plain_ou.config())
    try:
        first = run(conn.changes_since(None))
        assert first.full
        assert ids(first) == {quiet.uuid, changing.uuid, leaving.uuid}
        # Within the same second as the first read: reported once, not lost, not repeated.
        nothing = run(conn.changes_since(first.cursor))
        assert (nothing.changed, nothing.full) == ((), False)
        plain_ou.admin.reset_password(changing.dn, strong_password())
        added = plain_ou.create_user()
        second = run(conn.changes_since(nothing.cursor))
        assert ids(second) == {changing.uuid, added.uuid}
        plain_ou.admin.reset_password(changing.dn, strong_password())  # again, same second
        third = run(conn.changes_since(second.cursor))
        assert ids(third) == {changing.uuid}
        assert run(conn.changes_since(third.cursor)).changed == ()
        # Deletions are not visible to a search by modifyTimestamp: the next full pass
        # (the engine's) replaces the account list.
        plain_ou.admin.delete(leaving.dn)
        fourth = run(conn.changes_since(third.cursor))
        assert (fourth.changed, fourth.removed, fourth.full) == ((), (), False)
        full = run(conn.changes_since(None))
        assert ids(full) == {quiet.uuid, changing.uuid, added.uuid}
    finally:
        run(conn.close())


def test_a_cursor_of_the_other_mode_reads_everything(ldap_ou: LdapOu, plain_ou: LdapOu) -> None:
    plain_ou.create_user()
    ldap_ou.create_user()
    plain = LdapConnector(plain_ou.config(base_dn=plain_ou.dn))
    synced = LdapConnector(ldap_ou.config())
    try:
        timestamp_cursor = run(plain.changes_since(None)).cursor
        sync_cursor = run(synced.changes_since(None)).cursor
        assert run(plain.changes_since(sync_cursor)).full
        assert run(synced.changes_since(timestamp_cursor)).full
    finally:
        run(plain.close())
        run(synced.close())
