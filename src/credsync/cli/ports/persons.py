"""People: a client's end users as identities (issue 16; ``people.py`` is the operators'):
list, search, show, add, edit (disable, enable), trash, restore. Fields travel by their JSON
names both ways."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import PAGE_MAX, Remote, path_of
from credsync.vault.credentials import check_limit
from credsync.vault.people_records import PersonJson

__all__ = ["LocalPersons", "PersonsPort", "RemotePersons", "local", "remote"]


class PersonsPort(Protocol):
    def list(
        self, client: str, *, trash: bool, limit: int, cursor: str | None
    ) -> tuple[builtins.list[PersonJson], str | None]:
        """A page by display name and the next page's cursor (None: the last)."""
        ...

    def search(self, text: str, *, client: str | None, limit: int) -> builtins.list[PersonJson]: ...

    def show(self, ref: str, client: str | None) -> PersonJson:
        """A person (one in the trash too)."""
        ...

    def add(self, client: str, fields: Mapping[str, Any]) -> PersonJson: ...

    def edit(self, ref: str, client: str | None, fields: Mapping[str, Any]) -> PersonJson: ...

    def delete(self, ref: str, client: str | None) -> PersonJson: ...

    def restore(self, ref: str, client: str | None) -> PersonJson: ...


class LocalPersons:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def list(
        self, client: str, *, trash: bool, limit: int, cursor: str | None
    ) -> tuple[builtins.list[PersonJson], str | None]:
        found, next_cursor = self._rt.vault.people.list(
            self._rt.actor, client, trash=trash, limit=limit, cursor=cursor
        )
        return [p.to_json() for p in found], next_cursor

    def search(self, text: str, *, client: str | None, limit: int) -> builtins.list[PersonJson]:
        found = self._rt.vault.people.search(self._rt.actor, text, client_ref=client, limit=limit)
        return [p.to_json() for p in found]

    def show(self, ref: str, client: str | None) -> PersonJson:
        return self._rt.vault.people.get(self._rt.actor, ref, client_ref=client).to_json()

    def add(self, client: str, fields: Mapping[str, Any]) -> PersonJson:
        return self._rt.vault.people.add(self._rt.actor, client, fields).to_json()

    def edit(self, ref: str, client: str | None, fields: Mapping[str, Any]) -> PersonJson:
        people = self._rt.vault.people
        return people.update(self._rt.actor, ref, fields, client_ref=client).to_json()

    def delete(self, ref: str, client: str | None) -> PersonJson:
        return self._rt.vault.people.delete(self._rt.actor, ref, client_ref=client).to_json()

    def restore(self, ref: str, client: str | None) -> PersonJson:
        return self._rt.vault.people.restore(self._rt.actor, ref, client_ref=client).to_json()


class RemotePersons:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def list(
        self, client: str, *, trash: bool, limit: int, cursor: str | None
    ) -> tuple[builtins.list[PersonJson], str | None]:
        check_limit(limit)  # as the local list says it; the API's pages are smaller
        rows: builtins.list[PersonJson] = []
        while True:  # pages of the API's size, up to the one asked for
            page = self._api.get(
                path_of("clients", client, "people"),
                trash=trash,
                limit=min(limit - len(rows), PAGE_MAX),
                cursor=cursor,
            )
            rows += page["items"]
            cursor = page["next_cursor"]
            if cursor is None or len(rows) >= limit:
                return rows, cursor

    def search(self, text: str, *, client: str | None, limit: int) -> builtins.list[PersonJson]:
        check_limit(limit)  # as the local search says it
        page = self._api.get("/people", q=text, client=client, limit=min(limit, PAGE_MAX))
        found: builtins.list[PersonJson] = page["items"]
        return found

    def show(self, ref: str, client: str | None) -> PersonJson:
        shown: PersonJson = self._api.get(path_of("people", ref), client=client)
        return shown

    def add(self, client: str, fields: Mapping[str, Any]) -> PersonJson:
        added: PersonJson = self._api.post(path_of("clients", client, "people"), dict(fields))
        return added

    def edit(self, ref: str, client: str | None, fields: Mapping[str, Any]) -> PersonJson:
        changed: PersonJson = self._api.patch(path_of("people", ref), dict(fields), client=client)
        return changed

    def delete(self, ref: str, client: str | None) -> PersonJson:
        gone: PersonJson = self._api.delete(path_of("people", ref), client=client)
        return gone

    def restore(self, ref: str, client: str | None) -> PersonJson:
        back: PersonJson = self._api.post(path_of("people", ref, "restore"), client=client)
        return back


def local(rt: LocalVault) -> LocalPersons:
    return LocalPersons(rt)


def remote(api: Remote) -> RemotePersons:
    return RemotePersons(api)
