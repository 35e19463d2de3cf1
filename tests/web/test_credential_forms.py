"""Adding and changing credentials on the dashboard, in-process: add one (typed or generated
password), edit its fields with the version it was read at, change its sync mode (enforce after
a page naming the accounts it overwrites), move it to the trash and restore it. Refused forms
come back with their values (never the passwords) and nothing changed; the services' audit
entries are written; no secret on any page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from credsync.types import SyncMode
from sync.helpers import add_directory

from .conftest import SECRET, WebWorld, csrf_of

TYPED = "Typed-Pa55word!"
NOTES = "Recovery codes: 1234 5678"


def _last_seq(web: WebWorld) -> int:
    return web.world.vault.audit.list(web.world.admin, limit=1)[0].seq


def _entry(web: WebWorld, action: str, target: str) -> dict[str, object]:
    """The newest audit entry of ``action`` on ``target``: who, and its details."""
    [entry] = web.world.vault.audit.list(web.world.admin, action=action, target_id=target, limit=1)
    return {"actor": entry.actor, **entry.details}


def _post(browser: TestClient, path: str, **data: str) -> tuple[int, str, str]:
    """(status, location, text of the page: the one redirected to, with its notice)."""
    response = browser.post(path, data={"csrf_token": csrf_of(browser.get("/").text), **data})
    location = response.headers.get("location", "")
    if response.status_code == 303:
        return 303, location, browser.get(location).text
    return response.status_code, location, response.text


def _add_directory(web: WebWorld) -> str:
    """An Active Directory of Contoso (never reached here), binding with "Graph app"."""
    directory = add_directory(
        web.world.vault,
        web.world.admin,
        "Contoso",
        "contoso-ad",
        kind="active_directory",
        url="ldaps://dc1.contoso.example",
        base_dn="DC=contoso,DC=example",
        bind_credential=web.ids["bind"],
    )
    return directory.id


def test_add_a_credential_with_a_typed_or_generated_password(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    client_page = browser.get(f"/clients/{web.ids['client']}").text
    new = f"/clients/{web.ids['client']}/credentials/new"
    assert f'href="{new}"' in client_page
    form = browser.get(new)
    assert form.status_code == 200
    for name in ("title", "username", "url", "type", "folder", "new_folder", "tags", "notes"):
        assert f'<label for="{name}"' in form.text, name
    for name in ("sync_mode", "password", "password_again", "generate", "policy"):
        assert f'for="{name}"' in form.text, name
    assert 'value="directory_admin"' not in form.text  # a technician can't add one
    assert 'value="enforce"' not in form.text  # nor switch one to enforce
    assert "--password-file" in form.text  # a PEM goes in with the CLI
    refused = _post(browser, new, title="Bind", type="directory_admin", generate="on")
    assert refused[0] == 403
    assert "directory_admin.use" in refused[2]

    status, location, page = _post(
        browser,
        new,
        title="Backup service",
        username="svc-backup",
        url="https://backup.contoso.example",
        type="service_account",
        folder="",
        new_folder="Servers / Backup",
        tags="Backup, nightly",
        notes=NOTES,
        sync_mode="report",
        password=TYPED,
        password_again=TYPED,
    )
    assert status == 303
    cred_id = location.removeprefix("/credentials/").split("?")[0]
    assert "Added Backup service." in page
    assert TYPED not in page
    assert NOTES not in page
    cred = web.world.vault.credentials.get(web.world.admin, cred_id)
    assert (cred.title, cred.username, cred.url, cred.type) == (
        "Backup service",
        "svc-backup",
        "https://backup.contoso.example",
        "service_account",
    )
    assert (cred.folder, cred.tags, cred.sync_mode) == (
        "Servers/Backup",
        ("backup", "nightly"),
        SyncMode.REPORT,
    )
    revealed = web.world.vault.credentials.reveal(web.world.admin, web.world.keys, cred_id)
    assert revealed.password.reveal() == TYPED
    assert revealed.notes is not None
    assert revealed.notes.reveal() == NOTES
    assert _entry(web, "credential.add", cred_id)["actor"] == "op-technician"

    # Generated with a policy: the folder now a choice of the select.
    again = browser.get(new).text
    assert '<option value="Servers/Backup">' in again
    status, location, page = _post(
        browser, new, title="Kiosk", folder="Servers/Backup", generate="on", policy="default"
    )
    assert status == 303
    assert "Its password was generated: reveal it to see it." in page
    kiosk_id = location.removeprefix("/credentials/").split("?")[0]
    kiosk = web.world.vault.credentials.get(web.world.admin, kiosk_id)
    assert (kiosk.folder, kiosk.sync_mode, kiosk.type) == ("Servers/Backup", None, "login")
    [first] = web.world.vault.credentials.history(web.world.admin, None, kiosk.id)
    assert first.reason == "created (generated)"


def test_a_refused_add_keeps_the_values_but_not_the_passwords(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    new = f"/clients/{web.ids['client']}/credentials/new"
    before = _last_seq(web)
    status, _, page = _post(
        browser,
        new,
        title="",
        username="kept-username",
        notes=NOTES,
        password=TYPED,
        password_again=TYPED + "x",
    )
    assert status == 400
    assert "The credential was not added: some fields need a look" in page
    assert '<a href="#title">Give the credential a title.</a>' in page
    assert '<a href="#password_again">The two passwords differ.</a>' in page
    assert 'id="title" name="title" value=""' in page
    assert 'aria-invalid="true" aria-describedby="title-error"' in page
    assert 'value="kept-username"' in page
    assert NOTES in page  # what was typed, back in its textarea
    assert TYPED not in page

    # The service's refusal, linked to its field.
    status, _, page = _post(
        browser, new, title="Bad tags", tags="ok, not ok!", password=TYPED, password_again=TYPED
    )
    assert status == 400
    assert re.search(r'<a href="#tags">Tag &#39;not ok!&#39; is not valid', page)
    assert 'value="Bad tags"' in page
    assert TYPED not in page
    status, _, page = _post(browser, new, title="No password")
    assert status == 400
    assert '<a href="#password">Type the password (twice)' in page
    # The field the service names, through the form's own names: a folder path typed is
    # the new folder's; an unknown policy is the policy's.
    status, _, page = _post(
        browser, new, title="Bad folder", new_folder="a/../b", password=TYPED, password_again=TYPED
    )
    assert status == 400
    assert '<a href="#new_folder">Folder path must not contain' in page
    assert 'aria-invalid="true" aria-describedby="new_folder-error"' in page
    status, _, page = _post(browser, new, title="Policy", generate="on", policy="nope")
    assert status == 400
    assert '<a href="#policy">No password policy named &#39;nope&#39;' in page
    status, _, page = _post(
        browser, new, title="Long url", url="u" * 3000, password=TYPED, password_again=TYPED
    )
    assert status == 400
    assert '<a href="#url">Url is too long' in page
    assert _last_seq(web) == before
    assert web.world.vault.credentials.search(web.world.admin, "Bad tags") == []


def test_edit_saves_what_changed_with_the_version(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    path = f"/credentials/{web.ids['credential']}"
    page = browser.get(path).text
    assert f'href="{path}/edit"' in page
    form = browser.get(f"{path}/edit")
    assert form.status_code == 200
    assert 'value="Domain admin"' in form.text
    assert 'name="version" value="1"' in form.text
    assert SECRET not in form.text
    assert 'type="password"' not in form.text  # the password is changed on its page

    fields = {
        "title": "Domain admin (DC1)",
        "username": "CONTOSO\\admin",
        "url": "",
        "type": "login",
        "folder": "",
        "new_folder": "Servers",
        "tags": "dc, tier0",
        "notes": NOTES,
        "version": "1",
    }
    status, _, page = _post(browser, f"{path}/edit", **fields)
    assert status == 303
    assert "Changes saved." in page
    cred = web.world.vault.credentials.get(web.world.admin, web.ids["credential"])
    assert (cred.title, cred.folder, cred.tags, cred.version) == (
        "Domain admin (DC1)",
        "Servers",
        ("dc", "tier0"),
        2,
    )
    assert cred.has_notes
    assert _entry(web, "credential.edit", cred.id)["changed"] == [
        "folder",
        "notes",
        "tags",
        "title",
    ]
    assert NOTES not in browser.get(f"{path}/edit").text  # sealed: never pre-filled

    # The same form again: nothing to save.
    same = {**fields, "new_folder": "", "folder": "Servers", "notes": "", "version": "2"}
    status, _, page = _post(browser, f"{path}/edit", **same)
    assert status == 303
    assert "Nothing changed." in page

    # Read at version 1, saved after version 2: refused, the values kept.
    before = _last_seq(web)
    stale = {**same, "title": "Someone else's title", "version": "1"}
    status, _, page = _post(browser, f"{path}/edit", **stale)
    assert status == 409
    assert "Nothing was changed" in page
    assert "changed since you read it" in page
    assert 'value="Someone else&#39;s title"' in page
    assert _last_seq(web) == before

    # Removing the notes; an invalid field is linked, nothing saved.
    status, _, page = _post(browser, f"{path}/edit", **{**same, "remove_notes": "on"})
    assert status == 303
    assert not web.world.vault.credentials.get(web.world.admin, cred.id).has_notes
    status, _, page = _post(browser, f"{path}/edit", **{**same, "title": "", "version": "3"})
    assert status == 400
    assert '<a href="#title">Give the credential a title.</a>' in page


def test_switching_to_enforce_names_the_accounts_first(web: WebWorld) -> None:
    _add_directory(web)
    path = f"/credentials/{web.ids['credential']}"
    technician = web.signed_in("technician")
    shown = technician.get(path).text
    assert f'action="{path}/sync-mode"' in shown
    assert '<option value="enforce"' not in shown  # needs directory.setup
    status, _, page = _post(technician, f"{path}/sync-mode", sync_mode="off", version="1")
    assert status == 303
    assert "Sync mode: off." in page
    refused = _post(technician, f"{path}/sync-mode", sync_mode="enforce", version="2")
    assert refused[0] == 403
    assert "directory.setup" in refused[2]

    manager = web.signed_in("directory_manager")
    before = _last_seq(web)
    status, _, page = _post(manager, f"{path}/sync-mode", sync_mode="enforce", version="2")
    assert status == 200
    assert "<h1>Switch Domain admin to enforce?</h1>" in page
    assert "the next run overwrites the directory&#39;s password of contoso-ad:CONTOSO" in page
    assert "(not linked yet)" in page
    assert 'name="confirm" value="yes"' in page
    assert _last_seq(web) == before  # nothing done yet
    assert web.world.vault.credentials.get(web.world.admin, web.ids["credential"]).version == 2

    status, _, page = _post(
        manager, f"{path}/sync-mode", sync_mode="enforce", version="2", confirm="yes"
    )
    assert status == 303
    assert "Sync mode: enforce." in page
    entry = _entry(web, "credential.sync_mode", web.ids["credential"])
    assert entry == {"actor": "op-directory_manager", "from": "off", "to": "enforce"}
    status, _, page = _post(manager, f"{path}/sync-mode", sync_mode="enforce", version="3")
    assert "Nothing changed." in page

    # A stale version is refused; a mode that isn't one is bad input.
    assert _post(manager, f"{path}/sync-mode", sync_mode="report", version="1")[0] == 409
    bad = _post(manager, f"{path}/sync-mode", sync_mode="sometimes", version="3")
    assert bad[0] == 400
    assert "sync mode must be one of" in bad[2].lower()


def test_trash_and_restore(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    cred_id = web.ids["credential"]
    path = f"/credentials/{cred_id}"
    confirm = browser.get(f"{path}/delete")
    assert confirm.status_code == 200
    assert "<h1>Move Domain admin to the trash?</h1>" in confirm.text
    assert 'name="version" value="1"' in confirm.text

    assert _post(browser, f"{path}/delete", version="0")[0] == 409  # stale
    status, _, page = _post(browser, f"{path}/delete", version="1")
    assert status == 303
    assert "Moved Domain admin to the trash" in page
    assert "In the trash since" in page
    assert f'action="{path}/restore"' in page
    assert f'action="{path}/reveal"' not in page  # reveal refuses one in the trash
    assert f'action="{path}/edit"' not in page
    assert "restore it to reveal the password" in page
    assert SECRET not in page
    assert _entry(web, "credential.delete", cred_id)["actor"] == "op-technician"
    client = f"/clients/{web.ids['client']}"
    assert f'href="{path}"' not in browser.get(client).text
    trash = browser.get(f"{client}?trash=1").text
    assert "Credentials in the trash" in trash
    assert f'href="{path}"' in trash
    assert browser.get(f"{path}/edit").status_code == 404

    status, _, page = _post(browser, f"{path}/restore")
    assert status == 303
    assert "Restored Domain admin." in page
    assert "In the trash since" not in page
    assert _entry(web, "credential.restore", cred_id)["actor"] == "op-technician"
    assert "The trash is empty." in browser.get(f"{client}?trash=1").text

    # A directory's bind credential can't go: said on the confirm page, nothing changed.
    _add_directory(web)
    manager = web.signed_in("directory_manager")
    status, _, page = _post(manager, f"/credentials/{web.ids['bind']}/delete", version="1")
    assert status == 400
    assert "Nothing was changed: Credential" in page
    assert "bind credential of directory &#39;contoso-ad&#39;" in page
    assert web.world.vault.credentials.get(web.world.admin, web.ids["bind"]).deleted_at is None


def test_the_credential_page_shows_a_queued_push_and_one_the_agent_gave_up(web: WebWorld) -> None:
    import datetime as dt

    from credsync.storage import push_queue
    from credsync.types import Secret
    from credsync.vault.drafts import make_draft

    vault, admin, keys = web.world.vault, web.world.admin, web.world.keys
    _add_directory(web)
    draft = make_draft(
        title="Enforced", username="enforced", password=Secret(TYPED), sync_mode=SyncMode.ENFORCE
    )
    cred = vault.credentials.add(admin, keys, "Contoso", draft)
    vault.credentials.set_password(admin, keys, cred.id, Secret("Queued-Pa55word!"))
    browser = web.signed_in("viewer")
    page = browser.get(f"/credentials/{cred.id}").text
    assert "A push of the new password is queued for contoso-ad." in page
    assert "gave up" not in page
    now = dt.datetime.now(dt.UTC)
    with web.world.db.write() as conn:  # as the agent does with a push it can't make
        claimed = push_queue.claim(conn, owner="t", now=now, lease=dt.timedelta(1), limit=10)
        push_queue.give_up(conn, [c.id for c in claimed], "the push can't be made: Boom", now)
    page = browser.get(f"/credentials/{cred.id}").text
    assert "is queued for" not in page
    assert "The agent gave up pushing this password to contoso-ad at " in page
    assert ": the push can&#39;t be made: Boom. The directory's runs still push it" in page
    assert "Queued-Pa55word!" not in page


def test_a_duplicate_is_warned_about_and_added_only_when_confirmed(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    new = f"/clients/{web.ids['client']}/credentials/new"
    first = {"title": "domain ADMIN", "username": "contoso\\ADMIN", "generate": "on"}
    status, _, page = _post(browser, new, **first)
    assert status == 409
    assert "Contoso already has a credential with this folder, title and username" in page
    assert 'id="allow_duplicate"' in page
    assert f'href="/credentials/{web.ids["credential"]}"' in page  # the one it would duplicate
    assert 'href="#allow_duplicate"' in page  # the error summary leads to the box
    assert len(web.world.vault.credentials.search(web.world.admin, "domain admin")) == 1
    status, location, page = _post(browser, new, **first, allow_duplicate="on")
    assert status == 303
    assert "Added domain ADMIN." in page
    assert len(web.world.vault.credentials.search(web.world.admin, "domain admin")) == 2
    # An edit that makes a duplicate: the same warning, saved once confirmed.
    twin = location.removeprefix("/credentials/")
    other = web.world.vault.credentials.create(
        web.world.admin, web.world.keys, "Contoso", title="Other", username="x", generate=True
    )
    edit = f"/credentials/{other.id}/edit"
    fields = {"title": "Domain admin", "username": "CONTOSO\\admin", "version": "1"}
    status, _, page = _post(browser, edit, **fields)
    assert status == 409
    assert "Save it anyway" in page
    assert twin != other.id
    status, _, page = _post(browser, edit, **fields, allow_duplicate="on")
    assert status == 303
    assert "Changes saved." in page
