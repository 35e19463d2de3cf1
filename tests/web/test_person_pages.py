"""People and groups of a client on the dashboard (issue 16), in-process: list, search,
add, bad input, edit, a directory-sourced attribute shown and refused, disable and enable,
the trash; groups with members (those in the trash marked), the member picker and a
refused cycle; and who may (a viewer sees and changes nothing, an operator without the
client finds nothing). The rules are the vault's (tests/vault/test_people.py); here, that
the pages show them."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from vault.flag_seed import add_ad_directory

from .conftest import WebWorld, csrf_of


def _post(browser: TestClient, where: str, /, **data: str) -> tuple[int, str, str]:
    """(status, location, text of the page: the one redirected to, with its notice)."""
    response = browser.post(where, data={"csrf_token": csrf_of(browser.get("/").text), **data})
    location = response.headers.get("location", "")
    if response.status_code == 303:
        return 303, location, browser.get(location).text
    return response.status_code, location, response.text


def _add(web: WebWorld, username: str, **fields: str) -> str:
    person = web.world.vault.people.add(
        web.world.admin, web.ids["client"], {"username": username, **fields}
    )
    return person.id


def _group(web: WebWorld, name: str, **fields: str) -> str:
    return web.world.vault.groups.add(
        web.world.admin, web.ids["client"], {"name": name, **fields}
    ).id


def _rows(page: str) -> list[str]:
    """The names in a list's table (each row's header cell)."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', body)


def test_the_client_page_leads_to_its_people_and_groups(web: WebWorld) -> None:
    client = web.ids["client"]
    page = web.signed_in("viewer").get(f"/clients/{client}").text
    assert f'href="/clients/{client}/people">People</a>' in page
    assert f'href="/clients/{client}/groups">Groups</a>' in page


def test_an_operator_adds_a_person_and_finds_them_by_search(web: WebWorld) -> None:
    client = web.ids["client"]
    browser = web.signed_in("technician")
    empty = browser.get(f"/clients/{client}/people")
    assert empty.status_code == 200
    assert "No people yet." in empty.text
    status, location, page = _post(
        browser,
        f"/clients/{client}/people/new",
        username="anna.berg",
        given_name="Anna",
        surname="Berg",
        email="anna@contoso.example",
        usage_location="se",
        department="Sales",
        credential=web.ids["credential"],
    )
    assert status == 303, page
    assert location.startswith("/people/")
    assert "Added Anna Berg." in page
    assert "<h1>Anna Berg</h1>" in page
    assert ">SE<" in page  # stored upper-case
    assert f'href="/credentials/{web.ids["credential"]}">Domain admin</a>' in page
    assert "is in no group" in page
    _add(web, "bo.lund", given_name="Bo", surname="Lund")
    assert _rows(browser.get(f"/clients/{client}/people").text) == ["Anna Berg", "Bo Lund"]
    found = browser.get(f"/clients/{client}/people", params={"q": "ann ber"})
    assert found.status_code == 200
    assert _rows(found.text) == ["Anna Berg"]
    assert 'value="ann ber"' in found.text  # the search kept in its box
    assert _rows(browser.get(f"/clients/{client}/people", params={"q": "contoso"}).text) == [
        "Anna Berg"
    ]
    nothing = browser.get(f"/clients/{client}/people", params={"q": "zed"})
    assert "Nobody found" in nothing.text
    bad = browser.get(f"/clients/{client}/people", params={"q": "!!"})
    assert bad.status_code == 400
    assert "The search needs at least one letter or digit" in bad.text
    added = web.world.vault.audit.list(web.world.admin, action="person.add", limit=5)
    assert [e.actor for e in added] == ["alice", "op-technician"]


def test_the_people_list_is_paged_and_reads_a_fixed_number_of_statements(
    web: WebWorld,
) -> None:
    for n in range(55):
        _add(web, f"user{n:02d}")
    browser = web.signed_in("viewer")
    path = f"/clients/{web.ids['client']}/people"
    browser.get(path)  # warm up (templates compiled, caches filled)
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    engine = web.world.vault.db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        first = browser.get(path).text
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert 0 < len(seen) <= 20, f"{len(seen)} statements for one page of 50 people"
    assert len(_rows(first)) == 50
    assert "Next 50 people" in first
    cursor = first.split("?after=", 1)[1].split('"', 1)[0]
    second = browser.get(f"/clients/{web.ids['client']}/people?after={cursor}").text
    assert _rows(second) == [f"user{n}" for n in range(50, 55)]
    assert "First page" in second


def test_bad_input_comes_back_on_its_field_with_the_values_typed(web: WebWorld) -> None:
    client = web.ids["client"]
    browser = web.signed_in("technician")
    status, _, page = _post(
        browser, f"/clients/{client}/people/new", given_name="Cleo", email="not-an-address"
    )
    assert status == 400
    assert "The person was not added" in page
    assert '<a href="#username">A person needs a username</a>' in page
    assert 'value="Cleo"' in page  # kept
    status, _, page = _post(
        browser, f"/clients/{client}/people/new", username="cleo", email="not-an-address"
    )
    assert status == 400
    assert 'id="email-error"' in page
    assert "is not an e-mail address" in page
    assert 'value="not-an-address"' in page
    _add(web, "dora")
    status, _, page = _post(browser, f"/clients/{client}/people/new", username="DORA")
    assert status == 409
    assert 'id="username-error"' in page
    assert "taken by another person" in page
    status, _, page = _post(
        browser, f"/clients/{client}/people/new", username="eve", usage_location="XX"
    )
    assert status == 400
    assert 'id="usage_location-error"' in page


def test_edit_disable_trash_and_restore(web: WebWorld) -> None:
    person = _add(web, "finn", given_name="Finn", department="IT")
    browser = web.signed_in("technician")
    form = browser.get(f"/people/{person}/edit").text
    assert 'name="version" value="1"' in form
    assert "readonly" not in form
    status, _, page = _post(
        browser, f"/people/{person}/edit", username="finn", given_name="Finn",
        display_name="Finn Holm", department="Support", version="1",
    )  # fmt: skip
    assert status == 303, page
    assert "Changes saved." in page
    assert "<h1>Finn Holm</h1>" in page
    assert ">Support<" in page
    stale = _post(browser, f"/people/{person}/edit", username="finn", department="X", version="1")
    assert stale[0] == 409
    assert "changed" in stale[2]
    same = _post(browser, f"/people/{person}/edit", **_fields_of(web, person))
    assert "Nothing changed." in same[2]

    status, _, page = _post(browser, f"/people/{person}/disable")
    assert "Finn Holm is disabled." in page
    assert "Enable Finn Holm" in page
    assert not web.world.vault.people.get(web.world.admin, person).row.enabled
    assert "Finn Holm is enabled." in _post(browser, f"/people/{person}/enable")[2]

    confirm = browser.get(f"/people/{person}/delete").text
    assert "Move Finn Holm to the trash?" in confirm
    status, _, page = _post(browser, f"/people/{person}/delete")
    assert "Moved Finn Holm to the trash" in page
    assert "In the trash since" in page
    client = web.ids["client"]
    assert _rows(browser.get(f"/clients/{client}/people").text) == []
    assert _rows(browser.get(f"/clients/{client}/people?trash=1").text) == ["Finn Holm"]
    assert browser.get(f"/people/{person}/edit").status_code == 404
    status, _, page = _post(browser, f"/people/{person}/restore")
    assert "Restored Finn Holm." in page
    assert _rows(browser.get(f"/clients/{client}/people").text) == ["Finn Holm"]


def _fields_of(web: WebWorld, person: str) -> dict[str, str]:
    row = web.world.vault.people.get(web.world.admin, person).row
    names = ("username", "given_name", "surname", "display_name", "email", "usage_location")
    names += ("department", "job_title")
    values = {n: str(getattr(row, n)) for n in names}
    return {**values, "credential": row.credential_id or "", "version": str(row.version)}


def test_directory_sourced_attributes_are_shown_with_their_source_and_read_only(
    web: WebWorld,
) -> None:
    directory, _ = add_ad_directory(web.world, "Contoso", "contoso-ad")
    made = web.world.vault.people.upsert_from_directory(
        web.world.admin,
        directory,
        "5f1c-guid-of-gus",
        {"username": "gus", "given_name": "Gus", "surname": "Grey", "enabled": True},
    )
    person = made.person.id
    browser = web.signed_in("technician")
    page = browser.get(f"/people/{person}").text
    assert page.count("from contoso-ad, read-only") == 4  # username, names, enabled
    assert "5f1c-guid-of-gus" in page  # the account
    assert "(source of truth)" in page
    form = browser.get(f"/people/{person}/edit").text
    assert re.search(r'id="surname" name="surname" value="Grey"[^>]*readonly', form)
    assert not re.search(r'id="department"[^>]*readonly', form)
    # A field of the vault's own is saved; the read-only ones come back as they were.
    fields = _fields_of(web, person)
    status, _, page = _post(browser, f"/people/{person}/edit", **{**fields, "job_title": "Chef"})
    assert status == 303
    assert "Changes saved." in page
    # A read-only one changed anyway: the vault's refusal on that field, the values kept.
    fields = _fields_of(web, person)
    status, _, page = _post(
        browser, f"/people/{person}/edit", **{**fields, "surname": "Gray", "department": "Ops"}
    )
    assert status == 400
    assert 'id="surname-error"' in page
    assert "surname comes from directory &#39;contoso-ad&#39;" in page
    assert "read-only in the vault" in page
    assert 'value="Gray"' in page
    assert 'value="Ops"' in page
    assert web.world.vault.people.get(web.world.admin, person).row.surname == "Grey"
    # Disabling, while the directory holds "enabled": refused with the vault's words.
    status, _, page = _post(browser, f"/people/{person}/disable")
    assert "Nothing was changed" in page
    assert "enabled comes from directory" in page
    assert web.world.vault.people.get(web.world.admin, person).row.enabled


def test_groups_with_members_and_a_refused_cycle(web: WebWorld) -> None:
    client = web.ids["client"]
    anna = _add(web, "anna", given_name="Anna", surname="Berg")
    browser = web.signed_in("technician")
    status, location, page = _post(
        browser, f"/clients/{client}/groups/new", name="Sales", type="microsoft365",
        email="sales@contoso.example", description="The sales team",
    )  # fmt: skip
    assert status == 303, page
    assert "Added group Sales." in page
    sales = location.split("?", 1)[0].rsplit("/", 1)[1]
    status, _, page = _post(browser, f"/clients/{client}/groups/new", name="")
    assert status == 400
    assert 'id="name-error"' in page
    nordic = _group(web, "Nordic sales")
    assert _rows(browser.get(f"/clients/{client}/groups").text) == ["Nordic sales", "Sales"]
    assert _rows(browser.get(f"/clients/{client}/groups", params={"q": "nord"}).text) == [
        "Nordic sales"
    ]

    # The picker finds people and groups; "Add" makes them members.
    picker = browser.get(f"/groups/{sales}", params={"find": "ann"}).text
    assert 'aria-label="Add person Anna Berg"' in picker
    status, _, page = _post(browser, f"/groups/{sales}/members", type="person", member=anna)
    assert "Member added." in page
    assert _rows(page) == ["Anna Berg"]
    status, _, page = _post(browser, f"/groups/{sales}/members", type="group", member=nordic)
    assert _rows(page) == ["Nordic sales", "Anna Berg"]  # groups first
    person_page = browser.get(f"/people/{anna}").text
    assert f'href="/groups/{sales}">Sales</a>' in person_page
    # Already a member: not offered again.
    assert "Add person Anna Berg" not in browser.get(f"/groups/{sales}?find=ann").text

    # Sales holds Nordic sales: Sales joining Nordic sales would make a cycle.
    status, _, page = _post(
        browser, f"/groups/{nordic}/members", type="group", member=sales, find="sales"
    )
    assert status == 400
    assert "can&#39;t join group &#39;Nordic sales&#39;" in page
    assert "which would make a cycle" in page
    assert 'value="sales"' in page  # the search kept
    assert _rows(browser.get(f"/groups/{nordic}").text) == []

    # A member in the trash is marked; the group in the trash keeps its members.
    web.world.vault.people.delete(web.world.admin, anna)
    page = browser.get(f"/groups/{sales}").text
    assert 'Anna Berg</a> <span class="badge badge-warn">in the trash</span>' in page
    assert "Move Sales to the trash?" in browser.get(f"/groups/{sales}/delete").text
    status, _, page = _post(browser, f"/groups/{sales}/delete")
    assert "Moved group Sales to the trash" in page
    assert _rows(browser.get(f"/clients/{client}/groups?trash=1").text) == ["Sales"]
    status, _, page = _post(browser, f"/groups/{sales}/restore")
    assert "Restored group Sales." in page
    assert len(_rows(page)) == 2

    # Edit, and remove a member.
    status, _, page = _post(
        browser, f"/groups/{sales}/edit", name="Sales team", type="microsoft365",
        email="sales@contoso.example", description="The sales team", version="3",
    )  # fmt: skip
    assert status == 303, page
    assert "<h1>Sales team</h1>" in page
    status, _, page = _post(browser, f"/groups/{sales}/members/remove", type="group", member=nordic)
    assert "Member removed." in page
    assert _rows(page) == ["Anna Berg"]


def test_a_directory_sourced_group_attribute_is_read_only(web: WebWorld) -> None:
    directory, _ = add_ad_directory(web.world, "Contoso", "contoso-ad")
    group, _ = web.world.vault.groups.upsert_from_directory(
        web.world.admin, directory, "guid-of-staff", {"name": "Staff", "type": "security"}
    )
    browser = web.signed_in("technician")
    assert browser.get(f"/groups/{group.id}").text.count("from contoso-ad, read-only") == 2
    form = browser.get(f"/groups/{group.id}/edit").text
    assert re.search(r'id="type" name="type" value="security" readonly', form)
    status, _, page = _post(
        browser, f"/groups/{group.id}/edit", name="Everyone", type="security", version="1"
    )
    assert status == 400
    assert 'id="name-error"' in page
    assert "name comes from directory" in page


def test_a_viewer_sees_and_changes_nothing(web: WebWorld) -> None:
    client = web.ids["client"]
    person = _add(web, "hal", given_name="Hal")
    group = _group(web, "Ops")
    web.world.vault.groups.add_member(web.world.admin, group, person)
    browser = web.signed_in("viewer")
    for path in (f"/clients/{client}/people", f"/people/{person}", f"/clients/{client}/groups"):
        page = browser.get(path)
        assert page.status_code == 200, path
        assert "/new" not in page.text
        assert "/edit" not in page.text
    page = browser.get(f"/groups/{group}", params={"find": "hal"}).text
    assert "Remove Hal" not in page
    assert "Add a member" not in page
    for where, data in [
        (f"/clients/{client}/people/new", {"username": "ivy"}),
        (f"/people/{person}/edit", {"username": "hal2"}),
        (f"/people/{person}/disable", {}),
        (f"/people/{person}/delete", {}),
        (f"/clients/{client}/groups/new", {"name": "X"}),
        (f"/groups/{group}/edit", {"name": "X"}),
        (f"/groups/{group}/members/remove", {"type": "person", "member": person}),
        (f"/groups/{group}/delete", {}),
    ]:
        status, _, page = _post(browser, where, **data)
        assert status == 403, where
        assert "vault.write" in page
    after = web.world.vault.people.get(web.world.admin, person).row
    assert (after.username, after.enabled, after.deleted_at) == ("hal", True, None)
    assert len(web.world.vault.groups.members(web.world.admin, group)) == 1


def test_an_operator_without_the_client_finds_nothing(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    client = web.ids["client"]
    person = _add(web, "jo", given_name="Jo")
    group = _group(web, "Finance")
    fabrikam = vault.clients.add(admin, web.world.keys, "Fabrikam")
    vault.operators.set_clients(admin, "op-technician", [fabrikam.id])
    browser = web.signed_in("technician")
    for path in (
        f"/clients/{client}/people",
        f"/clients/{client}/people/new",
        f"/people/{person}",
        f"/people/{person}/edit",
        f"/clients/{client}/groups",
        f"/groups/{group}",
        f"/groups/{group}/delete",
    ):
        page = browser.get(path)
        assert page.status_code == 404, path
        assert "Jo" not in page.text, path
        assert "Finance" not in page.text, path
    for where in (f"/people/{person}/delete", f"/groups/{group}/delete"):
        assert _post(browser, where)[0] == 404
    status, _, _ = _post(browser, f"/groups/{group}/members", type="person", member=person)
    assert status == 404
    assert vault.people.get(admin, person).row.deleted_at is None
    # Their own client's pages still work.
    assert browser.get(f"/clients/{fabrikam.id}/people").status_code == 200


def test_a_big_groups_page_lists_its_first_members_and_says_how_many_more(
    web: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credsync.web.routes import groups

    monkeypatch.setattr(groups, "SHOWN_MEMBERS", 2)
    group = _group(web, "Everyone")
    for name in ("kim", "lee", "max"):
        web.world.vault.groups.add_member(web.world.admin, group, _add(web, name))
    page = web.signed_in("viewer").get(f"/groups/{group}").text
    assert _rows(page) == ["kim", "lee"]
    assert "And 1 more members, not listed here" in page
