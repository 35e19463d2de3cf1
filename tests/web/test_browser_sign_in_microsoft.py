"""Signing in with Microsoft in a real browser, end to end: Debian's Chromium (Playwright)
on the dashboard served by uvicorn, the Graph simulator as the MSP's tenant (its authorize
endpoint and sign-in page): the button, Microsoft's page, a wrong password shown there, then
the right one, and back on the dashboard signed in as the linked operator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from credsync.testing.graphsim import GraphSimulator
from credsync.types import Secret

from .conftest import Dashboard, served
from .test_browser import browser, shot

__all__ = ["browser"]  # the fixture, shared with test_browser.py

PASSWORD = "Browser-Microsoft-1!"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    with served(tmp_path_factory, "web-microsoft", {"tess": "technician"}) as served_:
        yield served_


def test_a_linked_operator_signs_in_with_microsoft_in_chromium(browser, dashboard) -> None:
    world = dashboard.world
    with GraphSimulator(port=0, seed=29) as sim:
        tenant = sim.add_tenant(users=0, groups=0, domain="msp-browser.test")
        callback = f"{dashboard.url}/sign-in/microsoft/callback"
        sim.add_redirect_uri(tenant, callback)
        tess = tenant.create_user(
            upn="tess@msp-browser.test", password=PASSWORD, display_name="Tess"
        )
        world.vault.operator_sign_in.setup(
            world.admin,
            world.keys,
            tenant_id=tenant.id,
            client_id=tenant.default_app.client_id,
            client_secret=Secret(tenant.default_app.client_secret),
            redirect_uri=callback,
            authority=sim.url,
            ca_pem=sim.ca_pem,
        )
        world.vault.operator_sign_in.link(world.admin, "tess", tess.id)
        # Chromium does not know the simulator's test CA (the vault does: ca_pem)
        context = browser.new_context(viewport={"width": 1366, "height": 860},
                                      ignore_https_errors=True)  # fmt: skip
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            page.goto(f"{dashboard.url}/sign-in?next=/flags")
            page.get_by_role("link", name="Sign in with Microsoft").click()
            page.wait_for_url(f"{sim.url}/**")
            page.get_by_label("Email, phone, or Skype").fill("tess@msp-browser.test")
            page.get_by_label("Password").fill("not-the-password")
            page.get_by_role("button", name="Sign in").click()
            assert "AADSTS50126" in page.locator("#error").inner_text()
            assert page.get_by_label("Email, phone, or Skype").input_value() == (
                "tess@msp-browser.test"
            )
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{dashboard.url}/flags")
            shot(page, "sign-in-microsoft")
            assert "tess" in page.content()
            cookies = {c["name"]: c for c in context.cookies(dashboard.url)}
            assert cookies["credsync_session"]["httpOnly"]
            assert "credsync_ms_flow" not in cookies
        finally:
            context.close()
    login = world.vault.audit.list(world.admin, action="auth.web_login", limit=1)[0]
    assert login.details["via"] == "microsoft"
