"""Auto-create on a directory's page, in Debian's Chromium driven by Playwright, against the
app served by uvicorn over a directory of the real Samba AD DC: the settings changed through
the form (a bad title refused on its field, nothing saved), the dry run's list, then a run
making the credential."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from credsync.api.state import ServerState
from credsync.server.app import create_app
from credsync.sync.engine import Engine
from sync.helpers import build_sync_world
from vault.helpers import make_world

from .conftest import LiveServer
from .test_browser import browser, in_thread, new_page, shot, sign_in  # noqa: F401


@pytest.fixture
def live_ad(tmp_path_factory: pytest.TempPathFactory, ad_ou: Any) -> Iterator[Any]:
    world = make_world(f"sqlite:///{tmp_path_factory.mktemp('web-auto') / 'vault.db'}")
    server = None
    try:
        sw = build_sync_world(world, ad_ou)
        server = LiveServer(create_app(ServerState(world.vault, world.keys))).start()
        yield server.url, sw
    finally:
        if server is not None:
            server.stop()
        world.db.dispose()


def test_auto_create_from_the_directory_page(browser: Any, live_ad: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    url, sw = live_ad
    group = sw.ad.admin.create_group(sw.ad.dn)
    nested = sw.ad.admin.create_group(sw.ad.dn)
    sw.ad.admin.add_member(group, nested)
    dana = sw.ad.create_user(display_name="Dana Scully")
    sw.ad.create_user()  # in no group: never listed
    sw.ad.admin.add_member(nested, dana.dn)
    directory = sw.vault.directories.get(sw.admin, sw.directory)

    page = new_page(browser)
    page.goto(f"{url}/directories/{directory.id}")
    sign_in(page, url)
    expect(page.get_by_role("heading", name="Auto-create")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("are not made into credentials")

    page.get_by_label("Make credentials of this directory's users").check()
    page.get_by_label("When").select_option("first_seen")
    page.get_by_label("Groups").fill(group)
    page.get_by_label("Title").fill("{displayName} <{mail}>")
    page.get_by_label("Folder").fill("AD users")
    page.get_by_role("button", name="Save auto-create").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown placeholder {mail}")
    expect(page.locator("#title")).to_have_attribute("aria-invalid", "true")
    assert sw.vault.auto_create.get(sw.admin, sw.directory)[1].enabled is False

    page.get_by_label("Title").fill("{displayName} ({sAMAccountName})")
    page.get_by_role("button", name="Save auto-create").click()
    expect(page.get_by_role("status")).to_contain_text("Auto-create settings saved.")
    expect(page.get_by_role("main")).to_contain_text("when a run first sees them")

    page.get_by_role("button", name="Dry run: list what would be made").click()
    table = page.get_by_role("table", name="1 credential would be made now")
    expect(table).to_contain_text(dana.name)
    expect(table).to_contain_text(f"Dana Scully ({dana.name})")
    expect(table).to_contain_text("AD users")
    shot(page, "auto-create-dry-run")

    in_thread(lambda: asyncio.run(Engine(sw.vault, sw.keys, sw.admin).run(sw.directory)))
    page.goto(f"{url}/directories/{directory.id}")
    page.get_by_role("button", name="Dry run: list what would be made").click()
    expect(page.get_by_role("heading", name="0 credentials would be made now")).to_be_visible()
    made = [
        c for c in sw.vault.credentials.list(sw.admin, sw.client).items if c.username == dana.name
    ]
    assert [c.title for c in made] == [f"Dana Scully ({dana.name})"]
    page.context.close()
