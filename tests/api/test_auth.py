"""Signing in: bearer tokens, browser sessions with CSRF tokens, the login limiter."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from credsync.api.state import LoginLimiter
from credsync.crypto import KeyEncryptionKey
from credsync.storage import Database
from vault.helpers import ADMIN_PASSWORD

from .conftest import ApiWorld, assert_error


def test_no_credentials_is_401_in_the_error_shape(api: ApiWorld) -> None:
    error = assert_error(api.http.get("/api/v1/clients"), 401, "unauthenticated")
    assert "Bearer" in error["message"]
    assert api.http.get("/api/v1/clients").headers["WWW-Authenticate"] == "Bearer"
    bad = api.http.get("/api/v1/clients", headers={"Authorization": "Bearer cst_nope"})
    assert_error(bad, 401, "unauthenticated")
    basic = api.http.get("/api/v1/clients", headers={"Authorization": "Basic eDp5"})
    assert "Bearer" in assert_error(basic, 401, "unauthenticated")["message"]


def test_a_bearer_token_signs_in(api: ApiWorld) -> None:
    me = api.as_role("auditor").get("/api/v1/auth/whoami").json()
    assert me == {
        "name": "op-auditor",
        "role": "auditor",
        "permissions": ["audit.read", "vault.read"],
        "via": "token",
        "clients": None,
        "mfa": False,
    }


def test_whoami_names_the_clients_a_limited_operator_may_reach(api: ApiWorld) -> None:
    admin = api.admin
    for name in ("Contoso", "Fabrikam"):
        assert admin.post("/api/v1/clients", json={"name": name}).status_code == 201
    limited = admin.put("/api/v1/operators/op-technician/clients", json={"clients": ["Fabrikam"]})
    assert limited.status_code == 200, limited.text
    me = api.as_role("technician").get("/api/v1/auth/whoami").json()
    assert [c["name"] for c in me["clients"]] == ["Fabrikam"]
    again = admin.put("/api/v1/operators/op-technician/clients", json={"all_clients": True})
    assert again.status_code == 200, again.text
    assert api.as_role("technician").get("/api/v1/auth/whoami").json()["clients"] is None


def test_a_browser_session_needs_its_csrf_token_for_unsafe_requests(api: ApiWorld) -> None:
    http = api.http
    signed = http.post("/api/v1/auth/login", json={"name": "alice", "password": ADMIN_PASSWORD})
    assert signed.status_code == 200, signed.text
    cookie = signed.cookies.get("credsync_session")
    assert cookie
    assert cookie.startswith("csw_")
    set_cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=strict" in set_cookie
    csrf = signed.json()["csrf_token"]
    assert signed.json()["operator"]["name"] == "alice"
    assert http.get("/api/v1/auth/whoami").json()["via"] == "web"
    assert http.get("/api/v1/clients").status_code == 200  # safe: no CSRF token needed
    refused = http.post("/api/v1/clients", json={"name": "Contoso"})
    assert "CSRF" in assert_error(refused, 403, "forbidden")["message"]
    wrong = http.post("/api/v1/clients", json={"name": "Contoso"}, headers={"X-CSRF-Token": "x"})
    assert_error(wrong, 403, "forbidden")
    ok = http.post("/api/v1/clients", json={"name": "Contoso"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text
    assert http.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert_error(http.get("/api/v1/clients"), 401, "unauthenticated")
    # The ended session's cookie, sent again, stays refused.
    http.cookies.set("credsync_session", cookie)
    assert_error(http.get("/api/v1/clients"), 401, "unauthenticated")


def test_secure_cookies_when_served_over_https(api: ApiWorld) -> None:
    api.state.secure_cookies = True
    signed = api.http.post("/api/v1/auth/login", json={"name": "alice", "password": ADMIN_PASSWORD})
    assert "secure" in signed.headers["set-cookie"].lower()


def test_a_disabled_operator_s_session_ends_for_good(api: ApiWorld) -> None:
    http = api.http
    login = {"name": "op-viewer", "password": "op-viewer-password-1234"}
    assert http.post("/api/v1/auth/login", json=login).status_code == 200
    assert http.get("/api/v1/clients").status_code == 200
    disabled = api.admin.patch("/api/v1/operators/op-viewer", json={"disabled": True})
    assert disabled.status_code == 200, disabled.text
    assert "ended" in assert_error(http.get("/api/v1/clients"), 401, "unauthenticated")["message"]
    enabled = api.admin.patch("/api/v1/operators/op-viewer", json={"disabled": False})
    assert enabled.status_code == 200, enabled.text
    assert "ended" in assert_error(http.get("/api/v1/clients"), 401, "unauthenticated")["message"]
    assert http.post("/api/v1/auth/login", json=login).status_code == 200  # anew: fine
    assert http.get("/api/v1/clients").status_code == 200


def test_a_password_change_ends_the_operator_s_sessions_and_says_so(api: ApiWorld) -> None:
    viewer = api.http
    login = {"name": "op-viewer", "password": "op-viewer-password-1234"}
    csrf = viewer.post("/api/v1/auth/login", json=login).json()["csrf_token"]
    other_browser = TestClient(api.http.app, raise_server_exceptions=False)
    assert other_browser.post("/api/v1/auth/login", json=login).status_code == 200
    # The operator changes it from one browser: both sessions end, this one too.
    changed = viewer.put(
        "/api/v1/operators/op-viewer/password",
        json={"password": "Viewer-New-Passw0rd", "current_password": login["password"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "operator": "op-viewer",
        "sessions_ended": 2,
        "tokens_revoked": 0,
        "tokens_left": 1,  # the bearer token of the fixture
    }
    for browser in (viewer, other_browser):
        assert_error(browser.get("/api/v1/clients"), 401, "unauthenticated")
    assert api.as_role("viewer").get("/api/v1/clients").status_code == 200
    # An admin's reset, with the tokens.
    login["password"] = "Viewer-New-Passw0rd"
    assert other_browser.post("/api/v1/auth/login", json=login).status_code == 200
    reset = api.admin.put(
        "/api/v1/operators/op-viewer/password",
        json={"password": "Viewer-Reset-Passw0rd", "revoke_tokens": True},
    )
    assert reset.json() == {
        "operator": "op-viewer",
        "sessions_ended": 1,
        "tokens_revoked": 1,
        "tokens_left": 0,
    }
    assert_error(other_browser.get("/api/v1/clients"), 401, "unauthenticated")
    assert_error(api.as_role("viewer").get("/api/v1/clients"), 401, "unauthenticated")


def test_revoke_all_my_tokens(api: ApiWorld) -> None:
    auditor = api.as_role("auditor")
    assert auditor.post("/api/v1/tokens", json={"name": "second"}).status_code == 201
    refused = auditor.post("/api/v1/tokens/revoke-all", json={"operator": "op-viewer"})
    assert_error(refused, 403, "forbidden")
    done = auditor.post("/api/v1/tokens/revoke-all")  # no body: one's own
    assert done.json() == {"operator": "op-auditor", "revoked": 2}
    assert_error(auditor.get("/api/v1/clients"), 401, "unauthenticated")  # the one in use too
    assert api.as_role("viewer").get("/api/v1/clients").status_code == 200
    theirs = api.admin.post("/api/v1/tokens/revoke-all", json={"operator": "op-viewer"})
    assert theirs.json() == {"operator": "op-viewer", "revoked": 1}
    assert_error(api.as_role("viewer").get("/api/v1/clients"), 401, "unauthenticated")
    entries = api.world.vault.audit.list(api.world.admin, action="token.revoke_all", limit=5)
    assert [(e.actor, e.details["revoked"]) for e in entries] == [
        ("alice", 1),
        ("op-auditor", 2),
    ]


def test_failed_sign_ins_are_limited_per_name_and_address_and_audited(api: ApiWorld) -> None:
    http = api.http
    for _ in range(5):
        wrong = http.post("/api/v1/auth/login", json={"name": "alice", "password": "nope"})
        assert_error(wrong, 401, "unauthenticated")
    limited = http.post("/api/v1/auth/login", json={"name": "alice", "password": ADMIN_PASSWORD})
    error = assert_error(limited, 429, "too_many_requests")
    assert error["message"] == "too many failed sign-ins: try again in about 5 minutes"
    assert 295 <= int(limited.headers["Retry-After"]) <= 301
    failures = api.world.vault.audit.list(api.world.admin, action="auth.failed", limit=50)
    assert len(failures) == 5
    assert "nope" not in str([f.to_json() for f in failures])
    # alice's typos don't lock out a colleague behind the same address.
    colleague = {"name": "op-viewer", "password": "op-viewer-password-1234"}
    assert http.post("/api/v1/auth/login", json=colleague).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling host: another origin all the same
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
        {"Origin": "https://evil.example"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "null"},
    ],
    ids=["cross-site", "same-site", "cross-site-origin", "origin", "suffix", "null"],
)
def test_a_sign_in_from_another_site_is_refused(api: ApiWorld, headers: dict[str, str]) -> None:
    login = {"name": "alice", "password": ADMIN_PASSWORD}
    refused = api.http.post("/api/v1/auth/login", json=login, headers=headers)
    assert "another site" in assert_error(refused, 403, "forbidden")["message"]
    assert "set-cookie" not in refused.headers
    assert api.world.vault.audit.list(api.world.admin, action="auth.web_login", limit=5) == []


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, scripts: no browser
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "http://testserver"},  # a browser that sends no Sec-Fetch-Site
    ],
    ids=["script", "same-origin", "typed", "origin"],
)
def test_a_sign_in_from_this_server_s_pages_or_a_script_works(
    api: ApiWorld, headers: dict[str, str]
) -> None:
    login = {"name": "alice", "password": ADMIN_PASSWORD}
    signed = api.http.post("/api/v1/auth/login", json=login, headers=headers)
    assert signed.status_code == 200, signed.text


def test_signing_out_needs_the_session_s_csrf_token(api: ApiWorld) -> None:
    http = api.http
    login = {"name": "op-viewer", "password": "op-viewer-password-1234"}
    csrf = http.post("/api/v1/auth/login", json=login).json()["csrf_token"]
    for headers in ({}, {"X-CSRF-Token": "not-it"}):
        refused = http.post("/api/v1/auth/logout", headers=headers)
        assert "CSRF" in assert_error(refused, 403, "forbidden")["message"]
    assert http.get("/api/v1/clients").status_code == 200  # still signed in
    assert http.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert_error(http.get("/api/v1/clients"), 401, "unauthenticated")
    [entry] = api.world.vault.audit.list(api.world.admin, action="auth.web_logout", limit=5)
    assert entry.actor == "op-viewer"
    # Signed out already (the cookie of an ended session): nothing to end, the cookie goes.
    http.cookies.set("credsync_session", "csw_gone")
    assert http.post("/api/v1/auth/logout").status_code == 204


def test_login_input_is_checked_without_echoing_the_password(api: ApiWorld) -> None:
    response = api.http.post(
        "/api/v1/auth/login", json={"name": "alice", "password": "Secret-1!", "extra": 1}
    )
    error = assert_error(response, 422, "invalid_request")
    assert error["details"][0]["field"] == "body.extra"
    assert "Secret-1!" not in response.text
    empty = api.http.post("/api/v1/auth/login", json={"name": "", "password": "Secret-1!"})
    assert "Secret-1!" not in empty.text
    assert_error(empty, 422, "invalid_request")


@pytest.fixture
def make_limiter(tmp_path: Path) -> Iterator[Callable[..., LoginLimiter]]:
    """Builds a sign-in limiter on a (SQLite) vault database; both backends are tested in
    tests/storage/test_sign_in_failures.py."""
    db = Database(f"sqlite:///{tmp_path / 'limiter.db'}")
    db.upgrade()
    key = KeyEncryptionKey(os.urandom(32)).mac_key("sign-in-failures")
    try:
        yield functools.partial(LoginLimiter, db=db, key=lambda: key)
    finally:
        db.dispose()


def test_the_limiter_keeps_only_recent_failures_and_a_bounded_number_of_keys(
    make_limiter: Callable[..., LoginLimiter],
) -> None:
    """Sign-in attempts with made-up names or addresses cost nothing unless they fail, and
    then only for the window; a flood past ``max_keys`` forgets the oldest first."""
    clock = [1000.0]
    limiter = make_limiter(limit=3, window=60, max_keys=100, clock=lambda: clock[0])
    for n in range(50):
        assert limiter.wait(f"nobody{n}", f"10.0.0.{n}") == 0
    assert len(limiter) == 0  # asking keeps nothing
    for _ in range(3):
        limiter.failed("alice", "10.0.0.1")
    assert limiter.wait("alice", "10.0.0.1") == 61
    assert limiter.wait("bob", "10.0.0.1") == 0
    clock[0] += 30
    limiter.failed("alice", "10.0.0.1")  # a fourth: still blocked until the second leaves
    assert limiter.wait("alice", "10.0.0.1") == 31
    clock[0] += 61
    assert limiter.wait("alice", "10.0.0.1") == 0
    assert len(limiter) == 0  # expired keys are forgotten
    for n in range(250):
        clock[0] += 0.01
        limiter.failed(f"spray{n}", f"10.1.0.{n}")
    assert len(limiter) <= 100
    assert limiter.wait("spray249", "10.1.0.249") == 0  # one failure is not a block
    for _ in range(2):
        limiter.failed("spray249", "10.1.0.249")
    assert limiter.wait("spray249", "10.1.0.249") > 0  # the newest were kept


def test_every_answer_says_nosniff_once(api: ApiWorld) -> None:
    """JSON, errors and pages alike: a browser never takes an answer for another type."""
    for response in (
        api.http.get("/api/v1/clients"),  # an error
        api.admin.get("/api/v1/clients"),
        api.http.get("/api/v1/openapi.json"),
        api.http.get("/sign-in"),  # a page, which sets its own
    ):
        values = response.headers.get_list("x-content-type-options")
        assert values == ["nosniff"], (response.url, values)
