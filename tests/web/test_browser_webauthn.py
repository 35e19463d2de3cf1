"""Security keys (WebAuthn) in a real browser (Debian's Chromium, Playwright) against the app
served by uvicorn, with Chrome DevTools Protocol's virtual authenticator (CTAP2 over USB, user
verification on): add a key on the account's MFA page, sign out, sign in with the password and
the key, and see the session; the same sign-in with no key present fails cleanly and leaves no
session. The page is served on http://localhost (a secure context with a host name: WebAuthn
takes no IP address as relying party id)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Dashboard, served
from .test_browser import browser, new_page, shot
from .test_browser_mfa import password_step, session_cookie, sign_out

__all__ = ["browser"]  # the fixture, shared with test_browser.py

ERIN_PASSWORD = "erin-password-1234"  # as world.operator makes it


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """erin served on localhost: browsers refuse an IP address as the relying party id."""
    with served(tmp_path_factory, "web-keys", {"erin": "technician"}, host="localhost") as served_:
        yield served_


def virtual_authenticator(page: Any) -> tuple[Any, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": False,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def test_add_a_key_then_sign_in_with_it_and_without_it(browser: Any, dashboard: Dashboard) -> None:
    url, world = dashboard.url, dashboard.world
    page = new_page(browser)
    cdp, authenticator = virtual_authenticator(page)
    password_step(page, url, "erin", ERIN_PASSWORD)
    page.wait_for_url(f"{url}/")
    page.goto(f"{url}/account/mfa")
    page.get_by_text("You have no security key.").wait_for()
    page.get_by_role("button", name="Add a security key").click()
    page.wait_for_url(f"{url}/account/mfa/keys/new")
    page.get_by_label("Name of the key").fill("Desk key")
    page.get_by_role("button", name="Add the key").click()
    page.wait_for_url(f"{url}/account/mfa?notice=*")
    page.get_by_text("Security key 'Desk key' added.").wait_for()
    rows = page.locator("#security-keys tbody tr")
    assert rows.count() == 1
    assert "Desk key" in rows.first.inner_text()
    assert "never" in rows.first.inner_text()
    assert page.locator("#mfa-state strong").first.inner_text() == "on"
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(stored["credentials"]) == 1
    shot(page, "webauthn-key-added")
    sign_out(page)

    # password, then the key: signed in
    password_step(page, url, "erin", ERIN_PASSWORD)
    page.wait_for_url(f"{url}/sign-in/code?next=/")
    assert session_cookie(page, url) is None
    assert page.get_by_label("Code").count() == 0  # no authenticator app: no code form
    shot(page, "webauthn-sign-in")
    page.get_by_role("button", name="Use a security key").click()
    page.wait_for_url(f"{url}/")
    assert session_cookie(page, url) is not None
    page.goto(f"{url}/account/mfa")
    assert "never" not in page.locator("#security-keys tbody tr").first.inner_text()
    entries = world.vault.audit.list(world.admin, limit=30)
    used = [e for e in entries if e.action == "mfa.webauthn_used"]
    assert used
    assert used[0].details["key_name"] == "Desk key"
    login = next(e for e in entries if e.action == "auth.web_login")
    assert login.details["mfa"] == "passed"
    sign_out(page)

    # no key of hers present (another, empty authenticator): the browser's ceremony fails, the
    # page says so, no session
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
    virtual_authenticator(page)
    password_step(page, url, "erin", ERIN_PASSWORD)
    page.wait_for_url(f"{url}/sign-in/code?next=/")
    page.get_by_role("button", name="Use a security key").click()
    page.get_by_text("Your security key did not answer").wait_for()
    assert page.url == f"{url}/sign-in/code?next=/"
    assert session_cookie(page, url) is None
    page.context.close()


def test_a_forged_answer_is_refused_and_counted(browser: Any, dashboard: Dashboard) -> None:
    """The form posted by hand with an answer no key made: refused, no session, counted by
    the sign-in limiter like a wrong code."""
    url = dashboard.url
    page = new_page(browser)
    password_step(page, url, "erin", ERIN_PASSWORD)
    page.wait_for_url(f"{url}/sign-in/code?next=/")
    form = page.locator("#key-sign-in")
    form.locator("input[name='credential']").evaluate(
        "(el) => { el.value = JSON.stringify({id: 'AAAA', rawId: 'AAAA', type: 'public-key', "
        "response: {clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA'}}); }"
    )
    form.evaluate("(f) => f.submit()")
    page.get_by_text("Your security key's answer was refused").wait_for()
    assert session_cookie(page, url) is None
    world = dashboard.world
    entries = world.vault.audit.list(world.admin, limit=10)
    failed = [e for e in entries if e.action == "auth.failed"]
    assert failed
    assert "challenge" in failed[0].details["reason"]
    page.context.close()
