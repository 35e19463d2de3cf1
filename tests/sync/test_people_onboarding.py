"""The one-time import into a group with a provisioning policy (issue 16, Passly's): every
imported person becomes a member of a vault group and gets a primary credential with no
password yet (a placeholder, never pushed), marked as awaiting onboarding; a second run
duplicates nothing; a dry run keeps nothing; bad options name their field; and who may."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from credsync.errors import InvalidInput
from credsync.sync.people_import import PeopleImport, Selection
from credsync.sync.people_import_report import ImportReport
from credsync.sync.people_onboarding import Provisioning

from .entra import EntraWorld


def sync(
    ew: EntraWorld, policy: Provisioning, actor: Any = None, *, dry_run: bool = False, **kw: Any
) -> ImportReport:
    importer = PeopleImport(ew.vault, ew.keys, actor or ew.admin)
    chosen = Selection(**(kw or {"query": ""}))
    return asyncio.run(
        importer.sync(ew.client, ew.directory, chosen, dry_run=dry_run, provisioning=policy)
    )


def staff(ew: EntraWorld) -> dict[str, str]:
    return {
        alias: str(ew.tenant.create_user(upn=f"{alias}@{ew.tenant.domain}", display_name=name).id)
        for alias, name in (("ada", "Ada Lovelace"), ("bob", "Bob Berg"))
    }


def _people(ew: EntraWorld) -> dict[str, Any]:
    return {p.row.username.split("@")[0]: p for p in ew.vault.people.list(ew.admin, ew.client)[0]}


def test_imported_people_join_the_group_with_a_credential_awaiting_onboarding(
    ew_both: EntraWorld,
) -> None:
    """On SQLite and PostgreSQL."""
    ew = ew_both
    staff(ew)
    policy = Provisioning.make("New staff", folder="People/2026", sync_mode="enforce", invite=True)
    report = sync(ew, policy)
    done = report.to_json()["onboarding"]
    assert done is not None
    assert (done["group"], done["group_created"]) == ("New staff", True)
    assert (done["credentials_created"], done["members_added"]) == (2, 2)
    people = _people(ew)
    for person in people.values():
        shown = person.to_json()
        assert shown["onboarding"] is not None
        assert shown["onboarding"]["awaiting"] is True
        assert shown["onboarding"]["invite"] is True
        assert shown["onboarding"]["sync_mode"] == "enforce"
        assert shown["onboarding"]["group_id"] == done["group_id"]
        cred = ew.vault.credentials.get(ew.admin, shown["credential_id"])
        assert cred.folder == "People/2026"
        assert cred.username == person.row.username
        # a placeholder is never pushed nor bound: off until onboarding gives a password
        assert cred.sync_mode is not None
        assert cred.sync_mode.value == "off"
    members = ew.vault.groups.members(ew.admin, done["group_id"])
    assert {m["id"] for m in members} == {p.id for p in people.values()}
    group = ew.vault.groups.get(ew.admin, done["group_id"])
    assert group.row.source_directory_id is None  # kept by the vault
    # a second run: nothing twice
    before = ew.vault.audit.list(ew.admin, limit=1)[0].seq
    again = sync(ew, policy).to_json()["onboarding"]
    assert again is not None
    assert (again["group_created"], again["credentials_created"], again["members_added"]) == (
        False, 0, 0)  # fmt: skip
    assert again["group_id"] == done["group_id"]
    assert ew.vault.audit.list(ew.admin, limit=1)[0].seq == before
    creds = ew.vault.credentials.list(ew.admin, ew.client).items
    assert len([c for c in creds if c.folder == "People/2026"]) == 2


def test_an_existing_vault_group_is_used_and_a_person_with_a_credential_keeps_it(
    ew: EntraWorld,
) -> None:
    ids = staff(ew)
    group = ew.vault.groups.add(ew.admin, ew.client, {"name": "Staff"})
    first = sync(ew, Provisioning.make("Staff", invite=False), ids=(ids["ada"],))
    ada = _people(ew)["ada"]
    assert first.to_json()["onboarding"]["group_id"] == group.id  # type: ignore[index]
    # Bob, imported before, has a login credential: he keeps it and is not marked
    importer = PeopleImport(ew.vault, ew.keys, ew.admin)
    asyncio.run(importer.sync(ew.client, ew.directory, Selection(ids=(ids["bob"],))))
    own = ew.add(None, "Bobs-Own-Pa55!", username=f"bob@{ew.tenant.domain}", title="Bob login")
    ew.vault.people.update(ew.admin, _people(ew)["bob"].id, {"credential": own.id})
    sync(ew, Provisioning.make("staff", invite=False), ids=(ids["bob"],))  # names: any case
    bob = _people(ew)["bob"]
    assert bob.to_json()["onboarding"] is None
    assert bob.row.credential_id == own.id
    assert ada.to_json()["onboarding"]["invite"] is False  # type: ignore[index]
    members = {m["id"] for m in ew.vault.groups.members(ew.admin, group.id)}
    assert members == {ada.id, bob.id}


def test_a_dry_run_keeps_nothing(ew: EntraWorld) -> None:
    staff(ew)
    before = ew.vault.audit.list(ew.admin, limit=1)[0].seq
    dry = sync(ew, Provisioning.make("Dry", invite=True), dry_run=True).to_json()["onboarding"]
    assert dry is not None
    assert (dry["group_created"], dry["credentials_created"], dry["members_added"]) == (True, 2, 2)
    assert dry["group_id"] is None
    assert ew.vault.audit.list(ew.admin, limit=1)[0].seq == before
    assert ew.vault.groups.list(ew.admin, ew.client)[0] == []
    creds = ew.vault.credentials.list(ew.admin, ew.client).items
    assert [c.title for c in creds] == ["Graph app"]  # the bind credential alone


def test_bad_options_name_their_field_and_a_directory_group_is_refused(
    ew: EntraWorld,
) -> None:
    for kwargs, field in (
        ({"into_group": " "}, "into_group"),
        ({"into_group": "x", "sync_mode": "sideways"}, "sync_mode"),
    ):
        with pytest.raises(InvalidInput) as bad:
            Provisioning.make(invite=False, **kwargs)
        assert bad.value.field == field
    ids = staff(ew)
    team = ew.tenant.create_group("Directory team", members=[ids["ada"]])
    sync(ew, Provisioning.make("Someone else", invite=False), ids=(team,))
    with pytest.raises(InvalidInput) as refused:
        sync(ew, Provisioning.make("Directory team", invite=False))
    assert refused.value.field == "into_group"


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may(ew: EntraWorld, role: str) -> None:
    staff(ew)
    who, expected = ew.refused_operator(role)
    with pytest.raises(expected):
        sync(ew, Provisioning.make("Staff", invite=True), who)
    assert ew.vault.groups.list(ew.admin, ew.client)[0] == []
