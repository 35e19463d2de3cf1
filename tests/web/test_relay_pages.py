"""Relays on the dashboard, in-process, against the real Samba AD DC and the Graph simulator
(the relay world of tests/relay/conftest.py over the web tests' vault): the client's relays
with their last run, the form adding and changing one (a bad value refused on its field with
what was typed kept), its page, the plan (nothing written), a run applied only after its
confirmation page (the report: every account, refused rows standing out; the password then
works in the tenant), removal after a confirm page; and who may do what."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credsync.sync.background import background_runs
from credsync.testing.samba import OuWorld
from credsync.types import Secret
from relay.conftest import RelayWorld, build_relay_world, graph_sim

from .conftest import WebWorld, page_text
from .test_credential_forms import _post as post_form

__all__ = ["graph_sim"]  # the fixture, shared with tests/relay


@pytest.fixture
def rw(web: WebWorld, ad_ou: OuWorld, graph_sim: Any) -> RelayWorld:
    """The relay world (a client with its AD and its Office 365, and a relay between them)
    in the vault the dashboard serves."""
    return build_relay_world(web.world, ad_ou, graph_sim)


def _relay(rw: RelayWorld) -> Any:
    return rw.sw.vault.relays.get(rw.sw.admin, rw.relay)


def _client_id(rw: RelayWorld) -> str:
    return str(rw.sw.vault.clients.get(rw.sw.admin, rw.sw.client).id)


def _wait(rw: RelayWorld, browser: TestClient, location: str) -> str:
    """The report page of a run started in the background, once the run ended."""
    run_id = location.rstrip("/").rsplit("/", 1)[-1]
    background_runs.join(run_id, timeout=60)
    return browser.get(location).text


def test_list_add_with_a_bad_value_show_and_change(web: WebWorld, rw: RelayWorld) -> None:
    client = _client_id(rw)
    manager = web.signed_in("directory_manager")
    shown = manager.get(f"/clients/{client}").text
    assert f'href="/relays?client={client}"' in shown
    listed = manager.get(f"/relays?client={client}")
    assert listed.status_code == 200
    assert rw.relay in listed.text
    assert "never" in listed.text  # no run yet

    form = manager.get(f"/relays/new?client={client}").text
    ad = rw.sw.vault.directories.get(rw.sw.admin, rw.sw.directory)
    entra = rw.sw.vault.directories.get(rw.sw.admin, rw.entra)
    assert f'<option value="{ad.id}" selected>' in form  # the only source, chosen
    assert f'<option value="{entra.id}" selected>' in form
    fields = {
        "client": client,
        "name": "second",
        "source": ad.id,
        "target": entra.id,
        "scope_ous": "OU=Staff,DC=example,DC=com",
        "scope_groups": "",
        "enabled_only": "on",
        "filters": "department=Sales",
        "suffix_map": f"{rw.realm}=not a domain",
        "match": "upn, mail",
        "allow_admins": "boss@example.com",
        "never_expires": "on",
    }
    status, _, page = post_form(manager, "/relays/new", **fields)
    assert status == 400
    assert "is not a UPN suffix" in page
    assert 'id="suffix_map" name="suffix_map" rows="2" class="mono" aria-invalid="true"' in page
    assert "department=Sales" in page  # what was typed stays
    assert f"{rw.realm}=not a domain" in page
    assert [r.name for r in rw.sw.vault.relays.list(rw.sw.admin)] == [rw.relay]

    fields["suffix_map"] = f"{rw.realm}={rw.tenant.domain}"
    status, location, page = post_form(manager, "/relays/new", **fields)
    assert status == 303, page
    assert "Relay second added." in page
    added = rw.sw.vault.relays.get(rw.sw.admin, "second")
    assert location.startswith(f"/relays/{added.id}?notice=")
    settings = added.settings.to_json()
    assert settings["scope_ous"] == ["OU=Staff,DC=example,DC=com"]
    assert settings["enabled_only"] is True
    assert settings["filters"] == ["department=Sales"]
    assert settings["suffix_map"] == {rw.realm: rw.tenant.domain}
    assert settings["match"] == ["upn", "mail"]
    assert settings["allow_admins"] == ["boss@example.com"]
    assert (settings["never_expires"], settings["mirror_disable"]) == (True, False)
    text = page_text(page)
    assert "Match rules, in order upn, mail" in text
    assert f"{rw.realm} → {rw.tenant.domain}" in text

    status, _, page = post_form(manager, "/relays/new", **fields)
    assert status == 400
    assert "already has a relay named" in page

    edit = manager.get(f"/relays/{added.id}/edit").text
    assert "department=Sales" in edit
    change = {k: v for k, v in fields.items() if k not in ("client", "name", "source", "target")}
    change.update(match="upn, nonsense", version=str(added.version))
    status, _, page = post_form(manager, f"/relays/{added.id}/edit", **change)
    assert status == 400
    assert "unknown rule &#39;nonsense&#39;" in page
    assert 'value="upn, nonsense"' in page
    change.update(match="mail", mirror_disable="on")
    del change["never_expires"]
    status, _, page = post_form(manager, f"/relays/{added.id}/edit", **change)
    assert status == 303
    assert "Changes saved." in page
    after = rw.sw.vault.relays.get(rw.sw.admin, added.id).settings
    assert (after.match, after.mirror_disable, after.never_expires) == (("mail",), True, False)
    status, _, page = post_form(manager, f"/relays/{added.id}/edit", **change)
    assert status == 303
    assert "Nothing changed." in page
    change["match"] = "upn"
    status, _, page = post_form(manager, f"/relays/{added.id}/edit", **change)
    assert status == 400  # the form's version is the one it was read at
    assert "changed since you read it" in page


def test_plan_then_apply_after_confirming_then_remove(web: WebWorld, rw: RelayWorld) -> None:
    user, cred = rw.ad_user()
    cloud = rw.cloud_user(user.name)
    refused, _ = rw.ad_user()
    synced = rw.cloud_user(refused.name)
    rw.tenant.set_on_premises_sync(synced.id)
    lonely, _ = rw.ad_user()
    rw.link_ad()
    relay = _relay(rw)
    manager = web.signed_in("directory_manager")

    page = manager.get(f"/relays/{relay.id}").text
    assert ">Plan: what a run would do</button>" in page
    status, _, page = post_form(manager, f"/relays/{relay.id}/plan")
    assert status == 200
    text = page_text(page)
    assert "plan: nothing written, nothing stored" in text
    assert f"{user.name}@{rw.realm}" in text
    assert f"{user.name}@{rw.tenant.domain}" in text
    assert re.search(r'<tr class="row-bad">\s*<th scope="row" class="mono">' + refused.name, page)
    assert lonely.name in text
    assert "would push 1" in text
    assert rw.writes() == 0

    status, _, page = post_form(manager, f"/relays/{relay.id}/run")
    assert status == 200
    assert f"<h1>Apply relay {relay.name}?</h1>" in page
    assert f"{user.name}@{rw.tenant.domain}" in page
    assert rw.writes() == 0  # nothing before the confirmation

    status, location, _ = post_form(manager, f"/relays/{relay.id}/run", confirm="yes")
    assert status == 303
    assert location.startswith(f"/relays/{relay.id}/runs/")
    page = _wait(rw, manager, location)
    text = page_text(page)
    assert "applied" in text
    assert re.search(r"pushed\s*1\b", text), text
    assert re.search(r'<tr class="row-bad">\s*<th scope="row" class="mono">' + refused.name, page)
    assert rw.writes() == 1
    assert rw.tenant.check_password(cloud.id, rw.reveal(cred).reveal())

    listed = page_text(manager.get(f"/relays?client={relay.client_id}").text)
    assert "(applied): 1 matched, 0 conflict, 1 refused, 1 unmatched, 1 pushed" in listed

    page = manager.get(f"/relays/{relay.id}/remove").text
    assert f"<h1>Remove relay {relay.name}?</h1>" in page
    status, location, page = post_form(manager, f"/relays/{relay.id}/remove")
    assert status == 303
    assert "the links it made stay" in page
    assert rw.sw.vault.relays.list(rw.sw.admin) == []


def test_a_run_made_elsewhere_shows_as_stored(web: WebWorld, rw: RelayWorld) -> None:
    """A run this server did not make (the CLI's, or one from before a restart): its
    accounts as stored, without rule and target; a run that is not the relay's is not
    found."""
    user, _ = rw.ad_user()
    rw.cloud_user(user.name)
    engine_run = rw.sw.run()
    rw.sw.confirm()
    dry = rw.run()
    relay = _relay(rw)
    viewer = web.signed_in("viewer")
    listed = page_text(viewer.get(f"/relays?client={relay.client_id}").text)
    assert "(dry run): 1 matched, 0 conflict, 0 refused, 0 unmatched, 0 pushed" in listed
    page = viewer.get(f"/relays/{relay.id}/runs/{dry.run_id}")
    assert page.status_code == 200
    text = page_text(page.text)
    assert "no longer holds the run's full report" in text
    assert f"{user.name}@{rw.realm} matched push" in text
    assert viewer.get(f"/relays/{relay.id}/runs/{engine_run.id}").status_code == 404


def test_who_may_see_change_apply_and_remove(web: WebWorld, rw: RelayWorld) -> None:
    relay = _relay(rw)
    client = relay.client_id
    entra = rw.sw.vault.directories.get(rw.sw.admin, rw.entra)
    ad = rw.sw.vault.directories.get(rw.sw.admin, rw.sw.directory)
    vault, admin = web.world.vault, web.world.admin
    password = Secret("dora-password-1234")
    vault.operators.add(admin, "dora", password, "directory_manager", ["Contoso"])
    started = vault.web_sessions.start("dora", password)
    outsider = web.http
    outsider.cookies.set("credsync_session", started.token.reveal())
    viewer = web.signed_in("viewer")

    page = viewer.get(f"/relays/{relay.id}").text  # a viewer sees, and may plan
    assert relay.name in page
    assert "needs directory.setup" in page
    assert f'action="/relays/{relay.id}/run"' not in page
    assert f'href="/relays/{relay.id}/edit"' not in page
    assert post_form(viewer, f"/relays/{relay.id}/plan")[0] == 200

    writes = {
        "add": ("/relays/new", {"client": client, "name": "x", "source": ad.id,
                                 "target": entra.id, "match": "upn"}),
        "change": (f"/relays/{relay.id}/edit", {"match": "mail", "version": "1"}),
        "apply": (f"/relays/{relay.id}/run", {"confirm": "yes"}),
        "confirm page": (f"/relays/{relay.id}/run", {}),
        "remove": (f"/relays/{relay.id}/remove", {}),
    }  # fmt: skip
    for who, browser, code, says in (
        ("viewer", viewer, 403, "directory.setup"),
        ("an operator without the client", outsider, 404, "Not found"),
    ):
        for path in (f"/relays/new?client={client}", f"/relays/{relay.id}/edit",
                     f"/relays/{relay.id}/remove"):  # fmt: skip
            answer = browser.get(path)
            assert (answer.status_code, says in answer.text) == (code, True), (who, path)
        for what, (path, data) in writes.items():
            status, _, page = post_form(browser, path, **data)
            assert (status, says in page) == (code, True), (who, what, status)
    assert outsider.get(f"/relays/{relay.id}").status_code == 404
    assert rw.relay not in outsider.get("/relays").text
    assert [r.name for r in rw.sw.vault.relays.list(rw.sw.admin)] == [rw.relay]
    assert rw.sw.vault.relays.get(rw.sw.admin, rw.relay).version == 1
    assert rw.writes() == 0
    denied = vault.audit.list(admin, action="permission.denied", limit=50)
    assert any(e.actor == "op-viewer" for e in denied)
