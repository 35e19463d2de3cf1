"""The import of people and groups from a client's directory (issue 16; see
:mod:`credsync.sync.people_import`): a search's preview and a synchronisation's report (a dry
run too), as ``Preview.to_json`` and ``ImportReport.to_json`` make them both ways."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote
from credsync.sync.people_import_report import PeopleImportPreviewJson, PeopleImportReportJson

if TYPE_CHECKING:
    from credsync.sync.people_import import PeopleImport

__all__ = ["LocalPeopleImport", "PeopleImportPort", "RemotePeopleImport", "local", "remote"]


class PeopleImportPort(Protocol):
    def search(
        self, client: str, directory: str, query: str, *, groups: bool, limit: int
    ) -> PeopleImportPreviewJson:
        """What ``query`` finds in the directory, each object with the person / group of the
        client it already is; writes nothing."""
        ...

    def sync(
        self,
        client: str,
        directory: str,
        *,
        ids: Sequence[str],
        query: str | None,
        groups: bool,
        members: bool,
        dry_run: bool,
    ) -> PeopleImportReportJson:
        """Import the objects ``ids``, or every result of ``query``: one line per object; a
        ``dry_run`` keeps nothing."""
        ...


class LocalPeopleImport:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def _importer(self) -> PeopleImport:
        from credsync.sync.people_import import PeopleImport  # the connectors: when used

        return PeopleImport(self._rt.vault, self._rt.keys, self._rt.actor)

    def search(
        self, client: str, directory: str, query: str, *, groups: bool, limit: int
    ) -> PeopleImportPreviewJson:
        found = asyncio.run(
            self._importer().search(client, directory, query, groups=groups, limit=limit)
        )
        return found.to_json()

    def sync(
        self,
        client: str,
        directory: str,
        *,
        ids: Sequence[str],
        query: str | None,
        groups: bool,
        members: bool,
        dry_run: bool,
    ) -> PeopleImportReportJson:
        from credsync.sync.people_import import Selection

        chosen = Selection(ids=tuple(ids), query=query, groups=groups, members=members)
        done = asyncio.run(self._importer().sync(client, directory, chosen, dry_run=dry_run))
        return done.to_json()


class RemotePeopleImport:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def search(
        self, client: str, directory: str, query: str, *, groups: bool, limit: int
    ) -> PeopleImportPreviewJson:
        body = {
            "client": client,
            "directory": directory,
            "query": query,
            "groups": groups,
            "limit": limit,
        }
        found: PeopleImportPreviewJson = self._api.post("/people/import/search", body)
        return found

    def sync(
        self,
        client: str,
        directory: str,
        *,
        ids: Sequence[str],
        query: str | None,
        groups: bool,
        members: bool,
        dry_run: bool,
    ) -> PeopleImportReportJson:
        body = {
            "client": client,
            "directory": directory,
            "ids": list(ids),
            "query": query,
            "groups": groups,
            "members": members,
            "dry_run": dry_run,
        }
        done: PeopleImportReportJson = self._api.post("/people/import/sync", body)
        return done


def local(rt: LocalVault) -> PeopleImportPort:
    return LocalPeopleImport(rt)


def remote(api: Remote) -> PeopleImportPort:
    return RemotePeopleImport(api)
