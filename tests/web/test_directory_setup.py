"""Directory setup on the dashboard, in-process: add an Entra directory of the Graph simulator
through the form and see each step of the test; bad input shown on the form with nothing
added; change and remove; the permissions and the CSRF token checked before anything."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault.drafts import make_draft

from .conftest import SECRET, WebWorld, csrf_of

NAME = "contoso-cloud"
BIND_SECRET = "App-Secret-Value-1!"  # the template's "Graph app" credential


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=11) as simulator:
        yield simulator


@pytest.fixture
def entra(web: WebWorld, sim: Any) -> dict[str, Any]:
    """A fresh tenant and, in Contoso, a directory_admin credential holding its app's
    certificate and key."""
    tenant = sim.add_tenant(users=0, groups=0)
    app = tenant.default_app
    pem = app.certificate_pem + app.private_key_pem
    cred = web.world.vault.credentials.add(
        web.world.admin,
        web.world.keys,
        "Contoso",
        make_draft(
            title="Graph app certificate",
            username="credsync-app",
            password=Secret(pem),
            type_=CredentialType.DIRECTORY_ADMIN,
            sync_mode=SyncMode.OFF,
        ),
    )
    return {"tenant": tenant, "app": app, "key": app.private_key_pem, "cred": cred.id}


def _entra_form(web: WebWorld, sim: Any, entra: dict[str, Any], **changes: str) -> dict[str, str]:
    data = {
        "client": web.ids["client"],
        "name": NAME,
        "kind": "entra",
        "entra-tenant_id": entra["tenant"].id,
        "entra-app_id": entra["app"].client_id,
        "entra-bind_method": "certificate",
        "bind_credential": entra["cred"],
        "entra-url": sim.graph_url,
        "entra-authority": sim.url,
        "ca_pem": sim.ca_pem.replace("\n", "\r\n"),  # as a browser sends a textarea
        "interval": "300",
        "push_cap": "50",
        # The other kind's fields, as a browser without JavaScript sends them: ignored.
        "active_directory-url": "not a url",
        "active_directory-base_dn": "DC=ignored",
        "active_directory-tls_server_name": "ignored.example",
    }
    data.update(changes)
    return data


def _no_secrets(text: str, entra: dict[str, Any]) -> None:
    for secret in (SECRET, BIND_SECRET, entra["key"], "PRIVATE KEY", entra["app"].client_secret):
        assert secret not in text


def _steps(html: str) -> dict[str, str]:
    rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td><span class="badge[^"]*">(\w+)', html)
    return dict(rows)


def _last_seq(web: WebWorld) -> int:
    return web.world.vault.audit.list(web.world.admin, limit=1)[0].seq


def _done_since(web: WebWorld, seq: int) -> list[str]:
    """The actions audited after entry ``seq``, but for refusals (``permission.denied``)."""
    entries = web.world.vault.audit.list(web.world.admin, limit=1000)
    return [e.action for e in entries if e.seq > seq and e.action != "permission.denied"]


def _add(web: WebWorld, sim: Any, entra: dict[str, Any]) -> tuple[TestClient, str]:
    browser = web.signed_in("directory_manager")
    form = browser.get(f"/directories/new?client={web.ids['client']}")
    data = _entra_form(web, sim, entra, csrf_token=csrf_of(form.text))
    assert browser.post("/directories/new", data=data).status_code == 200
    return browser, web.world.vault.directories.get(web.world.admin, NAME).id


def test_an_entra_directory_added_through_the_form_is_tested_at_once(
    web: WebWorld, sim: Any, entra: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    browser = web.signed_in("directory_manager")
    client_page = browser.get(f"/clients/{web.ids['client']}").text
    link = f'href="/directories/new?client={web.ids["client"]}"'
    assert link in client_page
    form = browser.get(f"/directories/new?client={web.ids['client']}")
    assert form.status_code == 200
    needed = ["<legend>Kind of directory</legend>", 'for="entra-tenant_id"', 'for="ca_pem"']
    needed += ['for="insecure_skip_verify"', "Graph app certificate", 'for="push_cap"']
    needed += ["<legend>Entra ID settings</legend>", "<legend>Active Directory settings</legend>"]
    for text in needed:
        assert text in form.text, text
    assert "read only when" not in form.text
    _no_secrets(form.text, entra)

    caplog.set_level(logging.DEBUG)
    data = _entra_form(web, sim, entra, csrf_token=csrf_of(form.text))
    shown = browser.post("/directories/new", data=data)
    assert shown.status_code == 200, shown.text
    assert f"Directory {NAME} added." in shown.text
    assert "Every step worked." in shown.text
    steps = _steps(shown.text)
    assert {"token", "permissions", "directory role"} <= set(steps)
    assert set(steps.values()) == {"ok"}, steps
    assert f"Sync {NAME} now" in shown.text
    assert f'href="/clients/{web.ids["client"]}"' in shown.text
    _no_secrets(shown.text + caplog.text, entra)

    directory = web.world.vault.directories.get(web.world.admin, NAME)
    assert (directory.kind, directory.bind_kind) == ("entra", "certificate")
    assert directory.setting("base_dn") is None
    assert directory.setting("tls_server_name") is None  # the Active Directory fields were ignored
    assert directory.ca_pem == sim.ca_pem.strip() + "\n"
    assert (directory.option("interval"), directory.option("push_cap")) == (300, 50)
    assert not directory.insecure_skip_verify
    # Its page, for anyone who may read the vault.
    page = web.signed_in("viewer").get(f"/directories/{directory.id}")
    assert page.status_code == 200
    assert entra["tenant"].id in page.text
    assert "/edit" not in page.text
    # What it signs in with, in its kind's words (from the descriptor): no "bind" for Entra.
    assert "<dt>Signs in with</dt>" in page.text
    assert "(the app&#39;s certificate, preferred)" in page.text
    assert not re.search(r"\bbinds?\b", page.text, re.IGNORECASE)
    managed = browser.get(f"/directories/{directory.id}").text
    assert f'<a href="/credentials/{entra["cred"]}">Graph app certificate</a>' in managed


def test_an_active_directory_that_cannot_be_reached_shows_the_failed_step(
    web: WebWorld, caplog: pytest.LogCaptureFixture
) -> None:
    browser = web.signed_in("admin")
    token = web.csrf(browser)
    caplog.set_level(logging.WARNING, logger="credsync.web")
    shown = browser.post(
        "/directories/new",
        data={
            "csrf_token": token,
            "client": web.ids["client"],
            "name": "contoso-ad",
            "kind": "active_directory",
            "active_directory-url": "ldaps://127.0.0.1:1",
            "active_directory-base_dn": "DC=contoso,DC=com",
            "bind_credential": web.ids["bind"],
            "insecure_skip_verify": "on",
            "entra-tenant_id": "not read for Active Directory",
            "entra-bind_method": "nonsense",
        },
    )
    assert shown.status_code == 200, shown.text
    assert "A step failed" in shown.text
    assert _steps(shown.text)["tcp"] == "failed"
    assert "certificate not verified" in shown.text
    assert "TLS certificate verification turned off by alice" in caplog.text
    directory = web.world.vault.directories.get(web.world.admin, "contoso-ad")
    assert directory.url == "ldaps://127.0.0.1:1"
    assert directory.setting("tenant_id") is None
    assert SECRET not in shown.text + caplog.text
    assert BIND_SECRET not in shown.text + caplog.text


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"entra-tenant_id": ""}, "entra-tenant_id", "Give the tenant id"),
        ({"entra-url": "http://graph.example"}, "entra-url", "plain http is refused"),
        (
            {"kind": "active_directory", "active_directory-url": "https://dc1"},
            "active_directory-url",
            "must be ldaps://",
        ),
        ({"bind_credential": ""}, "bind_credential", "Choose the credential"),
        ({"push_cap": "many"}, "push_cap", "The push cap must be a whole number"),
        ({"ca_pem": "not a certificate"}, "ca_pem", "holds no PEM certificate"),
    ],
)
def test_bad_input_is_shown_on_the_form_and_adds_nothing(
    web: WebWorld,
    sim: Any,
    entra: dict[str, Any],
    changes: dict[str, str],
    field: str,
    words: str,
) -> None:
    browser = web.signed_in("directory_manager")
    before = _last_seq(web)
    data = _entra_form(web, sim, entra, csrf_token=web.csrf(browser), **changes)
    shown = browser.post("/directories/new", data=data)
    assert shown.status_code == 400
    assert "The directory was not added" in shown.text
    summary = shown.text.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert f'href="#{field}"' in summary
    assert words in summary
    assert f'id="{field}-error"' in shown.text
    assert f'aria-invalid="true" aria-describedby="{field}-error"' in shown.text
    assert f'value="{NAME}"' in shown.text  # what was typed is kept
    assert f'value="{entra["app"].client_id}"' in shown.text
    _no_secrets(shown.text, entra)
    assert web.world.vault.directories.list(web.world.admin) == []
    assert _last_seq(web) == before


def test_a_role_without_directory_setup_gets_403_pages(
    web: WebWorld, sim: Any, entra: dict[str, Any]
) -> None:
    _, directory = _add(web, sim, entra)
    before = _last_seq(web)
    assert "/directories/new" not in web.signed_in("technician").get("/directories").text
    for role in ("technician", "viewer"):
        browser = web.signed_in(role)
        data = _entra_form(web, sim, entra, csrf_token=web.csrf(browser), name="other")
        for method, path in (
            ("get", f"/directories/new?client={web.ids['client']}"),
            ("post", "/directories/new"),
            ("get", f"/directories/{directory}/edit"),
            ("post", f"/directories/{directory}/edit"),
            ("get", f"/directories/{directory}/remove"),
            ("post", f"/directories/{directory}/remove"),
        ):
            response = browser.get(path) if method == "get" else browser.post(path, data=data)
            assert response.status_code == 403, (role, path)
            assert "<h1>Not allowed</h1>" in response.text
            assert "directory.setup" in response.text
            _no_secrets(response.text, entra)
    assert _done_since(web, before) == []  # refusals are audited, nothing else
    assert len(web.world.vault.directories.list(web.world.admin)) == 1


def test_posts_without_the_csrf_token_are_refused(
    web: WebWorld, sim: Any, entra: dict[str, Any]
) -> None:
    browser, directory = _add(web, sim, entra)
    before = _last_seq(web)
    signed_out = web.http.get(f"/directories/{directory}/edit")
    assert signed_out.headers["location"] == f"/sign-in?next=/directories/{directory}/edit"
    for path in ("/directories/new", f"/directories/{directory}/edit",
                 f"/directories/{directory}/remove"):  # fmt: skip
        for token in ("", "not-the-token"):
            data = _entra_form(web, sim, entra, name="other", push_cap="7")
            if token:
                data["csrf_token"] = token
            response = browser.post(path, data=data)
            assert response.status_code == 403, (path, token)
            assert "CSRF token" in response.text
    assert _done_since(web, before) == []  # refusals are audited, nothing else
    [only] = web.world.vault.directories.list(web.world.admin)
    assert only.option("push_cap") == 50


def test_change_then_remove(web: WebWorld, sim: Any, entra: dict[str, Any]) -> None:
    browser, directory = _add(web, sim, entra)
    page = browser.get(f"/directories/{directory}")
    assert f'href="/directories/{directory}/edit"' in page.text
    form = browser.get(f"/directories/{directory}/edit")
    assert form.status_code == 200
    assert f'value="{entra["tenant"].id}"' in form.text
    assert 'name="kind"' not in form.text  # the kind stays
    assert "active_directory-url" not in form.text
    _no_secrets(form.text, entra)
    token = csrf_of(form.text)
    current = _entra_form(web, sim, entra, csrf_token=token, version="1", ca_pem="")

    same = browser.post(f"/directories/{directory}/edit", data=current)
    assert same.status_code == 303
    assert "Nothing changed." in browser.get(same.headers["location"]).text

    bad = browser.post(
        f"/directories/{directory}/edit",
        data={**current, "entra-authority": "https://x.example/?q"},
    )
    assert bad.status_code == 400
    assert 'href="#entra-authority"' in bad.text
    assert "Nothing was changed" in bad.text

    saved = browser.post(
        f"/directories/{directory}/edit", data={**current, "push_cap": "75", "interval": "600"}
    )
    assert saved.status_code == 200, saved.text
    assert "Changes saved." in saved.text
    assert "Every step worked." in saved.text
    changed = web.world.vault.directories.get(web.world.admin, directory)
    assert (changed.option("push_cap"), changed.option("interval"), changed.version) == (75, 600, 2)
    [entry] = web.world.vault.audit.list(web.world.admin, action="directory.update")
    assert entry.actor == "op-directory_manager"

    stale = browser.post(f"/directories/{directory}/edit", data={**current, "push_cap": "80"})
    assert stale.status_code == 400
    assert "changed since you read it" in stale.text

    # Removing the CA (ticked) makes the server's certificate checked against the system's
    # CAs again, which don't know the simulator's: the test after saving says so.
    assert 'id="remove_ca"' in browser.get(f"/directories/{directory}/edit").text
    no_ca = browser.post(
        f"/directories/{directory}/edit", data={**current, "version": "2", "remove_ca": "on"}
    )
    assert no_ca.status_code == 200, no_ca.text
    assert "Changes saved." in no_ca.text
    assert web.world.vault.directories.get(web.world.admin, directory).ca_pem is None
    assert 'id="remove_ca"' not in browser.get(f"/directories/{directory}/edit").text

    confirm = browser.get(f"/directories/{directory}/remove")
    assert confirm.status_code == 200
    assert "the credentials stay" in confirm.text.lower()
    removed = browser.post(f"/directories/{directory}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert removed.headers["location"].startswith(f"/clients/{web.ids['client']}?notice=")
    assert f"Directory {NAME} removed" in browser.get(removed.headers["location"]).text
    assert web.world.vault.directories.list(web.world.admin) == []
    assert browser.get(f"/directories/{directory}").status_code == 404


def test_sync_now_names_the_run_under_way_elsewhere(
    web: WebWorld, sim: Any, entra: dict[str, Any]
) -> None:
    """A run holding the directory's lease (another process, say): "sync now" starts nothing
    and the page says which run is under way."""
    import datetime as dt

    from credsync.storage.tables import runs

    browser, directory_id = _add(web, sim, entra)
    vault = web.world.vault
    directory = vault.directories.get(web.world.admin, directory_id)
    now = dt.datetime.now(dt.UTC)
    with vault.db.write() as conn:
        conn.execute(
            runs.insert().values(
                id="feedc0de" * 4, directory_id=directory.id, client_id=directory.client_id,
                kind="full", trigger="agent", dry_run=False, actor="alice", state="running",
                message="", summary="{}", accounts_read=0, started_at=now, heartbeat_at=now,
                owner="elsewhere:4242",
            )
        )  # fmt: skip
    token = csrf_of(browser.get("/directories").text)
    refused = browser.post(f"/directories/{directory_id}/sync", data={"csrf_token": token})
    assert refused.status_code == 303
    shown = browser.get(refused.headers["location"]).text
    assert "did not start" in shown
    assert "run feedc0de" in shown
    assert "elsewhere:4242" in shown
    with vault.db.read() as conn:
        assert conn.execute(runs.select()).all()[0].id == "feedc0de" * 4  # nothing else started
