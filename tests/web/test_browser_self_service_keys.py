"""The self-service change page with a security key in a real browser (Debian's Chromium,
Playwright) against the app served by uvicorn on http://localhost, with Chrome DevTools
Protocol's virtual authenticator: a person signs in (password, app set up on the way), adds a
key on the portal's keys page, then changes their password with the key's button (the code
left empty: the browser asks the key, its answer goes with the form), and again with the
app's code and the other button (which posts without asking the key)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from credsync.storage import people as people_rows
from credsync.types import Secret
from sync.entra import strong

from .conftest import Dashboard, served
from .test_browser import browser, shot
from .test_browser_person_sign_in import PASSWORD, _enrolled, _page, _person, code
from .test_browser_webauthn import virtual_authenticator

__all__ = ["browser"]  # the fixture, shared with test_browser.py


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """On localhost: browsers refuse an IP address as the relying party id."""
    with served(tmp_path_factory, "web-self-service-keys", {}, host="localhost") as served_:
        yield served_


def _change(page: Any, url: str, client: str, current: str, new: str) -> None:
    page.goto(f"{url}/my/{client}/password")
    page.fill("#current_password", current)
    page.fill("#new_password", new)
    page.fill("#new_password_again", new)


def test_a_person_changes_their_password_with_their_key(browser: Any, dashboard: Dashboard) -> None:
    url, world = dashboard.url, dashboard.world
    client, username = _person(dashboard)
    page = _page(browser)
    cdp, authenticator = virtual_authenticator(page)
    secret = _enrolled(page, url, client, username)
    page.goto(f"{url}/my/{client}/keys")
    page.get_by_label("Its name").fill("Desk key")
    page.get_by_role("button", name="Add a key").click()
    page.get_by_role("cell", name="Desk key").wait_for()
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"]) == 1  # fmt: skip

    # the key's button, the code left empty
    first = strong()
    _change(page, url, client, PASSWORD, first)
    key_button = page.get_by_role("button", name="Change my password with my security key")
    key_button.wait_for()
    shot(page, "self-service-change-key")
    key_button.click()
    page.locator("#password-stored").wait_for()
    assert page.locator("h1").inner_text() == "Password changed"
    auth = world.vault.person_auth
    signed = auth.check_password(client, username, Secret(first), address="192.0.2.7")
    with world.db.read() as conn:
        person = people_rows.get(conn, signed.person_id)
    assert person is not None
    factors = [
        e.details["factor"]
        for e in world.vault.audit.list(world.admin, action="person.sign_in", target_id=person.id)
    ]
    assert factors.count("security_key") == 1

    # the app's code and the other button: no key asked
    second = strong()
    _change(page, url, client, first, second)
    page.fill("#code", code(secret, 1))
    page.get_by_role("button", name="Change my password", exact=True).click()
    page.locator("#password-stored").wait_for()
    assert auth.check_password(client, username, Secret(second), address="192.0.2.7")
    factors = [
        e.details["factor"]
        for e in world.vault.audit.list(world.admin, action="person.sign_in", target_id=person.id)
    ]
    assert factors.count("security_key") == 1
    assert factors.count("totp") >= 1
