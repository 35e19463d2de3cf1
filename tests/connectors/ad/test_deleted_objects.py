"""The AD connector's ``deleted_objects`` capability against the real Samba DC: live,
disabled, deleted (tombstones, seen with the Show Deleted control) and gone users and groups;
restore by tombstone reanimation to the old place (disabled: a tombstone has no password),
under a new name when the old one is taken there (refused otherwise, naming
``new_username``), and of a group."""

from __future__ import annotations

import uuid

import pytest

from credsync.connectors.ad import ActiveDirectoryConnector
from credsync.connectors.base import Capability
from credsync.connectors.deleted_objects import DeletedObjects
from credsync.errors import AccountNotFound, InvalidInput
from credsync.testing.conformance import run
from credsync.testing.samba import OuWorld

pytestmark = pytest.mark.samba


def test_states_of_users_and_groups(ad_ou: OuWorld) -> None:
    live = ad_ou.create_user()
    off = ad_ou.create_user(enabled=False)
    deleted = ad_ou.create_user()
    ad_ou.admin.delete(deleted.dn)
    group_dn = ad_ou.admin.create_group(ad_ou.dn)
    group = ad_ou.admin.guid(group_dn)
    gone_group_dn = ad_ou.admin.create_group(ad_ou.dn)
    gone_group = ad_ou.admin.guid(gone_group_dn)
    ad_ou.admin.delete(gone_group_dn)
    unknown = str(uuid.uuid4())
    conn = ActiveDirectoryConnector(ad_ou.config())
    try:
        assert Capability.DELETED_OBJECTS in conn.capabilities
        assert isinstance(conn, DeletedObjects)
        states = run(
            conn.object_states(
                [live.guid, off.guid, deleted.guid, unknown, "nonsense", group],
                [group, gone_group, live.guid],
            )
        )
        got = [(s.kind, s.object_id, s.state) for s in states]
        assert got == [
            ("person", live.guid, "live"),
            ("person", off.guid, "disabled"),
            ("person", deleted.guid, "deleted"),
            ("person", unknown, "gone"),
            ("person", "nonsense", "gone"),
            ("person", group, "gone"),  # a group's id is no user
            ("group", group, "live"),
            ("group", gone_group, "deleted"),
            ("group", live.guid, "gone"),
        ]
        assert states[0].name == live.upn
        assert states[2].name == deleted.name  # the tombstone kept its sAMAccountName
        assert states[2].deleted_at is not None
        assert states[2].restorable
    finally:
        run(conn.close())


def test_restore_reanimates_the_tombstone_disabled(ad_ou: OuWorld) -> None:
    user = ad_ou.create_user()
    ad_ou.admin.delete(user.dn)
    conn = ActiveDirectoryConnector(ad_ou.config())
    try:
        back = run(conn.restore(user.guid, "person"))
        assert (back.state, back.name) == ("disabled", user.name)
        assert ad_ou.admin.guid(user.dn) == user.guid  # the same object, in its old place
        with pytest.raises(AccountNotFound):
            run(conn.restore(user.guid, "person"))  # not deleted any more
    finally:
        run(conn.close())


def test_restore_under_a_new_name_when_the_old_is_taken(ad_ou: OuWorld) -> None:
    user = ad_ou.create_user()
    ad_ou.admin.delete(user.dn)
    ad_ou.admin.conn.add(user.dn, ["user"], {"sAMAccountName": user.name + "x"})
    conn = ActiveDirectoryConnector(ad_ou.config())
    try:
        with pytest.raises(InvalidInput) as taken:
            run(conn.restore(user.guid, "person"))
        assert taken.value.field == "new_username"
        assert run(conn.object_states([user.guid], []))[0].state == "deleted"  # unchanged
        new = f"r{uuid.uuid4().hex[:10]}"
        upn = f"{new}@{ad_ou.facts.realm.lower()}"
        back = run(conn.restore(user.guid, "person", new_username=upn))
        assert (back.state, back.name) == ("disabled", upn)
        assert ad_ou.admin.guid(f"CN={new},{ad_ou.dn}") == user.guid
    finally:
        run(conn.close())


def test_restore_a_group(ad_ou: OuWorld) -> None:
    group_dn = ad_ou.admin.create_group(ad_ou.dn)
    group = ad_ou.admin.guid(group_dn)
    ad_ou.admin.delete(group_dn)
    conn = ActiveDirectoryConnector(ad_ou.config())
    try:
        assert run(conn.restore(group, "group")).state == "live"
        assert ad_ou.admin.guid(group_dn) == group
    finally:
        run(conn.close())
