"""Group export to Office 365 under the change threshold (the Graph simulator): an apply
planning more group creates, member removals and deletes than ``change_cap`` writes nothing
to the tenant and holds them; a later apply does not hold them twice and does the rest;
approving carries them out (the groups and memberships in the tenant), discarding does not;
under the threshold the export is unchanged; and who may decide."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from credsync.errors import NotFound, PermissionDenied
from credsync.sync.provision_groups import ExportPlan, ProvisionGroups
from credsync.sync.quarantine_restore import Quarantine

from .entra import EntraWorld
from .helpers import update_directory


def _apply(ew: EntraWorld, actor: Any = None) -> ExportPlan:
    service = ProvisionGroups(ew.vault, ew.keys, actor or ew.admin)
    return asyncio.run(service.apply(ew.client, ew.directory))


def _cap(ew: EntraWorld, cap: int) -> None:
    update_directory(ew.vault, ew.admin, ew.directory, options={"change_cap": cap})


def _person(ew: EntraWorld, alias: str) -> tuple[str, str]:
    user = ew.tenant.create_user(upn=f"{alias}@{ew.tenant.domain}", display_name=alias)
    done = ew.vault.people.upsert_from_directory(
        ew.admin, ew.directory, user.id, {"username": user.upn, "display_name": alias}
    )
    return str(user.id), done.person.id


def _group(ew: EntraWorld, name: str, *members: str) -> str:
    found = ew.vault.groups.add(ew.admin, ew.client, {"name": name}).id
    for member in members:
        ew.vault.groups.add_member(ew.admin, found, member)
    return found


def _tenant_groups(ew: EntraWorld) -> dict[str, str]:
    """Display name -> object id of the tenant's live groups."""
    return {g["displayName"]: i for i, g in ew.tenant.store.groups.live.items()}


def _quarantine(ew: EntraWorld, actor: Any = None) -> Quarantine:
    return Quarantine(ew.vault, ew.keys, actor or ew.admin)


def test_creates_over_the_threshold_are_held_then_approved_or_discarded(ew: EntraWorld) -> None:
    ada_obj, ada = _person(ew, f"ada{uuid.uuid4().hex[:4]}")
    _cap(ew, 2)
    names = ["Sales", "Support", "Finance"]
    ids = {name: _group(ew, name, ada) for name in names}
    writes = ew.tenant.stats["writes"]
    service = ProvisionGroups(ew.vault, ew.keys, ew.admin)
    planned = asyncio.run(service.plan(ew.client, ew.directory))
    assert "would be quarantined" in (planned.quarantined or "")
    done = _apply(ew)
    assert ew.tenant.stats["writes"] == writes
    assert not set(names) & set(_tenant_groups(ew))
    assert done.to_json()["quarantined"] is not None
    assert "3 group creates, member removals and group deletes planned" in done.quarantined
    held = _quarantine(ew).list(ew.directory)
    assert sorted((h["direction"], h["action"]) for h in held) == [("groups", "create")] * 3
    assert {h["account_id"] for h in held} == set(ids.values())

    again = _apply(ew)  # held: left out, not held twice
    assert again.quarantined is None
    assert all("held in quarantine" in (line.error or "") for line in again.lines)
    assert len(_quarantine(ew).list(ew.directory)) == 3
    assert ew.tenant.stats["writes"] == writes

    by_group = {h["account_id"]: h["id"] for h in held}
    approved = asyncio.run(_quarantine(ew).approve([by_group[ids["Sales"]],
                                                    by_group[ids["Support"]]]))  # fmt: skip
    assert approved["totals"] == {"done": 2}, approved
    made = _tenant_groups(ew)
    assert {"Sales", "Support"} <= set(made)
    assert "Finance" not in made
    assert ew.tenant.store.members[made["Sales"]] == {ada_obj: None}

    assert _quarantine(ew).discard([by_group[ids["Finance"]]])["totals"] == {"done": 1}
    assert "Finance" not in _tenant_groups(ew)
    actions = [e.action for e in ew.vault.audit.list(ew.admin, limit=200)]
    assert actions.count("group.export_create") == 2
    assert "quarantine.hold" in actions


def test_member_removals_over_the_threshold_are_held_and_approved(ew: EntraWorld) -> None:
    people = [_person(ew, f"m{n}{uuid.uuid4().hex[:4]}") for n in range(4)]
    team = _group(ew, "Team", *(pid for _, pid in people))
    _apply(ew)
    object_id = _tenant_groups(ew)["Team"]
    assert set(ew.tenant.store.members[object_id]) == {obj for obj, _ in people}
    _cap(ew, 2)
    for _, pid in people[:3]:
        ew.vault.groups.remove_member(ew.admin, team, pid)
    done = _apply(ew)
    assert done.quarantined is not None
    assert set(ew.tenant.store.members[object_id]) == {obj for obj, _ in people}
    held = _quarantine(ew).list(ew.directory)
    assert [h["action"] for h in held] == ["remove_member"] * 3

    approved = asyncio.run(_quarantine(ew).approve([], ew.directory))
    assert approved["totals"] == {"done": 3}, approved
    assert set(ew.tenant.store.members[object_id]) == {people[3][0]}


def test_under_the_threshold_the_export_is_unchanged(ew: EntraWorld) -> None:
    _cap(ew, 2)
    _group(ew, "One")
    _group(ew, "Two")
    done = _apply(ew)
    assert done.quarantined is None
    assert {"One", "Two"} <= set(_tenant_groups(ew))
    assert _quarantine(ew).list(ew.directory) == []


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may_not_decide_held_exports(ew: EntraWorld, role: str) -> None:
    _cap(ew, 1)
    _group(ew, "Alpha")
    _group(ew, "Beta")
    _apply(ew)
    held = _quarantine(ew).list(ew.directory)
    assert len(held) == 2
    who, refused = ew.refused_operator(role)
    writes = ew.tenant.stats["writes"]
    with pytest.raises(refused):
        asyncio.run(_quarantine(ew, who).approve([held[0]["id"]]))
    with pytest.raises(refused):
        _quarantine(ew, who).discard([held[0]["id"]])
    assert ew.tenant.stats["writes"] == writes
    assert {h["state"] for h in _quarantine(ew).list(ew.directory)} == {"held"}
    assert refused in (NotFound, PermissionDenied)
