"""The import of people and groups from an Entra directory (the Graph simulator): search,
selection, created / updated / unchanged / linked / refused, memberships with nested groups,
directory-sourced attributes read-only afterwards, a second run that writes nothing, and who
may (directory.setup and vault.write on the client)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from credsync.errors import InvalidInput
from credsync.sync.people_import import PeopleImport, Selection
from credsync.sync.people_import_report import ImportReport

from .entra import EntraWorld


def importer(ew: EntraWorld, actor: Any = None) -> PeopleImport:
    return PeopleImport(ew.vault, ew.keys, actor or ew.admin)


def sync(
    ew: EntraWorld, actor: Any = None, *, dry_run: bool = False, **selection: Any
) -> ImportReport:
    chosen = Selection(**selection)
    return asyncio.run(importer(ew, actor).sync(ew.client, ew.directory, chosen, dry_run=dry_run))


def user(ew: EntraWorld, alias: str, display: str, **props: Any) -> str:
    made = ew.tenant.create_user(upn=f"{alias}@{ew.tenant.domain}", display_name=display)
    if props:
        ew.tenant.update_user(made.id, **props)
    return str(made.id)


def by_id(report: ImportReport) -> dict[str, Any]:
    return {o.object_id: o for o in report.objects}


@pytest.fixture
def staff(ew: EntraWorld) -> dict[str, str]:
    return make_staff(ew)


def make_staff(ew: EntraWorld) -> dict[str, str]:
    ids = {
        "ada": user(ew, "ada", "Ada Lovelace", givenName="Ada", surname="Lovelace",
                    department="Research", jobTitle="Analyst", usageLocation="GB"),
        "bob": user(ew, "bob", "Bob MacDonald", department="Sales"),
        "cyd": user(ew, "cyd", "Cyd Charisse"),
    }  # fmt: skip
    ids["inner"] = ew.tenant.create_group("Inner Circle", members=[ids["cyd"]])
    ids["sales"] = ew.tenant.create_group("SalesTeam 2026", members=[ids["bob"]])
    ew.tenant.add_member(ids["sales"], ids["inner"])
    return ids


def test_search_previews_people_and_groups_and_whether_each_is_known(
    ew: EntraWorld, staff: dict[str, str]
) -> None:
    found = asyncio.run(importer(ew).search(ew.client, ew.directory, "ada"))
    assert [p["object_id"] for p in found.people] == [staff["ada"]]
    assert found.people[0]["vault_id"] is None
    assert not found.groups
    sync(ew, ids=(staff["ada"],))
    # camelCase and digits are tokens of a group's display name
    again = asyncio.run(importer(ew).search(ew.client, ew.directory, "team", groups=True))
    assert [g["object_id"] for g in again.groups] == [staff["sales"]]
    assert again.groups[0]["type"] == "security"
    known = asyncio.run(importer(ew).search(ew.client, ew.directory, '"displayName:lovelace"'))
    assert known.people[0]["vault_id"] is not None
    with pytest.raises(InvalidInput) as bad:
        asyncio.run(importer(ew).search(ew.client, ew.directory, '"displayName:ada" AND'))
    assert bad.value.field == "query"


def test_sync_creates_then_a_second_run_is_all_unchanged_and_writes_nothing(
    ew: EntraWorld, staff: dict[str, str]
) -> None:
    first = sync(ew, query="", groups=True)
    assert first.totals["created"] == 5
    assert first.totals["refused"] == 0
    person = ew.vault.people.get(ew.admin, by_id(first)[staff["ada"]].vault_id)
    assert (person.row.username, person.row.department, person.row.usage_location) == (
        f"ada@{ew.tenant.domain}", "Research", "GB")  # fmt: skip
    sales = by_id(first)[staff["sales"]]
    assert sorted(sales.members_added) == ["Bob MacDonald", "Inner Circle"]
    audit_before = ew.vault.audit.list(ew.admin, limit=1)[0].seq
    second = sync(ew, query="", groups=True)
    assert second.totals["unchanged"] == 5
    assert second.writes == 0
    assert ew.vault.audit.list(ew.admin, limit=1)[0].seq == audit_before


def test_a_change_in_the_directory_is_updated_and_attributes_are_read_only(
    ew: EntraWorld, staff: dict[str, str]
) -> None:
    first = sync(ew, ids=(staff["ada"],))
    ew.tenant.update_user(staff["ada"], jobTitle="Lead Analyst")
    second = sync(ew, ids=(staff["ada"],))
    line = by_id(second)[staff["ada"]]
    assert (line.outcome, line.changed) == ("updated", ("job_title",))
    person_id = by_id(first)[staff["ada"]].vault_id
    with pytest.raises(InvalidInput) as refused:
        ew.vault.people.update(ew.admin, person_id, {"job_title": "Boss"})
    assert refused.value.field == "job_title"


def test_members_outside_the_selection_are_reported_unless_members_are_asked_for(
    ew: EntraWorld, staff: dict[str, str]
) -> None:
    alone = by_id(sync(ew, ids=(staff["sales"],)))[staff["sales"]]
    assert alone.outcome == "created"
    assert not alone.members_added
    assert sorted(alone.members_outside) == ["Bob MacDonald", "Inner Circle"]
    nested = by_id(sync(ew, ids=(staff["sales"],), members=True))
    # the nested group and its member came in too
    assert nested[staff["cyd"]].outcome == "created"
    assert nested[staff["inner"]].members_added == ["Cyd Charisse"]
    assert sorted(nested[staff["sales"]].members_added) == ["Bob MacDonald", "Inner Circle"]
    # a member the directory drops leaves the vault group at the next sync
    ew.tenant.remove_member(staff["sales"], staff["bob"])
    after = by_id(sync(ew, ids=(staff["sales"],), members=True))
    assert after[staff["sales"]].members_removed == ["Bob MacDonald"]


def test_refusals_say_why_and_the_rest_goes_on(ew: EntraWorld, staff: dict[str, str]) -> None:
    ew.vault.people.add(ew.admin, ew.client, {"username": f"bob@{ew.tenant.domain}"})
    dl = ew.tenant.create_group("Newsletter")
    record = ew.tenant.store.groups.live[dl]
    record.update(mailEnabled=True, securityEnabled=False, mail="news@" + ew.tenant.domain)
    report = by_id(sync(ew, ids=(staff["bob"], staff["ada"], dl, "no-such-object")))
    assert report[staff["bob"]].outcome == "refused"
    assert "the vault owns" in (report[staff["bob"]].reason or "")
    assert report[dl].outcome == "refused"
    assert "distribution" in (report[dl].reason or "")
    assert report["no-such-object"].outcome == "refused"
    assert report[staff["ada"]].outcome == "created"


def test_a_selection_is_ids_or_a_query(ew: EntraWorld) -> None:
    with pytest.raises(InvalidInput) as bad:
        sync(ew)
    assert bad.value.field == "selection"
    with pytest.raises(InvalidInput):
        sync(ew, ids=("x",), query="ada")


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may_search_and_sync(ew: EntraWorld, staff: dict[str, str], role: str) -> None:
    # a directory manager has directory.setup and vault.write, but not on this client
    who, expected = ew.refused_operator(role)
    with pytest.raises(expected):
        asyncio.run(importer(ew, who).search(ew.client, ew.directory, "ada"))
    with pytest.raises(expected):
        sync(ew, who, ids=(staff["ada"],))
    assert ew.vault.people.list(ew.admin, ew.client)[0] == []


def _counts(ew: EntraWorld) -> tuple[int, int, int]:
    """(the newest audit entry's number, people, groups) of the client."""
    people, _ = ew.vault.people.list(ew.admin, ew.client)
    groups, _ = ew.vault.groups.list(ew.admin, ew.client)
    return ew.vault.audit.list(ew.admin, limit=1)[0].seq, len(people), len(groups)


def test_a_dry_run_reports_what_a_sync_would_do_and_keeps_nothing(ew_both: EntraWorld) -> None:
    """On SQLite and PostgreSQL: the rehearsal's savepoints and rollback are each's own."""
    ew, staff = ew_both, make_staff(ew_both)
    ew.vault.people.add(ew.admin, ew.client, {"username": f"bob@{ew.tenant.domain}"})
    before = _counts(ew)
    dry = sync(ew, dry_run=True, ids=(staff["sales"], staff["ada"], staff["bob"]), members=True)
    assert dry.dry_run
    assert dry.to_json()["dry_run"] is True
    assert _counts(ew) == before  # no person, group, member or audit entry kept
    real = sync(ew, ids=(staff["sales"], staff["ada"], staff["bob"]), members=True)
    assert not real.to_json()["dry_run"]
    # line for line the same, refusals and members included; created ones have no id yet
    shown = [o.to_json() for o in dry.objects]
    expected = [o.to_json() for o in real.objects]
    for line in expected:
        if line["outcome"] == "created":
            line["vault_id"] = None
    assert shown == expected
    assert by_id(dry)[staff["bob"]].outcome == "refused"
    assert sorted(by_id(dry)[staff["sales"]].members_added) == ["Inner Circle"]
    # after the sync, a dry run of a change says what would be updated, and keeps it out
    ew.tenant.update_user(staff["ada"], jobTitle="Lead Analyst")
    after_sync = _counts(ew)
    line = by_id(sync(ew, dry_run=True, ids=(staff["ada"],)))[staff["ada"]]
    assert (line.outcome, line.changed) == ("updated", ("job_title",))
    assert line.vault_id == by_id(real)[staff["ada"]].vault_id
    assert _counts(ew) == after_sync
    assert ew.vault.people.get(ew.admin, line.vault_id).row.job_title == "Analyst"
