"""The check of deleted objects on the dashboard, in-process, against the Graph simulator:
the link on the People page for those who may, the list with an action select per object,
the confirmation (nothing done yet), the report after "Apply" (a restore done in the tenant,
a delete in the vault's trash), and who may: a viewer and a technician get 403 and no link,
an operator without the client 404."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credsync.sync.people_import import PeopleImport, Selection
from sync.entra import EntraWorld

from .conftest import WebWorld, csrf_of, page_text
from .entra_pages import client_id, directory_id, ew, graph_sim, usernames

__all__ = ["ew", "graph_sim"]  # the fixtures, shared with tests/sync


@pytest.fixture
def staff(ew: EntraWorld) -> dict[str, str]:
    """Ada and Bob, people of the vault from the tenant; both deleted there since."""
    t = ew.tenant
    ids = {
        alias: str(t.create_user(upn=f"{alias}@{t.domain}", display_name=name).id)
        for alias, name in (("ada", "Ada Lovelace"), ("bob", "Bob Baker"))
    }
    asyncio.run(
        PeopleImport(ew.vault, ew.keys, ew.admin).sync(
            ew.client, ew.directory, Selection(ids=tuple(ids.values()))
        )
    )
    for object_id in ids.values():
        t.soft_delete(object_id)
    return ids


def _post(browser: TestClient, ew: EntraWorld, fields: dict[str, str]) -> Any:
    data = {"csrf_token": csrf_of(browser.get("/").text), "directory": directory_id(ew), **fields}
    return browser.post(f"/clients/{client_id(ew)}/people/deleted", data=data)


def test_the_list_the_confirmation_and_the_report(
    web: WebWorld, ew: EntraWorld, staff: dict[str, str]
) -> None:
    manager = web.signed_in("directory_manager")
    client = client_id(ew)
    assert (
        f'href="/clients/{client}/people/deleted"' in manager.get(f"/clients/{client}/people").text
    )
    listed = manager.get(f"/clients/{client}/people/deleted")  # its one directory, checked
    assert listed.status_code == 200, listed.text
    for who in ("ada", "bob"):
        assert f'name="action:person:{staff[who]}"' in listed.text
        assert f'name="new:{staff[who]}"' in listed.text  # restorable
    assert '<option value="restore">Restore in the directory</option>' in listed.text
    assert "2 to decide" in page_text(listed.text)

    choices = {
        f"action:person:{staff['ada']}": "restore",
        f"action:person:{staff['bob']}": "delete",
        f"name:{staff['ada']}": "Ada Lovelace",
        f"name:{staff['bob']}": "Bob Baker",
    }
    review = _post(manager, ew, choices)
    assert review.status_code == 200, review.text
    text = page_text(review.text)
    assert "Apply 2 actions?" in text
    assert "Ada Lovelace (person): Restore in the directory" in text
    assert staff["ada"] not in ew.tenant.user_ids()  # nothing done yet
    assert len(usernames(ew)) == 2

    done = _post(manager, ew, {**choices, "confirm": "yes"})
    assert done.status_code == 200, done.text
    text = page_text(done.text)
    assert "done 2" in text
    assert "moved to the vault's trash" in text
    assert staff["ada"] in ew.tenant.user_ids()
    assert usernames(ew) == [f"ada@{ew.tenant.domain}"]
    assert "Nothing to decide" in page_text(manager.get(f"/clients/{client}/people/deleted").text)

    nothing = _post(manager, ew, {})
    assert nothing.status_code == 400
    assert "Choose an action for at least one object" in nothing.text


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_who_may_not_gets_a_403_and_no_link(
    web: WebWorld, ew: EntraWorld, staff: dict[str, str], role: str
) -> None:
    browser = web.signed_in(role)
    client = client_id(ew)
    assert "/people/deleted" not in browser.get(f"/clients/{client}/people").text
    choice = {f"action:person:{staff['ada']}": "restore", "confirm": "yes"}
    for response in (browser.get(f"/clients/{client}/people/deleted"), _post(browser, ew, choice)):
        assert response.status_code == 403
        assert "directory.setup" in response.text
    assert staff["ada"] not in ew.tenant.user_ids()


def test_an_operator_without_the_client_finds_nothing(
    web: WebWorld, ew: EntraWorld, staff: dict[str, str]
) -> None:
    vault, admin = web.world.vault, web.world.admin
    vault.operators.set_clients(admin, "op-directory_manager", [web.ids["client"]])
    browser = web.signed_in("directory_manager")
    choice = {f"action:person:{staff['ada']}": "restore", "confirm": "yes"}
    client = client_id(ew)
    for response in (browser.get(f"/clients/{client}/people/deleted"), _post(browser, ew, choice)):
        assert response.status_code == 404
        assert "Ada" not in response.text
    assert staff["ada"] not in ew.tenant.user_ids()
