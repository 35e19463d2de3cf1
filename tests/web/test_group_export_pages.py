"""The export of groups on the dashboard, in-process, against the Graph simulator (the Entra
world of tests/sync over the web tests' vault): the link on the Groups page for those who
may, the rules saved, the plan (what is created, matched, and the duplicates), the
confirmation that removes the duplicates only when ticked, the report, a second apply that
writes nothing; a viewer and a technician get 403, an operator without the client 404, and
the link is hidden from them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from sync.entra import EntraWorld

from .conftest import WebWorld, csrf_of, page_text
from .entra_pages import client_id, directory_id, ew, graph_sim
from .test_credential_forms import _add_directory

__all__ = ["ew", "graph_sim"]  # the fixtures, shared with tests/sync


def _url(ew: EntraWorld) -> str:
    return f"/clients/{client_id(ew)}/groups/export"


def _plan(browser: TestClient, ew: EntraWorld) -> Any:
    return browser.get(_url(ew), params={"directory": directory_id(ew), "plan": "1"})


def _post(browser: TestClient, url: str, ew: EntraWorld, **fields: Any) -> Any:
    data = {"csrf_token": csrf_of(browser.get("/").text), "directory": directory_id(ew), **fields}
    return browser.post(url, data=data)


@pytest.fixture
def world(ew: EntraWorld) -> dict[str, str]:
    """Two groups named Staff in the tenant (the older matches, the other is a duplicate)
    and the vault's Staff and Sales."""
    ids = {"first": ew.tenant.create_group("Staff")}
    ew.sim.advance_clock(5)
    ids["second"] = ew.tenant.create_group("Staff")
    ids["staff"] = ew.vault.groups.add(ew.admin, ew.client, {"name": "Staff"}).id
    ids["sales"] = ew.vault.groups.add(ew.admin, ew.client, {"name": "Sales"}).id
    return ids


def test_rules_plan_confirmation_and_report(
    web: WebWorld, ew: EntraWorld, world: dict[str, str]
) -> None:
    manager = web.signed_in("directory_manager")
    groups_page = manager.get(f"/clients/{client_id(ew)}/groups").text
    assert f'href="{_url(ew)}"' in groups_page
    form = manager.get(_url(ew)).text
    assert f'<option value="{directory_id(ew)}" selected>{ew.directory}</option>' in form
    assert 'value="type_and_email" checked' in form

    rules = {"matching": "type_and_email", "membership_source": "vault"}
    saved = _post(
        manager, f"{_url(ew)}/settings", ew, create_missing="on", remove_duplicates="on", **rules
    )
    assert saved.status_code == 303
    shown = manager.get(saved.headers["location"])
    assert "Group export settings saved." in shown.text
    assert 'name="remove_duplicates" checked' in shown.text

    planned = _plan(manager, ew)
    assert planned.status_code == 200, planned.text
    text = page_text(planned.text)
    assert "The plan: 4 writes to make" in text  # create Sales, link it, link Staff, remove
    assert "Creates in" in text
    assert f'name="duplicate" value="{world["second"]}"' in planned.text
    assert "Remove these 1 duplicates" in text
    before = ew.tenant.stats["writes"]
    assert before == 0

    # applied without ticking the removal: the duplicate stays
    done = _post(manager, _url(ew), ew, duplicate=world["second"])
    assert done.status_code == 200, done.text
    assert "Done: 3 writes made" in page_text(done.text)
    assert world["second"] in ew.tenant.group_ids()
    assert "kept" in page_text(done.text)
    # ticked: removed
    removed = _post(manager, _url(ew), ew, duplicate=world["second"], remove_duplicates="on")
    assert "removed" in page_text(removed.text)
    assert world["second"] not in ew.tenant.group_ids()
    # nothing left to do
    again = _plan(manager, ew)
    assert "Nothing to do: the directory is in step." in page_text(again.text)
    # a stale confirmation is refused on the page, before any write
    writes = ew.tenant.stats["writes"]
    stale = _post(manager, _url(ew), ew, duplicate=world["first"], remove_duplicates="on")
    assert stale.status_code == 400
    assert "the confirmation does not match" in page_text(stale.text)
    assert ew.tenant.stats["writes"] == writes


def test_a_bad_rule_is_refused_on_the_page(web: WebWorld, ew: EntraWorld) -> None:
    manager = web.signed_in("directory_manager")
    bad = _post(manager, f"{_url(ew)}/settings", ew, matching="email")
    assert bad.status_code == 400
    assert "matching is one of" in page_text(bad.text)


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_who_may_not_gets_a_403_and_no_link(
    web: WebWorld, ew: EntraWorld, world: dict[str, str], role: str
) -> None:
    browser = web.signed_in(role)
    assert "/groups/export" not in browser.get(f"/clients/{client_id(ew)}/groups").text
    for response in (
        browser.get(_url(ew)),
        _plan(browser, ew),
        _post(browser, _url(ew), ew),
        _post(browser, f"{_url(ew)}/settings", ew, matching="name"),
    ):
        assert response.status_code == 403
        assert "directory.setup" in response.text or "vault.write" in response.text
    assert ew.tenant.stats["writes"] == 0


def test_an_operator_without_the_client_finds_nothing(
    web: WebWorld, ew: EntraWorld, world: dict[str, str]
) -> None:
    vault, admin = web.world.vault, web.world.admin
    vault.operators.set_clients(admin, "op-directory_manager", [web.ids["client"]])
    browser = web.signed_in("directory_manager")
    for response in (_plan(browser, ew), _post(browser, _url(ew), ew)):
        assert response.status_code == 404
        assert "Staff" not in response.text
    assert ew.tenant.stats["writes"] == 0


def test_only_directories_groups_can_be_exported_to_are_offered(web: WebWorld) -> None:
    ad = _add_directory(web)  # Contoso's Active Directory: no GROUP_EXPORT capability
    browser = web.signed_in("directory_manager")
    page = browser.get(f"/clients/{web.ids['client']}/groups/export")
    assert page.status_code == 200
    assert ad not in page.text
    assert "has no directory whose kind its groups can be exported to" in page.text
    refused = browser.get(
        f"/clients/{web.ids['client']}/groups/export", params={"directory": ad, "plan": "1"}
    )
    assert refused.status_code == 400
    assert "groups can't be exported to directory" in page_text(refused.text)
