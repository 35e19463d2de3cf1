"""Multi-factor sign-in in a real browser (Debian's Chromium, Playwright) against the app served
by uvicorn: enrol from the account page (the secret read off the page, its code computed with
pyotp), sign out, sign in with the password and then a code, a wrong code refused, a recovery
code working once; an operator who must use MFA and has none is sent to enrol and nothing
else."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from .conftest import Dashboard, served
from .test_browser import browser, new_page, shot

__all__ = ["browser"]  # the fixture, shared with test_browser.py

CAROL_PASSWORD = "carol-password-1234"  # as world.operator makes it
DAVE_PASSWORD = "dave-password-1234"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with served(tmp_path_factory, "web-mfa", {"carol": "technician", "dave": "viewer"}) as served_:
        yield served_


def code(secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset)


def password_step(page: Any, url: str, name: str, password: str) -> None:
    page.goto(f"{url}/sign-in")
    page.get_by_label("Operator name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def session_cookie(page: Any, url: str) -> str | None:
    found = [c for c in page.context.cookies(url) if c["name"] == "credsync_session"]
    return found[0]["value"] if found else None


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in")


def test_enrol_sign_in_with_a_code_and_a_recovery_code(browser: Any, dashboard: Dashboard) -> None:
    url = dashboard.url
    page = new_page(browser)
    password_step(page, url, "carol", CAROL_PASSWORD)
    page.wait_for_url(f"{url}/")
    page.goto(f"{url}/account")
    assert page.locator("#account-mfa").inner_text() == "off"
    page.get_by_role("link", name="set it up").click()
    page.get_by_role("button", name="Set up an authenticator app").click()
    page.wait_for_url(f"{url}/account/mfa/enroll")
    qr = page.locator("figure.qr svg")
    assert qr.count() == 1
    assert qr.bounding_box()["width"] > 100
    secret = page.locator("#mfa-secret").inner_text().strip()
    assert len(secret) == 32
    shot(page, "mfa-enrol")
    page.get_by_label("The code the app shows now").fill(code(secret))
    page.get_by_role("button", name="Turn on").click()
    page.wait_for_url(f"{url}/account/mfa/confirm")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    page.goto(f"{url}/account")
    assert page.locator("#account-mfa").inner_text() == "on"
    sign_out(page)

    # the password alone leads to the code form: no session yet
    password_step(page, url, "carol", CAROL_PASSWORD)
    page.wait_for_url(f"{url}/sign-in/code?next=/")
    assert session_cookie(page, url) is None
    page.goto(f"{url}/account")  # a pending sign-in is no session
    page.wait_for_url(f"{url}/sign-in?next=/account")
    page.go_back()
    page.wait_for_url(f"{url}/sign-in/code?next=/")
    wrong = next(
        c for c in ("111111", "222222", "333333") if c not in (code(secret), code(secret, 1))
    )
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("That code was wrong or was already used.").wait_for()
    assert session_cookie(page, url) is None
    page.get_by_label("Code").fill(code(secret, 1))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")
    assert session_cookie(page, url) is not None
    sign_out(page)

    # a recovery code signs in once
    for attempt in range(2):
        password_step(page, url, "carol", CAROL_PASSWORD)
        page.wait_for_url(f"{url}/sign-in/code?next=/")
        page.get_by_label("Code").fill(codes[0])
        page.get_by_role("button", name="Sign in").click()
        if attempt == 0:
            page.wait_for_url(f"{url}/")
            page.goto(f"{url}/account/mfa")
            assert "Recovery codes left: 9" in page.locator("#mfa-state").inner_text()
            sign_out(page)
        else:
            page.get_by_text("That code was wrong or was already used.").wait_for()
            assert session_cookie(page, url) is None
    page.context.close()


def test_required_but_not_enrolled_is_sent_to_enrol(browser: Any, dashboard: Dashboard) -> None:
    world, url = dashboard.world, dashboard.url
    world.vault.mfa.set_required(world.admin, True, role="viewer")
    try:
        page = new_page(browser)
        password_step(page, url, "dave", DAVE_PASSWORD)
        page.wait_for_url(f"{url}/account/mfa")
        page.get_by_text("A second factor is required of you").wait_for()
        for elsewhere in ("/", "/search", "/account", "/audit"):
            page.goto(f"{url}{elsewhere}")
            page.wait_for_url(f"{url}/account/mfa")
        cookie = session_cookie(page, url)
        assert cookie is not None
        api = page.request.get(f"{url}/api/v1/clients")
        assert api.status == 401
        assert api.json()["error"]["code"] == "mfa_enrollment_required"
        page.get_by_role("button", name="Set up an authenticator app").click()
        page.wait_for_url(f"{url}/account/mfa/enroll")
        secret = page.locator("#mfa-secret").inner_text().strip()
        page.get_by_label("The code the app shows now").fill(code(secret))
        page.get_by_role("button", name="Turn on").click()
        page.wait_for_url(f"{url}/account/mfa/confirm")
        assert len(page.locator("#recovery-codes li").all_inner_texts()) == 10
        page.goto(f"{url}/account")
        page.wait_for_url(f"{url}/account")
        page.context.close()
    finally:
        world.vault.mfa.set_required(world.admin, False, role="viewer")
