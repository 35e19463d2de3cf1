"""Each page's access rules in-process: signed out -> the sign-in page; a role without the
permission -> a 403 page; a form post without the session's CSRF token -> refused before
anything is done. Secrets only on an explicit reveal; errors are pages, never JSON."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from credsync.api.state import LoginLimiter
from credsync.types import Secret
from credsync.vault.drafts import make_draft
from credsync.web.pages import local_path

from .conftest import SECRET, WebWorld, csrf_of

GET_PAGES = [
    "/quarantine",
    "/",
    "/clients/{client}",
    "/credentials/{credential}",
    "/flags",
    "/runs",
    "/runs?state=failed",
    "/overview",
    "/directories",
    "/audit",
    "/audit/verify",
    "/search",
    "/?archived=1",
    "/clients/{client}/folders",
    "/roles",
    "/policies",
    "/tokens",
    "/account",
    "/account/mfa",
    "/relays",
    "/clients/{client}/people",
    "/clients/{client}/people?trash=1",
    "/clients/{client}/people?q=anna",
    "/clients/{client}/groups",
    "/clients/{client}/groups?trash=1",
    "/clients/{client}/groups?q=sales",
    "/clients/{client}/federation",
]
# Pages with a form that needs vault.write: signed out -> sign in; a viewer -> 403 (REFUSED).
WRITE_PAGES = [
    "/clients/{client}/credentials/new",
    "/credentials/{credential}/edit",
    "/credentials/{credential}/delete",
    "/clients/new",
    "/clients/{client}/edit",
    "/clients/{client}/import",
    "/clients/{client}/people/new",
    "/clients/{client}/people/import",
    "/clients/{client}/people/import/selections",
    "/clients/{client}/people/provision",
    "/clients/{client}/people/provision/confirm",
    "/clients/{client}/groups/new",
    "/clients/{client}/groups/export",  # directory.setup (its forms vault.write too)
    "/remote-agents",  # directory.setup
    # confirmation pages: vault.write and directory.setup
    "/clients/{client}/federation/enable?domain=fed.example.com&url=https://vault.example",
    "/clients/{client}/federation/rotate?step=begin",
    "/clients/{client}/federation/disable?domain=fed.example.com",
]
# Pages for admins only (every other role: 403), and the export's (vault.export).
ADMIN_PAGES = [
    "/operators",
    "/operators/new",
    "/operators/{operator}",  # op-technician's: theirs too (test_admin_pages.py)
    "/roles/edit?name=helpdesk",
    "/tokens?all=1",
    "/clients/{client}/export",
    "/microsoft-sign-in",
    "/microsoft-sign-in/import",
    "/mail",
]
# Pages of records the template vault has none of (a run, a directory): each has its own
# tests; here, signed out -> sign in, and their forms' posts are in POSTS.
RECORD_PAGES = [
    "/runs/0123456789abcdef",
    "/runs/0123456789abcdef/progress",
    "/directories/new",
    "/directories/contoso-365",
    "/directories/contoso-365/edit",
    "/directories/contoso-365/remove",
    "/relays/new?client={client}",
    "/relays/0123456789abcdef",
    "/relays/0123456789abcdef/edit",
    "/relays/0123456789abcdef/remove",
    "/relays/0123456789abcdef/runs/0123456789abcdef",
    "/clients/{client}/people/deleted",
    "/people/0123456789abcdef",
    "/people/0123456789abcdef/edit",
    "/people/0123456789abcdef/delete",
    "/groups/0123456789abcdef",
    "/groups/0123456789abcdef/edit",
    "/groups/0123456789abcdef/delete",
    "/clients/{client}/people/import/selections/0123456789abcdef",
]
PUBLIC = {
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    ("GET", "/sign-in/code"),  # with a pending sign-in only (test_mfa_pages.py)
    ("POST", "/sign-in/code"),
    ("POST", "/sign-in/key"),  # with a pending sign-in only (test_security_key_pages.py)
    ("GET", "/sign-in/microsoft"),  # test_sign_in_microsoft.py
    ("GET", "/sign-in/microsoft/callback"),
    ("GET", "/api/v1/docs"),
    # The person portal: people, not operators; tests/web/test_person_portal.py
    ("GET", "/my/{client}/sign-in"),
    ("POST", "/my/{client}/sign-in"),
    ("GET", "/my/{client}/sign-in/code"),
    ("POST", "/my/{client}/sign-in/code"),
    ("POST", "/my/{client}/sign-in/key"),
    ("GET", "/my/{client}/sign-in/enrol"),
    ("POST", "/my/{client}/sign-in/enrol"),
    ("GET", "/my/{client}"),
    ("GET", "/my/{client}/"),
    ("POST", "/my/{client}/sign-out"),
    ("GET", "/my/{client}/keys"),
    ("POST", "/my/{client}/keys"),
    ("POST", "/my/{client}/keys/{key}/remove"),
    # The identity provider's endpoints (Entra and people); tests/web/test_idp_pages.py
    ("GET", "/idp/{domain}/metadata"),
    ("GET", "/idp/{domain}/sign-in"),
    ("POST", "/idp/{domain}/sign-in"),
    ("GET", "/idp/{domain}/sign-out"),
    ("GET", "/my/{client}/idp/{domain}/continue/{key}"),
    ("GET", "/my/{client}/idp/{domain}/sign-out"),
    # Self-service passwords: tests/web/test_browser_self_service.py, test_self_service_pages.py
    ("GET", "/my/{client}/welcome/{token}"),
    ("POST", "/my/{client}/welcome/{token}"),
    ("GET", "/my/{client}/password"),
    ("POST", "/my/{client}/password"),
    ("GET", "/my/{client}/reset"),
    ("POST", "/my/{client}/reset"),
    ("GET", "/my/{client}/reset/{token}"),
    ("POST", "/my/{client}/reset/{token}"),
}
POSTS = [
    "/quarantine/approve",
    "/quarantine/discard",
    "/quarantine/restore",
    "/quarantine/accept",
    "/quarantine/defaults",
    "/mail",
    "/mail/test",
    "/people/0123456789abcdef/invite",
    "/microsoft-sign-in/import",
    "/microsoft-sign-in/groups",
    "/microsoft-sign-in/groups/unmap",
    "/microsoft-sign-in",
    "/microsoft-sign-in/link",
    "/microsoft-sign-in/unlink",
    "/credentials/{credential}/reveal",
    "/credentials/{credential}/history/1/reveal",
    "/credentials/{credential}/password",
    "/flags/0123456789abcdef/push",
    "/flags/0123456789abcdef/accept",
    "/flags/0123456789abcdef/accept-captured",
    "/flags/selected",
    "/directories/contoso-365/sync",
    "/directories/contoso-365/test",
    "/directories/contoso-365/auto-create",
    "/directories/contoso-365/auto-create/dry-run",
    "/clients/{client}/credentials/new",
    "/credentials/{credential}/edit",
    "/credentials/{credential}/sync-mode",
    "/credentials/{credential}/delete",
    "/credentials/{credential}/restore",
    "/directories/new",
    "/directories/contoso-365/edit",
    "/directories/contoso-365/remove",
    "/relays/new",
    "/remote-agents",
    "/remote-agents/0123456789abcdef/rotate",
    "/remote-agents/0123456789abcdef/revoke",
    "/relays/0123456789abcdef/edit",
    "/relays/0123456789abcdef/plan",
    "/relays/0123456789abcdef/run",
    "/relays/0123456789abcdef/remove",
    "/clients/{client}/people/new",
    "/clients/{client}/people/import",
    "/clients/{client}/people/deleted",
    "/clients/{client}/people/import/selections/0123456789abcdef/run",
    "/clients/{client}/people/import/selections/0123456789abcdef/remove",
    "/clients/{client}/people/provision/settings",
    "/clients/{client}/people/provision/apply",
    "/clients/{client}/federation/enable",
    "/clients/{client}/federation/rotate",
    "/clients/{client}/federation/disable",
    "/people/0123456789abcdef/edit",
    "/people/0123456789abcdef/disable",
    "/people/0123456789abcdef/enable",
    "/people/0123456789abcdef/delete",
    "/people/0123456789abcdef/restore",
    "/people/0123456789abcdef/mfa-reset",
    "/clients/{client}/groups/new",
    "/clients/{client}/groups/export",
    "/clients/{client}/groups/export/settings",
    "/groups/0123456789abcdef/edit",
    "/groups/0123456789abcdef/delete",
    "/groups/0123456789abcdef/restore",
    "/groups/0123456789abcdef/members",
    "/groups/0123456789abcdef/members/remove",
    "/clients/new",
    "/clients/{client}/edit",
    "/clients/{client}/archive",
    "/clients/{client}/unarchive",
    "/clients/{client}/folders",
    "/clients/{client}/folders/delete",
    "/clients/{client}/import",
    "/clients/{client}/export",
    "/operators/new",
    "/operators/{operator}/role",
    "/operators/{operator}/disable",
    "/operators/{operator}/enable",
    "/operators/{operator}/password",
    "/operators/{operator}/clients",
    "/roles/new",
    "/roles/edit",
    "/roles/delete",
    "/tokens/new",
    "/tokens/{token}/revoke",
    "/policies/new",
    "/policies/delete",
    "/policies/generate",
    "/account/tokens/revoke-all",
    "/account/mfa/enroll",
    "/account/mfa/confirm",
    "/account/mfa/disable",
    "/account/mfa/keys/new",
    "/account/mfa/keys",
    "/account/mfa/keys/0123456789abcdef/remove",
    "/operators/{operator}/mfa/reset",
    "/mfa/require",
    "/sign-out",
]


def _path(web: WebWorld, template: str) -> str:
    return template.format(**web.ids)


def _routes() -> set[tuple[str, str]]:
    """(method, path with its parameters as {}) of every page of the dashboard: each module
    of credsync.web.routes and its router."""
    import importlib
    import pkgutil

    import credsync.web.routes as package
    from credsync.web.pages import PageRoute

    found = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for route in module.router.routes:
            assert isinstance(route, PageRoute), (info.name, route)
            found |= {(m, _template(route.path)) for m in route.methods}
    return found


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.split("?", 1)[0])


def test_the_tables_cover_every_page() -> None:
    """A new page can't go unchecked: every route is in a table of this module (its
    placeholders, run and directory ids alike, stand for any one)."""
    gets = GET_PAGES + WRITE_PAGES + ADMIN_PAGES + RECORD_PAGES
    table = {("GET", _template(p)) for p in gets} | {("POST", _template(p)) for p in POSTS}
    table |= {(m, _template(p)) for m, p in PUBLIC}
    table |= {(m.upper(), _template(p)) for refused in REFUSED.values() for m, p, _ in refused}
    literal = re.compile(r"/(0123456789abcdef|contoso-365|[0-9]+)(?=/|$)")
    table = {(m, literal.sub("/{}", p)) for m, p in table}
    routes = _routes()
    assert routes - table == set(), "pages missing from the tables"
    assert table - routes == set(), "table rows for pages that don't exist"


def sign_in_form(browser) -> str:
    """Open the sign-in page as a browser does (it gets the pre-session cookie) and return
    the form's token."""
    page = browser.get("/sign-in")
    assert page.status_code == 200
    return csrf_of(page.text)


def test_signed_out_pages_send_to_the_sign_in_page(web: WebWorld) -> None:
    browser = web.http
    for page in GET_PAGES + WRITE_PAGES + ADMIN_PAGES + RECORD_PAGES:
        path = _path(web, page)
        response = browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/sign-in?next={quote(path, safe='/')}"


def test_signed_out_posts_do_nothing_and_send_to_the_sign_in_page(web: WebWorld) -> None:
    browser = web.http
    before = web.world.vault.audit.list(web.world.admin, limit=1)[0].seq
    for page in POSTS:
        response = browser.post(_path(web, page), data={"password": "x", "password_again": "x"})
        assert response.status_code == 303, page
        assert response.headers["location"].startswith("/sign-in?next=")
    assert web.world.vault.audit.list(web.world.admin, limit=1)[0].seq == before


def test_the_sign_in_form_signs_in_with_an_http_only_strict_cookie(web: WebWorld) -> None:
    browser = web.http
    page = browser.get("/sign-in?next=/flags")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert 'for="name"' in page.text
    assert 'for="password"' in page.text
    pre_session = page.headers["set-cookie"]
    assert "credsync_sign_in=" in pre_session
    assert "HttpOnly" in pre_session
    assert "samesite=strict" in pre_session.lower()
    assert "Path=/sign-in" in pre_session
    response = browser.post(
        "/sign-in",
        data={
            "name": "alice",
            "password": "admin-password-1234",
            "next": "/flags",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/flags"
    cookies = response.headers.get_list("set-cookie")
    [cookie] = [c for c in cookies if c.startswith("credsync_session=")]
    assert "credsync_session=csw_" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    [spent] = [c for c in cookies if c.startswith("credsync_sign_in=")]
    assert "Max-Age=0" in spent  # the pre-session cookie is spent
    home = browser.get("/")
    assert home.status_code == 200
    assert "Contoso" in home.text
    assert web.world.vault.audit.list(web.world.admin, action="auth.web_login", limit=1)


def test_a_sign_in_post_without_this_browser_s_form_token_is_refused(web: WebWorld) -> None:
    """Login CSRF: a page elsewhere can post the form, but not with the token of the
    browser's own pre-session cookie; nothing is checked, nobody is signed in."""
    before = web.world.vault.audit.list(web.world.admin, limit=1)[0].seq
    login = {"name": "alice", "password": "admin-password-1234"}
    attacker = web.http
    planted = sign_in_form(attacker)  # the attacker's own browser's token
    victim = web.http
    sign_in_form(victim)  # the victim has a pre-session cookie of their own
    for browser, token in (
        (web.http, None),  # no pre-session cookie, no token
        (victim, None),
        (victim, "x" * 43),
        (victim, planted),  # the token of another browser's cookie
    ):
        data = dict(login) if token is None else {**login, "csrf_token": token}
        response = browser.post("/sign-in", data=data)
        assert response.status_code == 403, response.text
        assert "came from another site" in response.text
        assert "credsync_session" not in response.headers.get("set-cookie", "")
        assert browser.get("/").status_code == 303  # still signed out
    # A page on a sibling host that could plant its own pre-session cookie as well still
    # meets what the browser says of where the post comes from.
    victim.cookies.set("credsync_sign_in", attacker.cookies.get("credsync_sign_in"))
    victim.headers["Sec-Fetch-Site"] = "same-site"
    refused = victim.post("/sign-in", data={**login, "csrf_token": planted})
    assert refused.status_code == 403
    assert "from a page of another site" in refused.text
    assert web.world.vault.audit.list(web.world.admin, limit=1)[0].seq == before  # no sign-in


def test_a_wrong_password_is_a_page_and_failures_are_limited(web: WebWorld) -> None:
    # The API's limiter, with a lower limit (its tests check 5 a window).
    web.state.limiter = LoginLimiter.of_vault(web.world.db, web.world.keys, limit=2)
    browser = web.http
    token = sign_in_form(browser)
    for _ in range(2):
        response = browser.post(
            "/sign-in", data={"name": "alice", "password": "wrong-one", "csrf_token": token}
        )
        assert response.status_code == 401
        assert "did not match an operator" in response.text
        assert "wrong-one" not in response.text
        assert "credsync_session" not in response.headers.get("set-cookie", "")
        token = csrf_of(response.text)  # the form, again
    data = {"name": "alice", "password": "admin-password-1234", "csrf_token": token}
    limited = browser.post("/sign-in", data=data)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Too many failed sign-ins: try again in about 5 minutes." in limited.text
    assert "credsync_session" not in limited.headers.get("set-cookie", "")
    # A colleague behind the same address signs in all the same.
    colleague = {"name": "op-viewer", "password": "op-viewer-password-1234", "csrf_token": token}
    assert browser.post("/sign-in", data=colleague).status_code == 303


def test_sign_in_never_redirects_elsewhere(web: WebWorld) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil", "evil"):
        assert local_path(target) == "/"
    assert local_path("/flags?client=x") == "/flags?client=x"
    browser = web.http
    response = browser.post(
        "/sign-in",
        data={
            "name": "alice",
            "password": "admin-password-1234",
            "next": "//evil/",
            "csrf_token": sign_in_form(browser),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_sign_out_ends_the_session(web: WebWorld) -> None:
    browser = web.signed_in("viewer")
    token = web.csrf(browser)
    response = browser.post("/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"
    again = browser.get("/")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/sign-in")
    [entry] = web.world.vault.audit.list(web.world.admin, action="auth.web_logout", limit=5)
    assert entry.actor == "op-viewer"


def test_revoke_all_my_api_tokens_from_the_account_page(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    viewer = vault.operators.get(admin, "op-viewer")
    for name in ("backup", "report"):
        vault.access.create_token(admin, name, operator="op-viewer")
    _, admins = vault.access.create_token(admin, "alice's own")
    browser = web.signed_in("viewer")
    page = browser.get("/account")
    assert page.status_code == 200
    assert "backup" in page.text
    assert "alice's own" not in page.text
    done = browser.post("/account/tokens/revoke-all", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303
    assert "2 API tokens revoked." in browser.get(done.headers["location"]).text
    assert all(
        t.revoked_at
        for t in vault.access.list_tokens(admin, everyone=True)
        if t.operator == viewer.name
    )
    assert vault.access.login_token(admins).name == "alice"
    [entry] = vault.audit.list(admin, action="token.revoke_all", limit=5)
    assert (entry.actor, entry.details) == ("op-viewer", {"operator": "op-viewer", "revoked": 2})


def test_posts_without_the_csrf_token_are_refused_before_anything(web: WebWorld) -> None:
    browser = web.signed_in("admin")
    credential = web.world.vault.credentials.get(web.world.admin, web.ids["credential"])
    before = web.world.vault.audit.list(web.world.admin, limit=1)[0].seq
    for page in POSTS:
        for token in ("", "not-the-token"):
            data = {"password": "Other-Pa55word!", "password_again": "Other-Pa55word!"}
            if token:
                data["csrf_token"] = token
            response = browser.post(_path(web, page), data=data)
            assert response.status_code == 403, (page, token)
            assert "CSRF token" in response.text
            assert response.headers["content-type"].startswith("text/html")
            assert SECRET not in response.text
    done = [
        e.action
        for e in web.world.vault.audit.list(web.world.admin, limit=1000)
        if e.seq > before and e.action != "permission.denied"
    ]
    assert done == []  # the refusals are audited (once per page), nothing else
    after = web.world.vault.credentials.get(web.world.admin, web.ids["credential"])
    assert after.version == credential.version
    assert browser.get("/").status_code == 200  # still signed in


REFUSED = {
    "viewer": [
        ("post", "/quarantine/approve", "vault.write"),
        ("post", "/quarantine/discard", "vault.write"),
        ("post", "/quarantine/restore", "vault.write"),
        ("post", "/quarantine/accept", "vault.write"),
        ("post", "/quarantine/defaults", "admin"),
        ("post", "/people/0123456789abcdef/invite", "vault.write"),
        ("get", "/mail", "admin"),
        ("post", "/mail/test", "admin"),
        ("post", "/credentials/{credential}/reveal", "secret.reveal"),
        ("post", "/credentials/{credential}/history/1/reveal", "secret.reveal"),
        ("post", "/credentials/{credential}/password", "vault.write"),
        ("get", "/audit", "audit.read"),
        ("post", "/directories/contoso-365/sync", "vault.write"),
        ("post", "/flags/0123456789abcdef/accept", "vault.write"),
        ("post", "/flags/0123456789abcdef/accept-captured", "vault.write"),
        ("post", "/flags/confirm", "vault.write"),
        ("get", "/clients/{client}/credentials/new", "vault.write"),
        ("post", "/clients/{client}/credentials/new", "vault.write"),
        ("get", "/credentials/{credential}/edit", "vault.write"),
        ("post", "/credentials/{credential}/edit", "vault.write"),
        ("post", "/credentials/{credential}/sync-mode", "vault.write"),
        ("get", "/credentials/{credential}/delete", "vault.write"),
        ("post", "/credentials/{credential}/delete", "vault.write"),
        ("post", "/credentials/{credential}/restore", "vault.write"),
        ("get", "/clients/new", "vault.write"),
        ("post", "/clients/new", "vault.write"),
        ("get", "/clients/{client}/edit", "vault.write"),
        ("post", "/clients/{client}/edit", "vault.write"),
        ("post", "/clients/{client}/archive", "vault.write"),
        ("post", "/clients/{client}/unarchive", "vault.write"),
        ("post", "/clients/{client}/folders", "vault.write"),
        ("post", "/clients/{client}/folders/delete", "vault.write"),
        ("get", "/clients/{client}/import", "vault.write"),
        ("post", "/clients/{client}/import", "vault.write"),
        ("get", "/clients/{client}/people/new", "vault.write"),
        ("post", "/clients/{client}/people/new", "vault.write"),
        ("get", "/clients/{client}/people/import", "vault.write"),
        ("post", "/clients/{client}/people/import", "vault.write"),
        ("get", "/clients/{client}/people/deleted", "directory.setup"),
        ("post", "/clients/{client}/people/deleted", "directory.setup"),
        ("get", "/clients/{client}/people/import/selections", "vault.write"),
        ("get", "/clients/{client}/people/import/selections/0123456789abcdef", "vault.write"),
        ("post", "/clients/{client}/people/import/selections/0123456789abcdef/run", "vault.write"),
        (
            "post",
            "/clients/{client}/people/import/selections/0123456789abcdef/remove",
            "vault.write",
        ),
        ("get", "/clients/{client}/groups/export", "directory.setup"),
        ("get", "/remote-agents", "directory.setup"),
        ("post", "/remote-agents", "directory.setup"),
        ("post", "/remote-agents/0123456789abcdef/revoke", "directory.setup"),
        ("post", "/clients/{client}/groups/export", "vault.write"),
        ("post", "/clients/{client}/groups/export/settings", "vault.write"),
        ("get", "/clients/{client}/people/provision", "directory.setup"),
        ("post", "/clients/{client}/people/provision/settings", "directory.setup"),
        ("get", "/clients/{client}/people/provision/confirm", "vault.write"),
        ("post", "/clients/{client}/people/provision/apply", "vault.write"),
        ("get", "/clients/{client}/federation/enable?domain=x.test", "vault.write"),
        ("post", "/clients/{client}/federation/enable", "vault.write"),
        ("get", "/clients/{client}/federation/rotate", "vault.write"),
        ("post", "/clients/{client}/federation/rotate", "vault.write"),
        ("get", "/clients/{client}/federation/disable?domain=x.test", "vault.write"),
        ("post", "/clients/{client}/federation/disable", "vault.write"),
        ("get", "/people/0123456789abcdef/edit", "vault.write"),
        ("post", "/people/0123456789abcdef/edit", "vault.write"),
        ("post", "/people/0123456789abcdef/disable", "vault.write"),
        ("post", "/people/0123456789abcdef/enable", "vault.write"),
        ("get", "/people/0123456789abcdef/delete", "vault.write"),
        ("post", "/people/0123456789abcdef/delete", "vault.write"),
        ("post", "/people/0123456789abcdef/restore", "vault.write"),
        ("get", "/clients/{client}/groups/new", "vault.write"),
        ("post", "/clients/{client}/groups/new", "vault.write"),
        ("get", "/groups/0123456789abcdef/edit", "vault.write"),
        ("post", "/groups/0123456789abcdef/edit", "vault.write"),
        ("get", "/groups/0123456789abcdef/delete", "vault.write"),
        ("post", "/groups/0123456789abcdef/delete", "vault.write"),
        ("post", "/groups/0123456789abcdef/restore", "vault.write"),
        ("post", "/groups/0123456789abcdef/members", "vault.write"),
        ("post", "/groups/0123456789abcdef/members/remove", "vault.write"),
        ("get", "/clients/{client}/export", "secret.reveal, vault.export"),
        ("post", "/clients/{client}/export", "secret.reveal, vault.export"),
        ("get", "/operators", "admin"),
        ("get", "/operators/new", "admin"),
        ("post", "/operators/new", "admin"),
        ("get", "/operators/{operator}", "admin"),
        ("post", "/operators/{operator}/role", "admin"),
        ("post", "/operators/{operator}/disable", "admin"),
        ("post", "/operators/{operator}/enable", "admin"),
        ("post", "/operators/{operator}/password", "admin"),
        ("post", "/operators/{operator}/clients", "admin"),
        ("post", "/operators/{operator}/mfa/reset", "admin"),
        ("post", "/mfa/require", "admin"),
        ("get", "/microsoft-sign-in", "admin"),
        ("post", "/microsoft-sign-in", "admin"),
        ("post", "/microsoft-sign-in/link", "admin"),
        ("post", "/microsoft-sign-in/unlink", "admin"),
        ("get", "/microsoft-sign-in/import", "admin"),
        ("post", "/microsoft-sign-in/import", "admin"),
        ("post", "/microsoft-sign-in/groups", "admin"),
        ("post", "/microsoft-sign-in/groups/unmap", "admin"),
        ("post", "/roles/new", "admin"),
        ("get", "/roles/edit?name=helpdesk", "admin"),
        ("post", "/roles/edit", "admin"),
        ("post", "/roles/delete", "admin"),
        ("get", "/tokens?all=1", "admin"),
        ("post", "/tokens/{token}/revoke", "admin"),
        ("post", "/policies/new", "admin"),
        ("post", "/policies/delete", "admin"),
        ("get", "/directories/new", "directory.setup"),
        ("post", "/directories/new", "directory.setup"),
        ("get", "/directories/contoso-365/edit", "directory.setup"),
        ("post", "/directories/contoso-365/edit", "directory.setup"),
        ("get", "/directories/contoso-365/remove", "directory.setup"),
        ("post", "/directories/contoso-365/remove", "directory.setup"),
    ],
    "auditor": [
        ("post", "/credentials/{credential}/reveal", "secret.reveal"),
        ("post", "/clients/new", "vault.write"),
        ("get", "/clients/{client}/import", "vault.write"),
        ("post", "/clients/{client}/import", "vault.write"),
    ],
    "technician": [
        ("post", "/quarantine/approve", "directory_admin.use"),
        ("post", "/quarantine/restore", "directory.setup"),
        ("post", "/quarantine/defaults", "admin"),
        ("get", "/remote-agents", "directory.setup"),
        ("post", "/remote-agents/0123456789abcdef/rotate", "directory.setup"),
        ("get", "/clients/{client}/export", "vault.export"),
        ("post", "/clients/{client}/export", "vault.export"),
        ("get", "/operators", "admin"),
        ("post", "/operators/new", "admin"),
        ("post", "/operators/{operator}/clients", "admin"),
        ("get", "/microsoft-sign-in", "admin"),
        ("post", "/microsoft-sign-in", "admin"),
        ("post", "/microsoft-sign-in/link", "admin"),
        ("get", "/mail", "admin"),
        ("post", "/mail", "admin"),
        ("post", "/mail/test", "admin"),
        ("get", "/microsoft-sign-in/import", "admin"),
        ("post", "/microsoft-sign-in/import", "admin"),
        ("post", "/roles/new", "admin"),
        ("post", "/policies/new", "admin"),
        ("get", "/tokens?all=1", "admin"),
        ("post", "/tokens/{token}/revoke", "admin"),
        ("get", "/audit", "audit.read"),
        ("get", "/audit/verify", "audit.read"),
        ("post", "/directories/contoso-365/sync", "directory_admin.use"),
        ("post", "/directories/contoso-365/test", "directory_admin.use"),
        ("post", "/flags/0123456789abcdef/push", "directory_admin.use"),
        ("post", "/flags/selected", "directory_admin.use"),
        ("post", "/flags/confirm", "directory.setup"),
        ("post", "/directories/contoso-365/auto-create", "directory.setup"),
        ("post", "/directories/contoso-365/auto-create/dry-run", "directory.setup"),
        ("get", "/clients/{client}/people/import", "directory.setup"),
        ("post", "/clients/{client}/people/import", "directory.setup"),
        ("get", "/clients/{client}/people/deleted", "directory.setup"),
        ("post", "/clients/{client}/people/deleted", "directory.setup"),
        ("get", "/clients/{client}/people/import/selections", "directory.setup"),
        (
            "post",
            "/clients/{client}/people/import/selections/0123456789abcdef/run",
            "directory.setup",
        ),
        (
            "post",
            "/clients/{client}/people/import/selections/0123456789abcdef/remove",
            "directory.setup",
        ),
        ("get", "/clients/{client}/groups/export", "directory.setup"),
        ("post", "/clients/{client}/groups/export", "directory.setup"),
        ("post", "/clients/{client}/groups/export/settings", "directory.setup"),
        ("get", "/clients/{client}/people/provision", "directory.setup"),
        ("post", "/clients/{client}/people/provision/settings", "directory.setup"),
        ("get", "/clients/{client}/people/provision/confirm", "directory.setup"),
        ("post", "/clients/{client}/people/provision/apply", "directory.setup"),
        ("get", "/clients/{client}/federation/enable?domain=x.test", "directory.setup"),
        ("post", "/clients/{client}/federation/enable", "directory.setup"),
        ("get", "/clients/{client}/federation/rotate", "directory.setup"),
        ("post", "/clients/{client}/federation/rotate", "directory.setup"),
        ("get", "/clients/{client}/federation/disable?domain=x.test", "directory.setup"),
        ("post", "/clients/{client}/federation/disable", "directory.setup"),
    ],
}


@pytest.mark.parametrize("role", sorted(REFUSED))
def test_a_role_without_the_permission_gets_a_403_page(web: WebWorld, role: str) -> None:
    browser = web.signed_in(role)
    data = {"csrf_token": web.csrf(browser), "password": "Other-Pa55word!"}
    data["password_again"] = data["password"]
    for method, page, missing in REFUSED[role]:
        path = _path(web, page)
        response = browser.get(path) if method == "get" else browser.post(path, data=data)
        assert response.status_code == 403, (path, response.text)
        assert response.headers["content-type"].startswith("text/html")
        assert "<h1>Not allowed</h1>" in response.text
        assert missing in response.text, path
        assert SECRET not in response.text
        assert "Traceback" not in response.text
        # The page keeps the navigation of the signed-in operator.
        assert 'action="/sign-out"' in response.text


@pytest.mark.parametrize("role", ["admin", "technician", "directory_manager", "auditor", "viewer"])
def test_every_role_with_vault_read_sees_the_pages(web: WebWorld, role: str) -> None:
    browser = web.signed_in(role)
    for page in GET_PAGES:
        if page.startswith("/audit") and role not in ("admin", "auditor"):
            continue
        response = browser.get(_path(web, page))
        assert response.status_code == 200, (page, response.text)
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert SECRET not in response.text


@pytest.mark.parametrize("role", ["technician", "directory_manager", "auditor", "viewer"])
def test_admin_pages_are_for_admins(web: WebWorld, role: str) -> None:
    web.world.vault.operators.add_role(web.world.admin, "helpdesk", ["vault.read"])
    admin = web.signed_in("admin")
    for page in ADMIN_PAGES:
        response = admin.get(_path(web, page))
        assert response.status_code == 200, (page, response.text)
        assert response.headers["cache-control"] == "no-store"
    browser = web.signed_in(role)
    for page in ADMIN_PAGES:
        response = browser.get(_path(web, page))
        if page == "/operators/{operator}" and role == "technician":  # their own
            assert response.status_code == 200
            continue
        assert response.status_code == 403, (role, page)
        assert "<h1>Not allowed</h1>" in response.text
        missing = "vault.export" if page.endswith("/export") else "admin"
        assert missing in response.text


def test_the_bind_credential_is_hidden_from_roles_without_directory_admin_use(
    web: WebWorld,
) -> None:
    assert "Graph app" not in web.signed_in("technician").get(_path(web, "/clients/{client}")).text
    assert "Graph app" in web.signed_in("admin").get(_path(web, "/clients/{client}")).text


@pytest.mark.parametrize("role", ["technician", "viewer", "auditor"])
def test_a_directory_admin_credentials_pages_are_not_found_without_the_permission(
    web: WebWorld, role: str
) -> None:
    """Finding 8: its pages answer exactly as those of an id of nothing do (a technician: 404,
    not a 403 that said it exists; a role refused for another permission first: that 403)."""
    browser = web.signed_in(role)
    bind = web.ids["bind"]
    nothing = "0" * 8 + bind[8:]
    data = {"csrf_token": web.csrf(browser)}
    for method, page in [
        ("get", "/credentials/{id}"),
        ("get", "/credentials/{id}/edit"),
        ("get", "/credentials/{id}/delete"),
        ("post", "/credentials/{id}/delete"),
        ("post", "/credentials/{id}/reveal"),
    ]:
        answers = []
        for ref in (bind, nothing):
            path = page.format(id=ref)
            response = browser.get(path) if method == "get" else browser.post(path, data=data)
            answers.append((response.status_code, response.text.replace(ref, "<id>")))
        assert answers[0] == answers[1], (page, answers[0][1])
        assert "Graph app" not in answers[0][1]
        assert "directory_admin" not in answers[0][1]
        if role == "technician" or (method, page) == ("get", "/credentials/{id}"):
            assert answers[0][0] == 404, page
            assert "No credential with id <id>" in answers[0][1]
    shown = web.signed_in("directory_manager").get(f"/credentials/{bind}")
    assert shown.status_code == 200
    assert "Graph app" in shown.text


def test_a_directory_page_shows_its_bind_credential_only_with_directory_admin_use(
    web: WebWorld,
) -> None:
    """Finding 8: "set (not shown)" rather than the bind credential's id."""
    from vault.flag_seed import add_ad_directory

    directory_id, bind_id = add_ad_directory(web.world, "Contoso", "contoso-ad")
    for role in ("technician", "viewer", "auditor"):
        page = web.signed_in(role).get(f"/directories/{directory_id}")
        assert page.status_code == 200
        assert (
            'set <span class="hint">(not shown: it needs directory_admin.use)</span>' in page.text
        )
        assert bind_id[:8] not in page.text
    shown = web.signed_in("directory_manager").get(f"/directories/{directory_id}").text
    assert f'href="/credentials/{bind_id}"' in shown
    assert "not shown" not in shown


def test_reveal_shows_the_secret_once_and_is_audited(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    path = _path(web, "/credentials/{credential}")
    page = browser.get(path)
    assert SECRET not in page.text
    response = browser.post(f"{path}/reveal", data={"csrf_token": csrf_of(page.text)})
    # Post-redirect-get: the secret is on the page the post redirects to, never in an address.
    assert response.status_code == 303
    assert SECRET not in response.text
    shown_at = response.headers["location"]
    assert shown_at.startswith(f"{path}?shown=")
    assert SECRET not in shown_at
    shown = browser.get(shown_at)
    assert shown.status_code == 200
    assert SECRET in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert 'data-copy="secret" hidden' in shown.text  # the Copy button, for web.js to show
    assert "data-hide-after=" in shown.text
    [entry] = web.world.vault.audit.list(
        web.world.admin, action="credential.reveal", target_id=web.ids["credential"]
    )
    assert entry.actor == "op-technician"
    # Loading it again (a reload) reveals nothing more and audits nothing more.
    again = browser.get(shown_at)
    assert SECRET not in again.text
    assert "Hidden again" in again.text
    assert len(web.world.vault.audit.list(web.world.admin, action="credential.reveal")) == 1
    assert SECRET not in browser.get(path).text


def test_a_reveal_is_for_the_session_and_the_credential_it_was_made_for(web: WebWorld) -> None:
    technician = web.signed_in("technician")
    path = _path(web, "/credentials/{credential}")
    token = csrf_of(technician.get(path).text)
    shown_at = technician.post(f"{path}/reveal", data={"csrf_token": token}).headers["location"]
    key = shown_at.split("?shown=", 1)[1]
    # Another operator's session, or the key on another credential's page: nothing shown.
    assert SECRET not in web.signed_in("admin").get(shown_at).text
    other = web.world.vault.credentials.add(
        web.world.admin,
        web.world.keys,
        "Contoso",
        make_draft(title="Other", password=Secret("Other-Pa55word!")),
    )
    elsewhere = technician.get(f"/credentials/{other.id}?shown={key}").text
    assert SECRET not in elsewhere
    assert "Other-Pa55word!" not in elsewhere
    # A grant not taken by its session is still there for it (and only once).
    assert SECRET in technician.get(shown_at).text
    assert SECRET not in technician.get(shown_at).text


def test_an_earlier_password_is_revealed_from_the_history_and_audited(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    cred_id = web.ids["credential"]
    vault.credentials.set_password(admin, web.world.keys, cred_id, Secret("Newer-Pa55word!"))
    browser = web.signed_in("technician")
    path = _path(web, "/credentials/{credential}")
    page = browser.get(path)
    assert 'action="' + path + '/history/1/reveal"' in page.text
    assert "/history/2/reveal" not in page.text  # the current one: the Reveal above
    response = browser.post(f"{path}/history/1/reveal", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"].endswith("#version-1")
    shown = browser.get(response.headers["location"])
    assert SECRET in shown.text
    assert "Newer-Pa55word!" not in shown.text
    assert 'aria-label="Password version 1"' in shown.text
    [entry] = vault.audit.list(admin, action="credential.history_reveal", target_id=cred_id)
    assert (entry.actor, entry.details) == ("op-technician", {"versions": [1]})
    assert SECRET not in browser.get(response.headers["location"]).text
    viewer = web.signed_in("viewer")
    assert "/history/1/reveal" not in viewer.get(path).text
    refused = viewer.post(f"{path}/history/1/reveal", data={"csrf_token": web.csrf(viewer)})
    assert refused.status_code == 403
    missing = browser.post(f"{path}/history/9/reveal", data={"csrf_token": web.csrf(browser)})
    assert missing.status_code == 404


def test_a_new_password_from_the_form(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    path = _path(web, "/credentials/{credential}")
    token = csrf_of(browser.get(path).text)
    differ = browser.post(
        f"{path}/password",
        data={"csrf_token": token, "password": "One-Pa55word!", "password_again": "Two-Pa55word!"},
    )
    assert differ.status_code == 400
    assert "The two passwords differ" in differ.text
    saved = browser.post(
        f"{path}/password",
        data={
            "csrf_token": token,
            "password": "One-Pa55word!",
            "password_again": "One-Pa55word!",
            "reason": "rotated by the web test",
            "version": "1",
        },
    )
    assert saved.status_code == 303
    shown = browser.get(saved.headers["location"])
    assert "Saved a new password (version 2)." in shown.text
    assert "rotated by the web test" in shown.text  # the history
    assert "One-Pa55word!" not in shown.text
    revealed = web.world.vault.credentials.reveal(
        web.world.admin, web.world.keys, web.ids["credential"]
    )
    assert revealed.password.reveal() == "One-Pa55word!"
    # The notice is shown once, and only to the session it was made for.
    assert "Saved a new password" not in browser.get(saved.headers["location"]).text
    stale = browser.post(
        f"{path}/password",
        data={"csrf_token": token, "generate": "on", "version": "1"},
    )
    assert stale.status_code == 409
    assert "changed since you read it" in stale.text


def test_errors_are_pages(web: WebWorld) -> None:
    browser = web.signed_in("admin")
    missing = browser.get("/credentials/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert "<h1>Not found</h1>" in missing.text
    assert browser.get("/clients/Nobody").status_code == 404
    assert browser.get("/runs/00000000-0000").status_code == 404
    bad = browser.get("/runs/x?page=0")
    assert bad.status_code == 400
    assert "not valid" in bad.text


def test_an_address_with_no_page_is_the_dashboards_404_page_and_the_apis_stays_json(
    web: WebWorld,
) -> None:
    browser = web.signed_in("viewer")
    for path in ("/no/such/page", "/credentials", "/clients/x/y/z", "/static/nope.css"):
        missing = browser.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("text/html"), path
        assert "<h1>Not found</h1>" in missing.text
        assert f"There is no page at {path}" in missing.text
        assert 'action="/sign-out"' in missing.text  # the signed-in navigation
        assert missing.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in missing.headers["content-security-policy"]
    wrong_method = browser.get(_path(web, "/credentials/{credential}/reveal"))
    assert wrong_method.status_code == 405
    assert "does not answer GET requests" in wrong_method.text
    assert "<h1>Not done</h1>" in wrong_method.text
    signed_out = web.http.get("/no/such/page")
    assert signed_out.status_code == 404
    assert 'href="/sign-in"' in signed_out.text
    assert 'action="/sign-out"' not in signed_out.text
    for path in ("/api/v1/no/such/route", "/api/v1"):
        api = web.http.get(path)
        assert api.status_code == 404, path
        assert api.json()["error"]["code"] == "not_found"
    assert web.http.get("/api/v1/clients/x/credentials/y/z").json()["error"]["status"] == 404
    assert web.http.post("/api/v1/audit").json()["error"]["status"] == 405


def test_the_client_page_is_paged_and_reads_a_fixed_number_of_statements(web: WebWorld) -> None:
    """A page of 50 out of 3,000 credentials: the statements it runs don't grow with the rows
    (timings are the benchmarks' business: bench/api_server.py)."""
    import io

    rows = ["title,username,password"] + [
        f"Account {n:05d},user{n:05d}@contoso.example,Imported-Pa55-{n}!" for n in range(3000)
    ]
    web.world.vault.csv.import_csv(
        web.world.admin,
        web.world.keys,
        "Contoso",
        io.BytesIO(("\n".join(rows) + "\n").encode()),
        source_name="many.csv",
    )
    browser = web.signed_in("admin")
    path = _path(web, "/clients/{client}")
    browser.get(path)  # warm up (templates compiled, caches filled)
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    engine = web.world.vault.db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        page = browser.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert page.status_code == 200
    assert 0 < len(seen) <= 30, f"{len(seen)} statements for one page of 50"
    assert page.text.count('href="/credentials/') == 50
    assert "Next 50 credentials" in page.text
    cursor = page.text.split("?after=", 1)[1].split('"', 1)[0]
    second = browser.get(f"{path}?after={cursor}")
    assert second.status_code == 200
    assert "Account 00050" in second.text
    assert "Account 00049" not in second.text
    assert "First page" in second.text


def test_a_runs_progress_is_for_the_signed_in(web: WebWorld) -> None:
    signed_out = web.http.get("/runs/0123456789abcdef/progress")
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/sign-in")
    browser = web.signed_in("viewer")
    missing = browser.get("/runs/0123456789abcdef/progress")
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "no-store"
