"""A client's person signs in to the person portal in a real browser (Debian's Chromium,
Playwright) against the app served by uvicorn (issue 17): a wrong password refused with the
one message, the password then an authenticator app set up on the way (the secret read off the
page, its code computed with pyotp), signing out, signing in again with a code, a replayed code
refused, the limit kicking in after five wrong passwords; at phone width too."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from credsync.types import Secret
from credsync.vault.drafts import make_draft

from .conftest import Dashboard, served
from .test_browser import browser, shot

__all__ = ["browser"]  # the fixture, shared with test_browser.py

PASSWORD = "Browser-Person-Pa55!"
REFUSED = "Wrong username or password, or this account can't sign in here."


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with served(tmp_path_factory, "web-person", {}) as served_:
        yield served_


def _person(dashboard: Dashboard) -> tuple[str, str]:
    """A person of a new client with a vault password: (client id, username)."""
    world = dashboard.world
    vault, admin, keys = world.vault, world.admin, world.keys
    client = vault.clients.add(admin, keys, f"Fabrikam {uuid.uuid4().hex[:6]}")
    username = f"bp-{uuid.uuid4().hex[:6]}@fabrikam.example"
    cred = vault.credentials.add(
        admin,
        keys,
        client.id,
        make_draft(title=username, username=username, password=Secret(PASSWORD)),
    )
    vault.people.add(
        admin, client.id,
        {"username": username, "given_name": "Berit", "surname": "Browser", "credential": cred.id},
    )  # fmt: skip
    return client.id, username


def _page(browser: Any, width: int = 1366) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 860})
    context.set_default_timeout(15_000)
    return context.new_page()


def _password(page: Any, url: str, client: str, username: str, password: str) -> None:
    page.goto(f"{url}/my/{client}/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _enrolled(page: Any, url: str, client: str, username: str) -> str:
    """Signed in with the password, an authenticator app turned on at the prompt, on the
    portal's home: the app's secret."""
    _password(page, url, client, username, PASSWORD)
    page.wait_for_url(f"{url}/my/{client}/sign-in/enrol?next=**")
    secret: str = page.locator("#mfa-secret").inner_text().strip()
    page.get_by_label("The code the app shows now").fill(code(secret))
    page.get_by_role("button", name="Turn on and sign in").click()
    page.wait_for_url(f"{url}/my/{client}/")
    return secret


def code(secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset)


def test_a_person_signs_in_with_password_and_totp(browser: Any, dashboard: Dashboard) -> None:
    url = dashboard.url
    client, username = _person(dashboard)
    page = _page(browser, width=375)  # a phone

    _password(page, url, client, username, "Not-the-Pa55word!")
    page.get_by_text(REFUSED).wait_for()

    _password(page, url, client, username, PASSWORD)
    page.wait_for_url(f"{url}/my/{client}/sign-in/enrol?next=**")
    assert page.locator("figure.qr svg").count() == 1
    secret = page.locator("#mfa-secret").inner_text().strip()
    shot(page, "person-enrol-phone")
    used = code(secret)
    page.get_by_label("The code the app shows now").fill(used)
    page.get_by_role("button", name="Turn on and sign in").click()
    page.wait_for_url(f"{url}/my/{client}/")
    assert page.locator("#my-username").inner_text() == username
    assert page.locator("#my-totp").inner_text() == "on"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll
    cookies = {c["name"]: c for c in page.context.cookies(url + f"/my/{client}/")}
    assert cookies["credsync_person"]["httpOnly"] is True
    assert cookies["credsync_person"]["sameSite"] == "Lax"
    assert "credsync_session" not in cookies  # no operator session
    page.goto(f"{url}/")
    page.wait_for_url(f"{url}/sign-in?next=/")  # the dashboard: not signed in
    page.goto(f"{url}/my/{client}/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{url}/my/{client}/sign-in")

    _password(page, url, client, username, PASSWORD)
    page.wait_for_url(f"{url}/my/{client}/sign-in/code?next=**")
    page.get_by_label("Code").fill(used)  # the code of the enrolment: used already
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("The one-time code is wrong or was already used.").wait_for()
    page.get_by_label("Code").fill(code(secret, 1))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/my/{client}/")
    shot(page, "person-home-phone")


def test_five_wrong_passwords_then_the_limit(browser: Any, dashboard: Dashboard) -> None:
    url = dashboard.url
    client, username = _person(dashboard)
    page = _page(browser)
    for n in range(5):
        _password(page, url, client, username, f"Wrong-{n}-Pa55!")
        page.get_by_text(REFUSED).wait_for()
    _password(page, url, client, username, PASSWORD)  # the right one: refused for now
    page.get_by_text("Too many failed sign-ins: try again in 15 minutes.").wait_for()
    assert "/sign-in/" not in page.url  # no step further
    shot(page, "person-limited")
