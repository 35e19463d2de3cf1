"""Adding and changing clients, and a client's folders, on the dashboard in-process: the
directory settings only with directory.setup, a switch of the default to enforce only after
the page naming the accounts it overwrites, saves with the version read, archiving; folders
added and deleted (an empty one). Refused forms come back with what was wrong and nothing
changed; the services' audit entries are written."""

from __future__ import annotations

from fastapi.testclient import TestClient

from credsync.types import Secret, SyncMode
from credsync.vault.drafts import make_draft
from sync.helpers import add_directory

from .conftest import WebWorld, csrf_of


def _last_seq(web: WebWorld) -> int:
    return web.world.vault.audit.list(web.world.admin, limit=1)[0].seq


def _post(browser: TestClient, where: str, /, **data: str) -> tuple[int, str, str]:
    """(status, location, text of the page: the one redirected to, with its notice)."""
    response = browser.post(where, data={"csrf_token": csrf_of(browser.get("/").text), **data})
    location = response.headers.get("location", "")
    if response.status_code == 303:
        return 303, location, browser.get(location).text
    return response.status_code, location, response.text


def _client_id(location: str) -> str:
    return location.removeprefix("/clients/").split("?")[0].split("/")[0]


def test_add_a_client_with_or_without_its_directory_settings(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    technician = web.signed_in("technician")
    home = technician.get("/").text
    assert 'href="/clients/new"' in home
    form = technician.get("/clients/new").text
    assert '<label for="name">' in form
    assert 'name="directory_sync"' not in form  # needs directory.setup
    assert "needs permission directory.setup" in form
    status, location, page = _post(technician, "/clients/new", name="Fabrikam")
    assert status == 303
    assert "Added Fabrikam." in page
    fabrikam = vault.clients.get(admin, _client_id(location))
    assert (fabrikam.name, fabrikam.directory_sync, fabrikam.default_sync_mode) == (
        "Fabrikam",
        False,
        SyncMode.REPORT,
    )
    # Settings posted without the permission are refused, not ignored.
    status, _, page = _post(
        technician,
        "/clients/new",
        name="Sneaky",
        settings="on",
        directory_sync="on",
        default_sync_mode="report",
    )
    assert status == 403
    assert "directory.setup" in page

    manager = web.signed_in("directory_manager")
    form = manager.get("/clients/new").text
    for name in ("name", "directory_sync", "default_sync_mode"):
        assert f'<label for="{name}">' in form, name
    status, location, page = _post(
        manager,
        "/clients/new",
        name="Northwind",
        settings="on",
        directory_sync="on",
        default_sync_mode="enforce",
    )
    assert status == 303
    northwind = vault.clients.get(admin, _client_id(location))
    assert (northwind.directory_sync, northwind.default_sync_mode) == (True, SyncMode.ENFORCE)
    [entry] = vault.audit.list(admin, action="client.add", target_id=northwind.id)
    assert entry.actor == "op-directory_manager"
    assert entry.details["default_sync_mode"] == "enforce"


def test_a_refused_client_form_says_why_and_adds_nothing(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    before = _last_seq(web)
    status, _, page = _post(browser, "/clients/new", name="")
    assert status == 400
    assert "The client was not added" in page
    assert '<a href="#name">Give the client a name.</a>' in page
    status, _, page = _post(browser, "/clients/new", name="contoso")
    assert status == 400
    assert '<a href="#name">A client named &#39;contoso&#39; already exists' in page
    assert 'value="contoso"' in page
    status, _, page = _post(browser, "/clients/new", name="x" * 201)
    assert status == 400
    assert "client name is too long" in page.lower()
    assert _last_seq(web) == before


def test_change_a_client_with_the_version_read(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    client = web.ids["client"]
    browser = web.signed_in("directory_manager")
    page = browser.get(f"/clients/{client}").text
    assert f'href="/clients/{client}/edit"' in page
    form = browser.get(f"/clients/{client}/edit").text
    assert 'value="Contoso"' in form
    assert 'name="version" value="1"' in form
    assert 'id="directory_sync" name="directory_sync" checked' in form
    status, _, page = _post(
        browser,
        f"/clients/{client}/edit",
        name="Contoso Ltd",
        settings="on",
        directory_sync="",
        default_sync_mode="off",
        version="1",
    )
    assert status == 303
    assert "Changes saved." in page
    changed = vault.clients.get(admin, client)
    assert (changed.name, changed.directory_sync, changed.default_sync_mode) == (
        "Contoso Ltd",
        False,
        SyncMode.OFF,
    )
    assert vault.audit.list(admin, action="client.rename", target_id=client, limit=1)
    [configured] = vault.audit.list(admin, action="client.configure", target_id=client)
    assert configured.details["directory_sync"] is False
    # A save with the version read before: refused, nothing changed.
    status, _, page = _post(browser, f"/clients/{client}/edit", name="Contoso Group", version="1")
    assert status == 409
    assert "was changed since you read it" in page
    assert vault.clients.get(admin, client).name == "Contoso Ltd"
    status, _, page = _post(
        browser,
        f"/clients/{client}/edit",
        name="Contoso Ltd",
        settings="on",
        default_sync_mode="off",
        version="3",
    )
    assert status == 303
    assert "Nothing changed." in page

    # Without directory.setup: the name only; a settings change posted anyway is refused.
    technician = web.signed_in("technician")
    form = technician.get(f"/clients/{client}/edit").text
    assert 'name="directory_sync"' not in form
    before = _last_seq(web)
    status, _, page = _post(
        technician,
        f"/clients/{client}/edit",
        name="Contoso Ltd",
        settings="on",
        directory_sync="on",
        default_sync_mode="off",
    )
    assert status == 403
    assert "directory.setup" in page
    refusals = vault.audit.list(admin, limit=5)
    assert [e.action for e in refusals if e.seq > before] == ["permission.denied"]


def test_a_default_switched_to_enforce_names_the_accounts_first(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    client = web.ids["client"]
    add_directory(
        vault,
        admin,
        "Contoso",
        "contoso-ad",
        kind="active_directory",
        url="ldaps://dc1.contoso.example",
        base_dn="DC=contoso,DC=example",
        bind_credential=web.ids["bind"],
    )
    browser = web.signed_in("directory_manager")
    fields = {"name": "Contoso", "settings": "on", "directory_sync": "on"}
    before = _last_seq(web)
    status, _, page = _post(
        browser, f"/clients/{client}/edit", default_sync_mode="enforce", version="1", **fields
    )
    assert status == 200
    assert "<h1>Switch Contoso's default to enforce?</h1>" in page
    assert "In enforce mode the vault&#39;s password wins for every credential of" in page
    assert "Domain admin" in page  # follows the client's default
    assert "contoso-ad" in page
    assert "CONTOSO\\admin" in page
    assert "not linked yet" in page
    assert "Graph app" not in page  # its own mode (off)
    assert 'name="confirm" value="yes"' in page
    assert vault.clients.get(admin, client).default_sync_mode is SyncMode.REPORT
    assert _last_seq(web) == before
    status, _, page = _post(
        browser,
        f"/clients/{client}/edit",
        default_sync_mode="enforce",
        version="1",
        confirm="yes",
        **fields,
    )
    assert status == 303
    assert vault.clients.get(admin, client).default_sync_mode is SyncMode.ENFORCE
    cred = vault.credentials.get(admin, web.ids["credential"])
    assert cred.effective_sync_mode is SyncMode.ENFORCE


def test_archive_and_bring_back(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    fabrikam = vault.clients.add(admin, web.world.keys, "Fabrikam")
    browser = web.signed_in("technician")
    status, _, page = _post(browser, f"/clients/{fabrikam.id}/archive")
    assert status == 303
    assert "Archived Fabrikam" in page
    assert "Bring Fabrikam back" in page
    assert 'href="/clients/' + fabrikam.id + '/import"' not in page
    assert "Fabrikam" not in browser.get("/").text
    archived = browser.get("/?archived=1").text
    assert "<h1>Archived clients</h1>" in archived
    assert "Fabrikam" in archived
    assert "Contoso" not in archived
    status, _, page = _post(browser, f"/clients/{fabrikam.id}/unarchive")
    assert status == 303
    assert "Fabrikam is back." in page
    assert "Fabrikam" in browser.get("/").text
    actions = [e.action for e in vault.audit.list(admin, target_id=fabrikam.id, limit=5)]
    assert actions[:2] == ["client.unarchive", "client.archive"]


def test_folders_are_listed_added_and_deleted_when_empty(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    client = web.ids["client"]
    path = f"/clients/{client}/folders"
    browser = web.signed_in("technician")
    assert f'href="{path}"' in browser.get(f"/clients/{client}").text
    assert "No folders yet." in browser.get(path).text
    status, _, page = _post(browser, path, path=" Servers / DCs ")
    assert status == 303
    assert "Added folder Servers/DCs." in page
    assert '<th scope="row">Servers/DCs</th>' in page
    status, _, page = _post(browser, path, path="servers/dcs")
    assert status == 400
    assert '<a href="#path">Client &#39;Contoso&#39; already has folder' in page
    status, _, page = _post(browser, path, path="a/../b")
    assert status == 400
    assert '<a href="#path">Folder path must not contain' in page
    status, _, page = _post(browser, path, path="")
    assert status == 400
    assert '<a href="#path">Give the folder&#39;s path.</a>' in page

    vault.credentials.add(
        admin,
        web.world.keys,
        "Contoso",
        make_draft(title="DC1", password=Secret("Dc1-Pa55word!"), folder_path="Servers/DCs"),
    )
    status, _, page = _post(browser, f"{path}/delete", path="Servers/DCs")
    assert status == 400
    assert "Nothing was deleted: folder &#39;Servers/DCs&#39; still holds 1 credential" in page
    status, _, page = _post(browser, path, path="Empty")
    assert status == 303
    status, _, page = _post(browser, f"{path}/delete", path="Empty")
    assert status == 303
    assert "Deleted folder Empty." in page
    assert [f.path for f in vault.clients.folders(admin, client)] == ["Servers/DCs"]
    assert [e.details["path"] for e in vault.audit.list(admin, action="folder.delete")] == ["Empty"]

    viewer = web.signed_in("viewer").get(path).text
    assert "Servers/DCs" in viewer
    assert "Add a folder" not in viewer
    assert "/folders/delete" not in viewer
