"""A client's rotation interval on the dashboard in-process: set on the add and edit forms
(vault.write; a viewer is refused and nothing changes), a bad value refused naming the
field, the client page's overdue count and the overdue list (directory_admin credentials
only for those who may see them), the overview's column."""

from __future__ import annotations

from fastapi.testclient import TestClient

from vault.helpers import age_password

from .conftest import WebWorld, csrf_of


def _post(browser: TestClient, where: str, /, **data: str) -> tuple[int, str]:
    response = browser.post(where, data={"csrf_token": csrf_of(browser.get("/").text), **data})
    return response.status_code, response.text


def test_the_interval_is_set_on_the_forms_by_writers_only(web: WebWorld) -> None:
    vault, admin, client = web.world.vault, web.world.admin, web.ids["client"]
    technician = web.signed_in("technician")
    assert 'name="rotate_every_days"' in technician.get("/clients/new").text
    status, _ = _post(technician, "/clients/new", name="Fabrikam", rotate_every_days="60")
    assert status == 303
    assert vault.clients.get(admin, "Fabrikam").rotate_every_days == 60

    edit = technician.get(f"/clients/{client}/edit").text
    assert 'name="rotate_every_days" value=""' in edit
    status, page = _post(
        technician, f"/clients/{client}/edit", name="Contoso", rotate_every_days="4000", version="1"
    )
    assert status == 400
    assert "whole number of days from 1 to 3650" in page
    assert 'id="rotate_every_days" name="rotate_every_days" value="4000"' in page
    assert vault.clients.get(admin, client).rotate_every_days is None

    viewer = web.signed_in("viewer")
    status, _ = _post(
        viewer, f"/clients/{client}/edit", name="Contoso", rotate_every_days="30", version="1"
    )
    assert status == 403
    assert vault.clients.get(admin, client).rotate_every_days is None
    assert vault.audit.list(admin, action="client.rotation") == []

    status, _ = _post(
        technician, f"/clients/{client}/edit", name="Contoso", rotate_every_days="30", version="1"
    )
    assert status == 303
    assert vault.clients.get(admin, client).rotate_every_days == 30
    [entry] = vault.audit.list(admin, action="client.rotation")
    assert (entry.actor, entry.details["rotate_every_days"]) == ("op-technician", 30)
    status, _ = _post(
        technician, f"/clients/{client}/edit", name="Contoso", rotate_every_days="", version="2"
    )
    assert status == 303
    assert vault.clients.get(admin, client).rotate_every_days is None


def test_the_client_page_and_overview_show_the_overdue_ones(web: WebWorld) -> None:
    vault, admin, client = web.world.vault, web.world.admin, web.ids["client"]
    age_password(web.world.db, web.ids["credential"], 40)
    age_password(web.world.db, web.ids["bind"], 40)
    admin_browser = web.signed_in("admin")
    assert "?overdue=1" not in admin_browser.get(f"/clients/{client}").text  # no interval
    vault.clients.set_rotation(admin, client, 30)

    page = admin_browser.get(f"/clients/{client}").text
    assert "every 30 days" in page
    assert f'<a class="badge badge-warn" href="/clients/{client}?overdue=1">2</a>' in page
    listed = admin_browser.get(f"/clients/{client}?overdue=1").text
    assert "Credentials overdue for rotation" in listed
    assert "Domain admin" in listed
    assert "Graph app" in listed
    seen = web.signed_in("viewer").get(f"/clients/{client}?overdue=1").text
    assert "Domain admin" in seen
    assert "Graph app" not in seen  # directory_admin: not for a viewer
    overview = web.signed_in("viewer").get("/overview").text
    assert f'href="/clients/{client}?overdue=1"' in overview
    assert "1 of Contoso's credentials overdue for rotation" in overview

    vault.clients.set_rotation(admin, client, 45)
    assert "No credential is overdue for rotation." in (
        admin_browser.get(f"/clients/{client}?overdue=1").text
    )
