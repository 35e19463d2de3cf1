"""Groups: a client's security and Microsoft 365 groups (issue 16): list, search, show,
add, edit, trash, restore, and members (list, add, remove)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.ports._identities import LocalIdentities, RemoteIdentities
from credsync.cli.remote import Remote, path_of
from credsync.vault.group_records import GroupJson, MemberJson

__all__ = ["GroupsPort", "LocalGroups", "RemoteGroups", "local", "remote"]


class GroupsPort(Protocol):
    def list(
        self, client: str, *, trash: bool, limit: int, cursor: str | None
    ) -> tuple[builtins.list[GroupJson], str | None]: ...

    def search(self, text: str, *, client: str | None, limit: int) -> builtins.list[GroupJson]: ...

    def show(self, ref: str, client: str | None) -> GroupJson: ...

    def add(self, client: str, fields: Mapping[str, Any]) -> GroupJson: ...

    def edit(self, ref: str, client: str | None, fields: Mapping[str, Any]) -> GroupJson: ...

    def delete(self, ref: str, client: str | None) -> GroupJson: ...

    def restore(self, ref: str, client: str | None) -> GroupJson: ...

    def members(self, ref: str, client: str | None) -> builtins.list[MemberJson]: ...

    def add_member(self, ref: str, client: str | None, kind: str, member: str) -> GroupJson: ...

    def remove_member(self, ref: str, client: str | None, kind: str, member: str) -> GroupJson: ...


class LocalGroups(LocalIdentities[GroupJson]):
    @property
    def _service(self) -> Any:
        return self._rt.vault.groups

    def members(self, ref: str, client: str | None) -> builtins.list[MemberJson]:
        return self._rt.vault.groups.members(self._rt.actor, ref, client_ref=client)

    def add_member(self, ref: str, client: str | None, kind: str, member: str) -> GroupJson:
        groups = self._rt.vault.groups
        added = groups.add_member(self._rt.actor, ref, member, kind=kind, client_ref=client)
        return added.to_json()

    def remove_member(self, ref: str, client: str | None, kind: str, member: str) -> GroupJson:
        groups = self._rt.vault.groups
        removed = groups.remove_member(self._rt.actor, ref, member, kind=kind, client_ref=client)
        return removed.to_json()


class RemoteGroups(RemoteIdentities[GroupJson]):
    _kind = "groups"

    def members(self, ref: str, client: str | None) -> builtins.list[MemberJson]:
        found: builtins.list[MemberJson] = self._api.get(
            path_of("groups", ref, "members"), client=client
        )
        return found

    def add_member(self, ref: str, client: str | None, kind: str, member: str) -> GroupJson:
        body = {"type": kind, "member": member}
        added: GroupJson = self._api.post(path_of("groups", ref, "members"), body, client=client)
        return added

    def remove_member(self, ref: str, client: str | None, kind: str, member: str) -> GroupJson:
        path = path_of("groups", ref, "members", kind, member)
        removed: GroupJson = self._api.delete(path, client=client)
        return removed


def local(rt: LocalVault) -> GroupsPort:
    return LocalGroups(rt)


def remote(api: Remote) -> GroupsPort:
    return RemoteGroups(api)
