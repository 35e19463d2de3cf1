"""A refused request leaves a trace (issue 13, finding 7): the API's 403 and the dashboard's
"Not allowed" page each leave one ``permission.denied`` entry (operator, permissions, the
target the path named, the route) and a log line; the same refusal again leaves no second
entry; the chain verifies."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from vault.helpers import audit_of

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"


def _cred(api: ApiWorld) -> str:
    api.admin.post(f"{V1}/clients", json={"name": "Contoso"})
    created = api.admin.post(
        f"{V1}/clients/Contoso/credentials", json={"title": "DC admin", "password": "Pa55-word-1!"}
    )
    return str(created.json()["id"])


def test_a_refused_api_request_is_audited_once(
    api: ApiWorld, caplog: pytest.LogCaptureFixture
) -> None:
    cred = _cred(api)
    viewer = api.as_role("viewer")
    with caplog.at_level(logging.INFO, logger="credsync"):
        for _ in range(20):  # a script retrying
            assert_error(viewer.post(f"{V1}/credentials/{cred[:8]}/reveal"), 403, "forbidden")
    [entry] = audit_of(api.world, "permission.denied")
    assert (entry.actor, entry.target_type, entry.target_id) == (
        "op-viewer",
        "credential",
        cred[:8],
    )
    assert entry.details == {
        "permissions": ["secret.reveal"],
        "operation": f"POST {V1}/credentials/{{ref}}/reveal",
        "via": "api",
        "reason": "operator 'op-viewer' (role viewer) lacks permission secret.reveal",
    }
    lines = [r.getMessage() for r in caplog.records if r.name == "credsync.audit"]
    assert len(lines) == 20
    assert "Pa55-word-1!" not in caplog.text
    # Other routes and targets are other refusals; one without a path parameter names a kind.
    assert_error(viewer.post(f"{V1}/clients", json={"name": "X"}), 403, "forbidden")
    assert_error(viewer.post(f"{V1}/clients/Contoso/export"), 403, "forbidden")
    entries = {(e.target_type, e.target_id, e.details["operation"]) for e in audit_of(
        api.world, "permission.denied"
    )}  # fmt: skip
    assert entries == {
        ("credential", cred[:8], f"POST {V1}/credentials/{{ref}}/reveal"),
        ("client", "", f"POST {V1}/clients"),
        ("client", "Contoso", f"POST {V1}/clients/{{client}}/export"),
    }
    verified = api.admin.get(f"{V1}/audit/verify").json()
    assert verified["ok"], verified


def test_a_wrong_csrf_token_is_audited_too(api: ApiWorld) -> None:
    browser = TestClient(api.http.app)
    signed_in = browser.post(
        f"{V1}/auth/login",
        json={"name": "op-technician", "password": "op-technician-password-1234"},
    )
    assert signed_in.status_code == 200, signed_in.text
    refused = browser.post(f"{V1}/clients", json={"name": "X"}, headers={"X-CSRF-Token": "nope"})
    assert_error(refused, 403, "forbidden")
    [entry] = audit_of(api.world, "permission.denied")
    assert entry.actor == "op-technician"
    assert entry.details["permissions"] == []
    assert "CSRF token" in entry.details["reason"]


def test_a_refused_dashboard_page_is_audited_once(api: ApiWorld) -> None:
    cred = _cred(api)
    browser = TestClient(api.http.app, follow_redirects=False)
    signed_in = browser.post(
        f"{V1}/auth/login", json={"name": "op-viewer", "password": "op-viewer-password-1234"}
    )
    csrf = signed_in.json()["csrf_token"]
    for _ in range(3):
        page = browser.post(f"/credentials/{cred}/reveal", data={"csrf_token": csrf})
        assert page.status_code == 403
        assert "secret.reveal" in page.text
    [entry] = audit_of(api.world, "permission.denied")
    assert (entry.actor, entry.target_type, entry.target_id) == ("op-viewer", "credential", cred)
    assert entry.details["operation"] == "POST /credentials/{ref}/reveal"
    assert entry.details["via"] == "dashboard"
