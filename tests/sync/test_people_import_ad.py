"""The import of people and groups from Active Directory (this test's own OU of the real Samba
DC): search by words and by LDAP filter, a bad filter naming ``query``, sync into people and
groups with memberships and nested groups, a second sync all unchanged that writes nothing, a
distribution group refused, a user in both AD and Entra (the Graph simulator) by the same
username one person of two directories (``linked``), and who may."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ldap3 import MODIFY_DELETE, MODIFY_REPLACE

from credsync.errors import InvalidInput
from credsync.sync.people_import import PeopleImport, Selection
from credsync.sync.people_import_report import ImportReport
from credsync.testing.samba import OuWorld, TestUser

from .entra import add_entra_directory
from .helpers import SyncWorld

pytestmark = pytest.mark.samba

GLOBAL_DISTRIBUTION = 0x2


def importer(sw: SyncWorld, actor: Any = None) -> PeopleImport:
    return PeopleImport(sw.vault, sw.keys, actor or sw.admin)


def sync(sw: SyncWorld, actor: Any = None, **selection: Any) -> ImportReport:
    chosen = Selection(**selection)
    return asyncio.run(importer(sw, actor).sync(sw.client, sw.directory, chosen))


def by_id(report: ImportReport) -> dict[str, Any]:
    return {o.object_id: o for o in report.objects}


def set_attrs(ad: OuWorld, dn: str, **values: str) -> None:
    ad.admin.conn.modify(dn, {k: [(MODIFY_REPLACE, [v])] for k, v in values.items()})


def user(ad: OuWorld, display: str, **values: str) -> TestUser:
    made = ad.create_user(display_name=display)
    if values:
        set_attrs(ad, made.dn, **values)
    return made


def group(ad: OuWorld, name: str, *members: str) -> str:
    dn = ad.admin.create_group(ad.dn, name)
    for member in members:
        ad.admin.add_member(dn, member)
    return dn


def make_staff(ad: OuWorld) -> dict[str, Any]:
    ada = user(ad, "Ada Lovelace", givenName="Ada", sn="Lovelace", department="Research",
               title="Analyst", c="GB")  # fmt: skip
    bob = user(ad, "Bob MacDonald", department="Sales")
    cyd = user(ad, "Cyd Charisse")
    inner = group(ad, "Inner Circle", cyd.dn)
    sales = group(ad, "SalesTeam 2026", bob.dn, inner)
    return {
        "ada": ada, "bob": bob, "cyd": cyd,
        "inner": ad.admin.guid(inner), "sales": ad.admin.guid(sales),
    }  # fmt: skip


@pytest.fixture
def staff(sw: SyncWorld) -> dict[str, Any]:
    return make_staff(sw.ad)


def test_search_by_words_and_by_filter_and_a_bad_filter(
    sw: SyncWorld, staff: dict[str, Any]
) -> None:
    found = asyncio.run(importer(sw).search(sw.client, sw.directory, "ada"))
    assert [p["object_id"] for p in found.people] == [staff["ada"].guid]
    assert found.people[0]["username"] == staff["ada"].upn
    assert found.people[0]["vault_id"] is None
    sync(sw, ids=(staff["ada"].guid,))
    again = asyncio.run(importer(sw).search(sw.client, sw.directory, "team", groups=True))
    assert [g["object_id"] for g in again.groups] == [staff["sales"]]
    assert again.groups[0]["type"] == "security"
    known = asyncio.run(importer(sw).search(sw.client, sw.directory, "(department=Research)"))
    assert [p["object_id"] for p in known.people] == [staff["ada"].guid]
    assert known.people[0]["vault_id"] is not None
    for bad in ("(department=Research", "Ada (Research)"):
        with pytest.raises(InvalidInput) as refused:
            asyncio.run(importer(sw).search(sw.client, sw.directory, bad))
        assert refused.value.field == "query"


def test_sync_creates_then_a_second_run_is_all_unchanged_and_writes_nothing(
    sw: SyncWorld, staff: dict[str, Any]
) -> None:
    first = sync(sw, query="", groups=True)
    assert first.totals["created"] == 5, [o.to_json() for o in first.objects]
    assert first.totals["refused"] == 0
    person = sw.vault.people.get(sw.admin, by_id(first)[staff["ada"].guid].vault_id)
    row = person.row
    assert (row.username, row.department, row.job_title, row.usage_location) == (
        staff["ada"].upn, "Research", "Analyst", "GB")  # fmt: skip
    assert (row.given_name, row.surname, row.display_name) == ("Ada", "Lovelace", "Ada Lovelace")
    sales = by_id(first)[staff["sales"]]
    assert sorted(sales.members_added) == ["Bob MacDonald", "Inner Circle"]
    assert by_id(first)[staff["inner"]].members_added == ["Cyd Charisse"]
    audit_before = sw.vault.audit.list(sw.admin, limit=1)[0].seq
    second = sync(sw, query="", groups=True)
    assert second.totals["unchanged"] == 5
    assert second.writes == 0
    assert sw.vault.audit.list(sw.admin, limit=1)[0].seq == audit_before
    # a change in AD is an update; a disabled account a disabled person
    set_attrs(sw.ad, staff["bob"].dn, title="Lead")
    sw.ad.admin.disable(staff["bob"].dn)
    line = by_id(sync(sw, ids=(staff["bob"].guid,)))[staff["bob"].guid]
    assert (line.outcome, sorted(line.changed)) == ("updated", ["enabled", "job_title"])


def test_nested_groups_come_with_the_members_option(sw: SyncWorld, staff: dict[str, Any]) -> None:
    alone = by_id(sync(sw, ids=(staff["sales"],)))[staff["sales"]]
    assert alone.outcome == "created"
    assert sorted(alone.members_outside) == ["Bob MacDonald", "Inner Circle"]
    nested = by_id(sync(sw, ids=(staff["sales"],), members=True))
    assert nested[staff["cyd"].guid].outcome == "created"
    assert nested[staff["inner"]].members_added == ["Cyd Charisse"]
    assert sorted(nested[staff["sales"]].members_added) == ["Bob MacDonald", "Inner Circle"]
    sw.ad.admin.conn.modify(
        f"CN=SalesTeam 2026,{sw.ad.dn}", {"member": [(MODIFY_DELETE, [staff["bob"].dn])]}
    )
    after = by_id(sync(sw, ids=(staff["sales"],), members=True))
    assert after[staff["sales"]].members_removed == ["Bob MacDonald"]


def test_a_distribution_group_is_refused_and_the_rest_goes_on(
    sw: SyncWorld, staff: dict[str, Any]
) -> None:
    news = group(sw.ad, "Newsletter", staff["ada"].dn)
    set_attrs(sw.ad, news, groupType=str(GLOBAL_DISTRIBUTION))
    news_id = sw.ad.admin.guid(news)
    report = by_id(sync(sw, ids=(news_id, staff["ada"].guid, "no-such-object")))
    assert report[news_id].outcome == "refused"
    assert "distribution" in (report[news_id].reason or "")
    assert report["no-such-object"].outcome == "refused"
    assert report[staff["ada"].guid].outcome == "created"


def test_a_user_of_both_ad_and_entra_is_one_person_of_two_directories(
    sw: SyncWorld, graph_sim: Any
) -> None:
    tenant = graph_sim.add_tenant(users=0, groups=0)
    ada = user(sw.ad, "Ada Lovelace", department="Research")
    upn = f"{ada.name}@{tenant.domain}"  # the UPN suffix of the tenant's verified domain
    set_attrs(sw.ad, ada.dn, userPrincipalName=upn)
    cloud = tenant.create_user(upn=upn.upper(), display_name="Ada Lovelace")
    entra, _ = add_entra_directory(sw.vault_world, sw.client, graph_sim, tenant)
    first = by_id(sync(sw, ids=(ada.guid,)))[ada.guid]
    assert first.outcome == "created"
    chosen = Selection(ids=(str(cloud.id),))
    report = asyncio.run(importer(sw).sync(sw.client, entra, chosen))
    [line] = report.objects
    assert line.outcome == "linked"
    assert line.vault_id == first.vault_id
    people, _ = sw.vault.people.list(sw.admin, sw.client)
    assert len(people) == 1
    person = sw.vault.people.get(sw.admin, first.vault_id)
    assert sorted((a["directory"], a["object_id"]) for a in person.accounts) == sorted(
        [(sw.directory, ada.guid), (entra, str(cloud.id))]
    )
    assert person.row.department == "Research"  # AD, its source of truth, keeps its fields


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may_search_and_sync(sw: SyncWorld, staff: dict[str, Any], role: str) -> None:
    # a directory manager has directory.setup and vault.write, not on this client
    who, expected = sw.refused_operator(role)
    with pytest.raises(expected):
        asyncio.run(importer(sw, who).search(sw.client, sw.directory, "ada"))
    with pytest.raises(expected):
        sync(sw, who, ids=(staff["ada"].guid,))
    assert sw.vault.people.list(sw.admin, sw.client)[0] == []


def test_a_dry_run_then_a_sync_then_all_unchanged_on_both_databases(sw_both: SyncWorld) -> None:
    """On SQLite and PostgreSQL: a dry run keeps nothing, the sync makes what it said, and a
    second sync of the same is all unchanged with no write."""
    sw, staff = sw_both, make_staff(sw_both.ad)
    before = sw.vault.audit.list(sw.admin, limit=1)[0].seq
    chosen = Selection(ids=(staff["sales"],), members=True)
    dry = asyncio.run(importer(sw).sync(sw.client, sw.directory, chosen, dry_run=True))
    assert dry.totals["created"] == 4, [o.to_json() for o in dry.objects]
    assert sw.vault.audit.list(sw.admin, limit=1)[0].seq == before
    assert sw.vault.people.list(sw.admin, sw.client)[0] == []
    real = sync(sw, ids=(staff["sales"],), members=True)
    assert [(o.object_id, o.outcome) for o in real.objects] == [
        (o.object_id, o.outcome) for o in dry.objects
    ]
    after = sw.vault.audit.list(sw.admin, limit=1)[0].seq
    again = sync(sw, ids=(staff["sales"],), members=True)
    assert again.totals["unchanged"] == 4
    assert again.writes == 0
    assert sw.vault.audit.list(sw.admin, limit=1)[0].seq == after
