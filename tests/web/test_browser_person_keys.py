"""A person's security key (WebAuthn) in a real browser (Debian's Chromium, Playwright) against
the app served by uvicorn, with Chrome DevTools Protocol's virtual authenticator: the person
signs in (password, then an authenticator app set up on the way), adds a key on the portal's
keys page, signs out, and signs in again with the password and the key (the second step's key
form is the one operators' sign-in shows). Served on http://localhost: WebAuthn takes no IP
address as relying party id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Dashboard, served
from .test_browser import browser, shot
from .test_browser_person_sign_in import PASSWORD, _enrolled, _page, _password, _person
from .test_browser_webauthn import virtual_authenticator

__all__ = ["browser"]  # the fixture, shared with test_browser.py


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with served(tmp_path_factory, "web-person-keys", {}, host="localhost") as served_:
        yield served_


def test_a_person_adds_a_key_then_signs_in_with_it(browser: Any, dashboard: Dashboard) -> None:
    url, world = dashboard.url, dashboard.world
    client, username = _person(dashboard)
    page = _page(browser)
    cdp, authenticator = virtual_authenticator(page)

    _enrolled(page, url, client, username)

    page.goto(f"{url}/my/{client}/keys")
    page.get_by_text("You have no security keys.").wait_for()
    page.get_by_label("Its name").fill("Desk key")
    page.get_by_role("button", name="Add a key").click()
    page.get_by_role("cell", name="Desk key").wait_for()
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(stored["credentials"]) == 1
    person_id = _person_id(world, client, username)
    keys = world.vault.person_auth.security_keys
    assert [k.name for k in keys.list(person_id)] == ["Desk key"]
    page.goto(f"{url}/my/{client}/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{url}/my/{client}/sign-in")

    # password, then the key (the app's code form is there too): signed in
    _password(page, url, client, username, PASSWORD)
    page.wait_for_url(f"{url}/my/{client}/sign-in/code?next=**")
    form = page.locator("#key-sign-in")
    assert form.get_attribute("action") == f"/my/{client}/sign-in/key"
    assert page.get_by_label("Code").count() == 1
    shot(page, "person-key-sign-in")
    page.get_by_role("button", name="Use a security key").click()
    page.wait_for_url(f"{url}/my/{client}/")
    assert page.locator("#my-username").inner_text() == username
    [key] = keys.list(person_id)
    assert key.last_used_at is not None
    page.context.close()


def _person_id(world: Any, client: str, username: str) -> str:
    people, _ = world.vault.people.list(world.admin, client)
    found = [p for p in people if p.row.username == username]
    assert len(found) == 1
    return str(found[0].id)
