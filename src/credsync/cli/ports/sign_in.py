"""Operators who sign in with Microsoft: the connection to the MSP's tenant and the
operators' links (admin); see :mod:`credsync.vault.operator_sign_in`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote, path_of

if TYPE_CHECKING:
    from credsync.sync.operator_import import OperatorImport
    from credsync.types import Secret
    from credsync.vault.operator_groups import GroupMapJson
    from credsync.vault.operator_sign_in import LinkedIdentityJson, SignInSettingsJson

__all__ = ["LocalSignIn", "RemoteSignIn", "SignInPort", "local", "remote"]


class SignInPort(Protocol):
    def show(self) -> SignInSettingsJson | None: ...

    def setup(
        self,
        *,
        tenant_id: str,
        client_id: str,
        redirect_uri: str,
        client_secret: Secret | None,
        authority: str | None,
        ca_pem: str | None,
    ) -> SignInSettingsJson: ...

    def links(self) -> list[LinkedIdentityJson]: ...

    def link(
        self, operator: str, object_id: str, tenant_id: str | None, username: str
    ) -> LinkedIdentityJson: ...

    def unlink(self, operator: str) -> None: ...

    def search(self, query: str, groups: bool) -> list[dict[str, Any]]: ...

    def sync(
        self, ids: list[str], role: str, clients: list[str] | None, dry_run: bool
    ) -> dict[str, Any]: ...

    def group_maps(self) -> list[GroupMapJson]: ...

    def map_group(self, group_id: str, role: str, clients: list[str] | None) -> dict[str, Any]: ...

    def unmap_group(self, group_id: str) -> None: ...


class LocalSignIn:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def show(self) -> SignInSettingsJson | None:
        found = self._rt.vault.operator_sign_in.show(self._rt.actor)
        return None if found is None else found.to_json()

    def setup(
        self,
        *,
        tenant_id: str,
        client_id: str,
        redirect_uri: str,
        client_secret: Secret | None,
        authority: str | None,
        ca_pem: str | None,
    ) -> SignInSettingsJson:
        rt = self._rt
        return rt.vault.operator_sign_in.setup(
            rt.actor,
            rt.keys,
            tenant_id=tenant_id,
            client_id=client_id,
            redirect_uri=redirect_uri,
            client_secret=client_secret,
            authority=authority,
            ca_pem=ca_pem,
        ).to_json()

    def links(self) -> list[LinkedIdentityJson]:
        return [x.to_json() for x in self._rt.vault.operator_sign_in.links(self._rt.actor)]

    def link(
        self, operator: str, object_id: str, tenant_id: str | None, username: str
    ) -> LinkedIdentityJson:
        return self._rt.vault.operator_sign_in.link(
            self._rt.actor, operator, object_id, tenant_id=tenant_id, username=username
        ).to_json()

    def unlink(self, operator: str) -> None:
        self._rt.vault.operator_sign_in.unlink(self._rt.actor, operator)

    def _import(self) -> OperatorImport:
        from credsync.sync.operator_import import OperatorImport

        return OperatorImport(self._rt.vault, self._rt.keys)

    def search(self, query: str, groups: bool) -> list[dict[str, Any]]:
        return self._import().search(self._rt.actor, query, groups=groups)

    def sync(
        self, ids: list[str], role: str, clients: list[str] | None, dry_run: bool
    ) -> dict[str, Any]:
        report = self._import().sync(
            self._rt.actor, ids, role=role, clients=clients, dry_run=dry_run
        )
        return report.to_json()

    def group_maps(self) -> list[GroupMapJson]:
        return [g.to_json() for g in self._rt.vault.operator_groups.list(self._rt.actor)]

    def map_group(self, group_id: str, role: str, clients: list[str] | None) -> dict[str, Any]:
        return self._import().map_group(self._rt.actor, group_id, role, clients)

    def unmap_group(self, group_id: str) -> None:
        self._rt.vault.operator_groups.remove(self._rt.actor, group_id)


class RemoteSignIn:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def show(self) -> SignInSettingsJson | None:
        from credsync.errors import NotFound

        try:
            found: SignInSettingsJson = self._api.get("/sign-in/microsoft")
        except NotFound:
            return None
        return found

    def setup(
        self,
        *,
        tenant_id: str,
        client_id: str,
        redirect_uri: str,
        client_secret: Secret | None,
        authority: str | None,
        ca_pem: str | None,
    ) -> SignInSettingsJson:
        body = {
            "tenant_id": tenant_id,
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "client_secret": None if client_secret is None else client_secret.reveal(),
            "authority": authority,
            "ca_pem": ca_pem,
        }
        done: SignInSettingsJson = self._api.put("/sign-in/microsoft", body)
        return done

    def links(self) -> list[LinkedIdentityJson]:
        found: list[LinkedIdentityJson] = self._api.get("/sign-in/microsoft/links")
        return found

    def link(
        self, operator: str, object_id: str, tenant_id: str | None, username: str
    ) -> LinkedIdentityJson:
        body = {"object_id": object_id, "tenant_id": tenant_id, "username": username}
        done: LinkedIdentityJson = self._api.put(path_of("operators", operator, "microsoft"), body)
        return done

    def unlink(self, operator: str) -> None:
        self._api.delete(path_of("operators", operator, "microsoft"))

    def search(self, query: str, groups: bool) -> list[dict[str, Any]]:
        body = {"query": query, "groups": groups}
        found: list[dict[str, Any]] = self._api.post("/sign-in/microsoft/import/search", body)
        return found

    def sync(
        self, ids: list[str], role: str, clients: list[str] | None, dry_run: bool
    ) -> dict[str, Any]:
        body = {"ids": ids, "role": role, "clients": clients, "dry_run": dry_run}
        done: dict[str, Any] = self._api.post("/sign-in/microsoft/import", body)
        return done

    def group_maps(self) -> list[GroupMapJson]:
        found: list[GroupMapJson] = self._api.get("/sign-in/microsoft/groups")
        return found

    def map_group(self, group_id: str, role: str, clients: list[str] | None) -> dict[str, Any]:
        body = {"role": role, "clients": clients}
        done: dict[str, Any] = self._api.put(
            path_of("sign-in", "microsoft", "groups", group_id), body
        )
        return done

    def unmap_group(self, group_id: str) -> None:
        self._api.delete(path_of("sign-in", "microsoft", "groups", group_id))


def local(rt: LocalVault) -> SignInPort:
    return LocalSignIn(rt)


def remote(api: Remote) -> SignInPort:
    return RemoteSignIn(api)
