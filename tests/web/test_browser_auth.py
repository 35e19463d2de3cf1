"""Signing in and out, and one's account, in a real browser: Debian's Chromium (Playwright)
against the real app served by uvicorn on 127.0.0.1.

Sign-in and sign-out CSRF: a page of another site, or of another origin of this site, posts a
form to the dashboard. The attacker's pages are served by Playwright itself
(``context.route``), at an address that is never reached.

- Another site (``http://attacker.test``: cross-site) posts the sign-in form with the
  attacker's own name and password: the browser must not end up signed in as the attacker.
- Another origin of the same site (``http://127.0.0.1:<other port>``: same-site, so the
  browser sends the SameSite=Strict session cookie along) posts to sign-out and to the API's
  logout: the victim must stay signed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from vault.helpers import ADMIN_PASSWORD

from .conftest import Dashboard, served
from .test_browser import browser, new_page, shot

__all__ = ["browser"]  # the fixture, shared with test_browser.py

ATTACKER_SITE = "http://attacker.test"
MALLORY_PASSWORD = "mallory-password-1234"  # the attacker's own operator (as world.operator)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """A vault with alice (admin) and mallory (a viewer: the attacker), served."""
    with served(tmp_path_factory, "web-auth", {"mallory": "viewer"}) as served_:
        yield served_


def attack(page: Any, at: str, action: str, fields: dict[str, str]) -> Any:
    """Open a page at ``at`` (another site's, served by the test) whose form posts ``fields``
    to ``action``, and submit it as the person would; the answer's response."""
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    html = f'<html><body><form method="post" action="{action}">{inputs}<button>Win a prize</button></form></body></html>'  # noqa: E501
    page.context.route(f"{at}/**", lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(f"{at}/prize")
    with page.expect_response(lambda r: r.url == action and r.request.method == "POST") as got:
        page.get_by_role("button", name="Win a prize").click()
    page.wait_for_load_state()
    return got.value


def session_cookie(page: Any, url: str) -> str | None:
    found = [c for c in page.context.cookies(url) if c["name"] == "credsync_session"]
    return found[0]["value"] if found else None


def sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/sign-in")
    page.get_by_label("Operator name").fill("alice")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")


def test_another_site_can_t_sign_the_browser_in_as_its_own_operator(
    browser: Any, dashboard: Dashboard
) -> None:
    from playwright.sync_api import expect

    page = new_page(browser)
    page.goto(f"{dashboard.url}/sign-in")  # the victim had the sign-in page open once
    fields = {"name": "mallory", "password": MALLORY_PASSWORD, "next": "/"}
    answer = attack(page, ATTACKER_SITE, f"{dashboard.url}/sign-in", fields)

    assert session_cookie(page, dashboard.url) is None
    assert answer.status == 403
    expect(page.get_by_role("alert")).to_contain_text("another site")
    expect(page.get_by_label("Operator name")).to_have_value("")  # not the attacker's
    shot(page, "auth-00-sign-in-refused")
    page.goto(f"{dashboard.url}/")
    expect(page).to_have_url(f"{dashboard.url}/sign-in?next=/")
    logins = dashboard.world.vault.audit.list(
        dashboard.world.admin, action="auth.web_login", limit=10
    )
    assert [e.actor for e in logins] == []
    page.context.close()


def test_another_origin_can_t_sign_the_browser_out(browser: Any, dashboard: Dashboard) -> None:
    from playwright.sync_api import expect

    page = new_page(browser)
    sign_in(page, dashboard.url)
    cookie = session_cookie(page, dashboard.url)
    assert cookie
    sibling = "http://127.0.0.1:47999"  # same site as the dashboard: the cookie goes along

    for action, refused in (
        (f"{dashboard.url}/api/v1/auth/logout", 403),
        (f"{dashboard.url}/sign-out", 403),
    ):
        answer = attack(page, sibling, action, {})
        assert answer.status == refused, action
        page.goto(f"{dashboard.url}/")
        expect(page).to_have_url(f"{dashboard.url}/")  # still signed in
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        assert session_cookie(page, dashboard.url) == cookie
    # The dashboard's own sign-out works.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{dashboard.url}/sign-in")
    page.goto(f"{dashboard.url}/")
    expect(page).to_have_url(f"{dashboard.url}/sign-in?next=/")
    page.context.close()


def test_revoke_all_my_api_tokens_from_the_account_page(browser: Any, dashboard: Dashboard) -> None:
    from playwright.sync_api import expect

    vault, admin = dashboard.world.vault, dashboard.world.admin
    for name in ("nightly backup", "monitoring"):
        vault.access.create_token(admin, name)
    page = new_page(browser)
    sign_in(page, dashboard.url)
    page.get_by_role("link", name="alice (admin)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.get_by_role("row", name="nightly backup")).to_contain_text("active")
    shot(page, "auth-01-account")
    page.get_by_role("button", name="Revoke all my API tokens").click()
    expect(page.get_by_role("status")).to_have_text("2 API tokens revoked.")
    expect(page.get_by_role("row", name="monitoring")).to_contain_text("revoked")
    expect(page.get_by_role("button", name="Revoke all my API tokens")).to_have_count(0)
    shot(page, "auth-02-tokens-revoked")
    assert all(t.revoked_at for t in vault.access.list_tokens(admin))
    page.context.close()
