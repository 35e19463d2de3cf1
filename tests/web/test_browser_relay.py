"""A relay on the dashboard, in Debian's Chromium driven by Playwright, against the app served
by uvicorn over the real Samba AD DC and the Graph simulator: a directory manager adds the
relay through the form (a bad suffix refused on its field first), plans it, applies it after
the confirmation page and sees the report with the pushed row; the AD user's password then
signs in to the simulated tenant."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from credsync.api.state import ServerState
from credsync.server.app import create_app
from credsync.testing.graphsim import sign_in
from relay.conftest import RelayWorld, build_relay_world, graph_sim
from vault.helpers import make_world

from .conftest import LiveServer
from .test_browser import browser, in_thread, new_page, shot

__all__ = ["browser", "graph_sim"]  # the fixtures, shared with test_browser.py, tests/relay

MANAGER = "maria"
MANAGER_PASSWORD = f"{MANAGER}-password-1234"  # as VaultWorld.operator sets it


@pytest.fixture
def live_relay(
    tmp_path_factory: pytest.TempPathFactory, ad_ou: Any, graph_sim: Any
) -> Iterator[tuple[str, RelayWorld]]:
    """The relay world with no relay yet (the test adds it), and maria, a directory
    manager; served."""
    world = make_world(f"sqlite:///{tmp_path_factory.mktemp('web-relay') / 'vault.db'}")
    server = None
    try:
        rw = build_relay_world(world, ad_ou, graph_sim)
        world.vault.relays.remove(world.admin, rw.relay)
        world.operator(MANAGER, "directory_manager")
        server = LiveServer(create_app(ServerState(world.vault, world.keys))).start()
        yield server.url, rw
    finally:
        if server is not None:
            server.stop()
        world.db.dispose()


def test_a_relay_added_planned_and_applied_in_the_browser(
    browser: Any, live_relay: tuple[str, RelayWorld]
) -> None:
    from playwright.sync_api import expect

    url, rw = live_relay
    made: list[Any] = []

    def setup() -> None:  # the engine's event loop is not Playwright's
        user, cred = rw.ad_user()
        made.extend([user, cred, rw.cloud_user(user.name)])
        rw.link_ad()

    in_thread(setup)
    user, cred, cloud = made
    client = rw.sw.vault.clients.get(rw.sw.admin, rw.sw.client)

    page = new_page(browser)
    page.goto(f"{url}/clients/{client.id}")
    page.get_by_label("Operator name").fill(MANAGER)
    page.get_by_label("Password").fill(MANAGER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name=f"Relays of {client.name}").click()
    expect(page.get_by_role("main")).to_contain_text("No relay yet.")
    page.get_by_role("link", name=f"Add a relay to {client.name}").click()

    page.get_by_label("Name").fill("to-office")
    expect(page.get_by_label("From (where passwords come from)")).to_have_value(
        rw.sw.vault.directories.get(rw.sw.admin, rw.sw.directory).id
    )
    page.get_by_label("UPN suffix map").fill(f"{rw.realm}=not a domain")
    page.get_by_label("The password never expires in the target").check()
    page.get_by_role("button", name="Add the relay").click()
    expect(page.get_by_role("alert")).to_contain_text("is not a UPN suffix")
    expect(page.locator("#suffix_map")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("The password never expires in the target")).to_be_checked()
    assert rw.sw.vault.relays.list(rw.sw.admin) == []

    page.get_by_label("UPN suffix map").fill(f"{rw.realm}={rw.tenant.domain}")
    page.get_by_role("button", name="Add the relay").click()
    expect(page.get_by_role("status")).to_contain_text("Relay to-office added.")
    expect(page.get_by_role("heading", name="Relay to-office")).to_be_visible()

    page.get_by_role("button", name="Plan: what a run would do").click()
    report = page.get_by_role("table")
    row = report.get_by_role("row").filter(has_text=user.name)
    expect(row).to_contain_text("matched")
    expect(row).to_contain_text(f"{user.name}@{rw.tenant.domain}")
    expect(row).to_contain_text("push")
    assert rw.writes() == 0
    shot(page, "relay-plan")

    page.get_by_role("link", name="Back to relay to-office").click()
    page.get_by_role("button", name="Run to-office…").click()
    expect(page.get_by_role("heading", name="Apply relay to-office?")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text(f"{user.name}@{rw.tenant.domain}")
    assert rw.writes() == 0
    page.get_by_role("button", name="Apply to-office").click()

    row = page.get_by_role("table").get_by_role("row").filter(has_text=user.name)
    expect(row).to_contain_text("matched by upn")  # the run ended: web.js reloaded the page
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"pushed\s*1"))
    shot(page, "relay-applied")
    page.context.close()

    password = rw.reveal(cred).reveal()
    assert rw.tenant.check_password(cloud.id, password)
    assert sign_in(rw.sim, f"{user.name}@{rw.tenant.domain}", password, tenant=rw.tenant)
