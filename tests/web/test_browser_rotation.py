"""Overdue rotations in a real browser (Debian's Chromium, Playwright, the app served by
uvicorn on 127.0.0.1): an interval set on the client's form, the overview's overdue count,
and its link to the client's overdue credentials."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from credsync.api.state import ServerState
from credsync.server.app import create_app
from credsync.storage.tables import credentials
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.drafts import make_draft
from vault.helpers import VaultWorld, make_world

from .conftest import LiveServer
from .test_browser import browser, new_page, shot, sign_in

__all__ = ["browser"]  # the fixture, shared with test_browser.py


@dataclass
class Shop:
    url: str
    world: VaultWorld
    client_id: str


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """Client Contoso with three credentials: two last changed 100 days ago (one of them a
    directory_admin one), one today; served."""
    world = make_world(f"sqlite:///{tmp_path_factory.mktemp('web-rotation') / 'vault.db'}")
    server = None
    try:
        vault, admin, keys = world.vault, world.admin, world.keys
        client = vault.clients.add(admin, keys, "Contoso")
        for title, kind, age in (
            ("File share", "login", 100),
            ("Domain bind", "directory_admin", 100),
            ("Printer", "login", 0),
        ):
            draft = make_draft(title=title, password=Secret(f"{title}-Pa55!"), type_=kind)
            cred = vault.credentials.add(admin, keys, "Contoso", draft)
            with world.db.write() as conn:
                conn.execute(
                    credentials.update()
                    .where(credentials.c.id == cred.id)
                    .values(password_changed_at=utcnow() - dt.timedelta(days=age))
                )
        server = LiveServer(create_app(ServerState(vault, keys))).start()
        yield Shop(server.url, world, client.id)
    finally:
        if server is not None:
            server.stop()
        world.db.dispose()


def test_the_overview_shows_overdue_rotations_and_links_to_them(browser: Any, shop: Shop) -> None:
    from playwright.sync_api import expect

    page = new_page(browser)
    page.goto(f"{shop.url}/sign-in")
    sign_in(page, shop.url)
    page.wait_for_url(f"{shop.url}/")

    page.goto(f"{shop.url}/overview")
    ages = page.get_by_role("table", name="Password age")
    row = ages.get_by_role("row", name="Contoso")
    expect(row).to_contain_text("none")  # no interval yet: nothing is overdue
    expect(row.get_by_role("link", name="overdue for rotation")).to_have_count(0)

    page.goto(f"{shop.url}/clients/{shop.client_id}/edit")
    page.get_by_label("Rotate passwords every (days)").fill("ninety")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.get_by_role("alert")).to_contain_text("whole number of days from 1 to 3650")
    field = page.get_by_label("Rotate passwords every (days)")
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill("90")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contoso")
    expect(page.locator("dl.facts")).to_contain_text("every 90 days")

    page.goto(f"{shop.url}/overview")
    row = page.get_by_role("table", name="Password age").get_by_role("row", name="Contoso")
    expect(row).to_contain_text("every 90 days")
    overdue = row.get_by_role("link", name="2 of Contoso's credentials overdue for rotation")
    expect(overdue).to_have_text("2")
    shot(page, "rotation-01-overview")
    overdue.click()

    expect(page).to_have_url(f"{shop.url}/clients/{shop.client_id}?overdue=1")
    expect(
        page.get_by_role("heading", level=2, name="Credentials overdue for rotation")
    ).to_be_visible()
    listed = page.locator("table.creds tbody th")
    expect(listed).to_have_text(["Domain bind", "File share"])
    shot(page, "rotation-02-overdue-list")
    page.get_by_role("link", name="Back to the credentials").click()
    expect(page.locator("table.creds tbody th")).to_have_count(3)
    page.context.close()
