"""Who is signed in, operators, roles and API tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from credsync.cli.ports import LocalVault, Record
from credsync.cli.remote import Remote, path_of
from credsync.vault.models import ClientRefJson

if TYPE_CHECKING:
    from credsync.types import Secret
    from credsync.vault.models import (
        ApiTokenJson,
        NewApiTokenJson,
        OperatorJson,
        PasswordChangeJson,
        RoleJson,
        TokensRevokedJson,
    )

__all__ = ["LocalPeople", "PeoplePort", "RemotePeople", "local", "remote"]


class PeoplePort(Protocol):
    def whoami(self) -> Record:
        """operator, role, permissions, via (how they signed in) and database (where the
        vault is)."""
        ...

    def operators(self) -> list[OperatorJson]: ...

    def operator(self, ref: str) -> OperatorJson: ...

    def add_operator(
        self, name: str, role: str, password: Secret, clients: list[str] | None = None
    ) -> OperatorJson:
        """``clients``: only these clients (names or ids); None, every client."""
        ...

    def set_clients(self, ref: str, clients: list[str] | None) -> OperatorJson:
        """Client access: every client (None) or only those listed (admin)."""
        ...

    def set_role(self, ref: str, role: str) -> OperatorJson: ...

    def set_disabled(self, ref: str, disabled: bool) -> OperatorJson: ...

    def set_password(
        self,
        ref: str,
        password: Secret,
        *,
        current: Callable[[], Secret],
        revoke_tokens: bool = False,
    ) -> PasswordChangeJson:
        """A new password for an operator (every session of theirs ends; their API tokens
        too with ``revoke_tokens``); ``current`` gives the signed-in operator's own password
        where changing one's own password needs it (through a server)."""
        ...

    def roles(self) -> list[RoleJson]: ...

    def add_role(self, name: str, permissions: list[str], description: str) -> RoleJson: ...

    def change_role(
        self, name: str, *, permissions: list[str] | None, description: str | None
    ) -> RoleJson:
        """A custom role's new permissions (replacing its own) or description."""
        ...

    def delete_role(self, name: str) -> None: ...

    def tokens(self, *, everyone: bool) -> list[ApiTokenJson]: ...

    def create_token(
        self, name: str, *, operator: str | None, expires_days: int | None
    ) -> NewApiTokenJson:
        """The token's record with ``token``, its value (shown this once)."""
        ...

    def revoke_token(self, token_id: str) -> ApiTokenJson: ...

    def revoke_all_tokens(self, operator: str | None) -> TokensRevokedJson:
        """Every API token of the signed-in operator's, or of ``operator`` (admin)."""
        ...


def _reach(reach: list[tuple[str, str]] | None) -> list[ClientRefJson] | None:
    """Client access as JSON: the clients (id, name) one may reach; None: every client."""
    return None if reach is None else [ClientRefJson(id=i, name=n) for i, n in reach]


class LocalPeople:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def whoami(self) -> Record:
        actor = self._rt.actor
        return {
            "operator": actor.name,
            "role": actor.role,
            "permissions": sorted(actor.permissions),
            "via": actor.via,
            "mfa": actor.mfa,
            "clients": _reach(self._rt.vault.operators.reach_of(actor)),
            "database": self._rt.vault.db.safe_url,
        }

    def operators(self) -> list[OperatorJson]:
        return [o.to_json() for o in self._rt.vault.operators.list(self._rt.actor)]

    def operator(self, ref: str) -> OperatorJson:
        return self._rt.vault.operators.get(self._rt.actor, ref).to_json()

    def add_operator(
        self, name: str, role: str, password: Secret, clients: list[str] | None = None
    ) -> OperatorJson:
        operators = self._rt.vault.operators
        return operators.add(self._rt.actor, name, password, role, clients).to_json()

    def set_clients(self, ref: str, clients: list[str] | None) -> OperatorJson:
        return self._rt.vault.operators.set_clients(self._rt.actor, ref, clients).to_json()

    def set_role(self, ref: str, role: str) -> OperatorJson:
        return self._rt.vault.operators.set_role(self._rt.actor, ref, role).to_json()

    def set_disabled(self, ref: str, disabled: bool) -> OperatorJson:
        return self._rt.vault.operators.set_disabled(self._rt.actor, ref, disabled).to_json()

    def set_password(
        self,
        ref: str,
        password: Secret,
        *,
        current: Callable[[], Secret],
        revoke_tokens: bool = False,
    ) -> PasswordChangeJson:
        operators = self._rt.vault.operators
        change = operators.set_password(self._rt.actor, ref, password, revoke_tokens=revoke_tokens)
        return change.to_json()

    def roles(self) -> list[RoleJson]:
        return [r.to_json() for r in self._rt.vault.operators.roles(self._rt.actor)]

    def add_role(self, name: str, permissions: list[str], description: str) -> RoleJson:
        operators = self._rt.vault.operators
        return operators.add_role(self._rt.actor, name, permissions, description).to_json()

    def change_role(
        self, name: str, *, permissions: list[str] | None, description: str | None
    ) -> RoleJson:
        operators = self._rt.vault.operators
        role = operators.change_role(
            self._rt.actor, name, permissions=permissions, description=description
        )
        return role.to_json()

    def delete_role(self, name: str) -> None:
        self._rt.vault.operators.delete_role(self._rt.actor, name)

    def tokens(self, *, everyone: bool) -> list[ApiTokenJson]:
        found = self._rt.vault.access.list_tokens(self._rt.actor, everyone=everyone)
        return [t.to_json() for t in found]

    def create_token(
        self, name: str, *, operator: str | None, expires_days: int | None
    ) -> NewApiTokenJson:
        import datetime as dt

        token, secret = self._rt.vault.access.create_token(
            self._rt.actor,
            name,
            operator=operator,
            expires_in=dt.timedelta(days=expires_days) if expires_days else None,
        )
        return token.to_json_with(secret)

    def revoke_token(self, token_id: str) -> ApiTokenJson:
        return self._rt.vault.access.revoke_token(self._rt.actor, token_id).to_json()

    def revoke_all_tokens(self, operator: str | None) -> TokensRevokedJson:
        return self._rt.vault.access.revoke_all_tokens(self._rt.actor, operator).to_json()


class RemotePeople:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def whoami(self) -> Record:
        me = self._api.get("/auth/whoami")
        return {
            "operator": me["name"],
            "role": me["role"],
            "permissions": me["permissions"],
            "via": me["via"],
            "mfa": me["mfa"],
            "clients": me["clients"],
            "database": f"server {self._api.url}",
        }

    def operators(self) -> list[OperatorJson]:
        rows: list[OperatorJson] = self._api.get("/operators")
        return rows

    def operator(self, ref: str) -> OperatorJson:
        op: OperatorJson = self._api.get(path_of("operators", ref))
        return op

    def add_operator(
        self, name: str, role: str, password: Secret, clients: list[str] | None = None
    ) -> OperatorJson:
        body = {"name": name, "role": role, "password": password.reveal(), "clients": clients}
        op: OperatorJson = self._api.post("/operators", body)
        return op

    def set_clients(self, ref: str, clients: list[str] | None) -> OperatorJson:
        body: dict[str, object] = {"all_clients": True} if clients is None else {"clients": clients}
        op: OperatorJson = self._api.put(path_of("operators", ref, "clients"), body)
        return op

    def set_role(self, ref: str, role: str) -> OperatorJson:
        op: OperatorJson = self._api.patch(path_of("operators", ref), {"role": role})
        return op

    def set_disabled(self, ref: str, disabled: bool) -> OperatorJson:
        op: OperatorJson = self._api.patch(path_of("operators", ref), {"disabled": disabled})
        return op

    def set_password(
        self,
        ref: str,
        password: Secret,
        *,
        current: Callable[[], Secret],
        revoke_tokens: bool = False,
    ) -> PasswordChangeJson:
        from credsync.vault.validate import name_key

        body: dict[str, object] = {"password": password.reveal(), "revoke_tokens": revoke_tokens}
        if name_key(ref) == name_key(self.whoami()["operator"]):  # the server wants it
            body["current_password"] = current().reveal()
        change: PasswordChangeJson = self._api.put(path_of("operators", ref, "password"), body)
        return change

    def roles(self) -> list[RoleJson]:
        rows: list[RoleJson] = self._api.get("/roles")
        return rows

    def add_role(self, name: str, permissions: list[str], description: str) -> RoleJson:
        body = {"name": name, "permissions": permissions, "description": description}
        role: RoleJson = self._api.post("/roles", body)
        return role

    def change_role(
        self, name: str, *, permissions: list[str] | None, description: str | None
    ) -> RoleJson:
        body: dict[str, object] = {}
        if permissions is not None:
            body["permissions"] = permissions
        if description is not None:
            body["description"] = description
        role: RoleJson = self._api.patch(path_of("roles", name), body)
        return role

    def delete_role(self, name: str) -> None:
        self._api.delete(path_of("roles", name))

    def tokens(self, *, everyone: bool) -> list[ApiTokenJson]:
        rows: list[ApiTokenJson] = self._api.get("/tokens", all=everyone)
        return rows

    def create_token(
        self, name: str, *, operator: str | None, expires_days: int | None
    ) -> NewApiTokenJson:
        body = {"name": name, "operator": operator, "expires_days": expires_days}
        token: NewApiTokenJson = self._api.post("/tokens", body)
        return token

    def revoke_token(self, token_id: str) -> ApiTokenJson:
        token: ApiTokenJson = self._api.delete(path_of("tokens", token_id))
        return token

    def revoke_all_tokens(self, operator: str | None) -> TokensRevokedJson:
        revoked: TokensRevokedJson = self._api.post("/tokens/revoke-all", {"operator": operator})
        return revoked


def local(rt: LocalVault) -> PeoplePort:
    return LocalPeople(rt)


def remote(api: Remote) -> PeoplePort:
    return RemotePeople(api)
