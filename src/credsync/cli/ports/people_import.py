"""The import of people and groups from a client's directory (issue 16; see
:mod:`credsync.sync.people_import`): a search's preview and a synchronisation's report (a dry
run too), as ``Preview.to_json`` and ``ImportReport.to_json`` make them both ways."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote
from credsync.sync.people_import_report import PeopleImportPreviewJson, PeopleImportReportJson
from credsync.sync.people_selection_model import SelectionJson, SelectionRunJson

if TYPE_CHECKING:
    from credsync.sync.people_import import PeopleImport, Selection
    from credsync.sync.people_onboarding import Provisioning as Policy
    from credsync.sync.people_selections import SavedSelections

# What a saved selection or an import into a group takes, as the API's bodies have it:
# the selection (ids, query, groups, members) and ``provisioning`` (into_group, folder,
# sync_mode, invite) or None.
Provisioning = Mapping[str, Any] | None

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
        provisioning: Provisioning = None,
    ) -> PeopleImportReportJson:
        """Import the objects ``ids``, or every result of ``query``: one line per object; a
        ``dry_run`` keeps nothing; ``provisioning``: into a group with a policy."""
        ...

    def save(
        self,
        client: str,
        directory: str,
        name: str,
        *,
        ids: Sequence[str],
        query: str | None,
        groups: bool,
        members: bool,
        interval: int | None,
        enabled: bool,
        provisioning: Provisioning,
    ) -> SelectionJson:
        """Save (or replace) a named selection of the client."""
        ...

    def selections(self, client: str) -> list[SelectionJson]:
        """The client's saved selections."""
        ...

    def selection_runs(self, client: str, name: str) -> list[SelectionRunJson]:
        """A saved selection's newest runs first."""
        ...

    def get_selection(self, client: str, name: str) -> SelectionJson: ...

    def run_selection(self, client: str, name: str) -> SelectionRunJson:
        """Run a saved selection now."""
        ...

    def remove_selection(self, client: str, name: str) -> SelectionJson: ...


def _selection(
    ids: Sequence[str], query: str | None, groups: bool, members: bool, provisioning: Provisioning
) -> tuple[Selection, Policy | None]:
    """The selection and the provisioning policy (or None) that the arguments name, for an
    import and for a saved selection alike."""
    from credsync.sync.people_import import Selection
    from credsync.sync.people_onboarding import Provisioning as Policy

    chosen = Selection(ids=tuple(ids), query=query, groups=groups, members=members)
    return chosen, Policy.from_json(provisioning) if provisioning else None


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
        provisioning: Provisioning = None,
    ) -> PeopleImportReportJson:
        chosen, policy = _selection(ids, query, groups, members, provisioning)
        done = asyncio.run(
            self._importer().sync(client, directory, chosen, dry_run=dry_run, provisioning=policy)
        )
        return done.to_json()

    def _saved(self) -> SavedSelections:
        from credsync.sync.people_selections import SavedSelections

        return SavedSelections(self._rt.vault, self._rt.keys, self._rt.actor)

    def save(
        self,
        client: str,
        directory: str,
        name: str,
        *,
        ids: Sequence[str],
        query: str | None,
        groups: bool,
        members: bool,
        interval: int | None,
        enabled: bool,
        provisioning: Provisioning,
    ) -> SelectionJson:
        chosen, policy = _selection(ids, query, groups, members, provisioning)
        made = self._saved().save(
            client, directory, name, chosen, interval=interval, enabled=enabled,
            provisioning=policy,
        )  # fmt: skip
        return made.to_json()

    def selections(self, client: str) -> list[SelectionJson]:
        return [s.to_json() for s in self._saved().list(client)]

    def selection_runs(self, client: str, name: str) -> list[SelectionRunJson]:
        return self._saved().runs(client, name)

    def get_selection(self, client: str, name: str) -> SelectionJson:
        return self._saved().get(client, name).to_json()

    def run_selection(self, client: str, name: str) -> SelectionRunJson:
        return asyncio.run(self._saved().run(client, name))

    def remove_selection(self, client: str, name: str) -> SelectionJson:
        return self._saved().remove(client, name).to_json()


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
        provisioning: Provisioning = None,
    ) -> PeopleImportReportJson:
        body: dict[str, Any] = {
            "client": client,
            "directory": directory,
            "ids": list(ids),
            "query": query,
            "groups": groups,
            "members": members,
            "dry_run": dry_run,
            "provisioning": dict(provisioning) if provisioning else None,
        }
        done: PeopleImportReportJson = self._api.post("/people/import/sync", body)
        return done

    @staticmethod
    def _path(client: str, name: str | None = None) -> str:
        path = f"/clients/{quote(client, safe='')}/people/import/selections"
        return path if name is None else f"{path}/{quote(name, safe='')}"

    def save(
        self,
        client: str,
        directory: str,
        name: str,
        *,
        ids: Sequence[str],
        query: str | None,
        groups: bool,
        members: bool,
        interval: int | None,
        enabled: bool,
        provisioning: Provisioning,
    ) -> SelectionJson:
        body = {
            "directory": directory,
            "name": name,
            "ids": list(ids),
            "query": query,
            "groups": groups,
            "members": members,
            "interval": interval,
            "enabled": enabled,
            "provisioning": dict(provisioning) if provisioning else None,
        }
        made: SelectionJson = self._api.post(self._path(client), body)
        return made

    def selections(self, client: str) -> list[SelectionJson]:
        found: list[SelectionJson] = self._api.get(self._path(client))
        return found

    def selection_runs(self, client: str, name: str) -> list[SelectionRunJson]:
        found: list[SelectionRunJson] = self._api.get(self._path(client, name) + "/runs")
        return found

    def get_selection(self, client: str, name: str) -> SelectionJson:
        found: SelectionJson = self._api.get(self._path(client, name))
        return found

    def run_selection(self, client: str, name: str) -> SelectionRunJson:
        done: SelectionRunJson = self._api.post(self._path(client, name) + "/run", {})
        return done

    def remove_selection(self, client: str, name: str) -> SelectionJson:
        gone: SelectionJson = self._api.delete(self._path(client, name))
        return gone


def local(rt: LocalVault) -> PeopleImportPort:
    return LocalPeopleImport(rt)


def remote(api: Remote) -> PeopleImportPort:
    return RemotePeopleImport(api)
