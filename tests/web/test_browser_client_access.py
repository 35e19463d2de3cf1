"""Per-client access on the dashboard, in a real browser (Debian's Chromium through Playwright,
the real app served by uvicorn on 127.0.0.1): a technician limited to one client signs in and
sees only that client (clients page, search, flags, overview), another client's address is
the "Not found" page, and an admin changes their access on the operator's page (a form with
its CSRF token), which applies from the technician's next page on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from credsync.api.state import ServerState
from credsync.server.app import create_app
from credsync.types import Secret
from vault.flag_seed import seed_flags
from vault.helpers import ADMIN_PASSWORD, VaultWorld, make_world

from .conftest import LiveServer
from .test_browser import browser, new_page, shot

__all__ = ["browser"]  # the fixture, shared with test_browser.py

TOM_PASSWORD = "tom-password-1234"


@dataclass
class Scoped:
    url: str
    world: VaultWorld
    ids: dict[str, str]


@pytest.fixture(scope="module")
def scoped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scoped]:
    """Contoso and Fabrikam, each with flagged credentials in a directory of its own, and tom,
    a technician limited to Contoso; served."""
    world = make_world(f"sqlite:///{tmp_path_factory.mktemp('web-scope') / 'vault.db'}")
    server = None
    try:
        vault, admin, keys = world.vault, world.admin, world.keys
        contoso = vault.clients.add(admin, keys, "Contoso", directory_sync=True)
        fabrikam = vault.clients.add(admin, keys, "Fabrikam", directory_sync=True)
        mine = seed_flags(world, "Contoso", 2, directory="contoso-ad", title="Contoso account")
        theirs = seed_flags(world, "Fabrikam", 3, directory="fabrikam-ad", title="Fabrikam account")
        tom = vault.operators.add(admin, "tom", Secret(TOM_PASSWORD), "technician", ["Contoso"])
        server = LiveServer(create_app(ServerState(vault, keys))).start()
        ids = {
            "contoso": contoso.id,
            "fabrikam": fabrikam.id,
            "tom": tom.id,
            "their_credential": theirs.credential_ids[0],
            "their_directory": theirs.directory_id,
            "my_credential": mine.credential_ids[0],
        }
        yield Scoped(server.url, world, ids)
    finally:
        if server is not None:
            server.stop()
        world.db.dispose()


def sign_in(page: Any, url: str, name: str, password: str) -> None:
    page.goto(f"{url}/sign-in")
    page.get_by_label("Operator name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")


def main_text(page: Any) -> str:
    return str(page.locator("main").inner_text())


def test_a_scoped_technician_sees_only_their_clients(browser: Any, scoped: Scoped) -> None:
    from playwright.sync_api import expect

    url, ids = scoped.url, scoped.ids
    page = new_page(browser)
    try:
        sign_in(page, url, "tom", TOM_PASSWORD)
        # the clients page: theirs, with its flag count; not the other
        home = main_text(page)
        assert "Contoso" in home
        assert "Fabrikam" not in home
        shot(page, "client-access-home")

        # another client's addresses are the Not found page, as an address of nothing is
        for path in (
            f"/clients/{ids['fabrikam']}",
            "/clients/Fabrikam",
            f"/credentials/{ids['their_credential']}",
            f"/directories/{ids['their_directory']}",
        ):
            response = page.goto(f"{url}{path}")
            assert response is not None
            assert response.status == 404, path
            expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        # word for word the page of a client that does not exist
        page.goto(f"{url}/clients/Fabrikam")
        theirs = main_text(page)
        page.goto(f"{url}/clients/Northwind")
        assert theirs.replace("Fabrikam", "X") == main_text(page).replace("Northwind", "X")
        shot(page, "client-access-not-found")
        response = page.goto(f"{url}/clients/{ids['contoso']}")
        assert response is not None
        assert response.status == 200

        # search: only theirs
        page.goto(f"{url}/search?q=account")
        results = main_text(page)
        assert "Contoso account" in results
        assert "Fabrikam account" not in results
        shot(page, "client-access-search")

        # flags: only theirs
        page.goto(f"{url}/flags")
        flags = main_text(page)
        assert "Contoso account" in flags
        assert "Fabrikam" not in flags
        assert "fabrikam-ad" not in flags

        # the overview: only their client and directory
        page.goto(f"{url}/overview")
        overview = main_text(page)
        assert "Contoso" in overview
        assert "Fabrikam" not in overview
        assert "fabrikam-ad" not in overview
        shot(page, "client-access-overview")
    finally:
        page.context.close()


def test_an_admin_changes_access_on_the_operator_page_and_it_applies_at_once(
    browser: Any, scoped: Scoped
) -> None:
    from playwright.sync_api import expect

    url, ids = scoped.url, scoped.ids
    tom = new_page(browser)
    admin = new_page(browser)
    try:
        sign_in(tom, url, "tom", TOM_PASSWORD)
        assert tom.goto(f"{url}/clients/{ids['fabrikam']}").status == 404  # type: ignore[union-attr]

        # the operators page shows tom's access; his page changes it
        sign_in(admin, url, "alice", ADMIN_PASSWORD)
        admin.goto(f"{url}/operators")
        row = admin.get_by_role("row").filter(has_text="tom")
        expect(row).to_contain_text("Contoso")
        expect(admin.get_by_role("row").filter(has_text="alice")).to_contain_text("all (admin)")
        admin.goto(f"{url}/operators/{ids['tom']}")
        section = admin.get_by_role("region", name="Client access")
        expect(section.get_by_label("Contoso")).to_be_checked()
        expect(section.get_by_label("Fabrikam")).not_to_be_checked()
        section.get_by_label("Fabrikam").check()
        section.get_by_role("button", name="Save client access").click()
        expect(admin.get_by_text("tom now reaches: Contoso, Fabrikam.")).to_be_visible()
        shot(admin, "client-access-operator")

        # tom's very next page has it, in the same session
        assert tom.goto(f"{url}/clients/{ids['fabrikam']}").status == 200  # type: ignore[union-attr]
        tom.goto(f"{url}/")
        assert "Fabrikam" in main_text(tom)

        # and back to Contoso only
        admin.goto(f"{url}/operators/{ids['tom']}")
        section = admin.get_by_role("region", name="Client access")
        section.get_by_label("Fabrikam").uncheck()
        section.get_by_role("button", name="Save client access").click()
        expect(admin.get_by_text("tom now reaches: Contoso.")).to_be_visible()
        assert tom.goto(f"{url}/clients/{ids['fabrikam']}").status == 404  # type: ignore[union-attr]
    finally:
        tom.context.close()
        admin.context.close()
