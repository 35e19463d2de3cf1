"""The remote agents page: a directory manager enrols an agent (its token shown on the answer
page, once), sees it listed, rotates and revokes it; a bad directory is a form error naming
the field."""

from __future__ import annotations

import re

from credsync.vault.remote_agents import RemoteAgents
from sync.helpers import add_directory

from .conftest import WebWorld


def test_enrol_list_rotate_and_revoke_from_the_page(web: WebWorld) -> None:
    world = web.world
    add_directory(
        world.vault, world.admin, "Contoso", "contoso-ad", kind="active-directory",
        url="ldaps://127.0.0.1:1", base_dn="DC=x,DC=test", bind_credential=web.ids["bind"],
    )  # fmt: skip
    browser = web.signed_in("directory_manager")
    page = browser.get("/remote-agents")
    assert page.status_code == 200
    assert "No remote agents." in page.text
    token = web.csrf(browser)
    refused = browser.post(
        "/remote-agents",
        data={"csrf_token": token, "name": "site-a", "directories": "nowhere"},
    )
    assert refused.status_code == 400
    assert "directory named" in refused.text
    made = browser.post(
        "/remote-agents",
        data={"csrf_token": token, "name": "site-a", "directories": "contoso-ad"},
    )
    assert made.status_code == 200, made.text
    assert re.search(r"cra1\.[0-9a-f-]{36}\.", made.text)
    again = browser.get("/remote-agents")
    assert "site-a" in again.text
    assert "cra1." not in again.text  # the token was shown once
    [agent] = RemoteAgents(web.world.vault).list(web.world.admin)
    rotated = browser.post(f"/remote-agents/{agent.id}/rotate", data={"csrf_token": token})
    assert re.search(r"cra1\.[0-9a-f-]{36}\.", rotated.text)
    gone = browser.post(f"/remote-agents/{agent.id}/revoke", data={"csrf_token": token})
    assert gone.status_code == 303
    [agent] = RemoteAgents(web.world.vault).list(web.world.admin)
    assert agent.state == "revoked"
