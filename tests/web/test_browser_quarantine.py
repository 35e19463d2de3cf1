"""The Quarantine page in Debian's Chromium driven by Playwright, against the app served by
uvicorn over a directory of the real Samba AD DC: held pushes listed, some chosen and
approved (pushed: they bind), another discarded; a mass disable held, two links restored
after the dry run ("Restore now": enabled in AD), one accepted; the vault-wide thresholds'
form (a bad value refused on its field, then saved). A read-only operator sees the list
without a button or the form."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from credsync.api.state import ServerState
from credsync.server.app import create_app
from sync.helpers import SyncWorld, build_sync_world, update_directory
from sync.test_enforce_mode import binds
from sync.test_quarantine import disabled, enforced
from vault.helpers import make_world

from .conftest import LiveServer
from .test_browser import browser, in_thread, new_page, shot, sign_in  # noqa: F401


@pytest.fixture
def live_ad(tmp_path_factory: pytest.TempPathFactory, ad_ou: Any) -> Iterator[Any]:
    world = make_world(f"sqlite:///{tmp_path_factory.mktemp('web-quarantine') / 'vault.db'}")
    server = None
    try:
        sw = build_sync_world(world, ad_ou)
        world.operator("vera", "viewer")
        server = LiveServer(create_app(ServerState(world.vault, world.keys))).start()
        yield server.url, sw
    finally:
        if server is not None:
            server.stop()
        world.db.dispose()


def _run(sw: SyncWorld) -> Any:
    found: list[Any] = []
    in_thread(lambda: found.append(asyncio.run(sw.engine().run(sw.directory))))
    return found[0]


def _choose(page: Any, *names: str) -> None:
    for name in names:
        page.get_by_label(f"Choose {name}").check()


def test_the_quarantine_page_decides_held_items(browser: Any, live_ad: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    url, sw = live_ad
    pairs: list[Any] = []
    in_thread(lambda: pairs.extend(enforced(sw, 7)))
    users = [u for u, _ in pairs]
    update_directory(sw.vault, sw.admin, sw.directory, options={"push_cap": 2})
    for user, cred in pairs[:3]:
        sw.set_password(cred, f"Held-{user.name[-6:]}-9!")
    assert _run(sw).state == "aborted"  # 3 pushes over the push cap of 2: held

    page = new_page(browser)
    page.goto(f"{url}/quarantine")
    sign_in(page, url)
    held = page.get_by_role("table", name="Held items")
    for user in users[:3]:
        expect(held).to_contain_text(user.name)
    _choose(page, users[0].name, users[1].name)
    page.get_by_role("button", name="Approve the held actions").click()
    expect(page.get_by_role("heading", name="Quarantine: approve")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("2 done")
    shot(page, "quarantine-approved")
    for user, cred in pairs[:2]:
        assert binds(sw, user.dn, sw.reveal(cred))

    page.get_by_role("link", name="Back to the quarantine").click()
    _choose(page, users[2].name)
    page.get_by_role("button", name="Discard the held actions").click()
    expect(page.get_by_role("main")).to_contain_text("1 done")
    assert binds(sw, users[2].dn, users[2].password)  # nothing sent

    # A mass disable in AD, held by the inbound threshold.
    caps = {"push_cap": 500, "inbound_cap": 2, "inbound_cap_percent": 0}
    update_directory(sw.vault, sw.admin, sw.directory, options=caps)
    for user in users[3:7]:
        sw.ad.admin.disable(user.dn)
    assert "4 links held in quarantine" in _run(sw).message
    page.goto(f"{url}/quarantine")
    _choose(page, users[3].name, users[4].name)
    page.get_by_role("button", name="Restore… (dry run first)").click()
    expect(page.get_by_role("heading", name="Quarantine: restore (dry run)")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("2 would")
    assert all(disabled(sw, u) for u in users[3:5])  # the dry run changed nothing
    shot(page, "quarantine-restore-dry-run")
    page.get_by_role("button", name="Restore now").click()
    expect(page.get_by_role("heading", name="Quarantine: restore", exact=True)).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("2 done")
    assert not any(disabled(sw, u) for u in users[3:5])

    page.goto(f"{url}/quarantine")
    _choose(page, users[5].name)
    page.get_by_role("button", name="Accept the change").click()
    expect(page.get_by_role("main")).to_contain_text("1 done")
    page.goto(f"{url}/quarantine")
    held = page.get_by_role("table", name="Held items")
    expect(held).to_contain_text(users[6].name)
    expect(held).not_to_contain_text(users[5].name)
    expect(held).not_to_contain_text(users[3].name)

    # The vault-wide thresholds.
    page.locator("#inbound_cap").fill("-1")
    page.get_by_role("button", name="Save the thresholds").click()
    expect(page.get_by_role("alert")).to_contain_text("cap must be 0 to 1000000, not -1")
    expect(page.locator("#inbound_cap")).to_have_attribute("aria-invalid", "true")
    assert sw.vault.quarantine_defaults.show(sw.admin)["inbound_cap"]["vault"] is None
    page.locator("#inbound_cap").fill("40")
    page.get_by_role("button", name="Save the thresholds").click()
    expect(page.get_by_role("status")).to_contain_text("The vault-wide thresholds are saved.")
    expect(page.locator("#quarantine-defaults")).to_contain_text("vault-wide, set by alice")
    assert sw.vault.quarantine_defaults.show(sw.admin)["inbound_cap"]["vault"] == 40
    page.context.close()

    # A read-only operator: the list, no button, no form.
    viewer = new_page(browser)
    viewer.goto(f"{url}/quarantine")
    viewer.get_by_label("Operator name").fill("vera")
    viewer.get_by_label("Password").fill("vera-password-1234")
    viewer.get_by_role("button", name="Sign in").click()
    expect(viewer.get_by_role("table", name="Held items")).to_contain_text(users[6].name)
    expect(viewer.get_by_role("main")).to_contain_text("Deciding needs vault.write")
    buttons = ("Approve the held actions", "Discard the held actions", "Restore… (dry run first)",
               "Accept the change", "Save the thresholds")  # fmt: skip
    for name in buttons:
        expect(viewer.get_by_role("button", name=name)).to_have_count(0)
    shot(viewer, "quarantine-viewer")
    viewer.context.close()
