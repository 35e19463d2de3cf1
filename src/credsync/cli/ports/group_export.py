"""The export of a client's groups to one of its directories (issue 16; see
:mod:`credsync.sync.provision_groups`): the settings, a plan and an apply, as
``ExportSettings.to_json`` and ``ExportPlan.to_json`` make them both ways."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote

if TYPE_CHECKING:
    from credsync.sync.provision_groups import (
        GroupExportPlanJson,
        GroupExportSettingsJson,
        ProvisionGroups,
    )

__all__ = ["GroupExportPort", "LocalGroupExport", "RemoteGroupExport", "local", "remote"]


class GroupExportPort(Protocol):
    def settings(self, client: str, directory: str) -> GroupExportSettingsJson:
        """The directory's group export settings."""
        ...

    def configure(
        self, client: str, directory: str, changes: Mapping[str, Any]
    ) -> GroupExportSettingsJson:
        """Change the settings named in ``changes``."""
        ...

    def plan(self, client: str, directory: str, groups: Sequence[str]) -> GroupExportPlanJson:
        """What an apply would do; writes nothing."""
        ...

    def apply(
        self,
        client: str,
        directory: str,
        groups: Sequence[str],
        confirm_duplicates: Sequence[str] | None,
    ) -> GroupExportPlanJson:
        """Plan again and carry it out (duplicates removed only when confirmed)."""
        ...


class LocalGroupExport:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def _service(self) -> ProvisionGroups:
        from credsync.sync.provision_groups import ProvisionGroups  # the connectors: when used

        return ProvisionGroups(self._rt.vault, self._rt.keys, self._rt.actor)

    def settings(self, client: str, directory: str) -> GroupExportSettingsJson:
        return self._service().settings(client, directory).to_json()

    def configure(
        self, client: str, directory: str, changes: Mapping[str, Any]
    ) -> GroupExportSettingsJson:
        return self._service().configure(client, directory, changes).to_json()

    def plan(self, client: str, directory: str, groups: Sequence[str]) -> GroupExportPlanJson:
        return asyncio.run(self._service().plan(client, directory, groups)).to_json()

    def apply(
        self,
        client: str,
        directory: str,
        groups: Sequence[str],
        confirm_duplicates: Sequence[str] | None,
    ) -> GroupExportPlanJson:
        done = asyncio.run(
            self._service().apply(client, directory, groups, confirm_duplicates=confirm_duplicates)
        )
        return done.to_json()


class RemoteGroupExport:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def settings(self, client: str, directory: str) -> GroupExportSettingsJson:
        found: GroupExportSettingsJson = self._api.get(
            "/groups/export/settings", client=client, directory=directory
        )
        return found

    def configure(
        self, client: str, directory: str, changes: Mapping[str, Any]
    ) -> GroupExportSettingsJson:
        body = {"client": client, "directory": directory, **changes}
        done: GroupExportSettingsJson = self._api.patch("/groups/export/settings", body)
        return done

    def plan(self, client: str, directory: str, groups: Sequence[str]) -> GroupExportPlanJson:
        body = {"client": client, "directory": directory, "groups": list(groups)}
        found: GroupExportPlanJson = self._api.post("/groups/export/plan", body)
        return found

    def apply(
        self,
        client: str,
        directory: str,
        groups: Sequence[str],
        confirm_duplicates: Sequence[str] | None,
    ) -> GroupExportPlanJson:
        body = {
            "client": client,
            "directory": directory,
            "groups": list(groups),
            "confirm_duplicates": None if confirm_duplicates is None else list(confirm_duplicates),
        }
        done: GroupExportPlanJson = self._api.post("/groups/export/apply", body)
        return done


def local(rt: LocalVault) -> GroupExportPort:
    return LocalGroupExport(rt)


def remote(api: Remote) -> GroupExportPort:
    return RemoteGroupExport(api)
