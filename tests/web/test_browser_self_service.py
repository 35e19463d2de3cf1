"""Self-service passwords in a real browser (Debian's Chromium, Playwright) against the app
served by uvicorn, with a client whose directories are the real Samba AD DC (this test's OU)
and an Office 365 tenant of the Graph simulator, and mail through a real SMTP server
(aiosmtpd): onboarding by the mailed link (a weak password refused, stores nothing), then a
change on the signed-in person's page, then a reset by a mailed link; each pushed to AD and
the tenant (a bind and an ROPC sign-in with the new password work); a used link refused."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from credsync.storage import credentials as credential_rows
from credsync.testing.graphsim import GraphSimulator, sign_in
from credsync.testing.samba import OuWorld
from credsync.testing.smtp import MailTrap
from sync.entra import strong
from sync.helpers import build_sync_world
from sync.selfservice_world import add_person, add_tenant
from sync.test_enforce_mode import binds

from .conftest import Dashboard, served
from .test_browser import browser, new_page, shot

__all__ = ["browser"]  # the fixture, shared with test_browser.py

NOW = time.time()


@pytest.fixture
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with served(tmp_path_factory, "web-self-service", {}) as served_:
        served_.world.vault.person_auth.clock = lambda: NOW  # codes of known time steps
        yield served_


def _code(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).at(NOW + 30 * step)


def _link(trap: MailTrap, address: str, count: int) -> str:
    trap.wait_for(count)
    [*_, mail] = trap.to(address)
    [url] = mail.links()
    return url


def _requests_done(world: Any, count: int) -> None:
    """Wait until ``count`` reset requests are done (they run after the page answered)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len(world.vault.audit.list(world.admin, action="person.reset_requested")) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{count} reset requests were not done")


def _version(dashboard: Dashboard, credential_id: str) -> int:
    with dashboard.world.db.read() as conn:
        return int(credential_rows.get(conn, credential_id).secret_version)


def _results(page: Any) -> dict[str, str]:
    rows = page.locator("#push-results tbody tr")
    return {
        rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).get_attribute("data-status")
        for i in range(rows.count())
    }


def test_onboarding_change_and_reset_reach_samba_and_the_tenant(
    browser: Any, dashboard: Dashboard, ad_ou: OuWorld, mail_trap: MailTrap
) -> None:
    world = dashboard.world
    sw = build_sync_world(world, ad_ou)
    with GraphSimulator(port=0, seed=5) as sim:
        tenant_dir, tenant = add_tenant(sw, sim)
        ad_user = ad_ou.create_user(display_name="Ada Lovelace")
        cloud = tenant.create_user(upn=f"ada@{tenant.domain}", display_name="Ada Lovelace")
        accounts = {sw.directory: ad_user.guid, tenant_dir: str(cloud.id)}
        ada = add_person(world, sw.client, awaiting=True, accounts=accounts)
        world.vault.mail.set(world.admin, world.keys, {
            "host": "127.0.0.1", "port": mail_trap.port, "security": "none",
            "from_address": "vault@msp.test", "public_url": dashboard.url,
        })  # fmt: skip
        world.vault.self_service.invite(world.admin, world.keys, ada.username)
        welcome = _link(mail_trap, ada.email, 1)
        client_id = re.findall(r"/my/([^/]+)/welcome/", welcome)[0]
        before = _version(dashboard, ada.credential_id)

        # Onboarding: a weak password is refused by name, and nothing is stored.
        page = new_page(browser)
        page.goto(welcome)
        secret = page.locator("#mfa-secret").inner_text()
        page.fill("#new_password", "lovelace")
        page.fill("#new_password_again", "lovelace")
        page.fill("#code", _code(secret, -1))
        page.get_by_role("button", name="Set my password").click()
        alert = page.get_by_role("alert").inner_text()
        assert "password policy" in alert
        assert "Active Directory" in alert
        assert "lovelace" not in alert.split("'")[0]
        assert _version(dashboard, ada.credential_id) == before
        first = strong()
        page.fill("#new_password", first)
        page.fill("#new_password_again", first)
        page.fill("#code", _code(secret, -1))
        page.get_by_role("button", name="Set my password").click()
        page.wait_for_selector("#push-results")
        shot(page, "self-service-onboarded")
        assert _results(page) == {sw.directory: "done", tenant_dir: "done"}
        assert binds(sw, ad_user.dn, first)
        assert sign_in(sim, cloud.upn, first).ok
        page.goto(welcome)  # used once
        assert "This link does not work" in page.locator("h1").inner_text()

        # A change: signed in (password + code), then current password + a newer code.
        page.goto(f"{dashboard.url}/my/{client_id}/sign-in?next=/my/{client_id}/password")
        page.get_by_label("Username").fill(ada.username)
        page.get_by_label("Password").fill(first)
        page.get_by_role("button", name="Sign in").click()
        page.fill("#code", _code(secret, 0))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"**/my/{client_id}/password")
        second = strong()
        page.fill("#current_password", first)
        page.fill("#code", _code(secret, 1))
        page.fill("#new_password", second)
        page.fill("#new_password_again", second)
        page.get_by_role("button", name="Change my password").click()
        page.wait_for_selector("#push-results")
        assert _results(page) == {sw.directory: "done", tenant_dir: "done"}
        assert binds(sw, ad_user.dn, second)
        assert not binds(sw, ad_user.dn, first)
        assert sign_in(sim, cloud.upn, second).ok

        # A reset by a mailed link: the page says the same for somebody unknown.
        other = new_page(browser)
        other.goto(f"{dashboard.url}/my/{client_id}/sign-in")
        other.get_by_role("link", name="Forgot your password?").click()
        other.wait_for_url(f"**/my/{client_id}/reset")
        other.fill("#who", "nobody-here")
        other.get_by_role("button", name="Send me a link").click()
        said_unknown = other.get_by_role("status").inner_text()
        _requests_done(world, 1)
        other.fill("#who", ada.email)
        other.get_by_role("button", name="Send me a link").click()
        assert other.get_by_role("status").inner_text() == said_unknown
        reset = _link(mail_trap, ada.email, 2)
        assert "/reset/" in reset
        other.goto(reset)
        third = strong()
        world.vault.person_auth.clock = lambda: NOW + 60
        other.fill("#code", _code(secret, 2))
        other.fill("#new_password", third)
        other.fill("#new_password_again", third)
        other.get_by_role("button", name="Set my new password").click()
        other.wait_for_selector("#push-results")
        assert _results(other) == {sw.directory: "done", tenant_dir: "done"}
        assert binds(sw, ad_user.dn, third)
        assert sign_in(sim, cloud.upn, third).ok
