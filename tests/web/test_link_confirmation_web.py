"""Issue 13, finding 1 on the dashboard, against the Samba AD DC: a credential a technician
adds with the dashboard's form to an enforce client, named like an existing AD user, is
linked and checked by the next run, never pushed; the Flags page lets only operators with
directory.setup confirm the link, after a page naming the account it will overwrite."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from sync.helpers import build_sync_world
from sync.test_enforce_mode import binds
from sync.test_link_confirmation import ATTACKER_PASSWORD, _assert_untouched, _enforce_client

from .conftest import WebWorld, csrf_of


def _post(browser: TestClient, path: str, data: dict[str, Any]) -> tuple[int, str, str]:
    """(status, location, text of the page: the one redirected to, with its notice)."""
    response = browser.post(path, data={"csrf_token": csrf_of(browser.get("/").text), **data})
    location = response.headers.get("location", "")
    if response.status_code == 303:
        return 303, location, browser.get(location).text
    return response.status_code, location, response.text


def test_a_technician_s_credential_waits_for_a_directory_manager(web: WebWorld, ad_ou: Any) -> None:
    sw = build_sync_world(web.world, ad_ou)
    victim = sw.ad.create_user()
    _enforce_client(sw)
    client = web.world.vault.clients.get(web.world.admin, sw.client)
    technician = web.signed_in("technician")
    status, location, _ = _post(
        technician,
        f"/clients/{client.id}/credentials/new",
        {
            "title": "Planted",
            "username": victim.name,
            "password": ATTACKER_PASSWORD,
            "password_again": ATTACKER_PASSWORD,
        },
    )
    assert status == 303
    cred_id = location.removeprefix("/credentials/").split("?")[0]
    cred = web.world.vault.credentials.get(web.world.admin, cred_id)
    assert cred.effective_sync_mode == "enforce"
    report = sw.run()
    _assert_untouched(sw, victim)
    assert sw.items(report)[cred_id] == ("mismatch", "verify")
    [flag] = web.world.vault.flags.list(web.world.admin, sw.client)
    assert flag.status == "awaiting_confirmation"

    # The technician sees the flag, not the way to confirm it, and can't post it either.
    page = technician.get(f"/flags?client={client.id}").text
    assert "awaiting_confirmation" in page
    assert "Confirming a new link needs vault.write and directory.setup." in page
    assert 'action="/flags/confirm"' not in page
    refused = _post(technician, "/flags/confirm", {"flag": flag.id, "confirm": "yes"})
    assert refused[0] == 403
    assert "directory.setup" in refused[2]
    credential_page = technician.get(f"/credentials/{cred_id}").text
    assert "Confirming a new link needs" in credential_page

    # A directory manager ticks it, is shown the account, and confirms.
    manager = web.signed_in("directory_manager")
    page = manager.get(f"/flags?client={client.id}").text
    assert f'name="flag" value="{flag.id}" form="selected"' in page
    assert 'formaction="/flags/confirm"' in page  # "Confirm the selected links"
    back = f"/flags?client={client.id}"
    status, _, asked = _post(manager, "/flags/confirm", {"flag": flag.id, "back": back})
    assert status == 200
    assert "Confirm this new link?" in asked
    assert victim.name in asked
    assert "overwrites its password (enforce)" in asked
    assert f'<input type="hidden" name="flag" value="{flag.id}">' in asked
    _assert_untouched(sw, victim)  # the question changed nothing
    status, location, done = _post(
        manager, "/flags/confirm", {"flag": flag.id, "back": back, "confirm": "yes"}
    )
    assert (status, location.split("?")[0]) == (303, "/flags")
    assert "Confirmed 1 link: the next run pushes through it." in done
    assert web.world.vault.flags.get(web.world.admin, flag.id).resolution == "confirmed"
    assert sw.items(sw.run())[cred_id] == ("in_sync", "push")
    assert binds(sw, victim.dn, ATTACKER_PASSWORD)
    # Nothing chosen: said so, nothing done.
    nothing = _post(manager, "/flags/confirm", {"back": back})
    assert (nothing[0], "Not confirmed" in nothing[2]) == (303, True)
