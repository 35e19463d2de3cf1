"""The export of a client's groups to Office 365 (the Graph simulator): Passly's matching rules
(type and e-mail, or name), creating when none matches, groups Graph can't create, duplicates
removed only on a matching confirmation, membership kept in step either way, a second apply
that writes nothing (the simulator's counters and the audit log), throttling honoured, and who
may (directory.setup with vault.read to plan, vault.write to apply)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from credsync.errors import InvalidInput
from credsync.sync.provision_groups import ExportPlan, ProvisionGroups

from .entra import EntraWorld


def export(ew: EntraWorld, actor: Any = None) -> ProvisionGroups:
    return ProvisionGroups(ew.vault, ew.keys, actor or ew.admin)


def plan(ew: EntraWorld, actor: Any = None, groups: tuple[str, ...] = ()) -> ExportPlan:
    return asyncio.run(export(ew, actor).plan(ew.client, ew.directory, groups))


def apply(
    ew: EntraWorld, actor: Any = None, groups: tuple[str, ...] = (), confirm: Any = None
) -> ExportPlan:
    return asyncio.run(
        export(ew, actor).apply(ew.client, ew.directory, groups, confirm_duplicates=confirm)
    )


def configure(ew: EntraWorld, **changes: Any) -> None:
    export(ew).configure(ew.client, ew.directory, changes)


def lines(done: ExportPlan) -> dict[str, Any]:
    return {line["name"]: line for line in done.to_json()["groups"]}


def person(ew: EntraWorld, alias: str, display: str) -> tuple[str, str]:
    """A user of the tenant and the person linked to it: (object id, person id)."""
    user = ew.tenant.create_user(upn=f"{alias}@{ew.tenant.domain}", display_name=display)
    done = ew.vault.people.upsert_from_directory(
        ew.admin, ew.directory, user.id, {"username": user.upn, "display_name": display}
    )
    return str(user.id), done.person.id


def group(ew: EntraWorld, name: str, **fields: Any) -> str:
    return ew.vault.groups.add(ew.admin, ew.client, {"name": name, **fields}).id


def members_of(ew: EntraWorld, object_id: str) -> set[str]:
    return set(ew.tenant.store.members.get(object_id, {}))


def writes(ew: EntraWorld) -> int:
    return int(ew.tenant.stats["writes"])


def test_plan_creates_both_types_apply_makes_them_and_a_second_apply_writes_nothing(
    ew: EntraWorld,
) -> None:
    ada_obj, ada = person(ew, "ada", "Ada Lovelace")
    bob_obj, bob = person(ew, "bob", "Bob Marley")
    sales = group(ew, "Sales")
    team = group(ew, "Team Blue", type="microsoft365", email=f"blue@{ew.tenant.domain}")
    ew.vault.groups.add_member(ew.admin, sales, ada)
    ew.vault.groups.add_member(ew.admin, sales, team, kind="group")  # created in the same apply
    ew.vault.groups.add_member(ew.admin, team, bob)
    outsider = ew.vault.people.add(ew.admin, ew.client, {"username": "carl"}).id
    ew.vault.groups.add_member(ew.admin, team, outsider)
    before = writes(ew)
    planned = plan(ew)
    assert writes(ew) == before  # the plan writes nothing
    shown = lines(planned)
    assert shown["Sales"]["action"] == shown["Team Blue"]["action"] == "create"
    to_add = sorted(m["name"] for m in shown["Sales"]["members_to_add"])
    assert to_add == ["Ada Lovelace", "Team Blue"]
    assert shown["Team Blue"]["members_outside"] == ["carl (not in this directory)"]
    assert planned.to_json()["writes"] == 2 + 2 + 1 + 1  # 2 creates, 2 links, 2 member writes

    done = apply(ew)
    assert done.to_json()["errors"] == 0
    result = lines(done)
    made_sales, made_team = result["Sales"]["object_id"], result["Team Blue"]["object_id"]
    record = ew.tenant.store.groups.live[made_sales]
    assert (record["securityEnabled"], record["mailEnabled"]) == (True, False)
    m365 = ew.tenant.store.groups.live[made_team]
    assert m365["groupTypes"] == ["Unified"]
    assert m365["mailNickname"] == "blue"
    assert members_of(ew, made_sales) == {ada_obj, made_team}
    assert members_of(ew, made_team) == {bob_obj}
    assert done.writes == 6  # in the vault: the 2 links
    assert writes(ew) - before == 4
    actions = [e.action for e in ew.vault.audit.list(ew.admin, limit=4)]
    assert "group.export_create" in actions
    assert "group.export_members" in actions

    audit_before = ew.vault.audit.list(ew.admin, limit=1)[0].seq
    again = apply(ew)
    assert {line["action"] for line in again.to_json()["groups"]} == {"linked"}
    assert again.writes == 0
    assert writes(ew) - before == 4  # the simulator saw no more writes
    assert ew.vault.audit.list(ew.admin, limit=1)[0].seq == audit_before


def test_matching_by_type_and_email_or_by_name_and_create_missing(ew: EntraWorld) -> None:
    unified = ew.tenant.create_group("Sales", unified=True)
    group(ew, "Sales")  # a security group in the vault
    # type and e-mail: the Microsoft 365 group of the same name does not match: created
    assert lines(plan(ew))["Sales"]["action"] == "create"
    configure(ew, create_missing=False)
    line = lines(plan(ew))["Sales"]
    assert line["action"] == "no_match"
    assert "1 have this name" in line["reason"]
    configure(ew, matching="name")
    line = lines(plan(ew))["Sales"]
    assert (line["action"], line["object_id"]) == ("matched", unified)
    applied = lines(apply(ew))["Sales"]
    assert applied["object_id"] == unified
    assert lines(plan(ew))["Sales"]["action"] == "linked"
    # create_missing off still creates when no group of the name exists at all
    group(ew, "Brand New")
    assert lines(plan(ew))["Brand New"]["action"] == "create"


def test_groups_graph_cant_create_are_reported_and_left_alone(ew: EntraWorld) -> None:
    group(ew, "Mailing", email=f"mailing@{ew.tenant.domain}")  # security with mail
    before = writes(ew)
    line = lines(apply(ew))["Mailing"]
    assert line["action"] == "not_creatable"
    assert "mail-enabled security group" in line["reason"]
    assert writes(ew) == before


def test_duplicates_are_removed_only_with_the_confirmation_of_the_current_list(
    ew: EntraWorld,
) -> None:
    first = ew.tenant.create_group("Staff")
    ew.sim.advance_clock(5)
    second = ew.tenant.create_group("Staff")
    ew.sim.advance_clock(5)
    third = ew.tenant.create_group("Staff")
    group(ew, "Staff")
    owner = group(ew, "staff")  # another vault group of the same name
    configure(ew, remove_duplicates=True)
    planned = plan(ew)
    # the two oldest, one each (which one takes which: their order by name, then id)
    taken = {lines(planned)["Staff"]["object_id"], lines(planned)["staff"]["object_id"]}
    assert taken == {first, second}
    assert [d["object_id"] for d in planned.to_json()["duplicates"]] == [third]
    # a selection is planned with the vault's other groups of the same name
    assert set(lines(plan(ew, groups=(owner,)))) == {"Staff", "staff"}
    # without a confirmation: everything but the removal
    done = apply(ew, groups=(owner,))
    assert [d["removed"] for d in done.to_json()["duplicates"]] == [False]
    assert third in ew.tenant.store.groups.live
    before = writes(ew)
    with pytest.raises(InvalidInput) as refused:
        apply(ew, confirm=[first])
    assert refused.value.field == "confirm_duplicates"
    assert writes(ew) == before  # refused before any write
    done = apply(ew, confirm=[third])
    assert [d["removed"] for d in done.to_json()["duplicates"]] == [True]
    assert third not in ew.tenant.store.groups.live
    assert {first, second} <= set(ew.tenant.store.groups.live)  # owned ones stay
    assert any(
        e.action == "group.export_duplicate_remove" for e in ew.vault.audit.list(ew.admin, limit=3)
    )
    assert plan(ew).to_json()["duplicates"] == []


def test_membership_follows_the_source_of_truth(ew: EntraWorld) -> None:
    ada_obj, ada = person(ew, "ada", "Ada Lovelace")
    bob_obj, bob = person(ew, "bob", "Bob Marley")
    stranger = ew.tenant.create_user(upn=f"zed@{ew.tenant.domain}", display_name="Zed").id
    existing = ew.tenant.create_group("Ops", members=[bob_obj, stranger])
    ops = group(ew, "Ops")
    ew.vault.groups.add_member(ew.admin, ops, ada)
    # the vault: Ada added, Bob and the stranger removed in Office 365
    line = lines(plan(ew))["Ops"]
    assert [m["name"] for m in line["members_to_add"]] == ["Ada Lovelace"]
    assert sorted(m["name"] for m in line["members_to_remove"]) == ["Bob Marley", "Zed"]
    apply(ew)
    assert members_of(ew, existing) == {ada_obj}
    # the directory: the vault group takes Office 365's members
    configure(ew, membership_source="directory")
    ew.tenant.add_member(existing, bob_obj)
    ew.tenant.add_member(existing, stranger)
    ew.tenant.remove_member(existing, ada_obj)
    line = lines(plan(ew))["Ops"]
    assert line["membership_source"] == "directory"
    assert [m["name"] for m in line["members_to_add"]] == ["Bob Marley"]
    assert [m["name"] for m in line["members_to_remove"]] == ["Ada Lovelace"]
    assert line["members_outside"] == ["Zed (not in the vault)"]
    before = writes(ew)
    apply(ew)
    assert writes(ew) == before  # nothing written to Office 365
    assert [m["id"] for m in ew.vault.groups.members(ew.admin, ops)] == [bob]
    assert apply(ew).writes == 0


def test_throttling_is_honoured(ew: EntraWorld) -> None:
    group(ew, "Throttled")
    ew.tenant.inject_fault("POST", "/v1.0/groups", status=429, times=2, retry_after=0)
    done = lines(apply(ew))["Throttled"]
    assert done["error"] is None
    assert done["object_id"] in ew.tenant.store.groups.live
    assert ew.tenant.stats["by_status"].get(429, 0) >= 2


def test_settings_are_checked_and_audited(ew: EntraWorld) -> None:
    shown = export(ew).settings(ew.client, ew.directory).to_json()
    assert (shown["matching"], shown["create_missing"], shown["version"]) == (
        "type_and_email", True, 0)  # fmt: skip
    with pytest.raises(InvalidInput) as bad:
        configure(ew, matching="email")
    assert bad.value.field == "matching"
    with pytest.raises(InvalidInput) as bad:
        configure(ew, membership_source="both")
    assert bad.value.field == "membership_source"
    configure(ew, remove_duplicates=True)
    assert ew.vault.audit.list(ew.admin, limit=1)[0].action == "directory.group_export"
    assert export(ew).settings(ew.client, ew.directory).version == 1


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may_plan_and_apply(ew: EntraWorld, role: str) -> None:
    group(ew, "Sales")
    who, expected = ew.refused_operator(role)
    before = writes(ew)
    with pytest.raises(expected):
        plan(ew, who)
    with pytest.raises(expected):
        apply(ew, who)
    with pytest.raises(expected):
        export(ew, who).configure(ew.client, ew.directory, {"matching": "name"})
    assert writes(ew) == before
    assert not ew.tenant.group_ids()


def test_a_group_synced_from_on_premises_keeps_its_members(ew: EntraWorld) -> None:
    _, ada = person(ew, "ada", "Ada Lovelace")
    synced = ew.tenant.create_group("Synced", on_premises_sync=True)
    ours = group(ew, "Synced")
    ew.vault.groups.add_member(ew.admin, ours, ada)
    done = lines(apply(ew))["Synced"]
    assert (done["action"], done["object_id"], done["error"]) == ("matched", synced, None)
    assert "on-premises" in done["reason"]
    assert done["members_to_add"] == []
    assert members_of(ew, synced) == set()


def test_apply_twice_on_sqlite_and_postgresql(ew_both: EntraWorld) -> None:
    """The settings' table and the links on both backends."""
    ew = ew_both
    _, ada = person(ew, "ada", "Ada Lovelace")
    sales = group(ew, "Sales")
    ew.vault.groups.add_member(ew.admin, sales, ada)
    configure(ew, matching="name", remove_duplicates=True, membership_source="vault")
    settings = export(ew).settings(ew.client, ew.directory)
    assert (settings.rules.matching, settings.version) == ("name", 1)
    first = apply(ew)
    assert lines(first)["Sales"]["action"] == "create"
    before = writes(ew)
    assert apply(ew).writes == 0
    assert writes(ew) == before
    # removing the directory takes its settings and unlinks its objects (no dangling key)
    ew.vault.directories.remove(ew.admin, ew.directory)
    assert ew.vault.groups.get(ew.admin, sales).row.id == sales


def test_a_nested_group_matched_in_the_same_apply_is_added_at_once(ew: EntraWorld) -> None:
    inner_obj = ew.tenant.create_group("Inner")
    outer_obj = ew.tenant.create_group("Outer")
    inner, outer = group(ew, "Inner"), group(ew, "Outer")
    ew.vault.groups.add_member(ew.admin, outer, inner, kind="group")
    line = lines(plan(ew))["Outer"]
    assert line["action"] == "matched"
    assert [(m["name"], m["object_id"]) for m in line["members_to_add"]] == [("Inner", inner_obj)]
    apply(ew)
    assert members_of(ew, outer_obj) == {inner_obj}
    before = writes(ew)
    assert apply(ew).writes == 0
    assert writes(ew) == before


def test_an_alias_another_group_has_fails_that_line_and_the_rest_goes_on(ew: EntraWorld) -> None:
    ew.tenant.create_group("Blue Team Old", unified=True)  # its alias: blueteamold
    group(ew, "Clash", type="microsoft365", email=f"blueteamold@{ew.tenant.domain}")
    group(ew, "Fine")
    done = apply(ew)
    shown = lines(done)
    assert "proxyAddresses already exists" in shown["Clash"]["error"]
    assert shown["Clash"]["object_id"] is None
    assert shown["Fine"]["error"] is None
    assert shown["Fine"]["object_id"] in ew.tenant.group_ids()
    assert done.to_json()["errors"] == 1


def test_an_imported_group_keeps_the_directorys_members(ew: EntraWorld) -> None:
    _, ada = person(ew, "ada", "Ada Lovelace")
    stranger = ew.tenant.create_user(upn=f"zed@{ew.tenant.domain}", display_name="Zed").id
    existing = ew.tenant.create_group("Imported", members=[stranger])
    made, _ = ew.vault.groups.upsert_from_directory(
        ew.admin, ew.directory, existing, {"name": "Imported", "type": "security"}
    )
    ew.vault.groups.add_member(ew.admin, made.id, ada)
    line = lines(plan(ew))["Imported"]
    assert (line["action"], line["membership_source"]) == ("linked", "directory")
    assert "imported from this directory" in line["reason"]
    assert [m["name"] for m in line["members_to_remove"]] == ["Ada Lovelace"]  # in the vault
    apply(ew)
    assert members_of(ew, existing) == {stranger}  # the directory's members stay
