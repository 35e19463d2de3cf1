"""The AD connector's ``people`` capability against the real Samba DC: searches by LDAP filter
and by words, paged beyond the page size, scoped to the base DN; the person fields; reads by
objectGUID; groups with their types; direct members (people and nested groups) resolved by
objectClass, read with ranged retrieval; a malformed or refused filter naming ``query``."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from ldap3 import MODIFY_DELETE, MODIFY_REPLACE

from credsync.connectors.ad import ActiveDirectoryConnector
from credsync.connectors.ad._people import dns_domain, query_filter
from credsync.connectors.base import Capability
from credsync.connectors.people_source import PeopleSource
from credsync.errors import InvalidInput
from credsync.testing.samba import OuWorld, TestUser

pytestmark = pytest.mark.samba

GLOBAL_DISTRIBUTION = 0x2


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _all(items: Any) -> list[Any]:
    return [i async for i in items]


def connector(ad_ou: OuWorld, **changes: Any) -> ActiveDirectoryConnector:
    return ActiveDirectoryConnector(ad_ou.config(**changes))


def set_attrs(ad_ou: OuWorld, dn: str, **values: str) -> None:
    ad_ou.admin.conn.modify(dn, {k: [(MODIFY_REPLACE, [v])] for k, v in values.items()})


def group(ad_ou: OuWorld, name: str, *members: str, distribution: bool = False) -> str:
    dn = ad_ou.admin.create_group(ad_ou.dn, name)
    if distribution:
        set_attrs(ad_ou, dn, groupType=str(GLOBAL_DISTRIBUTION))
    for member in members:
        ad_ou.admin.add_member(dn, member)
    return dn


def person(ad_ou: OuWorld, display: str, **values: str) -> TestUser:
    user = ad_ou.create_user(display_name=display)
    if values:
        set_attrs(ad_ou, user.dn, **values)
    return user


def test_search_by_words_and_filter_with_the_person_fields(ad_ou: OuWorld) -> None:
    ada = person(ad_ou, "Ada Lovelace", givenName="Ada", sn="Lovelace", department="Research",
                 title="Analyst", c="gb", mail="ada@example.test")  # fmt: skip
    bob = person(ad_ou, "Bob MacDonald", department="Sales")
    off = ad_ou.create_user(display_name="Cyd Off", enabled=False)
    conn = connector(ad_ou)
    try:
        assert Capability.PEOPLE in conn.capabilities
        assert isinstance(conn, PeopleSource)
        [found] = run(_all(conn.search_people("love")))  # a word of the display name
        assert found.object_id == ada.guid
        assert (found.username, found.display_name, found.given_name, found.surname) == (
            ada.upn, "Ada Lovelace", "Ada", "Lovelace")  # fmt: skip
        assert (found.email, found.department, found.job_title, found.usage_location) == (
            "ada@example.test", "Research", "Analyst", "GB")  # fmt: skip
        assert found.enabled
        # a prefix of the sign-in name; every word must match
        assert [p.object_id for p in run(_all(conn.search_people(bob.name[:6])))] == [bob.guid]
        assert run(_all(conn.search_people("ada bob"))) == []
        assert [p.object_id for p in run(_all(conn.search_people("ada love")))] == [ada.guid]
        sales = run(_all(conn.search_people("(department=Sales)")))
        assert [p.object_id for p in sales] == [bob.guid]
        every = {p.object_id: p for p in run(_all(conn.search_people("")))}
        assert set(every) == {ada.guid, bob.guid, off.guid}
        assert not every[off.guid].enabled
        assert every[bob.guid].usage_location == ""
        # the filter is ANDed with the kind's: a group matching it is not a person
        group(ad_ou, "Sales People")
        assert run(_all(conn.search_people("(cn=Sales People)"))) == []
    finally:
        run(conn.close())


def test_a_user_without_upn_signs_in_as_sam_at_the_dns_domain(ad_ou: OuWorld) -> None:
    user = ad_ou.create_user()
    ad_ou.admin.conn.modify(user.dn, {"userPrincipalName": [(MODIFY_DELETE, [])]})
    conn = connector(ad_ou)
    try:
        [found] = run(conn.read_people([user.guid]))
        assert found.username == f"{user.name}@{ad_ou.facts.realm.lower()}"
        assert dns_domain("DC=corp,dc=Contoso,DC=com") == "corp.Contoso.com"
    finally:
        run(conn.close())


def test_bad_filters_name_query(ad_ou: OuWorld) -> None:
    conn = connector(ad_ou)
    try:
        for bad in ("(cn=a", "(cn=a)(sn=b)", "(cn)", "Ada (Sales)", "(cn=\\zz)"):
            with pytest.raises(InvalidInput) as refused:
                run(_all(conn.search_people(bad)))
            assert refused.value.field == "query", bad
    finally:
        run(conn.close())


def test_paged_beyond_the_page_size_and_scoped_to_the_base(ad_ou: OuWorld) -> None:
    made = {ad_ou.create_user(display_name=f"Pat Member{n:02d}").guid for n in range(7)}
    elsewhere = ad_ou.admin.new_ou("people-out")
    try:
        outside = ad_ou.admin.create_user(elsewhere, display_name="Pat Outside")
        conn = connector(ad_ou, options={"page_size": "2"})
        try:
            found = run(_all(conn.search_people("pat")))
            assert {p.object_id for p in found} == made
            assert len(found) == len(made)  # each once
            assert run(conn.read_people([outside.guid])) == []
            ids = sorted(made)
            read = run(conn.read_people([*ids, str(uuid.uuid4()), "not-a-guid"]))
            assert [p.object_id for p in read] == ids  # in the order asked, unknowns left out
        finally:
            run(conn.close())
    finally:
        ad_ou.admin.delete_tree(elsewhere)


def test_groups_their_types_and_members_nested_groups_included(ad_ou: OuWorld) -> None:
    ada, bob = person(ad_ou, "Ada Lovelace"), person(ad_ou, "Bob MacDonald")
    computer = f"CN=pc{uuid.uuid4().hex[:8]},{ad_ou.dn}"
    ad_ou.admin.conn.add(computer, ["computer"], {"sAMAccountName": computer[3:13] + "$"})
    inner = group(ad_ou, "Inner Circle", ada.dn)
    group(ad_ou, "SalesTeam 2026", bob.dn, inner, computer)
    news = group(ad_ou, "Newsletter", ada.dn, distribution=True)
    set_attrs(ad_ou, news, mail="news@example.test", description="Monthly")
    conn = connector(ad_ou)
    try:
        groups = {g.name: g for g in run(_all(conn.search_groups("")))}
        assert sorted(groups) == ["Inner Circle", "Newsletter", "SalesTeam 2026"]
        assert groups["Inner Circle"].type == "security"
        assert (groups["Newsletter"].type, groups["Newsletter"].email) == (
            "distribution", "news@example.test")  # fmt: skip
        assert groups["Newsletter"].description == "Monthly"
        assert [g.name for g in run(_all(conn.search_groups("circle")))] == ["Inner Circle"]
        assert [g.name for g in run(_all(conn.search_groups("(description=Month*)")))] == [
            "Newsletter"
        ]
        outer_id = groups["SalesTeam 2026"].object_id
        members = run(_all(conn.iter_members(outer_id)))
        assert sorted((m.kind, m.object_id, m.name) for m in members) == sorted(
            [
                ("person", bob.guid, "Bob MacDonald"),
                ("group", groups["Inner Circle"].object_id, "Inner Circle"),
            ]
        )  # fmt: skip  (the computer is neither)
        [again] = run(conn.read_groups([outer_id, ada.guid]))  # a user is no group
        assert again.name == "SalesTeam 2026"
        assert run(_all(conn.iter_members(str(uuid.uuid4())))) == []
    finally:
        run(conn.close())


def test_a_large_group_is_read_range_by_range(ad_ou: OuWorld) -> None:
    """More members than a range holds (Windows: 1500; here 2): every one comes back once."""
    users = [ad_ou.create_user() for _ in range(5)]
    big = group(ad_ou, "Big", *(u.dn for u in users))
    for size in ("2", "5", "1500"):
        conn = connector(ad_ou, options={"member_range": size})
        try:
            members = run(_all(conn.iter_members(ad_ou.admin.guid(big))))
            assert sorted(m.object_id for m in members) == sorted(u.guid for u in users), size
        finally:
            run(conn.close())


def test_query_filters() -> None:
    assert query_filter("", groups=True) == "(objectClass=group)"
    text = query_filter("a*b", groups=False)
    assert "(sAMAccountName=a\\2ab*)" in text
    assert text.startswith("(&(&(objectCategory=person)")


def test_members_whose_dns_need_escaping(ad_ou: OuWorld) -> None:
    """A member DN with an escaped comma, parentheses and an asterisk in its CN is resolved
    (the filter value escaped per RFC 4515 on top of the DN's own escaping)."""
    sam = f"jd{uuid.uuid4().hex[:10]}"
    dn = f"CN=Doe\\, Jane (QA*),{ad_ou.dn}"
    ad_ou.admin.conn.add(dn, ["user"], {"sAMAccountName": sam, "displayName": "Jane Doe"})
    qa = group(ad_ou, "QA (all)", dn)
    conn = connector(ad_ou)
    try:
        [member] = run(_all(conn.iter_members(ad_ou.admin.guid(qa))))
        assert (member.kind, member.object_id, member.name) == (
            "person", ad_ou.admin.guid(dn), "Jane Doe")  # fmt: skip
        [found] = run(_all(conn.search_groups("QA")))
        assert found.name == "QA (all)"
        [jane] = run(_all(conn.search_people(f"(sAMAccountName={sam})")))
        assert jane.username == f"{sam}@{ad_ou.facts.realm.lower()}"  # no UPN: sam@domain
    finally:
        run(conn.close())


def test_words_and_filters_outside_ascii(ad_ou: OuWorld) -> None:
    asa = person(ad_ou, "Åsa Öberg", department="Försäljning")
    conn = connector(ad_ou)
    try:
        for query in ("åsa", "öberg", "(department=Försäljning)", "(displayName=Åsa*)"):
            found = run(_all(conn.search_people(query)))
            assert [p.object_id for p in found] == [asa.guid], query
        assert found[0].display_name == "Åsa Öberg"
    finally:
        run(conn.close())
