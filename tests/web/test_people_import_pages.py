"""The import of people and groups on the dashboard, in-process, against the Graph simulator
(the Entra world of tests/sync over the web tests' vault): the link on the People page for
those who may, the search's preview (a bad query refused on its field), two objects selected
as a dry run (nothing written) then for real (the people created, the report's lines), "import
all results", and who may: a viewer and a technician get 403, an operator without the client
404, and the link is hidden from them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from credsync.connectors.registry import kind_of
from credsync.testing.samba import OuWorld
from sync.entra import EntraWorld, add_entra_directory
from sync.helpers import add_directory, build_sync_world

from .conftest import WebWorld, csrf_of, page_text
from .entra_pages import client_id, directory_id, ew, graph_sim, usernames

__all__ = ["ew", "graph_sim"]  # the fixtures, shared with tests/sync


@pytest.fixture
def staff(ew: EntraWorld) -> dict[str, str]:
    def user(alias: str, display: str, **props: Any) -> str:
        made = ew.tenant.create_user(upn=f"{alias}@{ew.tenant.domain}", display_name=display)
        if props:
            ew.tenant.update_user(made.id, **props)
        return str(made.id)

    ids = {
        "ada": user("ada", "Ada Lovelace", department="Research"),
        "bob": user("bob", "Bob MacDonald", department="Sales"),
        "cyd": user("cyd", "Cyd Charisse"),
    }
    ids["sales"] = ew.tenant.create_group("SalesTeam 2026", members=[ids["bob"]])
    return ids


def _preview(browser: TestClient, ew: EntraWorld, q: str, **extra: str) -> Any:
    params = {"directory": directory_id(ew), "q": q, **extra}
    return browser.get(f"/clients/{client_id(ew)}/people/import", params=params)


def _sync(browser: TestClient, ew: EntraWorld, ids: list[str], **fields: str) -> Any:
    data: dict[str, Any] = {
        "csrf_token": csrf_of(browser.get("/").text),
        "directory": directory_id(ew),
        "mode": "selected",
        "id": ids,
        **fields,
    }
    return browser.post(f"/clients/{client_id(ew)}/people/import", data=data)


def test_the_link_the_preview_and_a_bad_query(
    web: WebWorld, ew: EntraWorld, staff: dict[str, str]
) -> None:
    manager = web.signed_in("directory_manager")
    client = client_id(ew)
    people = manager.get(f"/clients/{client}/people").text
    assert f'href="/clients/{client}/people/import"' in people
    form = manager.get(f"/clients/{client}/people/import").text
    assert f'<option value="{directory_id(ew)}" selected>{ew.directory}</option>' in form

    found = _preview(manager, ew, "team", groups="1")
    assert found.status_code == 200
    assert f'name="id" value="{staff["sales"]}"' in found.text
    assert f'name="id" value="{staff["bob"]}"' not in found.text
    assert "SalesTeam 2026" in found.text

    everyone = _preview(manager, ew, "", all="1")
    for who in ("ada", "bob", "cyd"):
        assert f'name="id" value="{staff[who]}" checked' in everyone.text
    assert "not yet" in everyone.text

    bad = _preview(manager, ew, '"displayName:ada" AND')
    assert bad.status_code == 400
    assert 'id="q-error"' in bad.text
    assert 'aria-invalid="true" aria-describedby="q-error"' in bad.text
    assert "displayName:ada" in bad.text  # what was typed stays


def test_two_selected_as_a_dry_run_then_for_real_and_the_report(
    web: WebWorld, ew: EntraWorld, staff: dict[str, str]
) -> None:
    manager = web.signed_in("directory_manager")
    before = ew.vault.audit.list(ew.admin, limit=1)[0].seq
    dry = _sync(manager, ew, [staff["ada"], staff["bob"]], dry_run="on")
    assert dry.status_code == 200, dry.text
    text = page_text(dry.text)
    assert "A dry run: nothing was kept" in text
    assert "created 2" in text
    assert usernames(ew) == []
    assert ew.vault.audit.list(ew.admin, limit=1)[0].seq == before

    done = _sync(manager, ew, [staff["ada"], staff["bob"]])
    assert done.status_code == 200
    domain = ew.tenant.domain
    assert usernames(ew) == [f"ada@{domain}", f"bob@{domain}"]
    text = page_text(done.text)
    assert "dry run" not in text.lower()
    assert "created 2" in text
    assert "refused 0" in text
    ada = ew.vault.people.list(ew.admin, client_id(ew))[0][0]
    assert f'href="/people/{ada.id}"' in done.text

    # the preview now links them; a change in the directory is "updated" with its field
    assert f'href="/people/{ada.id}">already a person' in _preview(manager, ew, "ada").text
    ew.tenant.update_user(staff["ada"], jobTitle="Lead Analyst")
    again = page_text(_sync(manager, ew, [staff["ada"], "no-such-object"]).text)
    assert "updated 1" in again
    assert "changed: job_title" in again
    assert "refused 1" in again
    assert "no user or group with this id in the directory" in again
    assert 'class="row-bad"' in _sync(manager, ew, ["no-such-object"]).text


def test_import_all_results_with_the_members_of_groups(
    web: WebWorld, ew: EntraWorld, staff: dict[str, str]
) -> None:
    manager = web.signed_in("directory_manager")
    done = _sync(manager, ew, [], mode="all", q="team", groups="on", members="on")
    assert done.status_code == 200, done.text
    text = page_text(done.text)
    assert "created 2" in text  # the group and its member
    assert "members added: Bob MacDonald" in text
    assert usernames(ew) == [f"bob@{ew.tenant.domain}"]

    nothing = _sync(manager, ew, [])  # "Import the selected" with none ticked
    assert nothing.status_code == 400
    assert "choose object ids" in nothing.text


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_who_may_not_gets_a_403_and_no_link(
    web: WebWorld, ew: EntraWorld, staff: dict[str, str], role: str
) -> None:
    browser = web.signed_in(role)
    client = client_id(ew)
    assert "/people/import" not in browser.get(f"/clients/{client}/people").text
    missing = "vault.write" if role == "viewer" else "directory.setup"
    for response in (
        browser.get(f"/clients/{client}/people/import"),
        _preview(browser, ew, ""),
        _sync(browser, ew, [staff["ada"]]),
    ):
        assert response.status_code == 403
        assert missing in response.text
    assert usernames(ew) == []


def test_an_operator_without_the_client_finds_nothing(
    web: WebWorld, ew: EntraWorld, staff: dict[str, str]
) -> None:
    vault, admin = web.world.vault, web.world.admin
    vault.operators.set_clients(admin, "op-directory_manager", [web.ids["client"]])
    browser = web.signed_in("directory_manager")
    for response in (_preview(browser, ew, ""), _sync(browser, ew, [staff["ada"]])):
        assert response.status_code == 404
        assert "Ada" not in response.text
    assert usernames(ew) == []


def test_only_directories_that_can_be_a_people_source_are_offered(web: WebWorld) -> None:
    ldap = add_directory(
        web.world.vault,
        web.world.admin,
        "Contoso",
        "contoso-ldap",
        kind="ldap",
        url="ldaps://ldap.contoso.example",
        base_dn="ou=people,dc=contoso,dc=example",
        bind_credential=web.ids["bind"],
    ).id  # fmt: skip  (never reached here: the ldap kind has no PEOPLE capability)
    browser = web.signed_in("directory_manager")
    page = browser.get(f"/clients/{web.ids['client']}/people/import")
    assert page.status_code == 200
    assert ldap not in page.text
    assert "has no directory whose kind can be a source of people and groups" in page.text
    refused = browser.get(
        f"/clients/{web.ids['client']}/people/import", params={"directory": ldap, "q": "x"}
    )
    assert refused.status_code == 400
    assert "can't be searched for people and groups" in page_text(refused.text)


@pytest.mark.samba
def test_an_active_directory_is_offered_with_its_kinds_query_hint(
    web: WebWorld, ad_ou: OuWorld, graph_sim: Any
) -> None:
    """The real Samba DC: the page offers the client's AD, the query field's hint is the
    kind's own (an LDAP filter), a filter previews, a malformed one is refused on the field;
    with an Entra directory too and none chosen, each directory's hint is named."""
    sw = build_sync_world(web.world, ad_ou)
    ada = ad_ou.create_user(display_name="Ada Lovelace")
    client = str(web.world.vault.clients.get(web.world.admin, sw.client).id)
    ad = str(web.world.vault.directories.get(web.world.admin, sw.directory).id)
    browser = web.signed_in("directory_manager")
    url = f"/clients/{client}/people/import"
    form = browser.get(url).text
    assert f'<option value="{ad}" selected>{sw.directory}</option>' in form
    ad_hint = kind_of("active_directory").people_query_hint
    assert ad_hint in page_text(form)
    found = browser.get(url, params={"directory": ad, "q": f"(sAMAccountName={ada.name})"})
    assert found.status_code == 200, found.text
    assert f'name="id" value="{ada.guid}"' in found.text
    bad = browser.get(url, params={"directory": ad, "q": "(cn=Ada"})
    assert bad.status_code == 400
    assert 'id="q-error"' in bad.text
    assert "not an LDAP filter" in page_text(bad.text)

    tenant = graph_sim.add_tenant(users=0, groups=0)
    entra, _ = add_entra_directory(web.world, sw.client, graph_sim, tenant)
    both = page_text(browser.get(url).text)
    graph_hint = kind_of("entra").people_query_hint
    assert f"{sw.directory}: {ad_hint}" in both
    assert f"{entra}: {graph_hint}" in both
    entra_id = str(web.world.vault.directories.get(web.world.admin, entra).id)
    chosen = page_text(browser.get(url, params={"directory": entra_id, "q": "nobody"}).text)
    assert graph_hint in chosen
    assert ad_hint not in chosen
