"""Signing in: bearer tokens, browser sessions with CSRF tokens, the login limiter."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from credsync.api.state import LoginLimiter
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
    }


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
    assert http.post("/api/v1/auth/logout").status_code == 204
    assert_error(http.get("/api/v1/clients"), 401, "unauthenticated")
    # The ended session's cookie, sent again, stays refused.
    http.cookies.set("credsync_session", cookie)
    assert_error(http.get("/api/v1/clients"), 401, "unauthenticated")


def test_secure_cookies_when_served_over_https(api: ApiWorld) -> None:
    api.state.secure_cookies = True
    signed = api.http.post("/api/v1/auth/login", json={"name": "alice", "password": ADMIN_PASSWORD})
    assert "secure" in signed.headers["set-cookie"].lower()


def test_a_disabled_operator_s_session_stops_at_once(api: ApiWorld) -> None:
    http = api.http
    login = {"name": "op-viewer", "password": "op-viewer-password-1234"}
    assert http.post("/api/v1/auth/login", json=login).status_code == 200
    assert http.get("/api/v1/clients").status_code == 200
    api.world.vault.operators.set_disabled(api.world.admin, "op-viewer", True)
    assert (
        "disabled" in assert_error(http.get("/api/v1/clients"), 401, "unauthenticated")["message"]
    )


def test_failed_sign_ins_are_limited_and_audited(api: ApiWorld) -> None:
    http = api.http
    for _ in range(5):
        wrong = http.post("/api/v1/auth/login", json={"name": "alice", "password": "nope"})
        assert_error(wrong, 401, "unauthenticated")
    limited = http.post("/api/v1/auth/login", json={"name": "alice", "password": ADMIN_PASSWORD})
    assert_error(limited, 429, "too_many_requests")
    assert int(limited.headers["Retry-After"]) >= 1
    failures = api.world.vault.audit.list(api.world.admin, action="auth.failed", limit=50)
    assert len(failures) == 5
    assert "nope" not in str([f.to_json() for f in failures])


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
    try:
        yield functools.partial(LoginLimiter, db=db)
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
        assert limiter.wait(f"ip:10.0.0.{n}", f"name:nobody{n}") == 0
    assert len(limiter) == 0  # asking keeps nothing
    for _ in range(3):
        limiter.failed("ip:10.0.0.1", "name:alice")
    assert limiter.wait("ip:10.0.0.1") == 61
    assert limiter.wait("name:alice", "ip:10.0.0.9") == 61
    clock[0] += 30
    limiter.failed("name:alice")  # a fourth: still blocked until the second leaves
    assert limiter.wait("name:alice") == 31
    clock[0] += 61
    assert limiter.wait("ip:10.0.0.1", "name:alice") == 0
    assert len(limiter) == 0  # expired keys are forgotten
    for n in range(250):
        clock[0] += 0.01
        limiter.failed(f"name:spray{n}")
    assert len(limiter) <= 100
    assert limiter.wait("name:spray249") == 0  # one failure is not a block
    for _ in range(2):
        limiter.failed("name:spray249")
    assert limiter.wait("name:spray249") > 0  # the newest were kept


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
