"""The Graph connector's ``deleted_objects`` capability against the simulator: live, disabled,
deleted (the name it had, without the id Entra prefixes; when) and gone users and groups, in
the order asked; restore with the old name, with a new one when the old is taken (refused
otherwise, naming ``new_username``), and of a group; restoring what is not deleted."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from credsync.connectors.base import Capability
from credsync.connectors.deleted_objects import DeletedObjects
from credsync.errors import AccountNotFound, InvalidInput

from .world import GraphWorld


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_states_of_users_and_groups(gw: GraphWorld) -> None:
    live = gw.create_user()
    off = gw.create_user()
    gw.disable(off)
    gone = gw.create_user()
    gw.tenant.hard_delete(gone.id)
    deleted = [gw.create_user() for _ in range(17)]  # more than one request's 15 ids
    for user in deleted:
        gw.delete(user)
    group = gw.tenant.create_group("Team Deleted", unified=True)
    gw.tenant.soft_delete_group(group)
    kept = gw.tenant.create_group("Team Kept")
    unknown = str(uuid.uuid4())
    conn = gw.connector()
    try:
        assert Capability.DELETED_OBJECTS in conn.capabilities
        assert isinstance(conn, DeletedObjects)
        asked = [live.id, off.id, gone.id, *(u.id for u in deleted), unknown, "not-an-id"]
        states = run(conn.object_states(asked, [group, kept, live.id]))
        assert [(s.kind, s.object_id) for s in states] == [
            *(("person", i) for i in asked),
            ("group", group),
            ("group", kept),
            ("group", live.id),  # a user's id is no group
        ]
        got = {(s.kind, s.object_id): s for s in states}
        assert got[("person", live.id)].state == "live"
        assert got[("person", live.id)].name == live.username
        assert got[("person", off.id)].state == "disabled"
        assert got[("person", gone.id)].state == "gone"
        assert got[("person", unknown)].state == "gone"
        assert got[("person", "not-an-id")].state == "gone"
        for user in deleted:
            status = got[("person", user.id)]
            assert status.state == "deleted"
            assert status.name == user.username  # the id prefix taken off
            assert status.restorable
            assert status.deleted_at is not None
        assert got[("group", group)].state == "deleted"
        assert got[("group", group)].name == "Team Deleted"
        assert got[("group", kept)].state == "live"
        assert got[("group", live.id)].state == "gone"
    finally:
        run(conn.close())


def test_restore_with_the_old_name_or_a_new_one(gw: GraphWorld) -> None:
    first = gw.create_user()
    gw.delete(first)
    second = gw.create_user()
    gw.delete(second)
    taker = gw.tenant.create_user(upn=second.username)
    group = gw.tenant.create_group("Restored Team", unified=True)
    gw.tenant.soft_delete_group(group)
    conn = gw.connector()
    try:
        back = run(conn.restore(first.id, "person"))
        assert (back.state, back.name) == ("live", first.username)
        with pytest.raises(InvalidInput) as taken:
            run(conn.restore(second.id, "person"))
        assert taken.value.field == "new_username"
        assert "userPrincipalName" in str(taken.value)
        new = "again." + second.username
        back = run(conn.restore(second.id, "person", new_username=new))
        assert (back.state, back.name) == ("live", new)
        assert gw.tenant.get_user(taker.id)["userPrincipalName"] == second.username
        assert run(conn.restore(group, "group")).state == "live"
        with pytest.raises(AccountNotFound):
            run(conn.restore(first.id, "person"))  # live again: not among the deleted
        with pytest.raises(AccountNotFound):
            run(conn.restore("not-an-id", "person"))
    finally:
        run(conn.close())


def test_few_missing_ids_are_read_one_by_one_many_by_the_listing(gw: GraphWorld) -> None:
    """Up to 10 ids not live: a GET each; more: the deleted items listed (one request per
    999), with the same answers either way."""
    users = [gw.create_user() for _ in range(14)]
    for user in users:
        gw.delete(user)
    other = gw.create_user()
    gw.delete(other)  # deleted, but not asked about
    conn = gw.connector()
    try:
        # the live read (one $filter of up to 15 ids), then a GET each / the one listing page
        for asked, reads in ((users[:3], 1 + 3), (users, 1 + 1)):
            gw.tenant.reset_stats()
            states = run(conn.object_states([u.id for u in asked], []))
            assert [(s.object_id, s.state, s.name) for s in states] == [
                (u.id, "deleted", u.username) for u in asked
            ]
            assert gw.tenant.stats["reads"] == reads
    finally:
        run(conn.close())
