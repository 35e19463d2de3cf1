"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against the app
served by uvicorn on 127.0.0.1 with the agent (as ``credsync serve`` runs them), over an
Entra directory of the Graph simulator. Screenshots go to tests/web/artifacts/."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from credsync.agent.loop import Agent
from credsync.api.state import ServerState
from credsync.server.app import create_app
from credsync.sync.engine import Engine
from credsync.sync.reports import list_runs
from credsync.sync.views import queued_pushes
from credsync.types import Secret, SyncMode
from credsync.vault.drafts import make_draft
from sync.entra import add_entra_directory
from vault.helpers import ADMIN_PASSWORD, VaultWorld, make_world

from .conftest import ARTIFACTS, LiveServer

CHROMIUM = Path("/usr/bin/chromium")
ALEX_PASSWORD = "Alex-First-Pa55word!"
BLAKE_PASSWORD = "Blake-First-Pa55word!"
DIRECTORY = "contoso-365"


@dataclass
class Live:
    url: str
    world: VaultWorld
    sim: Any
    tenant: Any
    users: dict[str, Any]  # "alex" (report mode), "blake" (enforce mode)
    creds: dict[str, str]  # the same names -> credential id


def wait_for(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def in_thread(work: Callable[[], Any]) -> None:
    """Run ``work`` in a thread of its own (Playwright's sync API keeps an event loop
    running in this one)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Client Contoso (directory sync on, report mode by default) with Entra directory
    contoso-365 on a fresh simulated tenant, users Alex (report) and Blake (enforce), one run
    done; the server and its agent running."""
    from credsync.testing.graphsim import GraphSimulator

    sim = GraphSimulator(port=0, seed=21).start()
    world = make_world(f"sqlite:///{tmp_path_factory.mktemp('web-live') / 'vault.db'}")
    server = None
    try:
        vault, admin, keys = world.vault, world.admin, world.keys
        vault.clients.add(admin, keys, "Contoso", directory_sync=True)
        tenant = sim.add_tenant(users=0, groups=0)
        add_entra_directory(
            world, "Contoso", sim, tenant, name=DIRECTORY, options={"interval": 3600}
        )
        users = {
            "alex": tenant.create_user(
                upn=f"alex.morgan@{tenant.domain}", password=ALEX_PASSWORD, display_name="Alex"
            ),
            "blake": tenant.create_user(
                upn=f"blake.lee@{tenant.domain}", password=BLAKE_PASSWORD, display_name="Blake"
            ),
        }
        creds = {}
        for name, title, password, mode in (
            ("alex", "Alex Morgan (Microsoft 365)", ALEX_PASSWORD, None),
            ("blake", "Blake Lee (Microsoft 365)", BLAKE_PASSWORD, SyncMode.ENFORCE),
        ):
            draft = make_draft(
                title=title, username=users[name].upn, password=Secret(password), sync_mode=mode
            )
            creds[name] = vault.credentials.add(admin, keys, "Contoso", draft).id
        in_thread(lambda: asyncio.run(Engine(vault, keys, admin).run(DIRECTORY)))  # the links
        state = ServerState(vault, keys)
        server = LiveServer(create_app(state), Agent(vault, keys, admin, poll_seconds=0.1))
        server.start()

        def agent_ran() -> bool:  # its first periodic run, at start (the next in an hour)
            with world.db.read() as conn:
                found = list_runs(conn, client_ref="Contoso", limit=10)
            return any(r.trigger == "agent" and r.state != "running" for r in found)

        wait_for(agent_ran, "the agent's first run")
        yield Live(server.url, world, sim, tenant, users, creds)
    finally:
        if server is not None:
            server.stop()
        sim.stop()
        world.db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"the web tests need Debian's Chromium at {CHROMIUM}: `apt-get install chromium` "
            "(scripts/test installs it)"
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


def new_page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    context.set_default_timeout(15_000)
    return context.new_page()


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def sign_in(page: Any, url: str, password: str = ADMIN_PASSWORD) -> None:
    page.get_by_label("Operator name").fill("alice")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def nav(page: Any, name: str) -> Any:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


@pytest.fixture(scope="module")
def signed(browser: Any, live: Live) -> Any:
    """A page signed in as alice (admin), shared by the flows in order."""
    page = new_page(browser)
    page.goto(f"{live.url}/sign-in")
    sign_in(page, live.url)
    page.wait_for_url(f"{live.url}/")
    return page


def test_sign_in_then_the_page_asked_for(browser: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = new_page(browser)
    client = live.world.vault.clients.get(live.world.admin, "Contoso")
    page.goto(f"{live.url}/clients/{client.id}")
    expect(page).to_have_url(f"{live.url}/sign-in?next=/clients/{client.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to credsync")
    shot(page, "01-sign-in")
    sign_in(page, live.url, password="not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("did not match an operator")
    sign_in(page, live.url)
    expect(page).to_have_url(f"{live.url}/clients/{client.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Contoso")
    nav(page, "Clients").click()
    expect(page.get_by_role("row", name="Contoso")).to_contain_text("on")
    shot(page, "02-clients")
    # Keyboard: the skip link is the first stop and leads to the content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live.url}/sign-in")
    page.context.close()


def test_sync_now_follows_a_run_to_done(signed: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = signed
    # Graph answers the run's first read with a 503 and Retry-After: 2, so that the run is
    # still going when its page opens.
    live.tenant.inject_fault("GET", "/v1.0/users", status=503, times=1, retry_after=2)
    page.goto(f"{live.url}/directories")
    shot(page, "03-directories")
    page.get_by_role("button", name=f"Sync {DIRECTORY} now").click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    expect(page.get_by_role("status")).to_contain_text("Under way")
    shot(page, "04-run-under-way")
    expect(page.locator("dl.facts")).to_contain_text("done", timeout=20_000)
    expect(page.get_by_role("status")).to_have_count(0)
    # "Sync now" is an incremental run, and this module's earlier run checked both
    # credentials with nothing changed since on either side: it checks neither again and
    # says so (docs/incremental-runs.md), their last check standing.
    expect(page.locator("main")).to_contain_text(
        "Not re-checked: 2 linked credentials, unchanged on both sides since"
    )
    shot(page, "05-run-done")


def test_a_new_enforced_link_waits_and_is_confirmed_on_the_flags_page(
    signed: Any, live: Live
) -> None:
    """Blake's credential is in enforce mode: the run that linked it pushed nothing and left
    a flag until an operator with directory.setup confirms the link, after a page naming the
    account."""
    from playwright.sync_api import expect

    page = signed
    blake = live.users["blake"]
    assert live.tenant.check_password(blake.id, BLAKE_PASSWORD)
    nav(page, "Flags").click()
    flag_row = page.get_by_role("row", name="Blake Lee")
    expect(flag_row).to_contain_text("awaiting confirmation")
    expect(flag_row).to_contain_text(blake.upn)
    shot(page, "05a-link-awaiting-confirmation")
    flag_row.get_by_role("button", name="Confirm the link…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm this new link?")
    expect(page.get_by_role("table")).to_contain_text(blake.upn)
    expect(page.get_by_role("table")).to_contain_text("overwrites its password")
    shot(page, "05b-confirm-the-link")
    page.get_by_role("button", name="Confirm the link").click()
    expect(page.get_by_role("status")).to_contain_text("Confirmed 1 link")
    expect(page.get_by_role("main")).to_contain_text("No open flags")


def test_a_password_changed_in_entra_is_flagged_then_pushed_back(signed: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = signed
    alex = live.users["alex"]
    live.sim.advance_clock(60)
    live.tenant.set_password(alex.id, "Portal-Reset-Pa55word!")  # someone, in the portal
    client = live.world.vault.clients.get(live.world.admin, "Contoso")
    page.goto(f"{live.url}/clients/{client.id}")
    page.get_by_role("button", name=f"Sync {DIRECTORY} now").click()
    expect(page.locator("dl.facts")).to_contain_text("done", timeout=20_000)
    expect(page.get_by_role("row", name="Alex Morgan")).to_contain_text("changed in the directory")

    page.goto(f"{live.url}/clients/{client.id}")
    row = page.get_by_role("row", name="Alex Morgan")
    expect(row).to_contain_text("changed in the directory")
    expect(page.get_by_role("row", name="Blake Lee")).to_contain_text("in sync")
    shot(page, "06-client-with-a-flag")

    page.get_by_role("link", name="Alex Morgan (Microsoft 365)").click()
    expect(page.get_by_role("row", name=DIRECTORY)).to_contain_text("open flag")
    shot(page, "07-credential-flagged")

    nav(page, "Flags").click()
    flag_row = page.get_by_role("row", name="Alex Morgan")
    expect(flag_row).to_contain_text("changed in the directory")
    expect(flag_row).to_contain_text("Entra ID")
    shot(page, "08-flags")
    flag_row.get_by_role("button", name="Push the vault's password").click()
    # First a page naming the account whose password is overwritten.
    expect(page.get_by_role("heading", level=1)).to_have_text("Push the vault's password?")
    expect(page.get_by_role("table")).to_contain_text(alex.upn)
    shot(page, "08b-push-confirm")
    page.get_by_role("button", name="Push the password").click()
    expect(page.get_by_role("status")).to_contain_text("pushed the vault's password")
    expect(page.get_by_role("main")).to_contain_text("No open flags")
    shot(page, "09-flag-resolved")
    assert live.tenant.check_password(alex.id, ALEX_PASSWORD)


def test_an_enforce_password_set_in_the_vault_is_pushed(signed: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = signed
    blake = live.users["blake"]
    page.goto(f"{live.url}/credentials/{live.creds['blake']}")
    expect(page.get_by_role("main")).to_contain_text("Enforce mode")
    page.get_by_label("New password", exact=True).fill("Vault-Rotated-Pa55word!")
    page.get_by_label("The new password again").fill("Vault-Rotated-Pa55word!")
    page.get_by_label("Why").fill("quarterly rotation")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved a new password (version 2)")
    expect(page.get_by_role("status").first).to_contain_text(f"a push to {DIRECTORY} is queued")
    world = live.world
    wait_for(
        lambda: (
            live.tenant.check_password(blake.id, "Vault-Rotated-Pa55word!")
            and not queued_pushes(world.db, world.admin, live.creds["blake"])
        ),
        "the agent's push",
    )
    page.reload()
    expect(page.get_by_role("row", name=DIRECTORY)).to_contain_text("in sync")
    expect(page.get_by_role("main")).not_to_contain_text("is queued")
    expect(page.get_by_role("row", name="2 current")).to_contain_text("quarterly rotation")
    shot(page, "10-enforce-pushed")
    nav(page, "Runs").click()
    expect(page.get_by_role("table")).to_contain_text("agent")
    shot(page, "11-runs")


def test_reveal_the_test_report_and_the_audit_log(signed: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = signed
    page.goto(f"{live.url}/credentials/{live.creds['alex']}")
    expect(page.get_by_role("main")).not_to_contain_text(ALEX_PASSWORD)
    page.get_by_role("button", name="Reveal", exact=True).click()
    expect(page.locator("#secret")).to_have_text(ALEX_PASSWORD)
    shot(page, "12-revealed")
    page.get_by_role("link", name="Hide").click()
    expect(page.get_by_role("main")).not_to_contain_text(ALEX_PASSWORD)

    page.goto(f"{live.url}/directories")
    page.get_by_role("button", name=f"Test {DIRECTORY}").click()
    expect(page.get_by_role("status")).to_contain_text("Every step worked")
    expect(page.get_by_role("row", name="token")).to_contain_text("ok")
    shot(page, "13-directory-test")

    nav(page, "Audit").click()
    page.get_by_label("Action").fill("credential.reveal")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("table")).to_contain_text("credential.reveal")
    shot(page, "14-audit")


def test_the_directory_setup_form_shows_the_chosen_kinds_fields(signed: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = signed
    page.goto(f"{live.url}/directories")
    page.get_by_role("link", name="Add a directory").click()  # one client: straight to its form
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a directory to Contoso")
    # Each kind's fields are its own (made from its descriptor): the first kind's are shown.
    ad_base_dn, ldap_base_dn = (
        page.locator("#active_directory-base_dn"),
        page.locator("#ldap-base_dn"),
    )
    tenant = page.locator("#entra-tenant_id")
    expect(ad_base_dn).to_be_visible()
    expect(tenant).to_be_hidden()
    expect(ldap_base_dn).to_be_hidden()
    page.get_by_role("radio", name="Entra ID").check()
    expect(tenant).to_be_visible()
    expect(ad_base_dn).to_be_hidden()
    page.locator("#kind-ldap").check()
    expect(ldap_base_dn).to_be_visible()
    expect(tenant).to_be_hidden()
    page.get_by_role("radio", name="Entra ID").check()
    page.get_by_role("button", name="Add and test").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Give the tenant id")
    expect(tenant).to_be_visible()  # the kind chosen is kept
    summary.get_by_role("link", name="Give the tenant id").click()
    expect(tenant).to_be_focused()
    shot(page, "15-directory-setup")


def test_an_operator_adds_a_person_and_a_group_then_finds_the_person(
    signed: Any, live: Live
) -> None:
    """Issue 16 on the dashboard: from the client's page to its people, a person added
    (their primary credential chosen), a group added, the person made a member with the
    group's picker, found again by the people's search; then a dry run of the import of a
    user of the client's Office 365."""
    from playwright.sync_api import expect

    page = signed
    page.goto(f"{live.url}/")
    page.get_by_role("link", name="Contoso", exact=True).click()
    page.get_by_role("link", name="People", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("People of Contoso")
    page.get_by_role("link", name="Add a person").click()
    page.get_by_role("button", name="Add the person").click()  # no username
    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text("A person needs a username")
    page.get_by_label("Username").fill("dana.reed")
    page.get_by_label("Given name", exact=True).fill("Dana")
    page.get_by_label("Surname").fill("Reed")
    page.get_by_label("E-mail").fill("dana.reed@contoso.example")
    page.get_by_label("Primary login credential").select_option(live.creds["alex"])
    page.get_by_role("button", name="Add the person").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dana Reed")
    expect(page.get_by_role("status")).to_have_text("Added Dana Reed.")
    expect(page.get_by_role("link", name="Alex Morgan (Microsoft 365)")).to_be_visible()

    page.get_by_role("link", name="Contoso", exact=True).click()
    page.get_by_role("link", name="Groups", exact=True).click()
    page.get_by_role("link", name="Add a group").click()
    page.get_by_label("Name").fill("Field sales")
    page.get_by_label("Type").select_option("microsoft365")
    page.get_by_role("button", name="Add the group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Field sales")
    page.get_by_label("Find a person or a group of Contoso").fill("dan")
    page.get_by_role("button", name="Find", exact=True).click()
    page.get_by_role("button", name="Add person Dana Reed").click()
    expect(page.get_by_role("status")).to_have_text("Member added.")
    members = page.locator("table.members")
    expect(members.get_by_role("link", name="Dana Reed")).to_be_visible()
    shot(page, "17-group-members")

    page.get_by_role("link", name="Contoso", exact=True).click()
    page.get_by_role("link", name="People", exact=True).click()
    search = page.get_by_role("search", name="Search Contoso's people")
    search.get_by_role("searchbox").fill("reed dan")
    search.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="Found for “reed dan”")).to_be_visible()
    page.locator("table.people").get_by_role("link", name="Dana Reed").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dana Reed")
    expect(page.locator("ul.member-of").get_by_role("link", name="Field sales")).to_be_visible()

    # the import from the client's Office 365: a dry run of one user found (keeps nothing)
    page.get_by_role("link", name="Contoso", exact=True).click()
    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_role("link", name="Import from a directory").click()
    directory = page.get_by_role("search", name="Search a directory of Contoso")
    directory.get_by_label("Query").fill("alex")
    directory.get_by_role("button", name="Search").click()
    page.get_by_label("Import Alex", exact=True).check()
    page.get_by_label("Dry run").check()
    shot(page, "18-people-import-preview")
    page.get_by_role("button", name="Import the selected").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Dry run of the import from {DIRECTORY}"
    )
    expect(page.get_by_role("row", name="Alex")).to_contain_text("created")
    shot(page, "19-people-import-report")


def test_the_api_reference_runs_no_script_and_loads_nothing_from_elsewhere(
    browser: Any, live: Live
) -> None:
    from playwright.sync_api import expect

    page = new_page(browser)  # signed out: the reference is public, like openapi.json
    problems: list[str] = []
    requests: list[str] = []

    def on_console(message: Any) -> None:
        if message.type in {"error", "warning"}:
            problems.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{live.url}/api/v1/docs")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", level=1)).to_contain_text("API reference")
    assert page.locator("script").count() == 0
    page.screenshot(path=str(ARTIFACTS / "16-api-reference.png"))
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    contents = page.get_by_role("navigation", name="Contents")
    contents.get_by_role("link", name="POST Add Credential").click()
    expect(page).to_have_url(f"{live.url}/api/v1/docs#op-post-clients-client-credentials")
    operation = page.get_by_role("heading", name="POST /api/v1/clients/{client}/credentials")
    expect(operation).to_be_in_viewport()
    page.get_by_role("link", name="CredentialIn").first.click()
    expect(page.get_by_role("heading", name="CredentialIn", exact=True)).to_be_in_viewport()
    page.go_back()
    expect(operation).to_be_in_viewport()
    page.screenshot(path=str(ARTIFACTS / "17-api-reference-operation.png"))
    assert problems == []
    assert requests
    assert all(url.startswith(f"{live.url}/") for url in requests), requests
    page.context.close()


def _signed_context(browser: Any, signed: Any, **options: Any) -> Any:
    """A browser context of its own with the session of the shared signed-in page."""
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    context.add_cookies(signed.context.cookies())
    return context


def _reveals(live: Live, credential_id: str) -> int:
    world = live.world
    found = world.vault.audit.list(world.admin, target_id=credential_id, action="credential.*")
    return sum(e.action in ("credential.reveal", "credential.history_reveal") for e in found)


def test_a_revealed_password_is_copied_then_hidden_and_a_reload_reveals_nothing(
    browser: Any, signed: Any, live: Live
) -> None:
    from playwright.sync_api import expect

    context = _signed_context(browser, signed, viewport={"width": 1366, "height": 860})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    page = context.new_page()
    page.clock.install()
    cred = live.creds["alex"]
    before = _reveals(live, cred)
    page.goto(f"{live.url}/credentials/{cred}")
    page.get_by_role("button", name="Reveal", exact=True).click()
    expect(page.locator("#secret")).to_have_text(ALEX_PASSWORD)
    assert ALEX_PASSWORD not in page.url  # post-redirect-get: a one-time key, no secret
    expect(page.get_by_text("Shown for 30 seconds")).to_be_visible()
    page.get_by_role("button", name="Copy password").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == ALEX_PASSWORD
    shot(page, "18-revealed-copied")
    assert _reveals(live, cred) == before + 1

    # Thirty seconds later the password is gone from the page, and from the clipboard.
    page.clock.run_for(31_000)
    expect(page.get_by_text("Hidden again after 30 seconds")).to_be_visible()
    expect(page.get_by_role("main")).not_to_contain_text(ALEX_PASSWORD)
    expect(page.get_by_role("button", name="Copy password")).to_have_count(0)
    assert page.evaluate("navigator.clipboard.readText()") == ""
    assert ALEX_PASSWORD not in page.content()

    # A reload loads the page again without posting: nothing revealed, nothing audited.
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.reload()
    expect(page.get_by_text("Hidden again: a revealed password is shown once")).to_be_visible()
    expect(page.get_by_role("main")).not_to_contain_text(ALEX_PASSWORD)
    assert dialogs == []
    assert _reveals(live, cred) == before + 1
    context.close()


def test_without_javascript_a_reveal_shows_the_password_until_hidden(
    browser: Any, signed: Any, live: Live
) -> None:
    from playwright.sync_api import expect

    context = _signed_context(browser, signed, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live.url}/credentials/{live.creds['alex']}")
    page.get_by_role("button", name="Reveal", exact=True).click()
    expect(page.locator("#secret")).to_have_text(ALEX_PASSWORD)
    expect(page.get_by_role("button", name="Copy password")).to_be_hidden()
    expect(page.get_by_text("Shown for 30 seconds")).to_be_hidden()  # nothing hides it
    page.get_by_role("link", name="Hide").click()
    expect(page.get_by_role("main")).not_to_contain_text(ALEX_PASSWORD)
    context.close()


def test_an_earlier_password_is_revealed_from_the_history(
    browser: Any, signed: Any, live: Live
) -> None:
    from playwright.sync_api import expect

    cred = live.creds["blake"]  # version 1 is Blake's first password (rotated since)
    context = _signed_context(browser, signed, viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.goto(f"{live.url}/credentials/{cred}")
    before = _reveals(live, cred)
    page.get_by_role("button", name="Reveal version 1").click()
    row = page.locator("#version-1")
    expect(row.get_by_label("Password version 1")).to_have_text(BLAKE_PASSWORD)
    expect(page.locator("#secret")).to_have_count(0)  # the current one stays hidden
    shot(page, "19-history-revealed")
    world = live.world
    [entry] = world.vault.audit.list(
        world.admin, action="credential.history_reveal", target_id=cred, limit=1
    )
    assert entry.details == {"versions": [1]}
    assert _reveals(live, cred) == before + 1
    page.reload()
    expect(page.get_by_role("main")).not_to_contain_text(BLAKE_PASSWORD)
    context.close()


def test_an_address_with_no_page_is_the_dashboards_404_page(signed: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = signed
    answer = page.goto(f"{live.url}/no/such/page")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_role("alert")).to_contain_text("There is no page at /no/such/page")
    expect(nav(page, "Audit")).to_be_visible()  # the dashboard's own page, signed in
    shot(page, "20-not-found")
    nav(page, "Clients").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Clients")


def test_the_audit_log_names_what_it_is_about_and_filters(signed: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = signed
    world = live.world
    client = world.vault.clients.get(world.admin, "Contoso")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    page.goto(f"{live.url}/audit")
    page.get_by_label("Action").fill("credential.reveal")
    page.get_by_label("Operator").fill("alice")
    page.get_by_label("Client").select_option(label="Contoso")
    since, until = page.locator("#since"), page.locator("#until")  # labelled From and To
    since.fill(today)
    until.fill(today)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/audit\?.*since=" + today))
    table = page.get_by_role("table")
    rows = table.locator("tbody tr")
    expect(rows.first).to_contain_text("credential.reveal")
    for text in ("Alex Morgan (Microsoft 365)", "Contoso", "secret_version"):
        expect(rows.first).to_contain_text(text)
    expect(rows.first.get_by_role("link", name="Alex Morgan (Microsoft 365)")).to_have_attribute(
        "href", f"/credentials/{live.creds['alex']}"
    )
    expect(rows.first.get_by_role("link", name="Contoso")).to_have_attribute(
        "href", f"/clients/{client.id}"
    )
    shot(page, "21-audit-filtered")
    # A day before anything happened: nothing; a range the wrong way round: said on the form.
    until.fill("2000-01-01")
    since.fill("")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("main")).to_contain_text("No entries match.")
    since.fill(today)
    page.get_by_role("button", name="Filter").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text("Until must be later than since")
    page.get_by_role("link", name="Clear the filters").click()
    expect(page).to_have_url(f"{live.url}/audit")


# The elements that reach past the screen's right edge, outside boxes that scroll (a failure's
# explanation).
WIDE = """[...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > innerWidth)
  .filter(e => !e.parentElement.closest(".table-wrap"))
  .map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))
  .slice(0, 8)"""
PHONE_PAGES = [
    "/",
    "/clients/{client}",
    "/credentials/{alex}",
    "/flags",
    "/runs",
    "/runs/{run}",
    "/directories",
    "/directories/{directory}",
    "/directories/new",
    "/audit",
    "/search?q=microsoft",
    "/clients/{client}/people",
    "/no/such/page",
    "/api/v1/docs",
]


def test_the_pages_fit_a_phone_390_pixels_wide(browser: Any, signed: Any, live: Live) -> None:
    from playwright.sync_api import expect

    world = live.world
    with world.db.read() as conn:
        [run] = list_runs(conn, client_ref="Contoso", limit=1)
    ids = {
        "client": world.vault.clients.get(world.admin, "Contoso").id,
        "alex": live.creds["alex"],
        "run": run.id,
        "directory": world.vault.directories.get(world.admin, DIRECTORY).id,
    }
    context = _signed_context(
        browser, signed, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    for path in PHONE_PAGES:
        page.goto(live.url + path.format(**ids))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 390, (f"{path} is {width} px wide at 390 px", page.evaluate(WIDE))
        name = path.strip("/").split("?")[0].replace("/", "-").replace("{", "").replace("}", "")
        # The API reference is dozens of screens tall: its picture is the first screen, as
        # for 16-api-reference.png (a full-page one took Chromium ~5 s and showed nothing more
        # than the width check above measured).
        shot(page, f"phone-{name or 'clients'}", full_page=path != "/api/v1/docs")
    # The navigation wraps: every link of it is on the screen.
    page.goto(f"{live.url}/")
    for name in ("Clients", "Flags", "Runs", "Directories", "Audit", "API"):
        box = nav(page, name).bounding_box()
        assert box is not None
        assert box["x"] >= 0, name
        assert box["x"] + box["width"] <= 390, name
    context.close()
