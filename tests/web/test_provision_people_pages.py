"""Provisioning people on the dashboard, in-process, against the Graph simulator (the Entra
world of tests/sync over the web tests' vault): the link on the People page for those who
may, the settings form (a bad mapping refused on its field), the plan, the confirmation page,
the apply and its report (the user made in the tenant), and who may: a viewer and a
technician get 403, an operator without the client 404, and the link is hidden from them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from credsync.types import Secret
from credsync.vault.drafts import make_draft
from sync.entra import EntraWorld, build_entra_world

from .conftest import WebWorld, csrf_of, page_text
from .entra_pages import client_id, directory_id, graph_sim

__all__ = ["graph_sim"]  # the fixture, shared with tests/sync


@pytest.fixture
def ew(web: WebWorld, graph_sim: Any) -> EntraWorld:
    world = build_entra_world(web.world, graph_sim)
    cred = world.vault.credentials.add(world.admin, world.keys, world.client, make_draft(
        title="Ada login", username="ada", password=Secret("Cs-Ada-Pass-77!")))  # fmt: skip
    fields = {"username": "ada", "given_name": "Ada", "surname": "Lovelace", "credential": cred.id}
    world.vault.people.add(world.admin, world.client, fields)
    return world


def _settings(browser: TestClient, ew: EntraWorld, **given: str) -> Any:
    data = {"csrf_token": csrf_of(browser.get("/").text), "directory": directory_id(ew),
            "username_template": "{given}.{surname}", "upn_suffix": ew.tenant.domain,
            "licence": "ENTERPRISEPACK", "usage_location": "SE", "passwords": "vault",
            **given}  # fmt: skip
    return browser.post(f"/clients/{client_id(ew)}/people/provision/settings", data=data)


def _apply(browser: TestClient, ew: EntraWorld) -> Any:
    data = {"csrf_token": csrf_of(browser.get("/").text), "directory": directory_id(ew)}
    return browser.post(f"/clients/{client_id(ew)}/people/provision/apply", data=data)


def test_settings_plan_confirm_apply_and_the_report(web: WebWorld, ew: EntraWorld) -> None:
    manager = web.signed_in("directory_manager")
    client, directory = client_id(ew), directory_id(ew)
    assert f'href="/clients/{client}/people/provision"' in manager.get(
        f"/clients/{client}/people").text  # fmt: skip
    first = manager.get(f"/clients/{client}/people/provision")
    assert first.status_code == 200
    assert "Set the principal name suffix to see the plan" in first.text

    bad = _settings(manager, ew, username_template="{given}.{nick}")
    assert bad.status_code == 400
    assert 'id="username_template-error"' in bad.text
    assert "{nick}" in page_text(bad.text)
    moved = _settings(manager, ew)
    assert moved.status_code == 303
    saved = manager.get(moved.headers["location"])  # the plan
    text = page_text(saved.text)
    assert "Provisioning settings saved." in text
    assert f"ada.lovelace@{ew.tenant.domain}" in text
    assert "create, usage location, licence, password" in text
    assert ew.tenant.stats["writes"] == 0

    confirm = manager.get(f"/clients/{client}/people/provision/confirm",
                          params={"directory": directory})  # fmt: skip
    assert confirm.status_code == 200
    assert "2 directory writes" in page_text(confirm.text)
    done = _apply(manager, ew)
    assert done.status_code == 200, done.text
    report = page_text(done.text)
    assert "created, password set, licensed" in report
    [user] = [u for u in ew.tenant.store.users.live.values()
              if u["userPrincipalName"] == f"ada.lovelace@{ew.tenant.domain}"]  # fmt: skip
    assert ew.tenant.check_password(user["id"], "Cs-Ada-Pass-77!")
    writes = ew.tenant.stats["writes"]
    again = page_text(_apply(manager, ew).text)
    assert "unchanged 1" in again
    assert ew.tenant.stats["writes"] == writes


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_who_may_not_gets_a_403_and_no_link(web: WebWorld, ew: EntraWorld, role: str) -> None:
    browser = web.signed_in(role)
    client = client_id(ew)
    assert "/people/provision" not in browser.get(f"/clients/{client}/people").text
    for response, missing in (
        (browser.get(f"/clients/{client}/people/provision"), "directory.setup"),
        (_settings(browser, ew), "directory.setup"),
        (_apply(browser, ew), "vault.write" if role == "viewer" else "directory.setup"),
    ):
        assert response.status_code == 403
        assert missing in response.text
    assert ew.tenant.stats["writes"] == 0
    assert ew.vault.provisioning.settings(ew.admin, ew.directory)[1].version == 0


def test_an_operator_without_the_client_finds_nothing(web: WebWorld, ew: EntraWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    vault.operators.set_clients(admin, "op-directory_manager", [web.ids["client"]])
    browser = web.signed_in("directory_manager")
    client = client_id(ew)
    for response in (
        browser.get(f"/clients/{client}/people/provision"),
        _settings(browser, ew),
        _apply(browser, ew),
    ):
        assert response.status_code == 404
        assert "Ada" not in response.text
    assert ew.tenant.stats["writes"] == 0
