"""Saved import selections and the import into a group on the dashboard, in-process against
the Graph simulator: "Save this selection" on the import page, the list with its last run,
"Run now" (the run's counts and refused lines on the selection's page), "Remove"; the import
into a group with a provisioning policy (the report's summary, "no password yet" on the
person's page); and who may: a viewer and a technician 403, an operator without the client
404."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from sync.entra import EntraWorld

from .conftest import WebWorld, csrf_of, page_text
from .entra_pages import client_id, directory_id, ew, graph_sim
from .test_people_import_pages import staff

__all__ = ["ew", "graph_sim", "staff"]


def _post(browser: TestClient, path: str, **fields: Any) -> Any:
    data = {"csrf_token": csrf_of(browser.get("/").text), **fields}
    return browser.post(path, data=data, follow_redirects=True)


def _save(browser: TestClient, ew: EntraWorld, ids: list[str], **fields: Any) -> Any:
    path = f"/clients/{client_id(ew)}/people/import"
    return _post(browser, path, directory=directory_id(ew), mode="save", id=ids, **fields)


def test_save_list_run_now_and_remove(web: WebWorld, ew: EntraWorld, staff: dict[str, str]) -> None:
    manager = web.signed_in("directory_manager")
    ew.vault.people.add(ew.admin, ew.client, {"username": f"bob@{ew.tenant.domain}"})
    saved = _save(manager, ew, [], q="", name="Everyone", interval="3600")
    assert saved.status_code == 200, saved.text  # followed to the list
    listed = page_text(saved.text)
    assert "Saved selection Everyone." in listed
    assert "every result of “”" in listed
    assert "every hour" in listed
    assert "never" in listed
    [made] = ew.vault_world.vault.audit.list(ew.admin, limit=5)[:1]
    assert made.action == "people_import.selection_save"
    selection_id = made.details["selection_id"]
    base = f"/clients/{client_id(ew)}/people/import/selections/{selection_id}"

    ran = _post(manager, f"{base}/run")
    assert ran.status_code == 200
    text = page_text(ran.text)
    assert "Run done" in text
    assert "2 created" in text  # Ada and Cyd; Bob is refused (a hand-kept person has him)
    assert "1 refused" in text
    assert "the vault owns" in text  # the refused line, with why
    assert 'class="row-bad"' in ran.text
    listed = page_text(manager.get(f"/clients/{client_id(ew)}/people/import/selections").text)
    assert "done" in listed
    assert "2 created" in listed

    gone = _post(manager, f"{base}/remove")
    assert gone.status_code == 200
    assert "has no saved selection" in page_text(gone.text)
    assert manager.get(base).status_code == 404


def test_the_ticked_ones_are_saved_and_a_bad_name_is_shown_on_its_field(
    web: WebWorld, ew: EntraWorld, staff: dict[str, str]
) -> None:
    manager = web.signed_in("directory_manager")
    bad = _save(manager, ew, [staff["ada"]], name=" ", interval="0")
    assert bad.status_code == 400
    assert 'id="save-name-error"' in bad.text
    done = _save(manager, ew, [staff["ada"]], name="Ada only", interval="0")
    assert "1 objects" in page_text(done.text)
    assert "by hand only" in page_text(done.text)


def test_the_import_into_a_group_and_no_password_yet_on_the_persons_page(
    web: WebWorld, ew: EntraWorld, staff: dict[str, str]
) -> None:
    manager = web.signed_in("directory_manager")
    path = f"/clients/{client_id(ew)}/people/import"
    form = manager.get(path, params={"directory": directory_id(ew), "q": ""}).text
    assert 'name="into_group"' in form
    assert 'value="save"' in form
    policy = {"into_group": "New staff", "folder": "People", "sync_mode": "enforce"}
    done = _post(manager, path, directory=directory_id(ew), mode="selected", id=[staff["ada"]],
                 invite="on", **policy)  # fmt: skip
    assert done.status_code == 200, done.text
    text = page_text(done.text)
    assert "Into group New staff (new)" in text
    assert "credentials with no password yet 1" in text
    ada = ew.vault.people.list(ew.admin, client_id(ew))[0][0]
    page = page_text(manager.get(f"/people/{ada.id}").text)
    assert "no password yet: awaiting onboarding" in page
    assert "to be sent an invitation" in page
    bad = _post(manager, path, directory=directory_id(ew), mode="selected", id=[staff["ada"]],
                into_group="x", sync_mode="sideways")  # fmt: skip
    assert bad.status_code == 400
    assert 'id="into-sync-mode-error"' in bad.text


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_who_may_not_gets_a_403(web: WebWorld, ew: EntraWorld, role: str) -> None:
    from credsync.sync.people_import import Selection
    from credsync.sync.people_selections import SavedSelections

    made = SavedSelections(ew.vault, ew.keys, ew.admin).save(
        ew.client, ew.directory, "All", Selection(query="")
    )
    browser = web.signed_in(role)
    base = f"/clients/{client_id(ew)}/people/import/selections"
    missing = "vault.write" if role == "viewer" else "directory.setup"
    for response in (
        browser.get(base),
        browser.get(f"{base}/{made.id}"),
        _post(browser, f"{base}/{made.id}/run"),
        _post(browser, f"{base}/{made.id}/remove"),
        _save(browser, ew, [], q="", name="Mine", interval="0"),
    ):
        assert response.status_code == 403
        assert missing in response.text
    assert [s.name for s in SavedSelections(ew.vault, ew.keys, ew.admin).list(ew.client)] == ["All"]


def test_an_operator_without_the_client_finds_nothing(web: WebWorld, ew: EntraWorld) -> None:
    from credsync.sync.people_import import Selection
    from credsync.sync.people_selections import SavedSelections

    made = SavedSelections(ew.vault, ew.keys, ew.admin).save(
        ew.client, ew.directory, "All", Selection(query="")
    )
    web.world.vault.operators.set_clients(web.world.admin, "op-directory_manager",
                                          [web.ids["client"]])  # fmt: skip
    browser = web.signed_in("directory_manager")
    base = f"/clients/{client_id(ew)}/people/import/selections"
    for response in (browser.get(base), _post(browser, f"{base}/{made.id}/run"),
                     _post(browser, f"{base}/{made.id}/remove")):  # fmt: skip
        assert response.status_code == 404
    assert SavedSelections(ew.vault, ew.keys, ew.admin).runs(ew.client, "All") == []
