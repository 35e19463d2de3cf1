"""Groups (issue 16): fields, members (people and groups, no cycles), trash, search,
permissions and client access, and attributes whose source of truth is a directory."""

from __future__ import annotations

import uuid

import pytest

from credsync.errors import InvalidInput, NotFound, PermissionDenied
from credsync.types import Secret

from .flag_seed import add_ad_directory
from .helpers import Ctx


def _group(ctx: Ctx, name: str, **fields: object) -> str:
    return ctx.vault.groups.add(ctx.admin, ctx.name, {"name": name, **fields}).id


def _person(ctx: Ctx, username: str) -> str:
    return ctx.vault.people.add(ctx.admin, ctx.name, {"username": username}).id


def test_a_group_is_added_security_by_default(ctx: Ctx) -> None:
    shown = ctx.vault.groups.add(ctx.admin, ctx.name, {"name": "Sales"}).to_json()
    assert (shown["type"], shown["members"], shown["source"]) == ("security", 0, None)
    m365 = ctx.vault.groups.add(
        ctx.admin, ctx.name, {"name": "Team", "type": "microsoft365", "email": "team@contoso.com"}
    )
    assert m365.row.type == "microsoft365"
    assert ctx.audit("group.add", m365.id)


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("type", "distribution", "security or microsoft365"),
        ("email", "team@", "not an e-mail address"),
        ("name", "", "must not be empty"),
        ("name", "N" * 257, "too long"),
        ("description", "D" * 1025, "too long"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(
    ctx: Ctx, field: str, value: object, says: str
) -> None:
    with pytest.raises(InvalidInput, match=says) as err:
        ctx.vault.groups.add(ctx.admin, ctx.name, {"name": "G", field: value})
    assert err.value.field == field


def test_members_are_people_and_groups_of_the_same_client(ctx: Ctx) -> None:
    groups = ctx.vault.groups
    sales, nordic = _group(ctx, "Sales"), _group(ctx, "Nordic sales")
    anna = _person(ctx, "anna")
    groups.add_member(ctx.admin, sales, "anna")
    groups.add_member(ctx.admin, sales, "Nordic sales", kind="group")
    assert groups.get(ctx.admin, sales).to_json()["members"] == 2
    listed = groups.members(ctx.admin, sales)
    assert [(m["type"], m["id"]) for m in listed] == [("group", nordic), ("person", anna)]
    assert ctx.audit("group.member_add", sales)
    other = ctx.other_client()
    ctx.vault.people.add(ctx.admin, other.id, {"username": "outsider"})
    with pytest.raises(NotFound, match="no person"):
        groups.add_member(ctx.admin, sales, "outsider")
    groups.remove_member(ctx.admin, sales, "anna")
    with pytest.raises(NotFound, match="not a member"):
        groups.remove_member(ctx.admin, sales, "anna")
    assert ctx.audit("group.member_remove", sales)


def test_a_group_cannot_join_a_group_it_holds(ctx: Ctx) -> None:
    groups = ctx.vault.groups
    a, b, c = (_group(ctx, n) for n in ("A", "B", "C"))
    groups.add_member(ctx.admin, a, b, kind="group")
    groups.add_member(ctx.admin, b, c, kind="group")
    for parent, child in ((c, a), (b, a), (a, a), (c, b)):
        with pytest.raises(InvalidInput, match="cycle") as err:
            groups.add_member(ctx.admin, parent, child, kind="group")
        assert err.value.field == "member"
    groups.add_member(ctx.admin, a, c, kind="group")  # a second path down is no cycle


def test_trash_keeps_members_and_restore_brings_them_back(ctx: Ctx) -> None:
    groups = ctx.vault.groups
    team = _group(ctx, "Team")
    pid = _person(ctx, "bo")
    groups.add_member(ctx.admin, team, pid)
    groups.delete(ctx.admin, team)
    listed, _ = groups.list(ctx.admin, ctx.name)
    assert team not in [g.id for g in listed]
    assert groups.search(ctx.admin, "team", client_ref=ctx.name) == []
    ctx.vault.people.delete(ctx.admin, pid)
    restored = groups.restore(ctx.admin, team)
    assert restored.to_json()["members"] == 1
    [member] = groups.members(ctx.admin, team)
    assert member["in_trash"] is True
    with pytest.raises(InvalidInput, match="in the trash"):
        groups.add_member(ctx.admin, _group(ctx, "Other"), pid)
    ctx.vault.people.purge(ctx.admin, pid)
    assert groups.members(ctx.admin, team) == []
    groups.delete(ctx.admin, team)
    assert groups.purge(ctx.admin, team) == team
    assert ctx.audit("group.purge", team)


def test_names_may_repeat_and_then_the_id_is_asked_for(ctx: Ctx) -> None:
    first, second = _group(ctx, "Dup"), _group(ctx, "dup")
    with pytest.raises(InvalidInput, match="give the group's id") as err:
        ctx.vault.groups.get(ctx.admin, "Dup", client_ref=ctx.name)
    assert err.value.field == "group"
    assert ctx.vault.groups.get(ctx.admin, second).id == second != first


def test_search_and_pages(ctx: Ctx) -> None:
    for name in ("Finance EU", "Finance US", "Helpdesk"):
        _group(ctx, name)
    found = ctx.vault.groups.search(ctx.admin, "fin", client_ref=ctx.name)
    assert [g.row.name for g in found] == ["Finance EU", "Finance US"]
    page, cursor = ctx.vault.groups.list(ctx.admin, ctx.name, limit=2)
    rest, end = ctx.vault.groups.list(ctx.admin, ctx.name, limit=2, cursor=cursor)
    assert [g.row.name for g in page + rest] == ["Finance EU", "Finance US", "Helpdesk"]
    assert end is None


def test_a_viewer_reads_but_cannot_change(ctx: Ctx) -> None:
    viewer = ctx.as_role("viewer")
    gid = _group(ctx, "Viewers")
    _person(ctx, "carl")
    assert ctx.vault.groups.get(viewer, gid).id == gid
    assert ctx.vault.groups.members(viewer, gid) == []
    for change in (
        lambda: ctx.vault.groups.add(viewer, ctx.name, {"name": "x"}),
        lambda: ctx.vault.groups.update(viewer, gid, {"description": "x"}),
        lambda: ctx.vault.groups.add_member(viewer, gid, "carl"),
        lambda: ctx.vault.groups.remove_member(viewer, gid, "carl"),
        lambda: ctx.vault.groups.delete(viewer, gid),
    ):
        with pytest.raises(PermissionDenied):
            change()


def test_an_operator_without_the_client_sees_nothing(ctx: Ctx) -> None:
    gid = _group(ctx, "Hidden group")
    other = ctx.other_client()
    name = f"scoped-{uuid.uuid4().hex[:6]}"
    password = Secret(f"{name}-password-1234")
    ctx.vault.operators.add(ctx.admin, name, password, "technician", [other.id])
    tom = ctx.vault.access.login_password(name, password)
    for look in (
        lambda: ctx.vault.groups.get(tom, gid),
        lambda: ctx.vault.groups.get(tom, "Hidden group"),
        lambda: ctx.vault.groups.members(tom, gid),
        lambda: ctx.vault.groups.list(tom, ctx.name),
        lambda: ctx.vault.groups.delete(tom, gid),
    ):
        with pytest.raises(NotFound):
            look()
    assert ctx.vault.groups.search(tom, "hidden") == []


def test_directory_sourced_attributes_are_read_only(ctx: Ctx) -> None:
    directory, _ = add_ad_directory(ctx.world, ctx.name, f"ad-{uuid.uuid4().hex[:6]}")
    groups = ctx.vault.groups
    group, outcome = groups.upsert_from_directory(
        ctx.admin, directory, "g-obj", {"name": "Imported", "type": "security"}
    )
    assert outcome == "created"
    shown = group.to_json()
    assert shown["source"] is not None
    assert shown["source"]["attributes"] == ["name", "type"]
    assert [o["object_id"] for o in shown["objects"]] == ["g-obj"]
    with pytest.raises(InvalidInput, match="comes from directory") as err:
        groups.update(ctx.admin, group.id, {"name": "Renamed"})
    assert err.value.field == "name"
    groups.update(ctx.admin, group.id, {"description": "the vault's own"})
    _, again = groups.upsert_from_directory(ctx.admin, directory, "g-obj", {"name": "Imported"})
    assert again == "unchanged"
    renamed, outcome = groups.upsert_from_directory(
        ctx.admin, directory, "g-obj", {"name": "Renamed"}
    )
    assert (outcome, renamed.row.name) == ("updated", "Renamed")
