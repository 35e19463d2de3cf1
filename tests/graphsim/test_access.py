"""Access: the token's application permissions decide each route; password writes also need
User-PasswordProfile.ReadWrite.All and a directory role that may reset the target."""

from __future__ import annotations

import pytest

from .conftest import client_for, error_of

PASSWORD = {"passwordProfile": {"password": "Rot4ted!Secret"}}
READ_WRITE = ("User.ReadWrite.All", "User-PasswordProfile.ReadWrite.All")


def _denied(answer) -> bool:
    if answer.status_code != 403:
        return False
    error = error_of(answer)
    return (error["code"], error["message"]) == (
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )


def test_reading_needs_a_read_permission(http, sim, tenant) -> None:
    nothing = client_for(http, sim, tenant, tenant.add_app(permissions=("Mail.Read",)))
    assert _denied(nothing.get("/users"))
    reader = client_for(http, sim, tenant, tenant.add_app(permissions=("User.Read.All",)))
    assert reader.get("/users").status_code == 200
    user = tenant.create_user()
    assert _denied(reader.patch(f"/users/{user.id}", {"displayName": "x"}))
    assert _denied(reader.post("/users", {}))
    directory = client_for(http, sim, tenant, tenant.add_app(permissions=("Directory.Read.All",)))
    assert directory.get(f"/users/{user.id}").status_code == 200


def test_user_read_write_alone_cannot_set_passwords(http, sim, tenant) -> None:
    user = tenant.create_user()
    app = tenant.add_app(permissions=("User.ReadWrite.All",), directory_role="Global Administrator")
    writer = client_for(http, sim, tenant, app)
    assert writer.patch(f"/users/{user.id}", {"displayName": "Fine"}).status_code == 204
    assert _denied(writer.patch(f"/users/{user.id}", PASSWORD))
    directory_rw = tenant.add_app(
        permissions=("Directory.ReadWrite.All",), directory_role="Global Administrator"
    )
    assert _denied(client_for(http, sim, tenant, directory_rw).patch(f"/users/{user.id}", PASSWORD))
    assert tenant.check_password(user.id, user.password)


def test_password_permission_without_a_role_is_denied(http, sim, tenant) -> None:
    user = tenant.create_user()
    app = tenant.add_app(permissions=READ_WRITE, directory_role=None)
    assert _denied(client_for(http, sim, tenant, app).patch(f"/users/{user.id}", PASSWORD))


@pytest.mark.parametrize(
    ("role", "target", "allowed"),
    [
        ("User Administrator", None, True),
        ("User Administrator", "Helpdesk Administrator", True),
        ("User Administrator", "Global Administrator", False),
        ("User Administrator", "Privileged Authentication Administrator", False),
        ("Helpdesk Administrator", None, True),
        ("Helpdesk Administrator", "User Administrator", False),
        ("Privileged Authentication Administrator", "Global Administrator", True),
        ("Global Administrator", "Global Administrator", True),
    ],
)
def test_directory_role_decides_whom_to_reset(http, sim, tenant, role, target, allowed) -> None:
    user = tenant.create_user(admin_role=target)
    app = tenant.add_app(permissions=READ_WRITE, directory_role=role)
    answer = client_for(http, sim, tenant, app).patch(f"/users/{user.id}", PASSWORD)
    if allowed:
        assert answer.status_code == 204, answer.text
        assert tenant.check_password(user.id, "Rot4ted!Secret")
    else:
        assert _denied(answer)
        assert tenant.check_password(user.id, user.password)


def test_password_only_app(http, sim, tenant) -> None:
    """User-PasswordProfile.ReadWrite.All grants passwordProfile (and passwordPolicies) only."""
    user = tenant.create_user()
    app = tenant.add_app(
        permissions=("User.Read.All", "User-PasswordProfile.ReadWrite.All"),
        directory_role="User Administrator",
    )
    client = client_for(http, sim, tenant, app)
    both = {**PASSWORD, "passwordPolicies": "DisablePasswordExpiration"}
    assert client.patch(f"/users/{user.id}", both).status_code == 204
    assert _denied(client.patch(f"/users/{user.id}", {"displayName": "x"}))
    toggler = tenant.add_app(permissions=("User.EnableDisableAccount.All",))
    toggle = client_for(http, sim, tenant, toggler)
    assert toggle.patch(f"/users/{user.id}", {"accountEnabled": False}).status_code == 204
    assert _denied(toggle.patch(f"/users/{user.id}", {"jobTitle": "x"}))


def test_delete_needs_user_permissions(http, sim, tenant) -> None:
    user = tenant.create_user()
    directory_rw = tenant.add_app(permissions=("Directory.ReadWrite.All",))
    # Microsoft's map grants DELETE /users/{id} to User.ReadWrite.All and User.DeleteRestore.All
    assert _denied(client_for(http, sim, tenant, directory_rw).delete(f"/users/{user.id}"))
    deleter = tenant.add_app(permissions=("User.DeleteRestore.All",))
    assert client_for(http, sim, tenant, deleter).delete(f"/users/{user.id}").status_code == 204


def test_unknown_route_and_method(graph) -> None:
    answer = graph.get("/frobnicate/x")
    assert answer.status_code == 400
    assert error_of(answer)["message"] == "Resource not found for the segment 'frobnicate'."
    assert graph.request("PUT", "/users").status_code == 405
