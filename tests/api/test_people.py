"""Operators, roles and API tokens over the API: what admin may do, what the others may do
for themselves, refusals in the one error shape, and passwords and tokens never echoed."""

from __future__ import annotations

from vault.helpers import ADMIN_PASSWORD

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"


def test_admin_manages_operators(api: ApiWorld) -> None:
    admin = api.admin
    names = [o["name"] for o in admin.get(f"{V1}/operators").json()]
    assert {"alice", "op-viewer", "op-technician"} <= set(names)

    added = admin.post(
        f"{V1}/operators",
        json={"name": "bob", "role": "technician", "password": "Bob-Passw0rd-123"},
    )
    assert added.status_code == 201, added.text
    bob = added.json()
    assert (bob["name"], bob["role"], bob["disabled"]) == ("bob", "technician", False)
    assert "Bob-Passw0rd-123" not in added.text
    assert admin.get(f"{V1}/operators/bob").json() == bob

    changed = admin.patch(f"{V1}/operators/bob", json={"role": "auditor"})
    assert changed.json()["role"] == "auditor"
    login = {"name": "bob", "password": "Bob-Passw0rd-123"}
    assert api.http.post(f"{V1}/auth/login", json=login).json()["operator"]["role"] == "auditor"

    assert admin.patch(f"{V1}/operators/bob", json={"disabled": True}).json()["disabled"] is True
    assert (
        "disabled"
        in assert_error(api.http.post(f"{V1}/auth/login", json=login), 401, "unauthenticated")[
            "message"
        ]
    )
    assert admin.patch(f"{V1}/operators/bob", json={"disabled": False}).json()["disabled"] is False

    reset = admin.put(f"{V1}/operators/bob/password", json={"password": "Bob-New-Passw0rd-4"})
    assert reset.status_code == 200, reset.text
    assert "Bob-New-Passw0rd-4" not in reset.text
    new_login = {"name": "bob", "password": "Bob-New-Passw0rd-4"}
    assert api.http.post(f"{V1}/auth/login", json=new_login).status_code == 200
    actions = [e.action for e in api.world.vault.audit.list(api.world.admin, limit=20)]
    assert {"operator.add", "operator.role", "operator.disable", "operator.password"} <= set(
        actions
    )


def test_bad_operator_input_in_the_error_shape(api: ApiWorld) -> None:
    admin = api.admin
    weak = admin.post(
        f"{V1}/operators", json={"name": "eve", "role": "viewer", "password": "short1"}
    )
    assert "12 characters" in assert_error(weak, 400, "invalid_input")["message"]
    assert "short1" not in weak.text
    taken = {"name": "op-viewer", "role": "viewer", "password": "Long-Enough-Passw0rd"}
    assert_error(admin.post(f"{V1}/operators", json=taken), 409, "already_exists")
    no_role = {"name": "eve", "role": "wizard", "password": "Long-Enough-Passw0rd"}
    assert_error(admin.post(f"{V1}/operators", json=no_role), 404, "not_found")
    extra = admin.post(f"{V1}/operators", json={**no_role, "role": "viewer", "admin": True})
    assert_error(extra, 422, "invalid_request")
    assert "Long-Enough-Passw0rd" not in extra.text
    assert_error(admin.patch(f"{V1}/operators/op-viewer", json={}), 400, "invalid_input")
    assert_error(admin.get(f"{V1}/operators/nobody"), 404, "not_found")
    last = admin.patch(f"{V1}/operators/alice", json={"role": "viewer"})
    assert "last active admin" in assert_error(last, 400, "invalid_input")["message"]
    assert_error(
        admin.patch(f"{V1}/operators/alice", json={"disabled": True}), 400, "invalid_input"
    )
    long = admin.put(f"{V1}/operators/op-viewer/password", json={"password": "x" * 1025})
    assert_error(long, 422, "invalid_request")


def test_operators_change_their_own_password_with_the_current_one(api: ApiWorld) -> None:
    viewer = api.as_role("viewer")
    path = f"{V1}/operators/op-viewer/password"
    me = viewer.get(f"{V1}/operators/op-viewer")
    assert me.status_code == 200
    assert me.json()["role"] == "viewer"

    missing = viewer.put(path, json={"password": "Viewer-New-Passw0rd"})
    assert "current_password" in assert_error(missing, 400, "invalid_input")["message"]
    wrong = viewer.put(path, json={"password": "Viewer-New-Passw0rd", "current_password": "nope"})
    assert_error(wrong, 403, "forbidden")
    assert "Viewer-New-Passw0rd" not in wrong.text
    ok = viewer.put(
        path,
        json={"password": "Viewer-New-Passw0rd", "current_password": "op-viewer-password-1234"},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["tokens_left"] == 1  # the bearer token it was changed with
    login = {"name": "op-viewer", "password": "Viewer-New-Passw0rd"}
    assert api.http.post(f"{V1}/auth/login", json=login).status_code == 200
    # Another operator's password is admin's business; admin gives no current password.
    assert_error(
        viewer.put(f"{V1}/operators/alice/password", json={"password": "x" * 12}), 403, "forbidden"
    )
    admin_with_current = api.admin.put(
        path, json={"password": "Viewer-Third-Passw0rd", "current_password": ADMIN_PASSWORD}
    )
    assert_error(admin_with_current, 400, "invalid_input")


def test_only_admin_manages_operators(api: ApiWorld) -> None:
    body = {"name": "mallory", "role": "admin", "password": "Mallory-Passw0rd-1"}
    for role in ("technician", "directory_manager", "auditor", "viewer"):
        http = api.as_role(role)
        assert_error(http.get(f"{V1}/operators"), 403, "forbidden")
        assert_error(http.post(f"{V1}/operators", json=body), 403, "forbidden")
        assert_error(http.get(f"{V1}/operators/alice"), 403, "forbidden")
        assert_error(
            http.patch(f"{V1}/operators/op-{role}", json={"role": "admin"}), 403, "forbidden"
        )
        assert_error(http.patch(f"{V1}/operators/alice", json={"disabled": True}), 403, "forbidden")
    assert api.admin.get(f"{V1}/operators/op-viewer").json()["role"] == "viewer"


def test_roles(api: ApiWorld) -> None:
    admin, viewer = api.admin, api.as_role("viewer")
    roles = {r["name"]: r for r in viewer.get(f"{V1}/roles").json()}
    assert roles["auditor"] == {
        "name": "auditor",
        "description": "Read metadata and the audit log; no secrets",
        "permissions": ["vault.read", "audit.read"],
        "builtin": True,
    }
    body = {"name": "helpdesk", "permissions": ["vault.read", "secret.reveal"]}
    assert_error(viewer.post(f"{V1}/roles", json=body), 403, "forbidden")
    added = admin.post(f"{V1}/roles", json={**body, "description": "Reads and reveals"})
    assert added.status_code == 201, added.text
    assert added.json() == {
        "name": "helpdesk",
        "description": "Reads and reveals",
        "permissions": ["secret.reveal", "vault.read"],
        "builtin": False,
    }
    assert_error(admin.post(f"{V1}/roles", json=body), 409, "already_exists")
    unknown = admin.post(f"{V1}/roles", json={"name": "x", "permissions": ["root"]})
    assert "unknown permission" in assert_error(unknown, 400, "invalid_input")["message"]
    assert_error(
        admin.post(f"{V1}/roles", json={"name": "x", "permissions": []}), 422, "invalid_request"
    )
    held = {"name": "carol", "role": "helpdesk", "password": "Carol-Passw0rd-12"}
    assert admin.post(f"{V1}/operators", json=held).status_code == 201
    assert (
        "held by carol"
        in assert_error(admin.delete(f"{V1}/roles/helpdesk"), 400, "invalid_input")["message"]
    )
    assert admin.patch(f"{V1}/operators/carol", json={"role": "viewer"}).status_code == 200
    assert_error(viewer.delete(f"{V1}/roles/helpdesk"), 403, "forbidden")
    assert admin.delete(f"{V1}/roles/helpdesk").status_code == 204
    assert_error(admin.delete(f"{V1}/roles/helpdesk"), 404, "not_found")
    assert (
        "built in"
        in assert_error(admin.delete(f"{V1}/roles/viewer"), 400, "invalid_input")["message"]
    )


def test_tokens(api: ApiWorld) -> None:
    admin, technician = api.admin, api.as_role("technician")
    created = technician.post(f"{V1}/tokens", json={"name": "backup-job", "expires_days": 90})
    assert created.status_code == 201, created.text
    assert created.headers["Cache-Control"] == "no-store"
    token = created.json()
    assert token["token"].startswith("cst_")
    assert (token["operator"], token["name"], token["revoked"]) == (
        "op-technician",
        "backup-job",
        False,
    )
    assert token["expires_at"] is not None

    script = api.http
    script.headers["Authorization"] = f"Bearer {token['token']}"
    assert script.get(f"{V1}/auth/whoami").json()["name"] == "op-technician"

    mine = technician.get(f"{V1}/tokens")
    assert {t["name"] for t in mine.json()} == {"api-technician", "backup-job"}
    assert token["token"] not in mine.text
    assert_error(technician.get(f"{V1}/tokens", params={"all": True}), 403, "forbidden")
    everyone = admin.get(f"{V1}/tokens", params={"all": True}).json()
    assert {"api-admin", "api-viewer", "backup-job"} <= {t["name"] for t in everyone}
    assert token["token"] not in str(everyone)

    for_other = {"name": "theirs", "operator": "op-viewer"}
    assert_error(technician.post(f"{V1}/tokens", json=for_other), 403, "forbidden")
    theirs = admin.post(f"{V1}/tokens", json=for_other)
    assert theirs.json()["operator"] == "op-viewer"
    assert_error(technician.delete(f"{V1}/tokens/{theirs.json()['id']}"), 403, "forbidden")
    assert admin.delete(f"{V1}/tokens/{theirs.json()['id']}").json()["revoked"] is True

    revoked = technician.delete(f"{V1}/tokens/{token['id']}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked"] is True
    assert "token" not in revoked.json()
    assert_error(script.get(f"{V1}/auth/whoami"), 401, "unauthenticated")

    assert_error(technician.post(f"{V1}/tokens", json={"name": ""}), 422, "invalid_request")
    assert_error(
        technician.post(f"{V1}/tokens", json={"name": "x", "expires_days": 0}),
        422,
        "invalid_request",
    )
    assert_error(
        technician.post(f"{V1}/tokens", json={"name": "x", "token": "cst_mine"}),
        422,
        "invalid_request",
    )
    assert_error(technician.delete(f"{V1}/tokens/nope"), 404, "not_found")
