"""A newcomer runs the shop from the dashboard alone, in Debian's Chromium driven by
Playwright, against the app served by uvicorn on 127.0.0.1 over a new, empty vault: sign in as
the first admin, add the first client, a folder, a credential, an operator with a role, an
API token (shown once), import a small CSV with a bad row (the per-row report), export.
No command line. Screenshots go to tests/web/artifacts/ (newcomer-*.png)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from credsync.api.state import ServerState
from credsync.server.app import create_app
from credsync.types import Secret
from vault.helpers import ADMIN_PASSWORD, VaultWorld, make_world

from .conftest import ARTIFACTS, LiveServer

CHROMIUM = Path("/usr/bin/chromium")
BOB_PASSWORD = "bob-first-password-1234"
TYPED = "Dc1-Local-Pa55word!"
CSV = (
    b"title,username,password,folder\r\n"
    b"Printer,svc-print,Printer-Pa55word!,Devices\r\n"
    b",nobody,Nobody-Pa55word!,\r\n"
)


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, VaultWorld]]:
    """A vault with its first admin (alice) and nothing else, served on 127.0.0.1."""
    world = make_world(f"sqlite:///{tmp_path_factory.mktemp('web-new') / 'vault.db'}")
    server = LiveServer(create_app(ServerState(world.vault, world.keys))).start()
    try:
        yield server.url, world
    finally:
        server.stop()
        world.db.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"the web tests need Debian's Chromium at {CHROMIUM}: `apt-get install chromium`"
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"newcomer-{name}.png"), full_page=True)


def test_a_newcomer_runs_the_shop_from_the_dashboard(
    chromium: Any, empty: tuple[str, VaultWorld]
) -> None:
    from playwright.sync_api import expect

    url, world = empty
    context = chromium.new_context(viewport={"width": 1366, "height": 860}, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    main = page.get_by_role("main")
    status = page.get_by_role("status")

    # Sign in as the first admin: no clients yet, and a link to add the first one.
    page.goto(f"{url}/sign-in")
    page.get_by_label("Operator name").fill("alice")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(main).to_contain_text("No clients yet")
    nav = page.get_by_role("navigation", name="Main")
    for link in ("Operators", "Policies", "API tokens"):
        expect(nav.get_by_role("link", name=link)).to_be_visible()
    main.get_by_role("link", name="add the first one").click()

    # The first client, with directory sync on.
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a client")
    page.get_by_label("Name").fill("Contoso Ltd")
    page.get_by_label("Directory sync on").check()
    page.get_by_label("Default sync mode").select_option("report")
    _shot(page, "01-add-client")
    page.get_by_role("button", name="Add the client").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contoso Ltd")
    expect(status).to_contain_text("Added Contoso Ltd.")
    client = world.vault.clients.get(world.admin, "Contoso Ltd")
    assert client.directory_sync

    # A folder.
    main.get_by_role("link", name="Folders").click()
    page.get_by_label("Path").fill("Servers/DCs")
    page.get_by_role("button", name="Add the folder").click()
    expect(status).to_contain_text("Added folder Servers/DCs.")
    expect(page.get_by_role("row", name="Servers/DCs")).to_be_visible()
    _shot(page, "02-folders")

    # A credential in it.
    page.get_by_role("link", name="Contoso Ltd").click()
    main.get_by_role("link", name="Add a credential").click()
    page.get_by_label("Title").fill("DC1 local admin")
    page.get_by_label("Username").fill("DC1\\Administrator")
    page.get_by_label("Folder", exact=True).select_option("Servers/DCs")
    page.get_by_label("Password", exact=True).fill(TYPED)
    page.get_by_label("The password again").fill(TYPED)
    page.get_by_role("button", name="Add the credential").click()
    expect(status).to_contain_text("Added DC1 local admin.")
    expect(main).not_to_contain_text(TYPED)

    # An operator with a role.
    nav.get_by_role("link", name="Operators").click()
    main.get_by_role("link", name="Add an operator").click()
    page.get_by_label("Name").fill("bob")
    page.get_by_label("Role").select_option("technician")
    page.locator("#password").fill(BOB_PASSWORD)
    page.locator("#password_again").fill(BOB_PASSWORD)
    page.get_by_role("button", name="Add the operator").click()
    expect(status).to_contain_text("Added bob (technician).")
    for section in ("Role", "Sign-in", "Password", "API tokens"):
        expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    _shot(page, "03-operator")
    assert world.vault.access.login_password("bob", Secret(BOB_PASSWORD)).role == "technician"

    # An API token: its value shown this once.
    nav.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("backup-script")
    page.get_by_role("button", name="Create the token").click()
    value = page.locator("#token-value")
    expect(value).to_have_text(re.compile(r"^cst_[A-Za-z0-9_-]{20,}$"))
    token = value.inner_text()
    _shot(page, "04-token-once")
    assert world.vault.access.login_token(Secret(token)).name == "alice"
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("row", name=re.compile("backup-script"))).to_contain_text("active")
    expect(main).not_to_contain_text(token)

    # A CSV import with a bad row: the report names it.
    page.goto(f"{url}/clients/{client.id}")
    main.get_by_role("link", name="Import a CSV").click()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "devices.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Imported devices.csv")
    expect(status).to_contain_text("Imported 1 of 2 rows; 1 rejected")
    rejected = page.get_by_role("table", name="Rejected rows")
    expect(rejected.get_by_role("row", name=re.compile("^3"))).to_contain_text(
        "title must not be empty"
    )
    _shot(page, "05-import-report")

    # The export: a page saying what it holds, then the download.
    page.get_by_role("link", name="Back to Contoso Ltd").click()
    main.get_by_role("link", name="Export to CSV").click()
    expect(main).to_contain_text("in the clear")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the CSV").click()
    saved = download.value
    assert saved.suggested_filename == "Contoso-Ltd-credentials.csv"
    rows = list(csv.DictReader(io.StringIO(Path(saved.path()).read_text(encoding="utf-8"))))
    assert {r["title"]: (r["folder"], r["password"]) for r in rows} == {
        "DC1 local admin": ("Servers/DCs", TYPED),
        "Printer": ("Devices", "Printer-Pa55word!"),
    }
    [entry] = world.vault.audit.list(world.admin, action="export")
    assert entry.details["destination"] == "<dashboard download>"
    assert problems == []  # no script error, nothing the Content-Security-Policy refused
    context.close()
