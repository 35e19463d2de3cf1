"""The check of deleted and disabled objects (issue 16) on an Entra directory (the Graph
simulator) and on Active Directory (the real Samba DC): what is listed with which actions;
disable, delete, restore (with a new name when the old is taken), keep (not asked again until
the object changes); a stale choice skipped; every action audited; and who may."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from credsync.errors import InvalidInput
from credsync.storage.tables import deleted_keeps
from credsync.sync.deleted_check import DeletedCheck
from credsync.sync.deleted_report import Choice
from credsync.sync.people_import import PeopleImport, Selection

from .entra import EntraWorld
from .helpers import SyncWorld


def checker(world: Any, actor: Any = None) -> DeletedCheck:
    return DeletedCheck(world.vault, world.keys, actor or world.admin)


def check(world: Any, actor: Any = None, **kw: Any) -> Any:
    return asyncio.run(checker(world, actor).check(world.client, world.directory, **kw))


def apply(world: Any, *choices: Choice, actor: Any = None) -> Any:
    return asyncio.run(checker(world, actor).apply(world.client, world.directory, choices))


def _import(ew: EntraWorld, *ids: str) -> dict[str, str]:
    done = asyncio.run(
        PeopleImport(ew.vault, ew.keys, ew.admin).sync(
            ew.client, ew.directory, Selection(ids=tuple(ids))
        )
    )
    return {o.object_id: o.vault_id for o in done.objects}


@pytest.fixture
def staff(ew: EntraWorld) -> dict[str, Any]:
    t = ew.tenant
    made = {
        alias: t.create_user(upn=f"{alias}@{t.domain}", display_name=alias.title())
        for alias in ("ann", "ben", "cat", "dan", "eve")
    }
    ids = {alias: str(u.id) for alias, u in made.items()}
    ids["team"] = t.create_group("Team", unified=True)
    ids["crew"] = t.create_group("Crew")
    vault_ids = _import(ew, *ids.values())
    return {"ids": ids, "vault": {a: vault_ids[i] for a, i in ids.items()}}


def _by_object(found: Any) -> dict[str, Any]:
    return {f["object_id"]: f for f in found["findings"]}


def test_check_lists_deleted_disabled_and_gone_with_their_actions(
    ew: EntraWorld, staff: dict[str, Any]
) -> None:
    ids, t = staff["ids"], ew.tenant
    t.soft_delete(ids["ann"])
    t.disable(ids["ben"])
    t.soft_delete(ids["cat"])
    t.hard_delete(ids["cat"])
    t.disable(ids["dan"])
    ew.vault.people.upsert_from_directory(ew.admin, ew.directory, ids["dan"], {"enabled": False})
    t.soft_delete_group(ids["team"])
    found = check(ew)
    assert found["checked"] == 7
    listed = _by_object(found)
    assert set(listed) == {ids["ann"], ids["ben"], ids["cat"], ids["team"]}  # dan: in step
    ann = listed[ids["ann"]]
    assert (ann["state"], ann["directory_name"], ann["restorable"]) == (
        "deleted", f"ann@{t.domain}", True,
    )  # fmt: skip
    assert ann["deleted_at"] is not None
    assert ann["actions"] == ["disable", "delete", "restore", "keep"]
    assert ann["vault_id"] == staff["vault"]["ann"]
    assert listed[ids["ben"]]["state"] == "disabled"
    assert listed[ids["ben"]]["actions"] == ["disable", "delete", "keep"]
    assert listed[ids["cat"]]["state"] == "gone"
    assert listed[ids["team"]]["actions"] == ["delete", "restore", "keep"]
    assert [f["kind"] for f in found["findings"]] == ["person", "person", "person", "group"]


def test_apply_disable_delete_restore_keep(ew: EntraWorld, staff: dict[str, Any]) -> None:
    ids, vault_ids, t = staff["ids"], staff["vault"], ew.tenant
    for alias in ("ann", "ben", "cat"):
        t.soft_delete(ids[alias])
    t.disable(ids["dan"])
    t.soft_delete_group(ids["team"])
    taker = t.create_user(upn=f"cat@{t.domain}")
    before = ew.vault.audit.list(ew.admin, limit=1)[0].seq
    done = apply(
        ew,
        Choice(ids["ann"], "disable"),
        Choice(ids["ben"], "delete"),
        Choice(ids["cat"], "restore"),
        Choice(ids["dan"], "keep"),
        Choice(ids["team"], "restore", kind="group"),
        Choice(ids["eve"], "delete"),  # live: not one the check lists
    )
    outcome = {o["object_id"]: o for o in done["objects"]}
    assert [o["outcome"] for o in done["objects"]] == [
        "done", "done", "refused", "done", "done", "skipped",
    ]  # fmt: skip
    assert done["totals"] == {"done": 4, "refused": 1, "skipped": 1}
    assert "userPrincipalName" in outcome[ids["cat"]]["detail"]
    assert "live" in outcome[ids["eve"]]["detail"]
    assert not ew.vault.people.get(ew.admin, vault_ids["ann"]).row.enabled
    assert ew.vault.people.get(ew.admin, vault_ids["ben"]).row.deleted_at is not None
    assert t.get_group(ids["team"])["id"] == ids["team"]
    assert ids["team"] in t.group_ids()
    # cat's name is taken: restored under a new one, which the person takes
    again = apply(ew, Choice(ids["cat"], "restore", new_username=f"cat2@{t.domain}"))
    assert again["objects"][0]["outcome"] == "done", again
    assert t.get_user(ids["cat"])["userPrincipalName"] == f"cat2@{t.domain}"
    assert ew.vault.people.get(ew.admin, vault_ids["cat"]).row.username == f"cat2@{t.domain}"
    assert t.get_user(taker.id)["userPrincipalName"] == f"cat@{t.domain}"
    # dan is kept: counted, not listed, until he changes (enabled and disabled again)
    found = check(ew)
    assert ids["dan"] not in _by_object(found)
    assert found["kept"] == 1
    assert _by_object(check(ew, include_kept=True))[ids["dan"]]["kept"] is True
    t.enable(ids["dan"])
    t.soft_delete(ids["dan"])
    assert _by_object(check(ew))[ids["dan"]]["state"] == "deleted"
    actions = [e.action for e in reversed(ew.vault.audit.list(ew.admin, limit=50))
               if e.seq > before]  # fmt: skip
    for expected in ("person.import", "person.delete", "person.deleted_keep",
                     "group.directory_restore", "person.directory_restore"):  # fmt: skip
        assert expected in actions


def test_bad_choices_name_their_field(ew: EntraWorld, staff: dict[str, Any]) -> None:
    ann = staff["ids"]["ann"]
    for choices, field in (
        ((), "choices"),
        ((Choice(ann, "explode"),), "action"),  # type: ignore[arg-type]
        ((Choice(ann, "delete", new_username="x"),), "new_username"),
        ((Choice(ann, "restore", new_username="a b"),), "new_username"),
        ((Choice(ann, "keep"), Choice(ann, "delete", kind="person")), "choices"),
    ):
        with pytest.raises(InvalidInput) as bad:
            apply(ew, *choices)
        assert bad.value.field == field


def test_restore_refused_while_directory_sync_is_off(ew: EntraWorld, staff: dict[str, Any]) -> None:
    ann = staff["ids"]["ann"]
    ew.tenant.soft_delete(ann)
    ew.vault.clients.configure(ew.admin, ew.client, directory_sync=False)
    done = apply(ew, Choice(ann, "restore"))
    assert done["objects"][0]["outcome"] == "refused"
    assert "directory sync off" in done["objects"][0]["detail"]
    assert ann not in ew.tenant.user_ids()


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may_check_and_apply(ew: EntraWorld, staff: dict[str, Any], role: str) -> None:
    ann = staff["ids"]["ann"]
    ew.tenant.soft_delete(ann)
    who, expected = ew.refused_operator(role)
    with pytest.raises(expected):
        check(ew, who)
    for action in ("disable", "delete", "restore", "keep"):
        with pytest.raises(expected):
            apply(ew, Choice(ann, action), actor=who)  # type: ignore[arg-type]
    assert ew.vault.people.get(ew.admin, staff["vault"]["ann"]).row.enabled
    assert ann not in ew.tenant.user_ids()


@pytest.mark.samba
def test_active_directory_tombstones(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    gone = sw.ad.create_user()
    people = {
        made.guid: sw.vault.people.upsert_from_directory(
            sw.admin, sw.directory, made.guid, {"username": made.upn, "enabled": True}
        ).person.id
        for made in (user, gone)
    }
    sw.ad.admin.delete(user.dn)
    sw.ad.admin.disable(gone.dn)
    listed = _by_object(check(sw))
    assert listed[user.guid]["state"] == "deleted"
    assert listed[user.guid]["directory_name"] == user.name
    assert listed[gone.guid]["state"] == "disabled"
    done = apply(sw, Choice(user.guid, "restore"))
    assert done["objects"][0]["outcome"] == "done", done
    assert sw.ad.admin.guid(user.dn) == user.guid
    # restored disabled (a tombstone has no password): the person follows, so the two are
    # in step and the check lists the user no more
    assert sw.vault.people.get(sw.admin, people[user.guid]).row.enabled is False
    assert user.guid not in _by_object(check(sw))


def test_removing_the_directory_forgets_its_keep_decisions(
    ew_both: EntraWorld,
) -> None:
    """On SQLite and PostgreSQL: a keep is stored (revision 0029's table) and the directory's
    removal takes its keeps with it (their foreign key would refuse it otherwise)."""
    ew = ew_both
    user = ew.tenant.create_user(upn=f"kim@{ew.tenant.domain}")
    _import(ew, str(user.id))
    ew.tenant.soft_delete(user.id)
    assert apply(ew, Choice(str(user.id), "keep"))["totals"]["done"] == 1
    assert check(ew)["kept"] == 1
    ew.vault.directories.remove(ew.admin, ew.directory)
    with ew.vault.db.read() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(deleted_keeps)).scalar()
    assert left == 0
