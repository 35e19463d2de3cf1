"""Operators, roles, API tokens and password policies on the dashboard, in-process: what an
admin does with them, what an operator does with their own page and tokens, and that a
token's value is shown once and never again. The services' audit entries are written; no
password typed comes back on a page."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from credsync.errors import AuthenticationFailed
from credsync.types import Secret

from .conftest import WebWorld, csrf_of, operator_password

ERIN_PASSWORD = "erin-first-password-1"
ERIN_NEW = "erin-second-password-2"


def _post(browser: TestClient, where: str, /, **data: str) -> tuple[int, str, str]:
    """(status, location, text of the page: the one redirected to, with its notice)."""
    response = browser.post(where, data={"csrf_token": csrf_of(browser.get("/").text), **data})
    location = response.headers.get("location", "")
    if response.status_code == 303:
        return 303, location, browser.get(location).text
    return response.status_code, location, response.text


def _nav(page: str) -> list[str]:
    nav = page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    return re.findall(r">([^<]+)</a>", nav)


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        ("admin", ["Operators", "Policies", "API tokens"]),
        ("technician", ["Policies", "API tokens"]),
        ("viewer", ["Policies", "API tokens"]),
    ],
)
def test_the_navigation_shows_what_the_operator_may_open(
    web: WebWorld, role: str, shown: list[str]
) -> None:
    links = _nav(web.signed_in(role).get("/").text)
    assert [link for link in links if link in ("Operators", "Policies", "API tokens")] == shown


def test_an_admin_adds_an_operator_and_manages_them(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    browser = web.signed_in("admin")
    listed = browser.get("/operators").text
    assert "op-technician" in listed
    assert 'href="/operators/new"' in listed
    form = browser.get("/operators/new").text
    for name in ("name", "role", "password", "password_again"):
        assert f'<label for="{name}">' in form, name

    status, _, page = _post(
        browser,
        "/operators/new",
        name="erin",
        role="technician",
        password=ERIN_PASSWORD,
        password_again=ERIN_PASSWORD + "x",
    )
    assert status == 400
    assert '<a href="#password_again">The two passwords differ.</a>' in page
    assert 'value="erin"' in page
    assert ERIN_PASSWORD not in page
    status, _, page = _post(
        browser, "/operators/new", name="erin", role="technician",
        password="short", password_again="short",
    )  # fmt: skip
    assert status == 400
    assert "operator passwords need at least 12 characters" in page.lower()
    status, _, page = _post(
        browser, "/operators/new", name="erin", role="wizard",
        password=ERIN_PASSWORD, password_again=ERIN_PASSWORD,
    )  # fmt: skip
    assert status == 400
    assert '<a href="#role">No role named &#39;wizard&#39;' in page
    added = vault.audit.list(admin, action="operator.add", limit=10)
    assert [e for e in added if e.details["name"] == "erin"] == []

    status, location, page = _post(
        browser, "/operators/new", name="erin", role="technician",
        password=ERIN_PASSWORD, password_again=ERIN_PASSWORD,
    )  # fmt: skip
    assert status == 303
    assert "Added erin (technician)." in page
    assert ERIN_PASSWORD not in page
    for heading in ("Role", "Sign-in", "Password", "API tokens"):
        assert f">{heading}</h2>" in page, heading
    erin = location.removeprefix("/operators/").split("?")[0]
    assert vault.access.login_password("erin", Secret(ERIN_PASSWORD)).role == "technician"

    status, _, page = _post(browser, f"/operators/{erin}/role", role="auditor")
    assert status == 303
    assert "erin is now auditor." in page
    [entry] = vault.audit.list(admin, action="operator.role", target_id=erin)
    assert entry.details == {"name": "erin", "from": "technician", "to": "auditor"}

    session = vault.web_sessions.start("erin", Secret(ERIN_PASSWORD))
    status, _, page = _post(browser, f"/operators/{erin}/disable")
    assert status == 303
    assert "Disabled erin" in page
    with pytest.raises(AuthenticationFailed):
        vault.web_sessions.resume(session.token)
    status, _, page = _post(browser, f"/operators/{erin}/enable")
    assert status == 303
    assert "Enabled erin" in page

    again = vault.web_sessions.start("erin", Secret(ERIN_PASSWORD))
    status, _, page = _post(
        browser, f"/operators/{erin}/password", password=ERIN_NEW, password_again=ERIN_NEW
    )
    assert status == 303
    assert "Set erin&#39;s password; 1 web and CLI session(s) of theirs ended." in page
    with pytest.raises(AuthenticationFailed):  # the reset ended it
        vault.web_sessions.resume(again.token)
    assert ERIN_NEW not in page
    assert vault.access.login_password("erin", Secret(ERIN_NEW)).name == "erin"
    with pytest.raises(AuthenticationFailed):
        vault.access.login_password("erin", Secret(ERIN_PASSWORD))


def test_an_admin_can_neither_lock_out_the_last_admin_nor_reset_their_own_password(
    web: WebWorld,
) -> None:
    browser = web.signed_in("admin")
    alice = web.world.admin.operator_id
    before = web.world.vault.audit.list(web.world.admin, limit=1)[0].seq
    status, _, page = _post(browser, f"/operators/{alice}/role", role="technician")
    assert status == 400
    assert "last active admin" in page
    status, _, page = _post(browser, f"/operators/{alice}/disable")
    assert status == 400
    assert "last active admin" in page
    own = browser.get(f"/operators/{alice}").text
    assert f'action="/operators/{alice}/password"' not in own
    assert "credsync operator passwd alice" in own
    status, _, page = _post(
        browser, f"/operators/{alice}/password", password=ERIN_NEW, password_again=ERIN_NEW
    )
    assert status == 400
    assert "Change your own password with" in page
    assert web.world.vault.audit.list(web.world.admin, limit=1)[0].seq == before
    assert web.world.vault.access.login_password("alice", Secret(operator_password("admin")))


def test_an_operators_own_page_has_their_tokens_and_no_admin_forms(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    own = browser.get(f"/operators/{web.ids['operator']}")
    assert own.status_code == 200
    assert 'op-technician <span class="muted">(you)</span>' in own.text
    assert "/role" not in own.text
    assert "/disable" not in own.text
    assert 'action="/tokens/new"' in own.text
    others = web.world.vault.operators.list(web.world.admin)
    viewer = next(o for o in others if o.name == "op-viewer")
    assert browser.get(f"/operators/{viewer.id}").status_code == 403


def test_a_token_is_shown_once_works_and_is_revoked(web: WebWorld) -> None:
    vault = web.world.vault
    browser = web.signed_in("technician")
    page = browser.get("/tokens").text
    assert "<h1>Your API tokens</h1>" in page
    assert "No API tokens." in page
    assert "web-tests" not in page  # alice's
    status, _, page = _post(browser, "/tokens/new", name="backup-script", expires_days="30")
    assert status == 200
    assert "it is shown this once" in page
    value = re.search(r'id="token-value"[^>]*>(cst_[A-Za-z0-9_-]+)<', page)
    assert value, page
    actor = vault.access.login_token(Secret(value.group(1)))
    assert (actor.name, actor.via) == ("op-technician", "token")
    listed = browser.get("/tokens").text
    assert "backup-script" in listed
    assert value.group(1) not in listed
    [token] = vault.access.list_tokens(actor)
    assert token.expires_at is not None

    status, _, page = _post(browser, "/tokens/new", name="x", expires_days="0")
    assert status == 400
    assert '<a href="#expires_days">The lifetime is 1 to 3650 days' in page
    status, _, page = _post(browser, "/tokens/new", name="")
    assert status == 400
    assert '<a href="#name">Give the token a name' in page
    # For another operator: only an admin.
    status, _, page = _post(browser, "/tokens/new", name="theirs", operator="op-viewer")
    assert status == 403
    assert "admin" in page

    status, _, page = _post(browser, f"/tokens/{token.id}/revoke", back="/tokens")
    assert status == 303
    assert "Revoked op-technician&#39;s token backup-script." in page
    assert "revoked" in page
    with pytest.raises(AuthenticationFailed):
        vault.access.login_token(Secret(value.group(1)))


def test_an_admin_makes_a_token_for_another_operator_and_sees_everyones(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    browser = web.signed_in("admin")
    operator = f"/operators/{web.ids['operator']}"
    page = browser.get(operator).text
    assert "Create a token for op-technician" in page
    status, _, page = _post(
        browser, "/tokens/new", name="their-script", operator="op-technician", back=operator
    )
    assert status == 200
    assert "Created op-technician's token their-script" in page
    assert f'<a href="{operator}">Done</a>' in page
    page = browser.get(operator).text
    assert "their-script" in page
    assert "web-tests" not in page  # alice's own token is not theirs
    everyone = browser.get("/tokens?all=1").text
    assert "<h1>Everyone&#39;s API tokens</h1>" in everyone
    assert "their-script" in everyone
    assert "web-tests" in everyone
    [entry] = vault.audit.list(admin, action="token.create", limit=1)
    assert entry.details == {"name": "their-script", "operator": "op-technician"}


def test_roles_are_listed_added_changed_and_deleted(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    viewer = web.signed_in("viewer").get("/roles").text
    assert "directory_manager" in viewer
    assert "Add a role" not in viewer
    browser = web.signed_in("admin")
    status, _, page = _post(browser, "/roles/new", name="helpdesk", description="first line")
    assert status == 400
    assert '<a href="#permissions">Tick at least one permission.</a>' in page
    status, _, page = _post(
        browser,
        "/roles/new",
        name="Helpdesk",
        description="first line",
        **{"perm-vault.read": "on", "perm-secret.reveal": "on"},
    )
    assert status == 303
    assert "Added role helpdesk." in page
    status, _, page = _post(browser, "/roles/new", name="helpdesk", **{"perm-vault.read": "on"})
    assert status == 400
    assert '<a href="#name">A role named &#39;helpdesk&#39; already exists' in page

    form = browser.get("/roles/edit?name=helpdesk").text
    assert 'id="perm-secret.reveal" name="perm-secret.reveal" checked' in form
    assert 'id="perm-audit.read" name="perm-audit.read">' in form
    status, _, page = _post(
        browser,
        "/roles/edit",
        name="helpdesk",
        description="first line support",
        **{"perm-vault.read": "on", "perm-audit.read": "on"},
    )
    assert status == 303
    assert "Role helpdesk grants audit.read, vault.read." in page
    role = {r.name: r for r in vault.operators.roles(admin)}["helpdesk"]
    assert (role.permissions, role.description) == (
        ("audit.read", "vault.read"),
        "first line support",
    )
    assert browser.get("/roles/edit?name=technician").status_code == 400

    web.world.operator("dora", "helpdesk")
    status, _, page = _post(browser, "/roles/delete", name="helpdesk")
    assert status == 400
    assert "held by dora" in page
    status, _, page = _post(browser, "/roles/delete", name="viewer")
    assert status == 400
    assert "built in" in page
    vault.operators.set_role(admin, "dora", "viewer")
    status, _, page = _post(browser, "/roles/delete", name="helpdesk")
    assert status == 303
    assert "Deleted role helpdesk." in page
    assert [e.action for e in vault.audit.list(admin, target_id="helpdesk", limit=3)] == [
        "role.delete",
        "role.change",
        "role.add",
    ]


def test_policies_are_listed_added_deleted_and_sampled(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    browser = web.signed_in("admin")
    page = browser.get("/policies").text
    assert 'default <span class="muted">(built in)</span>' in page
    status, _, page = _post(browser, "/policies/new", name="long", length="many")
    assert status == 400
    assert '<a href="#length">Length must be a whole number.</a>' in page
    status, _, page = _post(browser, "/policies/new", name="long", length="2")
    assert status == 400
    assert '<a href="#settings">Password length must be 4..256, not 2</a>' in page
    status, _, page = _post(
        browser, "/policies/new", name="Long", length="32", symbols="-1", exclude_ambiguous="on"
    )
    assert status == 303
    assert "Added policy long." in page
    policy = vault.policies.get("long")
    assert (policy.length, policy.symbols, policy.exclude_ambiguous) == (32, -1, True)

    # Any operator may see a sample; nothing is stored.
    viewer = web.signed_in("viewer")
    before = vault.audit.list(admin, limit=1)[0].seq
    status, _, page = _post(viewer, "/policies/generate", name="long")
    assert status == 200
    samples = re.findall(r'<output class="secret mono">([^<]+)</output>', page)
    assert len(samples) == 5
    assert all(len(p) == 32 and p.isalnum() for p in samples)
    assert vault.audit.list(admin, limit=1)[0].seq == before
    assert "Delete long" not in page  # admins only

    status, _, page = _post(browser, "/policies/delete", name="long")
    assert status == 303
    assert "Deleted policy long." in page
    assert [name for name, _ in vault.policies.list(admin)] == ["default"]


def test_an_admin_gives_an_operator_some_clients_from_the_forms(web: WebWorld) -> None:
    """The add form's client access (all clients, or the clients ticked) and the operator
    page's; an admin role with some clients is refused on the form, naming it."""
    vault, admin = web.world.vault, web.world.admin
    fabrikam = vault.clients.add(admin, web.world.keys, "Fabrikam")
    contoso = web.ids["client"]
    browser = web.signed_in("admin")
    form = browser.get("/operators/new").text
    assert f'name="client_{contoso}"' in form
    assert f'name="client_{fabrikam.id}"' in form

    ticked = {f"client_{fabrikam.id}": "on"}
    status, _, page = _post(
        browser, "/operators/new", name="root2", role="admin", access="listed",
        password=ERIN_PASSWORD, password_again=ERIN_PASSWORD, **ticked,
    )  # fmt: skip
    assert status == 400
    assert '<a href="#clients">' in page
    assert "reaches every client" in page
    assert f'name="client_{fabrikam.id}" value="on" checked' in page  # kept as ticked

    status, location, page = _post(
        browser, "/operators/new", name="erin", role="technician", access="listed",
        password=ERIN_PASSWORD, password_again=ERIN_PASSWORD, **ticked,
    )  # fmt: skip
    assert status == 303
    erin = location.removeprefix("/operators/").split("?")[0]
    assert vault.operators.get(admin, erin).clients == ((fabrikam.id, "Fabrikam"),)
    assert ">Client access</h2>" in page
    assert "Fabrikam" in browser.get("/operators").text

    status, _, page = _post(browser, f"/operators/{erin}/clients", access="listed")
    assert status == 400
    assert "Give at least one client" in page
    status, _, page = _post(
        browser, f"/operators/{erin}/clients", access="listed", **{f"client_{contoso}": "on"}
    )
    assert status == 303
    assert "erin now reaches: Contoso." in page
    status, _, page = _post(browser, f"/operators/{erin}/clients", access="all")
    assert "erin now reaches: all." in page
    assert vault.operators.get(admin, erin).clients is None
    [entry, *_] = vault.audit.list(admin, action="operator.clients", limit=10)
    assert entry.details["to"] is None
