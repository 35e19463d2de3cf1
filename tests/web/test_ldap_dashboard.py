"""Plain LDAP on the dashboard, in-process against the session's real slapd: the kind's own
form fields (made from its descriptor), the test at once, "sync now" in report mode, and a
flag resolved by pushing the vault's password, which then works on the server."""

from __future__ import annotations

import time

import pytest

from credsync.sync.reports import load_run
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault.drafts import make_draft

from .conftest import WebWorld, csrf_of

pytestmark = pytest.mark.slapd


def _wait_for(web: WebWorld, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with web.world.db.read() as conn:
            if load_run(conn, run_id).state != "running":
                return
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end")


def test_an_ldap_directory_from_the_form_to_a_push(web: WebWorld, ldap_ou) -> None:
    facts, vault, admin = ldap_ou.facts, web.world.vault, web.world.admin
    bind = vault.credentials.add(
        admin, web.world.keys, "Contoso",
        make_draft(title="LDAP bind", username=facts.bind_dn,
                   password=Secret(facts.bind_password),
                   type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF),
    )  # fmt: skip
    browser = web.signed_in("directory_manager")
    form = browser.get(f"/directories/new?client={web.ids['client']}")
    for text in ('value="ldap"', 'for="ldap-base_dn"', 'for="ldap-user_filter"', "LDAP bind"):
        assert text in form.text, text
    data = {
        "csrf_token": csrf_of(form.text),
        "client": web.ids["client"],
        "name": "contoso-ldap",
        "kind": "ldap",
        "ldap-url": facts.ldaps_url,
        "ldap-base_dn": ldap_ou.dn,
        "ldap-password_policy_dn": facts.policy_dn or "",
        "bind_credential": bind.id,
        "ca_pem": facts.ca_file.read_text(),
        # Another kind's field, as a browser without JavaScript sends it: not read.
        "entra-tenant_id": "not read for LDAP",
    }
    shown = browser.post("/directories/new", data=data)
    assert shown.status_code == 200, shown.text
    assert "Directory contoso-ldap added." in shown.text
    assert "Every step worked." in shown.text
    assert facts.bind_password not in shown.text
    directory = vault.directories.get(admin, "contoso-ldap")
    assert (directory.kind, directory.setting("naming_attribute")) == ("ldap", "uid")
    assert directory.setting("tenant_id") is None

    user = ldap_ou.create_user()
    cred = vault.credentials.add(
        admin, web.world.keys, "Contoso",
        make_draft(title="Ann", username=user.name, password=Secret("Vault-Passw0rd-1!")),
    )  # fmt: skip
    tech = web.signed_in("admin")
    started = tech.post(f"/directories/{directory.id}/sync", data={"csrf_token": web.csrf(tech)})
    assert started.status_code == 303
    run_id = started.headers["location"].rsplit("/", 1)[1]
    _wait_for(web, run_id)
    page = tech.get(f"/runs/{run_id}").text
    assert "password differs" in page
    [flag] = [f for f in vault.flags.list(admin, "Contoso") if f.credential_id == cred.id]
    assert flag.status == "mismatch"

    asked = tech.post(f"/flags/{flag.id}/push", data={"csrf_token": web.csrf(tech)})
    assert asked.status_code == 200  # first a page naming the account it overwrites
    assert user.name in asked.text
    assert vault.flags.get(admin, flag.id).resolved_at is None  # nothing pushed yet
    pushed = tech.post(
        f"/flags/{flag.id}/push", data={"csrf_token": web.csrf(tech), "confirmed": "yes"}
    )
    assert pushed.status_code == 303
    assert ldap_ou.admin.bind_answer(user.dn, "Vault-Passw0rd-1!")[0] == 0
    assert cred.id not in {f.credential_id for f in vault.flags.list(admin, "Contoso")}

    # The next "sync now" is incremental: its page and the runs list say what it did not
    # check again (neither side changed since the previous run), with how many.
    again = tech.post(f"/directories/{directory.id}/sync", data={"csrf_token": web.csrf(tech)})
    again_id = again.headers["location"].rsplit("/", 1)[1]
    _wait_for(web, again_id)
    with web.world.db.read() as conn:
        unchanged = load_run(conn, again_id).summary["unchanged"]
    page = tech.get(f"/runs/{again_id}").text
    assert f"Not re-checked: {unchanged} linked credentials, unchanged on both sides" in page
    assert f"{unchanged} unchanged, not re-checked" in tech.get("/runs").text

    # Its page and its change form speak the kind's terms.
    page = browser.get(f"/directories/{directory.id}").text
    assert "User filter" in page
    assert "Naming attribute" in page
    edit = browser.get(f"/directories/{directory.id}/edit").text
    assert 'name="ldap-naming_attribute"' in edit
    assert 'name="entra-tenant_id"' not in edit
