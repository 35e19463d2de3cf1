"""Multi-factor sign-in through the API: login with ``otp`` (401 mfa_required without it,
mfa_failed when wrong; wrong codes count in the sign-in limiter), enrolment by the API, the
requirement (an unenrolled operator gets mfa_enrollment_required), API tokens only from a
sign-in that passed MFA, an admin's reset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import totp_clock

from .conftest import ApiWorld, assert_error

VIEWER = {"name": "op-viewer", "password": "op-viewer-password-1234"}


@pytest.fixture(autouse=True)
def _mid_step_clock(api: ApiWorld) -> Iterator[None]:
    yield from totp_clock.held(api.world.vault.mfa)


code = totp_clock.code


def enrol_viewer(api: ApiWorld, *, required: bool = False) -> tuple[str, list[str]]:
    """op-viewer enrols through the API with its bearer token: the secret and the codes."""
    http = api.as_role("viewer")
    started = http.post("/api/v1/account/mfa/enroll")
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["uri"].startswith("otpauth://totp/credsync:op-viewer?")
    assert http.get("/api/v1/account/mfa").json()["mfa"] == "pending"
    wrong = http.post("/api/v1/account/mfa/confirm", json={"code": "12345x"})
    assert assert_error(wrong, 400, "invalid_input")["details"][0]["field"] == "code"
    done = http.post("/api/v1/account/mfa/confirm", json={"code": code(secret)})
    assert done.status_code == 200, done.text
    codes = done.json()["recovery_codes"]
    assert len(codes) == 10
    status = http.get("/api/v1/account/mfa").json()
    assert status == {
        "operator": "op-viewer",
        "mfa": "on",
        "totp": "on",
        "security_keys": [],
        "required": required,
        "recovery_codes_left": 10,
    }
    return secret, codes


def test_login_needs_the_code_once_enrolled(api: ApiWorld) -> None:
    secret, codes = enrol_viewer(api)
    http = api.http
    for _ in range(6):  # the right password without a code is no failure: never limited
        missing = http.post("/api/v1/auth/login", json=VIEWER)
        assert "code" in assert_error(missing, 401, "mfa_required")["message"]
    wrong = http.post("/api/v1/auth/login", json={**VIEWER, "otp": "000000"})
    if code(secret, 0) != "000000" and code(secret, 1) != "000000":
        assert_error(wrong, 401, "mfa_failed")
    good = http.post("/api/v1/auth/login", json={**VIEWER, "otp": code(secret, 1)})
    assert good.status_code == 200, good.text
    replayed = http.post("/api/v1/auth/login", json={**VIEWER, "otp": code(secret, 1)})
    assert_error(replayed, 401, "mfa_failed")
    recovery = http.post("/api/v1/auth/login", json={**VIEWER, "otp": codes[3]})
    assert recovery.status_code == 200, recovery.text
    again = http.post("/api/v1/auth/login", json={**VIEWER, "otp": codes[3]})
    assert_error(again, 401, "mfa_failed")
    # a wrong password with a good code is just a wrong password
    bad = http.post(
        "/api/v1/auth/login", json={"name": "op-viewer", "password": "nope", "otp": codes[4]}
    )
    assert_error(bad, 401, "unauthenticated")


def test_wrong_codes_count_toward_the_sign_in_limiter(api: ApiWorld) -> None:
    secret, _ = enrol_viewer(api)
    http = api.http
    good = code(secret, 1)
    wrong = next(c for c in ("111111", "222222", "333333") if c not in (code(secret), good))
    for _ in range(5):
        assert_error(
            http.post("/api/v1/auth/login", json={**VIEWER, "otp": wrong}), 401, "mfa_failed"
        )
    limited = http.post("/api/v1/auth/login", json={**VIEWER, "otp": good})
    assert_error(limited, 429, "too_many_requests")
    failures = api.world.vault.audit.list(api.world.admin, action="auth.failed", limit=50)
    assert len(failures) == 5
    assert wrong not in str([f.to_json() for f in failures])


def test_required_but_not_enrolled_is_told_to_enrol(api: ApiWorld) -> None:
    admin = api.admin
    put = admin.put("/api/v1/mfa/requirement", json={"required": True, "role": "viewer"})
    assert put.json() == {"vault": False, "roles": ["viewer"]}
    for _ in range(6):  # the right password: no failure, so never limited
        refused = api.http.post("/api/v1/auth/login", json=VIEWER)
        error = assert_error(refused, 401, "mfa_enrollment_required")
    assert "credsync operator mfa enroll" in error["message"]
    assert api.as_role("viewer").get("/api/v1/account/mfa").json()["required"] is True
    # tokens stay single-factor: the viewer's token still works, and may enrol
    secret, _ = enrol_viewer(api, required=True)
    assert api.http.post("/api/v1/auth/login", json={**VIEWER, "otp": code(secret, 1)}).is_success
    disable = api.as_role("viewer").post(
        "/api/v1/account/mfa/disable", json={"password": VIEWER["password"], "code": "1"}
    )
    assert_error(disable, 400, "invalid_input")  # required: it can't be turned off
    assert admin.get("/api/v1/mfa/requirement").json() == {"vault": False, "roles": ["viewer"]}
    entries = api.world.vault.audit.list(api.world.admin, action="mfa.require", limit=5)
    assert entries[0].target_id == "viewer"


def test_tokens_are_created_only_by_a_sign_in_that_passed_mfa(api: ApiWorld) -> None:
    secret, _ = enrol_viewer(api)
    by_token = api.as_role("viewer").post("/api/v1/tokens", json={"name": "from a token"})
    assert "API tokens" in assert_error(by_token, 401, "mfa_required")["message"]
    browser = api.http
    login = browser.post("/api/v1/auth/login", json={**VIEWER, "otp": code(secret, 1)})
    csrf = login.json()["csrf_token"]
    made = browser.post("/api/v1/tokens", json={"name": "from mfa"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text
    # the new token signs in alone (single-factor)
    token = made.json()["token"]
    assert (
        api.http.get("/api/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"}).json()[
            "name"
        ]
        == "op-viewer"
    )


def test_a_session_that_confirms_enrolment_has_passed_mfa(api: ApiWorld) -> None:
    browser = api.http
    csrf = browser.post("/api/v1/auth/login", json=VIEWER).json()["csrf_token"]
    headers = {"X-CSRF-Token": csrf}
    secret = browser.post("/api/v1/account/mfa/enroll", headers=headers).json()["secret"]
    browser.post("/api/v1/account/mfa/confirm", json={"code": code(secret)}, headers=headers)
    made = browser.post("/api/v1/tokens", json={"name": "after"}, headers=headers)
    assert made.status_code == 201, made.text


def test_an_admin_resets_an_operator_s_mfa(api: ApiWorld) -> None:
    secret, _ = enrol_viewer(api)
    browser = api.http
    browser.post("/api/v1/auth/login", json={**VIEWER, "otp": code(secret, 1)})
    assert browser.get("/api/v1/auth/whoami").status_code == 200
    denied = api.as_role("technician").post("/api/v1/operators/op-viewer/mfa/reset")
    assert_error(denied, 403, "forbidden")
    done = api.admin.post("/api/v1/operators/op-viewer/mfa/reset")
    assert done.json() == {"operator": "op-viewer", "sessions_ended": 1}
    assert_error(browser.get("/api/v1/auth/whoami"), 401, "unauthenticated")
    assert api.admin.get("/api/v1/operators/op-viewer/mfa").json()["mfa"] == "off"
    assert api.http.post("/api/v1/auth/login", json=VIEWER).status_code == 200
    entries = api.world.vault.audit.list(api.world.admin, action="operator.mfa_reset", limit=5)
    assert [e.details["name"] for e in entries] == ["op-viewer"]
    assert secret not in str([e.to_json() for e in entries])


def test_login_otp_is_checked_and_never_echoed(api: ApiWorld) -> None:
    long = api.http.post("/api/v1/auth/login", json={**VIEWER, "otp": "9" * 65})
    error = assert_error(long, 422, "invalid_request")
    assert "9" * 65 not in long.text
    assert error["details"][0]["field"] == "body.otp"


def test_the_status_lists_security_keys_without_key_material(api: ApiWorld) -> None:
    """Keys are added on the dashboard; the API shows their names and dates, one's own and
    (admin) another's, and the reset removes them."""
    from credsync.crypto.webauthn import RelyingParty
    from credsync.types import Secret
    from vault.soft_key import SoftKey, b64u

    vault = api.world.vault
    actor = vault.access.login_password("op-viewer", Secret(VIEWER["password"]))
    rp = RelyingParty("localhost", "http://localhost")
    key = SoftKey()
    options = vault.security_keys.registration_options(actor, rp)
    vault.security_keys.register(actor, rp, "Desk key", key.create(options))
    mine = api.as_role("viewer").get("/api/v1/account/mfa")
    assert mine.status_code == 200
    body = mine.json()
    assert (body["mfa"], body["totp"]) == ("on", "off")
    (shown,) = body["security_keys"]
    assert set(shown) == {"id", "name", "created_at", "last_used_at"}
    assert shown["name"] == "Desk key"
    assert b64u(key.credential_id) not in mine.text
    assert api.admin.get("/api/v1/operators/op-viewer/mfa").json() == body
    login = api.http.post("/api/v1/auth/login", json=VIEWER)
    assert assert_error(login, 401, "mfa_required")["message"].count("dashboard") == 1
    reset = api.admin.post("/api/v1/operators/op-viewer/mfa/reset")
    assert reset.status_code == 200
    assert api.admin.get("/api/v1/operators/op-viewer/mfa").json()["security_keys"] == []
