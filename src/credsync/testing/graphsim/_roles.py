"""Admin roles, enough for a client to tell whether a user holds one: ``/directoryRoles`` (the
activated roles, by id or by ``roleTemplateId``, their members, activation by POST) and
``/roleManagement/directory/roleAssignments`` (``$filter`` on principalId / roleDefinitionId).

- https://learn.microsoft.com/en-us/graph/api/directoryrole-list: only *activated* roles are
  listed; Global Administrator always is, and a role becomes active when it is first assigned
  (the portal does that) or by ``POST /directoryRoles {"roleTemplateId"}``
  (https://learn.microsoft.com/en-us/graph/api/directoryrole-post-directoryroles). Activating an
  active role again is refused.
- https://learn.microsoft.com/en-us/graph/api/directoryrole-list-members: users and service
  principals (an app's directory role is held by its service principal).
- https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleassignments: a built-in
  role's ``roleDefinitionId`` is its template id; ``directoryScopeId`` "/" is the tenant. An
  assignment's id is Entra's form: base64url of the role's and the principal's GUID bytes,
  then "-1" (e.g. ``lAPpYvVpN0KRkAEhdxReEJC2...-1`` for a Global Administrator).

A user holds at most one role here (the tenant's ``admin_role``); the portal assigns it with
:meth:`SimTenant.set_admin_role`.
"""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING, Any

from ._errors import bad_request, not_found
from ._graph import Ctx, Reply, Router, collection
from ._listing import select_of
from ._model import project
from ._permissions import ROLE_TEMPLATE_IDS
from ._query import parse_filter
from ._users import USERS

if TYPE_CHECKING:
    from ._tenant import SimTenant

__all__ = ["active_roles", "register", "role_object_id"]

# https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference
DESCRIPTIONS = {
    "Global Administrator": "Can manage all aspects of Microsoft Entra ID and Microsoft services "
    "that use Microsoft Entra identities.",
    "Privileged Authentication Administrator": "Can access to view, set and reset "
    "authentication method information for any user (admin or non-admin).",
    "User Administrator": "Can manage all aspects of users and groups, including resetting "
    "passwords for limited admins.",
    "Helpdesk Administrator": "Can reset passwords for non-administrators and Helpdesk "
    "Administrators.",
    "Password Administrator": "Can reset passwords for non-administrators and Password "
    "Administrators.",
    "Directory Readers": "Can read basic directory information. Commonly used to grant "
    "directory read access to applications and guests.",
    "Guest Inviter": "Can invite guest users independent of the 'members can invite guests' "
    "setting.",
    "Message Center Reader": "Can read messages and updates for their organization in Message "
    "Center only.",
    "Reports Reader": "Can read sign-in and audit reports.",
    "Exchange Administrator": "Can manage all aspects of the Exchange product.",
    "Hybrid Identity Administrator": "Can manage Active Directory to Microsoft Entra cloud "
    "provisioning, Microsoft Entra Connect, Pass-through Authentication (PTA), Password hash "
    "synchronization (PHS), Seamless Single Sign-On (Seamless SSO), and federation settings.",
}
_BY_TEMPLATE = {template: name for name, template in ROLE_TEMPLATE_IDS.items()}
_ROLE_PROPS = {"id": "Edm.String", "displayName": "Edm.String", "roleTemplateId": "Edm.String"}
_ASSIGNMENT_PROPS = {
    "id": "Edm.String",
    "principalId": "Edm.String",
    "roleDefinitionId": "Edm.String",
    "directoryScopeId": "Edm.String",
}
_EQ = frozenset({"eq"})
_SP_PROPS = ("id", "appId", "displayName")


def role_object_id(tenant: SimTenant, name: str) -> str:
    """The activated role's object id in ``tenant`` (stable: from the tenant and template)."""
    return str(uuid.uuid5(uuid.UUID(tenant.id), ROLE_TEMPLATE_IDS[name]))


def active_roles(tenant: SimTenant) -> list[str]:
    """Names of the tenant's activated roles, in the order of :data:`ROLE_TEMPLATE_IDS`."""
    held = {"Global Administrator", *tenant.activated_roles, *tenant.store.admin_role.values()}
    held.update(app.directory_role for app in tenant.apps.values() if app.directory_role)
    return [name for name in ROLE_TEMPLATE_IDS if name in held]


def _role_json(tenant: SimTenant, name: str) -> dict[str, Any]:
    return {
        "id": role_object_id(tenant, name),
        "deletedDateTime": None,
        "description": DESCRIPTIONS[name],
        "displayName": name,
        "roleTemplateId": ROLE_TEMPLATE_IDS[name],
    }


def _role(ctx: Ctx) -> str:
    """The activated role a path names, by object id or by roleTemplateId."""
    tenant = ctx.tenant
    if "template" in ctx.params:
        name = _BY_TEMPLATE.get(ctx.params["template"].lower())
        if name is not None and name in active_roles(tenant):
            return name
        raise not_found(ctx.params["template"])
    key = ctx.params["id"].lower()
    for name in active_roles(tenant):
        if role_object_id(tenant, name) == key:
            return name
    raise not_found(ctx.params["id"])


def list_roles(ctx: Ctx) -> Reply:
    items = [_role_json(ctx.tenant, name) for name in active_roles(ctx.tenant)]
    found = parse_filter(ctx.option("$filter"), _ROLE_PROPS, "DirectoryRole")
    if found is not None:
        items = [i for i in items if found(i, lambda r, n: r.get(n))]
    return collection(ctx, "directoryRoles", items)


def get_role(ctx: Ctx) -> Reply:
    body: dict[str, Any] = {"@odata.context": ctx.context_url("directoryRoles/$entity")}
    body.update(_role_json(ctx.tenant, _role(ctx)))
    return Reply(200, body)


def activate_role(ctx: Ctx) -> Reply:
    body = ctx.json()
    template = body.get("roleTemplateId")
    name = _BY_TEMPLATE.get(template.lower()) if isinstance(template, str) else None
    if name is None:
        raise bad_request(
            "Invalid value specified for property 'roleTemplateId' of resource 'DirectoryRole'."
        )
    tenant = ctx.tenant
    if name in active_roles(tenant):
        raise bad_request(
            "A conflicting object with one or more of the specified property values is present "
            "in the directory."
        )
    tenant.activated_roles.add(name)
    out: dict[str, Any] = {"@odata.context": ctx.context_url("directoryRoles/$entity")}
    out.update(_role_json(tenant, name))
    return Reply(201, out)


def _holders(tenant: SimTenant, name: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """The live users and the apps (service principals) holding role ``name``."""
    live = tenant.store.users.live
    users = [live[i] for i, role in tenant.store.admin_role.items() if role == name and i in live]
    apps = [app for app in tenant.apps.values() if app.directory_role == name]
    return users, apps


def role_members(ctx: Ctx) -> Reply:
    name = _role(ctx)
    select = select_of(ctx, USERS, extra=("appId",))
    users, apps = _holders(ctx.tenant, name)
    items: list[dict[str, Any]] = []
    names = [n for n in (select or USERS.default_select) if n in USERS.properties]
    for record in users:
        item = {"@odata.type": "#microsoft.graph.user"}
        item.update(project(record, names, USERS.defaults))
        items.append(item)
    for app in apps:
        sp = {
            "id": app.service_principal_id,
            "appId": app.client_id,
            "displayName": app.display_name,
        }
        item = {"@odata.type": "#microsoft.graph.servicePrincipal"}
        item.update({k: sp[k] for k in _SP_PROPS if select is None or k in select})
        items.append(item)
    return collection(ctx, "directoryObjects", items)


def _b64_guid(value: str) -> str:
    return base64.urlsafe_b64encode(uuid.UUID(value).bytes_le).decode().rstrip("=")


def _assignments(tenant: SimTenant) -> list[dict[str, Any]]:
    found = []
    for name in active_roles(tenant):
        template = ROLE_TEMPLATE_IDS[name]
        users, apps = _holders(tenant, name)
        principals = [u["id"] for u in users] + [a.service_principal_id for a in apps]
        found += [
            {
                "id": f"{_b64_guid(template)}{_b64_guid(principal)}-1",
                "principalId": principal,
                "roleDefinitionId": template,
                "directoryScopeId": "/",
            }
            for principal in principals
        ]
    return found


def list_assignments(ctx: Ctx) -> Reply:
    found = parse_filter(
        ctx.option("$filter"),
        _ASSIGNMENT_PROPS,
        "UnifiedRoleAssignment",
        operators=dict.fromkeys(_ASSIGNMENT_PROPS, _EQ),
    )
    items = _assignments(ctx.tenant)
    if found is not None:
        items = [i for i in items if found(i, lambda r, n: r.get(n))]
    return collection(ctx, "roleManagement/directory/roleAssignments", items)


def register(router: Router) -> None:
    router.add("GET", "/directoryRoles", list_roles)
    router.add("POST", "/directoryRoles", activate_role)
    router.add("GET", "/directoryRoles/{id}", get_role)
    router.add("GET", "/directoryRoles/{id}/members", role_members)
    by_template = "/directoryRoles(roleTemplateId='{template}')"
    router.add("GET", by_template, get_role, key="GET /directoryRoles(roleTemplateId={id})")
    router.add(
        "GET",
        by_template + "/members",
        role_members,
        key="GET /directoryRoles(roleTemplateId={id})/members",
    )
    router.add("GET", "/roleManagement/directory/roleAssignments", list_assignments)
