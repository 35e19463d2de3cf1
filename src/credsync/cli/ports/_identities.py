"""What the people's and the groups' ports share (:mod:`credsync.cli.ports.persons`,
:mod:`credsync.cli.ports.groups`): list, search, show, add, edit, trash and restore, over the
vault's identity service (local) or the API's routes of the kind (remote). ``J`` is the
record's JSON shape."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from credsync.cli.ports import LocalVault
from credsync.cli.remote import PAGE_MAX, Remote, path_of
from credsync.vault.credentials import check_limit

__all__ = ["LocalIdentities", "RemoteIdentities"]

J = TypeVar("J")


class LocalIdentities(Generic[J]):
    """Over the vault's service of the kind (``vault.people``, ``vault.groups``)."""

    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    @property
    def _service(self) -> Any:
        raise NotImplementedError

    def list(
        self, client: str, *, trash: bool, limit: int, cursor: str | None
    ) -> tuple[builtins.list[J], str | None]:
        found, next_cursor = self._service.list(
            self._rt.actor, client, trash=trash, limit=limit, cursor=cursor
        )
        return [r.to_json() for r in found], next_cursor

    def search(self, text: str, *, client: str | None, limit: int) -> builtins.list[J]:
        found = self._service.search(self._rt.actor, text, client_ref=client, limit=limit)
        return [r.to_json() for r in found]

    def show(self, ref: str, client: str | None) -> J:
        shown: J = self._service.get(self._rt.actor, ref, client_ref=client).to_json()
        return shown

    def add(self, client: str, fields: Mapping[str, Any]) -> J:
        added: J = self._service.add(self._rt.actor, client, fields).to_json()
        return added

    def edit(self, ref: str, client: str | None, fields: Mapping[str, Any]) -> J:
        service = self._service
        changed: J = service.update(self._rt.actor, ref, fields, client_ref=client).to_json()
        return changed

    def delete(self, ref: str, client: str | None) -> J:
        gone: J = self._service.delete(self._rt.actor, ref, client_ref=client).to_json()
        return gone

    def restore(self, ref: str, client: str | None) -> J:
        back: J = self._service.restore(self._rt.actor, ref, client_ref=client).to_json()
        return back


class RemoteIdentities(Generic[J]):
    """Over the API: ``/clients/{client}/<kind>`` to list and add, ``/<kind>`` to search,
    ``/<kind>/{ref}`` for one."""

    _kind: str  # the API's path segment: people, groups

    def __init__(self, api: Remote) -> None:
        self._api = api

    def list(
        self, client: str, *, trash: bool, limit: int, cursor: str | None
    ) -> tuple[builtins.list[J], str | None]:
        check_limit(limit)  # as the local list says it; the API's pages are smaller
        rows: builtins.list[J] = []
        while True:  # pages of the API's size, up to the one asked for
            page = self._api.get(
                path_of("clients", client, self._kind),
                trash=trash,
                limit=min(limit - len(rows), PAGE_MAX),
                cursor=cursor,
            )
            rows += page["items"]
            cursor = page["next_cursor"]
            if cursor is None or len(rows) >= limit:
                return rows, cursor

    def search(self, text: str, *, client: str | None, limit: int) -> builtins.list[J]:
        check_limit(limit)  # as the local search says it
        page = self._api.get(f"/{self._kind}", q=text, client=client, limit=min(limit, PAGE_MAX))
        found: builtins.list[J] = page["items"]
        return found

    def show(self, ref: str, client: str | None) -> J:
        shown: J = self._api.get(path_of(self._kind, ref), client=client)
        return shown

    def add(self, client: str, fields: Mapping[str, Any]) -> J:
        added: J = self._api.post(path_of("clients", client, self._kind), dict(fields))
        return added

    def edit(self, ref: str, client: str | None, fields: Mapping[str, Any]) -> J:
        changed: J = self._api.patch(path_of(self._kind, ref), dict(fields), client=client)
        return changed

    def delete(self, ref: str, client: str | None) -> J:
        gone: J = self._api.delete(path_of(self._kind, ref), client=client)
        return gone

    def restore(self, ref: str, client: str | None) -> J:
        back: J = self._api.post(path_of(self._kind, ref, "restore"), client=client)
        return back
