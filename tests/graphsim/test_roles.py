"""Admin roles: /directoryRoles (activated roles, by id or template, members, activation) and
/roleManagement/directory/roleAssignments, with their permissions and Graph's types."""

from __future__ import annotations

import base64
import uuid

import pytest

from credsync.testing.graphsim import GraphSimulator, SimTenant
from credsync.testing.graphsim._permissions import ROLE_TEMPLATE_IDS

from .conftest import Graph, error_of
from .reference import schema
from .test_schema import check

GLOBAL = ROLE_TEMPLATE_IDS["Global Administrator"]
USER_ADMIN = ROLE_TEMPLATE_IDS["User Administrator"]
READER = ROLE_TEMPLATE_IDS["Reports Reader"]


@pytest.fixture
def roles_graph(http, sim: GraphSimulator, tenant: SimTenant) -> Graph:
    """An app that may read roles only."""
    app = tenant.add_app(permissions=("RoleManagement.Read.Directory",))
    return Graph(http, sim, tenant, app)


def _roles(graph: Graph) -> dict[str, dict]:
    answer = graph.get("/directoryRoles")
    assert answer.status_code == 200, answer.text
    return {r["displayName"]: r for r in answer.json()["value"]}


def test_seeded_admins_are_members_of_activated_roles(roles_graph: Graph, tenant) -> None:
    roles = _roles(roles_graph)
    assert {"Global Administrator", "User Administrator", "Helpdesk Administrator"} <= set(roles)
    assert "Privileged Authentication Administrator" in roles  # the default app's own role
    assert "Reports Reader" not in roles  # never assigned: not activated
    assert roles["Global Administrator"]["roleTemplateId"] == GLOBAL
    role_id = roles["Global Administrator"]["id"]
    members = roles_graph.get(f"/directoryRoles/{role_id}/members").json()["value"]
    admins = [i for i, role in tenant.store.admin_role.items() if role == "Global Administrator"]
    assert [m["id"] for m in members] == admins
    assert all(m["@odata.type"] == "#microsoft.graph.user" for m in members)
    assert roles_graph.get(f"/directoryRoles/{role_id}").json()["displayName"] == (
        "Global Administrator"
    )


def test_a_role_assigned_in_the_portal_shows_both_ways(roles_graph: Graph, tenant) -> None:
    user = tenant.create_user()
    plain = tenant.create_user()
    tenant.set_admin_role(user.id, "User Administrator")
    members = roles_graph.get(f"/directoryRoles(roleTemplateId='{USER_ADMIN}')/members")
    assert members.status_code == 200, members.text
    assert user.id in [m["id"] for m in members.json()["value"]]
    by_template = roles_graph.get(f"/directoryRoles(roleTemplateId='{USER_ADMIN}')")
    assert by_template.json()["roleTemplateId"] == USER_ADMIN

    def assignments(expr: str) -> list[dict]:
        answer = roles_graph.get(
            "/roleManagement/directory/roleAssignments", params={"$filter": expr}
        )
        assert answer.status_code == 200, answer.text
        return list(answer.json()["value"])

    held = assignments(f"principalId eq '{user.id}'")
    assert [(a["roleDefinitionId"], a["directoryScopeId"]) for a in held] == [(USER_ADMIN, "/")]
    role_part, principal_part = held[0]["id"][:22], held[0]["id"][22:44]
    assert uuid.UUID(bytes_le=base64.urlsafe_b64decode(role_part + "==")) == uuid.UUID(USER_ADMIN)
    assert str(uuid.UUID(bytes_le=base64.urlsafe_b64decode(principal_part + "=="))) == user.id
    assert held[0]["id"].endswith("-1")
    assert assignments(f"principalId eq '{plain.id}'") == []
    assert user.id in [a["principalId"] for a in assignments(f"roleDefinitionId eq '{USER_ADMIN}'")]
    refused = roles_graph.get(
        "/roleManagement/directory/roleAssignments",
        params={"$filter": f"principalId ne '{user.id}'"},
    )
    assert refused.status_code == 400
    tenant.set_admin_role(user.id, None)
    assert assignments(f"principalId eq '{user.id}'") == []


def test_an_apps_role_is_held_by_its_service_principal(roles_graph: Graph, tenant) -> None:
    app = tenant.default_app
    found = roles_graph.get(
        "/roleManagement/directory/roleAssignments",
        params={"$filter": f"principalId eq '{app.service_principal_id}'"},
    ).json()["value"]
    template = ROLE_TEMPLATE_IDS["Privileged Authentication Administrator"]
    assert [a["roleDefinitionId"] for a in found] == [template]
    members = roles_graph.get(
        f"/directoryRoles(roleTemplateId='{template}')/members", params={"$select": "id,appId"}
    ).json()["value"]
    assert {
        "@odata.type": "#microsoft.graph.servicePrincipal",
        "id": app.service_principal_id,
        "appId": app.client_id,
    } in members


def test_activation_by_template(http, sim, tenant, roles_graph: Graph) -> None:
    answer = roles_graph.post("/directoryRoles", {"roleTemplateId": READER})
    assert answer.status_code == 403  # reading roles does not allow activating one
    writer = Graph(
        http, sim, tenant, tenant.add_app(permissions=("RoleManagement.ReadWrite.Directory",))
    )
    made = writer.post("/directoryRoles", {"roleTemplateId": READER})
    assert made.status_code == 201, made.text
    assert made.json()["displayName"] == "Reports Reader"
    assert "Reports Reader" in _roles(roles_graph)
    again = writer.post("/directoryRoles", {"roleTemplateId": READER})
    assert again.status_code == 400
    assert "conflicting object" in error_of(again)["message"]
    unknown = writer.post("/directoryRoles", {"roleTemplateId": str(uuid.uuid4())})
    assert unknown.status_code == 400
    missing = roles_graph.get(f"/directoryRoles/{uuid.uuid4()}")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("permission", "status"),
    [
        ("User.Read.All", 403),
        ("Directory.Read.All", 200),
        ("RoleManagement.Read.Directory", 200),
    ],
)
def test_reading_roles_needs_a_role_or_directory_permission(
    http, sim, tenant, permission: str, status: int
) -> None:
    graph = Graph(http, sim, tenant, tenant.add_app(permissions=(permission,)))
    assert graph.get("/directoryRoles").status_code == status
    assert graph.get("/roleManagement/directory/roleAssignments").status_code == status
    assert graph.get(f"/directoryRoles(roleTemplateId='{GLOBAL}')/members").status_code == status


def test_roles_answer_with_graphs_types(roles_graph: Graph, tenant) -> None:
    s = schema()
    checked = 0
    for role in roles_graph.get("/directoryRoles").json()["value"]:
        checked += check(s, role, "microsoft.graph.directoryRole", role["displayName"])
        members = roles_graph.get(f"/directoryRoles/{role['id']}/members").json()["value"]
        for member in members:
            checked += check(s, member, "microsoft.graph.directoryObject", "member")
    for item in roles_graph.get("/roleManagement/directory/roleAssignments").json()["value"]:
        checked += check(s, item, "microsoft.graph.unifiedRoleAssignment", "assignment")
    assert checked > 30
