"""Who may do what: the application permissions (a token's ``roles``) each route accepts, and
the directory roles (a token's ``wids``) that password resets need.

``ROUTES`` maps each route the simulator serves, as ``"METHOD /path/{template}"``, to the
application permissions that allow it, least privileged first. A test checks every pair against
Microsoft's own map (``permissions.json``): a route is looked up under its own name (``/$ref``
dropped, ``{x}`` read as ``{id}``, case ignored) or, where Microsoft's map has no row for it, under
the ``map_route`` named here (the closest route it does list, with the same permissions in the
documentation). An ``all_of`` route needs every permission it lists (Graph's "X and Y" in the
documentation's permission table), not any one of them. Routes suffixed `` (user)`` /
`` (group)`` are checked by the handler once it knows what kind of object the id names. A route
with no permissions (``$batch``) checks each inner request instead.

Password writes (``passwordProfile`` in a PATCH) need ``User-PasswordProfile.ReadWrite.All``
(``User.ReadWrite.All`` and ``Directory.ReadWrite.All`` do not grant it) **and** a directory role
allowed to reset the target: see ``RESETS``. Other user properties need ``User.ReadWrite.All`` or
``Directory.ReadWrite.All``; ``accountEnabled`` also ``User.EnableDisableAccount.All``;
``passwordPolicies`` also ``User-PasswordProfile.ReadWrite.All``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

__all__ = [
    "PASSWORD_PERMISSION",
    "ROLE_TEMPLATE_IDS",
    "ROUTES",
    "Access",
    "allows",
    "may_reset",
    "may_write_property",
]

PASSWORD_PERMISSION = "User-PasswordProfile.ReadWrite.All"  # noqa: S105 - a permission name

# Directory role names -> role TEMPLATE ids (what a token's ``wids`` claim carries).
ROLE_TEMPLATE_IDS: dict[str, str] = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Password Administrator": "966707d0-3269-4727-9be2-8c3a10f19b9d",
    "Directory Readers": "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
    "Guest Inviter": "95e79109-95c0-4d8e-aee3-d01accf2d47b",
    "Message Center Reader": "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b",
    "Reports Reader": "4a5d8f65-41da-4de4-8968-e035b65339cf",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "Hybrid Identity Administrator": "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
}

_ANYONE = "*"
# Whose password a caller holding the role may reset (Microsoft's "who can reset passwords"
# table): None is a user with no admin role; "*" is anyone, Global Administrators included.
RESETS: dict[str, frozenset[str | None]] = {
    "Global Administrator": frozenset({_ANYONE}),
    "Privileged Authentication Administrator": frozenset({_ANYONE}),
    "User Administrator": frozenset(
        {
            None,
            "Directory Readers",
            "Guest Inviter",
            "Helpdesk Administrator",
            "Message Center Reader",
            "Password Administrator",
            "Reports Reader",
            "User Administrator",
        }
    ),
    "Helpdesk Administrator": frozenset(
        {
            None,
            "Directory Readers",
            "Guest Inviter",
            "Helpdesk Administrator",
            "Message Center Reader",
            "Password Administrator",
            "Reports Reader",
        }
    ),
    "Password Administrator": frozenset({None, "Guest Inviter", "Password Administrator"}),
}


@dataclass(frozen=True)
class Access:
    permissions: tuple[str, ...]
    map_route: str | None = None  # where Microsoft's map lists the same grant
    all_of: bool = False  # every permission is needed, not any one


_USER_READ = (
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
_GROUP_READ = (
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
_MEMBER_WRITE = ("GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All")
_DOMAIN_READ = ("Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All")
# https://learn.microsoft.com/en-us/graph/api/directoryaudit-list: application permissions
# "AuditLog.Read.All and Directory.Read.All" (both; no higher privileged alternative).
_AUDIT_READ = Access(("AuditLog.Read.All", "Directory.Read.All"), all_of=True)

# https://learn.microsoft.com/en-us/graph/api/directoryrole-list (and -get, -list-members):
# RoleManagement.Read.Directory least, Directory.Read.All too; activation needs
# RoleManagement.ReadWrite.Directory.
_ROLE_READ = Access(
    (
        "RoleManagement.Read.Directory",
        "Directory.Read.All",
        "RoleManagement.ReadWrite.Directory",
        "Directory.ReadWrite.All",
    )
)

_FEDERATION_WRITE = Access(("Domain-InternalFederation.ReadWrite.All", "Domain.ReadWrite.All"))
ROUTES: dict[str, Access] = {
    "POST /$batch": Access(()),
    "GET /users": Access(_USER_READ),
    "GET /users/$count": Access(_USER_READ, map_route="GET /users"),
    "GET /users/{id}": Access(_USER_READ),
    "GET /users/delta": Access(_USER_READ),
    "POST /users": Access(("User.ReadWrite.All", "Directory.ReadWrite.All")),
    "PATCH /users/{id}": Access(
        (
            "User.EnableDisableAccount.All",
            PASSWORD_PERMISSION,
            "User.ReadWrite.All",
            "Directory.ReadWrite.All",
        )
    ),
    "DELETE /users/{id}": Access(("User.DeleteRestore.All", "User.ReadWrite.All")),
    "POST /users/{id}/assignLicense": Access(
        ("LicenseAssignment.ReadWrite.All", "User.ReadWrite.All", "Directory.ReadWrite.All")
    ),
    "GET /groups": Access(_GROUP_READ),
    "GET /groups/$count": Access(_GROUP_READ, map_route="GET /groups"),
    "GET /groups/{id}": Access(_GROUP_READ),
    "GET /groups/delta": Access(_GROUP_READ),
    "POST /groups": Access(("Group.Create", "Group.ReadWrite.All", "Directory.ReadWrite.All")),
    "PATCH /groups/{id}": Access(("Group.ReadWrite.All", "Directory.ReadWrite.All")),
    "DELETE /groups/{id}": Access(("Group.ReadWrite.All",)),
    "GET /groups/{id}/members": Access(
        (
            "GroupMember.Read.All",
            "GroupMember.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
        )
    ),
    "GET /groups/{id}/transitiveMembers": Access(
        (
            "GroupMember.Read.All",
            "GroupMember.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
        )
    ),
    "POST /groups/{id}/members/$ref": Access(
        _MEMBER_WRITE, map_route="DELETE /groups/{id}/members/{id}"
    ),
    "DELETE /groups/{id}/members/{id}/$ref": Access(_MEMBER_WRITE),
    "GET /directoryObjects/{id}": Access(("Directory.Read.All",)),
    "GET /directory/deletedItems/microsoft.graph.user": Access(_USER_READ, map_route="GET /users"),
    "GET /directory/deletedItems/microsoft.graph.group": Access(
        _GROUP_READ[1:], map_route="GET /groups"
    ),
    "GET /directory/deletedItems/{id} (user)": Access(_USER_READ, map_route="GET /users/{id}"),
    "GET /directory/deletedItems/{id} (group)": Access(
        _GROUP_READ[1:], map_route="GET /groups/{id}"
    ),
    "POST /directory/deletedItems/{id}/restore (user)": Access(
        ("User.DeleteRestore.All", "User.ReadWrite.All")
    ),
    "POST /directory/deletedItems/{id}/restore (group)": Access(
        ("Group.ReadWrite.All", "Directory.ReadWrite.All"), map_route="PATCH /groups/{id}"
    ),
    "DELETE /directory/deletedItems/{id} (user)": Access(
        ("User.DeleteRestore.All", "User.ReadWrite.All"), map_route="DELETE /users/{id}"
    ),
    "DELETE /directory/deletedItems/{id} (group)": Access(
        ("Group.ReadWrite.All",), map_route="DELETE /groups/{id}"
    ),
    "GET /subscribedSkus": Access(
        ("LicenseAssignment.Read.All", "Organization.Read.All", "Directory.Read.All")
    ),
    "GET /auditLogs/directoryAudits": _AUDIT_READ,
    "GET /auditLogs/directoryAudits/{id}": _AUDIT_READ,
    "GET /auditLogs/signIns": Access(("AuditLog.Read.All",)),  # the map asks no more
    "GET /auditLogs/signIns/{id}": Access(("AuditLog.Read.All",)),
    "GET /directoryRoles": _ROLE_READ,
    "POST /directoryRoles": Access(("RoleManagement.ReadWrite.Directory",)),
    "GET /directoryRoles/{id}": _ROLE_READ,
    "GET /directoryRoles/{id}/members": _ROLE_READ,
    "GET /directoryRoles(roleTemplateId={id})": _ROLE_READ,
    "GET /directoryRoles(roleTemplateId={id})/members": _ROLE_READ,
    "GET /roleManagement/directory/roleAssignments": _ROLE_READ,
    "GET /domains": Access(_DOMAIN_READ),
    "GET /domains/{id}": Access(_DOMAIN_READ),
    "GET /domains/{id}/federationConfiguration": Access(
        ("Domain-InternalFederation.Read.All", "Domain-InternalFederation.ReadWrite.All")
    ),
    "GET /domains/{id}/federationConfiguration/{id}": Access(
        (
            "Domain-InternalFederation.Read.All",
            "Domain-InternalFederation.ReadWrite.All",
            "Domain.Read.All",
            "Domain.ReadWrite.All",
        )
    ),
    # POST and DELETE also need a directory role that may federate (see _federation)
    "POST /domains/{id}/federationConfiguration": _FEDERATION_WRITE,
    "PATCH /domains/{id}/federationConfiguration/{id}": _FEDERATION_WRITE,
    "DELETE /domains/{id}/federationConfiguration/{id}": _FEDERATION_WRITE,
}

_GENERIC_USER_WRITE = frozenset({"User.ReadWrite.All", "Directory.ReadWrite.All"})
_PROPERTY_WRITE: dict[str, frozenset[str]] = {
    "passwordProfile": frozenset({PASSWORD_PERMISSION}),
    "passwordPolicies": _GENERIC_USER_WRITE | {PASSWORD_PERMISSION},
    "accountEnabled": _GENERIC_USER_WRITE | {"User.EnableDisableAccount.All"},
}


def allows(route: str, roles: Collection[str]) -> bool:
    """Whether a token holding ``roles`` may call ``route`` (a key of :data:`ROUTES`)."""
    access = ROUTES[route]
    if access.all_of:
        return all(p in roles for p in access.permissions)
    return not access.permissions or any(p in roles for p in access.permissions)


def may_write_property(name: str, roles: Iterable[str]) -> bool:
    needed = _PROPERTY_WRITE.get(name, _GENERIC_USER_WRITE)
    return any(r in needed for r in roles)


def may_reset(app_role: str | None, target_role: str | None) -> bool:
    """Whether an app with directory role ``app_role`` may set the password of a user who holds
    ``target_role`` (None: no admin role)."""
    if app_role is None:
        return False
    allowed = RESETS.get(app_role, frozenset())
    return _ANYONE in allowed or target_role in allowed
