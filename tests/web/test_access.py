"""Each page's access rules in-process: signed out -> the sign-in page; a role without the
permission -> a 403 page; a form post without the session's CSRF token -> refused before
anything is done. Secrets only on an explicit reveal; errors are pages, never JSON."""

from __future__ import annotations

import time

import pytest

from credsync.api.state import LoginLimiter
from credsync.web.pages import local_path

from .conftest import SECRET, WebWorld, csrf_of

GET_PAGES = [
    "/",
    "/clients/{client}",
    "/credentials/{credential}",
    "/flags",
    "/runs",
    "/directories",
    "/audit",
    "/audit/verify",
    "/search",
]
# Pages with a form that needs vault.write: signed out -> sign in; a viewer -> 403 (REFUSED).
WRITE_PAGES = [
    "/clients/{client}/credentials/new",
    "/credentials/{credential}/edit",
    "/credentials/{credential}/delete",
]
POSTS = [
    "/credentials/{credential}/reveal",
    "/credentials/{credential}/password",
    "/flags/0123456789abcdef/push",
    "/flags/0123456789abcdef/accept",
    "/directories/contoso-365/sync",
    "/directories/contoso-365/test",
    "/clients/{client}/credentials/new",
    "/credentials/{credential}/edit",
    "/credentials/{credential}/sync-mode",
    "/credentials/{credential}/delete",
    "/credentials/{credential}/restore",
    "/sign-out",
]


def _path(web: WebWorld, template: str) -> str:
    return template.format(**web.ids)


def test_signed_out_pages_send_to_the_sign_in_page(web: WebWorld) -> None:
    browser = web.http
    for page in GET_PAGES + WRITE_PAGES:
        path = _path(web, page)
        response = browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/sign-in?next={path}"


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
    response = browser.post(
        "/sign-in",
        data={"name": "alice", "password": "admin-password-1234", "next": "/flags"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/flags"
    cookie = response.headers["set-cookie"]
    assert "credsync_session=csw_" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    home = browser.get("/")
    assert home.status_code == 200
    assert "Contoso" in home.text
    assert web.world.vault.audit.list(web.world.admin, action="auth.web_login", limit=1)


def test_a_wrong_password_is_a_page_and_failures_are_limited(web: WebWorld) -> None:
    # The API's limiter, with a lower limit (its tests check 5 a window).
    web.state.limiter = LoginLimiter(limit=2, db=web.world.db)
    browser = web.http
    for _ in range(2):
        response = browser.post("/sign-in", data={"name": "alice", "password": "wrong-one"})
        assert response.status_code == 401
        assert "did not match an operator" in response.text
        assert "wrong-one" not in response.text
        assert "set-cookie" not in response.headers
    limited = browser.post("/sign-in", data={"name": "alice", "password": "admin-password-1234"})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in limited.text
    assert "set-cookie" not in limited.headers


def test_sign_in_never_redirects_elsewhere(web: WebWorld) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil", "evil"):
        assert local_path(target) == "/"
    assert local_path("/flags?client=x") == "/flags?client=x"
    response = web.http.post(
        "/sign-in", data={"name": "alice", "password": "admin-password-1234", "next": "//evil/"}
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
    assert web.world.vault.audit.list(web.world.admin, limit=1)[0].seq == before
    after = web.world.vault.credentials.get(web.world.admin, web.ids["credential"])
    assert after.version == credential.version
    assert browser.get("/").status_code == 200  # still signed in


REFUSED = {
    "viewer": [
        ("post", "/credentials/{credential}/reveal", "secret.reveal"),
        ("post", "/credentials/{credential}/password", "vault.write"),
        ("get", "/audit", "audit.read"),
        ("post", "/directories/contoso-365/sync", "vault.write"),
        ("post", "/flags/0123456789abcdef/accept", "vault.write"),
        ("post", "/flags/confirm", "vault.write"),
        ("get", "/clients/{client}/credentials/new", "vault.write"),
        ("post", "/clients/{client}/credentials/new", "vault.write"),
        ("get", "/credentials/{credential}/edit", "vault.write"),
        ("post", "/credentials/{credential}/edit", "vault.write"),
        ("post", "/credentials/{credential}/sync-mode", "vault.write"),
        ("get", "/credentials/{credential}/delete", "vault.write"),
        ("post", "/credentials/{credential}/delete", "vault.write"),
        ("post", "/credentials/{credential}/restore", "vault.write"),
    ],
    "auditor": [("post", "/credentials/{credential}/reveal", "secret.reveal")],
    "technician": [
        ("get", "/audit", "audit.read"),
        ("get", "/audit/verify", "audit.read"),
        ("post", "/directories/contoso-365/sync", "directory_admin.use"),
        ("post", "/directories/contoso-365/test", "directory_admin.use"),
        ("post", "/flags/0123456789abcdef/push", "directory_admin.use"),
        ("post", "/flags/confirm", "directory.setup"),
        ("get", "/credentials/{bind}", "directory_admin.use"),
        ("get", "/credentials/{bind}/edit", "directory_admin.use"),
        ("post", "/credentials/{bind}/delete", "directory_admin.use"),
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


def test_the_bind_credential_is_hidden_from_roles_without_directory_admin_use(
    web: WebWorld,
) -> None:
    assert "Graph app" not in web.signed_in("technician").get(_path(web, "/clients/{client}")).text
    assert "Graph app" in web.signed_in("admin").get(_path(web, "/clients/{client}")).text


def test_reveal_shows_the_secret_once_and_is_audited(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    path = _path(web, "/credentials/{credential}")
    page = browser.get(path)
    assert SECRET not in page.text
    response = browser.post(f"{path}/reveal", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 200
    assert SECRET in response.text
    assert response.headers["cache-control"] == "no-store"
    [entry] = web.world.vault.audit.list(
        web.world.admin, action="credential.reveal", target_id=web.ids["credential"]
    )
    assert entry.actor == "op-technician"
    assert SECRET not in browser.get(path).text


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


def test_the_client_page_is_paged_and_fast(web: WebWorld) -> None:
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
    started = time.perf_counter()
    page = browser.get(path)
    elapsed = time.perf_counter() - started
    assert page.status_code == 200
    assert elapsed < 0.3, f"the client page took {elapsed * 1000:.0f} ms"
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
