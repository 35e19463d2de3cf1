"""A relay's target users from Entra ID (the connector's ``identities`` capability).

Three reads, each paged:

* ``GET /users`` with the Account's properties plus ``mail``, ``proxyAddresses``,
  ``onPremisesImmutableId`` and ``onPremisesSyncEnabled`` (`user resource
  <https://learn.microsoft.com/en-us/graph/api/resources/user>`_). A user Entra Connect
  synchronises (onPremisesSyncEnabled true) is ``synced``: Graph refuses to write its password
  and password hash sync would overwrite it.
* ``GET /domains``: a domain whose ``authenticationType`` is ``Federated`` signs its users
  in elsewhere (`domain resource
  <https://learn.microsoft.com/en-us/graph/api/resources/domain>`_): its users are
  ``federated`` (Graph refuses their password writes).
* The directory roles: ``GET /roleManagement/directory/roleAssignments`` (`list
  unifiedRoleAssignments <https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleassignments>`_,
  RoleManagement.Read.Directory), where an endpoint lacks it ``GET /directoryRoles`` with
  each role's ``members`` (`list directoryRoles
  <https://learn.microsoft.com/en-us/graph/api/directoryrole-list>`_). A user holding any
  role is an admin: Entra Connect "won't match on-premises users with cloud users that have
  an admin role", and a relay asks for an explicit allowance. Refused (403): every user counts
  as an admin (what can't be read is not assumed harmless). Neither listing served (400
  "Resource not found for the segment", or 404: a Graph endpoint without role management):
  every user counts as an admin too, and
  :attr:`GraphConnector.identity_notes` says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from credsync.connectors.base import Account
from credsync.connectors.graph._batch import Inner, reply_error
from credsync.connectors.graph._mapping import SELECT, to_account
from credsync.connectors.identities import Identity, IdentityScope, smtp_addresses
from credsync.errors import AccountNotFound, DirectoryDenied, PermanentConnectorError

if TYPE_CHECKING:
    from credsync.connectors.graph.connector import GraphConnector

__all__ = ["IDENTITY_SELECT", "iter_identities", "set_enabled"]

IDENTITY_SELECT = SELECT + ",mail,proxyAddresses,onPremisesImmutableId"
_EVERYONE = "*"
_NOT_SERVED = "Resource not found for the segment"
_ROLE_HINT = "the app needs RoleManagement.Read.Directory (or Directory.Read.All)"
_WRITE_HINT = "the app needs User.ReadWrite.All and the User Administrator role"
NO_ROLES_NOTE = (
    "the directory's roles could not be listed (no roleAssignments or directoryRoles "
    "endpoint): every user counts as an admin until they can be"
)


async def _listing(
    connector: GraphConnector, path: str, where: str, params: dict[str, str]
) -> AsyncIterator[dict[str, Any]]:
    pages = connector._client.pages(path, where=where, params=params)
    try:
        async for status, body, response in pages:
            if status in (400, 404) and _NOT_SERVED in str(body):
                # Graph's answer to a path it does not serve (an unknown segment)
                raise AccountNotFound(f"{connector._name}: {where}: {path} is not served here")
            if status != 200 or not isinstance(body, dict):
                raise connector._raise(
                    status, body, response, where, denied_hint=_ROLE_HINT, not_found=AccountNotFound
                )
            for item in body.get("value") or ():
                if isinstance(item, dict):
                    yield item
    finally:
        await pages.aclose()


async def _federated_domains(connector: GraphConnector) -> set[str]:
    where = "list the tenant's domains"
    found: set[str] = set()
    async for domain in _listing(connector, "/domains", where, {}):
        if str(domain.get("authenticationType") or "").casefold() == "federated":
            found.add(str(domain.get("id") or "").casefold())
    return found


async def _admins(connector: GraphConnector) -> dict[str, set[str]]:
    """Principal id -> the role (definition) ids it holds; ``{"*": ...}`` when refused."""
    holders: dict[str, set[str]] = {}
    try:
        where = "list the directory's role assignments"
        params = {"$select": "principalId,roleDefinitionId"}
        path = "/roleManagement/directory/roleAssignments"
        async for item in _listing(connector, path, where, params):
            holders.setdefault(str(item.get("principalId")), set()).add(
                str(item.get("roleDefinitionId"))
            )
        return holders
    except DirectoryDenied:
        return {_EVERYONE: {"unknown (the app may not read directory roles)"}}
    except AccountNotFound:
        pass  # no role management here: the older listing
    try:
        roles = [
            r async for r in _listing(connector, "/directoryRoles", "list directory roles", {})
        ]
        for role in roles:
            role_id = quote(str(role.get("id")), safe="")
            name = str(role.get("displayName") or role.get("roleTemplateId") or role_id)
            where = f"list the members of directory role {name}"
            async for member in _listing(
                connector, f"/directoryRoles/{role_id}/members", where, {"$select": "id"}
            ):
                holders.setdefault(str(member.get("id")), set()).add(name)
    except DirectoryDenied:
        return {_EVERYONE: {"unknown (the app may not read directory roles)"}}
    except AccountNotFound:
        connector.identity_notes = (*connector.identity_notes, NO_ROLES_NOTE)
        return {_EVERYONE: {"unknown (the directory's roles could not be listed)"}}
    return holders


async def iter_identities(
    connector: GraphConnector,
    scope: IdentityScope | None = None,
    ids: Sequence[str] | None = None,
) -> AsyncIterator[Identity]:
    """Every user of the tenant (``ids``: only these object ids); the scope means nothing
    here (a relay's scope is its source's)."""
    del scope
    connector.identity_notes = ()
    federated = await _federated_domains(connector)
    admins = await _admins(connector)
    everyone = admins.get(_EVERYONE)
    wanted = set(ids) if ids is not None else None
    where = "list users with their anchors and addresses"
    params = {"$select": IDENTITY_SELECT, "$top": str(connector._page_size)}
    try:
        async for user in _listing(connector, "/users", where, params):
            if wanted is not None and str(user.get("id")) not in wanted:
                continue
            account = to_account(user)
            primary, addresses = smtp_addresses(
                [str(p) for p in user.get("proxyAddresses") or ()], user.get("mail")
            )
            domain = (account.upn or "").rpartition("@")[2].casefold()
            roles = everyone or admins.get(account.id, set())
            yield Identity(
                account=account,
                anchor=user.get("onPremisesImmutableId") or None,
                mail=primary,
                addresses=addresses,
                synced=user.get("onPremisesSyncEnabled") is True,
                federated=domain in federated,
                admin_roles=tuple(sorted(roles)),
            )
    except AccountNotFound as exc:
        raise PermanentConnectorError(str(exc)) from exc


async def set_enabled(connector: GraphConnector, account: Account, enabled: bool) -> None:
    """A relay's mirror of its source's disable state: ``PATCH /users/{id}`` with
    ``accountEnabled`` (`update user
    <https://learn.microsoft.com/en-us/graph/api/user-update>`_), nothing else."""
    path = connector._user_path(account.id)
    where = f"{'enable' if enabled else 'disable'} {account.username}"
    [reply] = await connector._batcher.submit([Inner("PATCH", path, {"accountEnabled": enabled})])
    if reply.status >= 400:
        raise reply_error(reply, name=connector._name, where=where, denied_hint=_WRITE_HINT)
