"""Provisioning people to Office 365 under the change threshold (the Graph simulator): a run
planning more creates, disables and deletes than ``change_cap`` writes nothing to the tenant
and holds them with the reason; a later run does not hold them twice; approving carries them
out (the users are in the tenant), discarding does not; under the threshold nothing changes;
and who may decide."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from credsync.errors import NotFound, PermissionDenied
from credsync.sync.provision_people import PeopleProvision, ProvisionSelection
from credsync.sync.provision_people_report import ProvisionReport
from credsync.sync.quarantine_restore import Quarantine
from credsync.types import Secret
from credsync.vault.drafts import make_draft

from .entra import EntraWorld
from .helpers import update_directory


def _configure(ew: EntraWorld, cap: int) -> None:
    ew.vault.provisioning.update(ew.admin, ew.directory, {
        "username_template": "{given}.{surname}", "upn_suffix": ew.tenant.domain,
        "licence": "", "usage_location": "SE",
    })  # fmt: skip
    update_directory(ew.vault, ew.admin, ew.directory, options={"change_cap": cap})


def _person(ew: EntraWorld, given: str) -> str:
    surname = uuid.uuid4().hex[:6]
    cred = ew.vault.credentials.add(
        ew.admin, ew.keys, ew.client,
        make_draft(title=f"{given} login", username=given, password=Secret(f"Cs-{given}-Pass-77!")),
    )  # fmt: skip
    fields = {"username": f"{given}-{surname}", "given_name": given, "surname": surname,
              "credential": cred.id}  # fmt: skip
    return str(ew.vault.people.add(ew.admin, ew.client, fields).id)


def _apply(ew: EntraWorld, actor: Any = None) -> ProvisionReport:
    service = PeopleProvision(ew.vault, ew.keys, actor or ew.admin)
    return asyncio.run(service.apply(ew.client, ew.directory, ProvisionSelection()))


def _users(ew: EntraWorld) -> set[str]:
    """The tenant's live users' ids."""
    return set(ew.tenant.store.users.live)


def _quarantine(ew: EntraWorld, actor: Any = None) -> Quarantine:
    return Quarantine(ew.vault, ew.keys, actor or ew.admin)


def test_creates_over_the_threshold_are_held_and_approved_or_discarded(ew: EntraWorld) -> None:
    _configure(ew, cap=2)
    people = [_person(ew, name) for name in ("Ann", "Bo", "Cy")]
    before, writes = _users(ew), ew.tenant.stats["writes"]
    report = _apply(ew)
    assert ew.tenant.stats["writes"] == writes
    assert _users(ew) == before
    lines = {p.person_id: p for p in report.people}
    for pid in people:
        assert lines[pid].outcome == "skipped"
        assert "quarantined by the change threshold: 3 creates" in (lines[pid].reason or "")
        assert "change_cap of 2" in (lines[pid].reason or "")
    held = _quarantine(ew).list(ew.directory)
    assert sorted((h["direction"], h["action"]) for h in held) == [("people", "create")] * 3
    assert {h["account_id"] for h in held} == set(people)

    again = {p.person_id: p for p in _apply(ew).people}  # held: skipped, not held twice
    assert all("held in quarantine" in (again[pid].reason or "") for pid in people)
    assert len(_quarantine(ew).list(ew.directory)) == 3
    assert ew.tenant.stats["writes"] == writes

    by_person = {h["account_id"]: h for h in held}
    done = asyncio.run(_quarantine(ew).approve([by_person[people[0]]["id"],
                                                by_person[people[1]]["id"]]))  # fmt: skip
    assert done["totals"] == {"done": 2}, done
    made = _users(ew) - before
    assert len(made) == 2
    assert {p.person_id for p in _person_accounts(ew)} == set(people[:2])

    dropped = _quarantine(ew).discard([by_person[people[2]]["id"]])
    assert dropped["totals"] == {"done": 1}
    assert _users(ew) - before == made
    states = {h["account_id"]: h["state"]
              for h in _quarantine(ew).list(ew.directory, include_decided=True)}  # fmt: skip
    assert states == {people[0]: "approved", people[1]: "approved", people[2]: "discarded"}
    entries = [e.action for e in ew.vault.audit.list(ew.admin, limit=200)]
    assert "quarantine.hold" in entries
    assert entries.count("person.provision") >= 2


def _person_accounts(ew: EntraWorld) -> list[Any]:
    from credsync.storage import people as people_rows

    with ew.vault.db.read() as conn:
        return [a for found in people_rows.accounts_of(
            conn, [p.id for p in people_rows.page(conn, _client_id(ew), trash=False, fetch=100)]
        ).values() for a in found]  # fmt: skip


def _client_id(ew: EntraWorld) -> str:
    return ew.vault.clients.get(ew.admin, ew.client).id


def test_under_the_threshold_provisioning_is_unchanged(ew: EntraWorld) -> None:
    _configure(ew, cap=3)
    people = [_person(ew, name) for name in ("Di", "Ed", "Fay")]
    lines = {p.person_id: p for p in _apply(ew).people}
    assert {lines[pid].outcome for pid in people} == {"created"}
    assert _quarantine(ew).list(ew.directory) == []


def test_a_mass_disable_and_delete_is_held_and_approved(ew: EntraWorld) -> None:
    _configure(ew, cap=10)
    people = [_person(ew, name) for name in ("Gil", "Hal", "Ivy", "Jo")]
    made = {p.person_id: p.object_id for p in _apply(ew).people}
    update_directory(ew.vault, ew.admin, ew.directory, options={"change_cap": 2})
    ew.vault.people.set_enabled(ew.admin, people[0], False)
    ew.vault.people.set_enabled(ew.admin, people[1], False)
    ew.vault.people.delete(ew.admin, people[2])
    planned = {p.person_id: p for p in asyncio.run(PeopleProvision(
        ew.vault, ew.keys, ew.admin).plan(ew.client, ew.directory)).people}  # fmt: skip
    assert any("would be quarantined" in n for n in planned[people[0]].notes)
    assert _quarantine(ew).list(ew.directory) == []  # a plan holds nothing

    _apply(ew)
    held = _quarantine(ew).list(ew.directory)
    assert sorted(h["action"] for h in held) == ["delete", "disable", "disable"]
    assert all(ew.tenant.get_user(made[p])["accountEnabled"] for p in people[:2])
    assert made[people[2]] not in ew.tenant.store.users.deleted

    done = asyncio.run(_quarantine(ew).approve([], ew.directory))
    assert done["totals"] == {"done": 3}, done
    assert not any(ew.tenant.get_user(made[p])["accountEnabled"] for p in people[:2])
    assert made[people[2]] in ew.tenant.store.users.deleted
    assert ew.tenant.get_user(made[people[3]])["accountEnabled"]


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager", "no_setup"])
def test_who_may_not_approve_or_discard_held_provisioning(ew: EntraWorld, role: str) -> None:
    _configure(ew, cap=1)
    for name in ("Kai", "Lu"):
        _person(ew, name)
    _apply(ew)
    held = _quarantine(ew).list(ew.directory)
    assert len(held) == 2
    if role == "no_setup":  # all a push's approval needs, not what provisioning does
        needs = ["vault.read", "vault.write", "directory_admin.use"]
        ew.vault.operators.add_role(ew.admin, "pusher", needs)
        who = ew.vault_world.operator("op-pusher", "pusher")
        refused: type[Exception] = PermissionDenied
    else:
        who, refused = ew.refused_operator(role)
    before, writes = _users(ew), ew.tenant.stats["writes"]
    with pytest.raises(refused):
        asyncio.run(_quarantine(ew, who).approve([held[0]["id"]]))
    if role != "no_setup":
        with pytest.raises(refused):
            _quarantine(ew, who).discard([held[0]["id"]])
    assert ew.tenant.stats["writes"] == writes
    assert _users(ew) == before
    assert {h["state"] for h in _quarantine(ew).list(ew.directory)} == {"held"}
    assert refused in (NotFound, PermissionDenied)
