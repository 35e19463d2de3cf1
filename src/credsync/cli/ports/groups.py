"""Groups: a client's security and Microsoft 365 groups (issue 16): list, search, show,
add, edit, trash, restore, and members (list, add, remove)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import PAGE_MAX, Remote, path_of
from credsync.vault.credentials import check_limit
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


class LocalGroups:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def list(
        self, client: str, *, trash: bool, limit: int, cursor: str | None
    ) -> tuple[builtins.list[GroupJson], str | None]:
        found, next_cursor = self._rt.vault.groups.list(
            self._rt.actor, client, trash=trash, limit=limit, cursor=cursor
        )
        return [g.to_json() for g in found], next_cursor

    def search(self, text: str, *, client: str | None, limit: int) -> builtins.list[GroupJson]:
        found = self._rt.vault.groups.search(self._rt.actor, text, client_ref=client, limit=limit)
        return [g.to_json() for g in found]

    def show(self, ref: str, client: str | None) -> GroupJson:
        return self._rt.vault.groups.get(self._rt.actor, ref, client_ref=client).to_json()

    def add(self, client: str, fields: Mapping[str, Any]) -> GroupJson:
        return self._rt.vault.groups.add(self._rt.actor, client, fields).to_json()

    def edit(self, ref: str, client: str | None, fields: Mapping[str, Any]) -> GroupJson:
        groups = self._rt.vault.groups
        return groups.update(self._rt.actor, ref, fields, client_ref=client).to_json()

    def delete(self, ref: str, client: str | None) -> GroupJson:
        return self._rt.vault.groups.delete(self._rt.actor, ref, client_ref=client).to_json()

    def restore(self, ref: str, client: str | None) -> GroupJson:
        return self._rt.vault.groups.restore(self._rt.actor, ref, client_ref=client).to_json()

    def members(self, ref: str, client: str | None) -> builtins.list[MemberJson]:
        return self._rt.vault.groups.members(self._rt.actor, ref, client_ref=client)

    def add_member(self, ref: str, client: str | None, kind: str, member: str) -> GroupJson:
        groups = self._rt.vault.groups
        return groups.add_member(
            self._rt.actor,
            ref,
            member,
            kind=kind,
            client_ref=client,
        ).to_json()

    def remove_member(self, ref: str, client: str | None, kind: str, member: str) -> GroupJson:
        groups = self._rt.vault.groups
        return groups.remove_member(
            self._rt.actor,
            ref,
            member,
            kind=kind,
            client_ref=client,
        ).to_json()


class RemoteGroups:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def list(
        self, client: str, *, trash: bool, limit: int, cursor: str | None
    ) -> tuple[builtins.list[GroupJson], str | None]:
        check_limit(limit)  # as the local list says it; the API's pages are smaller
        rows: builtins.list[GroupJson] = []
        while True:  # pages of the API's size, up to the one asked for
            page = self._api.get(
                path_of("clients", client, "groups"),
                trash=trash,
                limit=min(limit - len(rows), PAGE_MAX),
                cursor=cursor,
            )
            rows += page["items"]
            cursor = page["next_cursor"]
            if cursor is None or len(rows) >= limit:
                return rows, cursor

    def search(self, text: str, *, client: str | None, limit: int) -> builtins.list[GroupJson]:
        check_limit(limit)  # as the local search says it
        page = self._api.get("/groups", q=text, client=client, limit=min(limit, PAGE_MAX))
        found: builtins.list[GroupJson] = page["items"]
        return found

    def show(self, ref: str, client: str | None) -> GroupJson:
        shown: GroupJson = self._api.get(path_of("groups", ref), client=client)
        return shown

    def add(self, client: str, fields: Mapping[str, Any]) -> GroupJson:
        added: GroupJson = self._api.post(path_of("clients", client, "groups"), dict(fields))
        return added

    def edit(self, ref: str, client: str | None, fields: Mapping[str, Any]) -> GroupJson:
        changed: GroupJson = self._api.patch(path_of("groups", ref), dict(fields), client=client)
        return changed

    def delete(self, ref: str, client: str | None) -> GroupJson:
        gone: GroupJson = self._api.delete(path_of("groups", ref), client=client)
        return gone

    def restore(self, ref: str, client: str | None) -> GroupJson:
        back: GroupJson = self._api.post(path_of("groups", ref, "restore"), client=client)
        return back

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


def local(rt: LocalVault) -> LocalGroups:
    return LocalGroups(rt)


def remote(api: Remote) -> RemoteGroups:
    return RemoteGroups(api)
