"""The import of people and groups in batches (sync/_people_import_batches.py,
vault/identity_import.py): small batches so that a small tenant spans several, mixed with the
cases the batch path hands to the one-at-a-time path (a change, a username someone keeps by
hand, a distribution list, a member removed, a nested group), on SQLite and PostgreSQL; the
same rows, report lines and audit entries; and who may."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from credsync.errors import InvalidInput, NotFound, PermissionDenied
from credsync.sync import _people_import_batches as batches
from credsync.sync.people_import import PeopleImport, Selection
from credsync.sync.people_import_report import ImportReport
from credsync.vault.identity_import import IdentityImport

from .entra import EntraWorld


def sync(ew: EntraWorld, actor: Any = None, **selection: Any) -> ImportReport:
    importer = PeopleImport(ew.vault, ew.keys, actor or ew.admin)
    return asyncio.run(importer.sync(ew.client, ew.directory, Selection(**selection)))


def user(ew: EntraWorld, alias: str, display: str, **props: Any) -> str:
    made = ew.tenant.create_user(upn=f"{alias}@{ew.tenant.domain}", display_name=display)
    if props:
        ew.tenant.update_user(made.id, **props)
    return str(made.id)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches, "BATCH", 3)
    monkeypatch.setattr(batches, "MEMBER_BATCH", 2)
    monkeypatch.setattr(batches, "MEMBER_READS", 2)


def _members(ew: EntraWorld, group_id: str) -> list[str]:
    return sorted(m["name"] for m in ew.vault.groups.members(ew.admin, group_id))


def _audit(ew: EntraWorld, action: str) -> list[Any]:
    return [e for e in ew.vault.audit.list(ew.admin, limit=1000) if e.action == action]


@pytest.mark.usefixtures("small_batches")
def test_a_tenant_in_many_batches_creates_links_refuses_and_sets_members(
    ew_both: EntraWorld,
) -> None:
    ew = ew_both
    names = ["ada", "bob", "cyd", "dan", "eve", "fay", "gus"]
    ids = {n: user(ew, n, f"{n.title()} Tester", department="Research") for n in names}
    ids["inner"] = ew.tenant.create_group("Inner Circle", members=[ids["cyd"], ids["dan"]])
    ids["outer"] = ew.tenant.create_group("Outer Ring", members=[ids["ada"], ids["bob"]])
    ew.tenant.add_member(ids["outer"], ids["inner"])
    ids["all"] = ew.tenant.create_group("Everyone", members=[ids[n] for n in names])
    dl = ew.tenant.create_group("Newsletter")
    ew.tenant.store.groups.live[dl].update(mailEnabled=True, securityEnabled=False)
    # a hand-kept person holds eve's username: refused, not taken over
    ew.vault.people.add(ew.admin, ew.client, {"username": f"eve@{ew.tenant.domain}"})

    first = sync(ew, query="", groups=True)
    lines = {o.object_id: o for o in first.objects}
    assert [o.kind for o in first.objects] == ["person"] * 7 + ["group"] * 4
    assert first.totals == {"created": 9, "updated": 0, "unchanged": 0, "linked": 0, "refused": 2}
    assert "the vault owns" in (lines[ids["eve"]].reason or "")
    assert "distribution" in (lines[dl].reason or "")
    assert {"username", "display_name", "department"} <= set(lines[ids["ada"]].changed)
    person = ew.vault.people.get(ew.admin, lines[ids["ada"]].vault_id)
    assert person.row.department == "Research"
    assert person.row.source_directory_id is not None
    outer = lines[ids["outer"]].vault_id
    assert _members(ew, outer) == ["Ada Tester", "Bob Tester", "Inner Circle"]
    assert _members(ew, lines[ids["inner"]].vault_id) == ["Cyd Tester", "Dan Tester"]
    everyone = lines[ids["all"]]
    assert len(everyone.members_added) == 6
    assert everyone.members_outside == ["Eve Tester"]
    # the audit entries are the one-at-a-time path's: one import per record, one per member
    imports = _audit(ew, "person.import")
    assert len(imports) == 6
    ada = next(e for e in imports if e.target_id == lines[ids["ada"]].vault_id)
    assert ada.details["outcome"] == "created"
    assert ada.details["object_id"] == ids["ada"]
    assert len(_audit(ew, "group.import")) == 3
    assert len(_audit(ew, "group.member_add")) == 3 + 2 + 6
    assert ew.vault.audit.verify(ew.admin).ok
    # found by search: the terms were indexed
    assert [p.row.username for p in ew.vault.people.search(ew.admin, "gus tes")] == [
        f"gus@{ew.tenant.domain}"
    ]
    assert len(ew.vault.groups.search(ew.admin, "inner")) == 1

    seq = ew.vault.audit.list(ew.admin, limit=1)[0].seq
    second = sync(ew, query="", groups=True)
    assert second.totals["unchanged"] == 9
    assert second.writes == 0
    assert ew.vault.audit.list(ew.admin, limit=1)[0].seq == seq

    # a change, a member gone and one come: handed to the one-at-a-time path
    ew.tenant.update_user(ids["bob"], jobTitle="Lead")
    ew.tenant.remove_member(ids["outer"], ids["ada"])
    ew.tenant.add_member(ids["inner"], ids["gus"])
    third = {o.object_id: o for o in sync(ew, query="", groups=True).objects}
    assert (third[ids["bob"]].outcome, third[ids["bob"]].changed) == ("updated", ("job_title",))
    assert third[ids["ada"]].outcome == "unchanged"
    assert third[ids["outer"]].members_removed == ["Ada Tester"]
    assert third[ids["inner"]].members_added == ["Gus Tester"]
    assert _members(ew, outer) == ["Bob Tester", "Inner Circle"]


@pytest.mark.usefixtures("small_batches")
def test_a_person_in_the_trash_is_no_member_and_ids_in_batches_match(ew: EntraWorld) -> None:
    ids = {n: user(ew, n, f"{n.title()} Tester") for n in ("ada", "bob", "cyd", "dan")}
    team = ew.tenant.create_group("Team", members=list(ids.values()))
    first = {o.object_id: o for o in sync(ew, ids=(team,), members=True).objects}
    assert len(first) == 5
    ew.vault.people.delete(ew.admin, first[ids["dan"]].vault_id)
    group_id = first[team].vault_id
    ew.vault.groups.remove_member(ew.admin, group_id, first[ids["dan"]].vault_id)
    again = {o.object_id: o for o in sync(ew, ids=(team,)).objects}
    assert again[team].members_outside == ["Dan Tester"]
    assert not again[team].members_added


def test_a_query_the_directory_refuses_writes_nothing(ew: EntraWorld) -> None:
    user(ew, "ada", "Ada Tester")
    ew.tenant.create_group("Ada's group")
    for groups in (False, True):  # with groups: listed and read ahead while people are written
        with pytest.raises(InvalidInput) as bad:
            sync(ew, query='"displayName:ada" AND', groups=groups)
        assert bad.value.field == "query"
    assert ew.vault.people.list(ew.admin, ew.client)[0] == []
    assert ew.vault.groups.list(ew.admin, ew.client)[0] == []


def test_who_may_write_in_batches(ew: EntraWorld) -> None:
    bulk = IdentityImport(ew.vault.db, ew.vault.audit)
    item = [("obj-1", {"username": f"zed@{ew.tenant.domain}"})]
    # vault.write, as People/Groups.upsert_from_directory (PeopleImport itself also needs
    # directory.setup: test_people_import.py's test_who_may_search_and_sync)
    for role in ("viewer", "auditor"):
        who = ew.vault_world.operator(f"op-{role}", role)
        with pytest.raises(PermissionDenied):
            bulk.people(who, ew.directory, item)
        with pytest.raises(PermissionDenied):
            bulk.groups(who, ew.directory, [("obj-2", {"name": "G"})])
        with pytest.raises(PermissionDenied):
            bulk.add_people(who, {"g": ["p"]})
    ew.vault.clients.add(ew.admin, ew.keys, "Elsewhere")
    who = ew.vault_world.operator("op-elsewhere", "technician")
    ew.vault.operators.set_clients(ew.admin, "op-elsewhere", ["Elsewhere"])
    who = ew.vault.access.login_password("op-elsewhere", _password("op-elsewhere"))
    with pytest.raises(NotFound):
        bulk.people(who, ew.directory, item)
    assert ew.vault.people.list(ew.admin, ew.client)[0] == []
    # an admin's batch creates; a group of a client out of the operator's reach is left
    done = bulk.people(ew.admin, ew.directory, item)
    assert done[0] is not None
    assert done[0].outcome == "created"
    group = bulk.groups(ew.admin, ew.directory, [("obj-2", {"name": "G"})])[0]
    assert group is not None
    added = bulk.add_people(who, {group.vault_id: [done[0].vault_id]})
    assert added == {group.vault_id: set()}
    assert _members(ew, group.vault_id) == []


def _password(name: str) -> Any:
    from credsync.types import Secret

    return Secret(f"{name}-password-1234")


@pytest.mark.usefixtures("small_batches")
def test_groups_join_groups_in_batches_and_a_cycle_is_refused_with_its_reason(
    ew: EntraWorld,
) -> None:
    ada = user(ew, "ada", "Ada Tester")
    top = ew.tenant.create_group("Top", members=[ada])
    mid = ew.tenant.create_group("Mid")
    low = ew.tenant.create_group("Low")
    ew.tenant.add_member(top, mid)
    ew.tenant.add_member(mid, low)
    ew.tenant.add_member(low, top)  # the directory has a cycle: the vault has none
    lines = {o.object_id: o for o in sync(ew, query="", groups=True).objects}
    added = {g: lines[g].members_added for g in (top, mid, low)}
    outside = {g: lines[g].members_outside for g in (top, mid, low)}
    assert added[top] == ["Ada Tester", "Mid"]
    assert added[mid] == ["Low"]
    assert added[low] == []
    assert len(outside[low]) == 1
    assert outside[low][0].startswith("Top (")
    assert "cycle" in outside[low][0]
    assert _members(ew, lines[mid].vault_id) == ["Low"]
    assert len(_audit(ew, "group.member_add")) == 3
    again = sync(ew, query="", groups=True)
    assert again.writes == 0
