"""Provisioning people to a client's directory (issue 16; see
:mod:`credsync.sync.provision_people`): a target directory's settings, the plan and the
apply, as ``ProvisioningSettings.to_json`` and ``ProvisionReport.to_json`` make them both
ways."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote
from credsync.sync.provision_people_report import ProvisionReportJson
from credsync.vault.provisioning import ProvisioningJson

if TYPE_CHECKING:
    from credsync.sync.provision_people import PeopleProvision

__all__ = ["LocalProvisioning", "ProvisioningPort", "RemoteProvisioning", "local", "remote"]


class ProvisioningPort(Protocol):
    def settings(self, directory: str) -> ProvisioningJson:
        """The directory's provisioning settings (version 0: never saved)."""
        ...

    def change_settings(self, directory: str, given: Mapping[str, Any]) -> ProvisioningJson:
        """Change what ``given`` names (the settings' JSON names)."""
        ...

    def plan(
        self, client: str, directory: str, *, people: Sequence[str], group: str | None
    ) -> ProvisionReportJson:
        """What an apply would write, per person; writes nothing."""
        ...

    def apply(
        self, client: str, directory: str, *, people: Sequence[str], group: str | None
    ) -> ProvisionReportJson:
        """Provision the selection: per person what was done, or refused and why."""
        ...


class LocalProvisioning:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def _service(self) -> PeopleProvision:
        from credsync.sync.provision_people import PeopleProvision  # the connectors: when used

        return PeopleProvision(self._rt.vault, self._rt.keys, self._rt.actor)

    def settings(self, directory: str) -> ProvisioningJson:
        found, settings = self._rt.vault.provisioning.settings(self._rt.actor, directory)
        return settings.to_json(found.name)

    def change_settings(self, directory: str, given: Mapping[str, Any]) -> ProvisioningJson:
        found, settings = self._rt.vault.provisioning.update(self._rt.actor, directory, given)
        return settings.to_json(found.name)

    def plan(
        self, client: str, directory: str, *, people: Sequence[str], group: str | None
    ) -> ProvisionReportJson:
        from credsync.sync.provision_people import ProvisionSelection

        chosen = ProvisionSelection(people=tuple(people), group=group)
        return asyncio.run(self._service().plan(client, directory, chosen)).to_json()

    def apply(
        self, client: str, directory: str, *, people: Sequence[str], group: str | None
    ) -> ProvisionReportJson:
        from credsync.sync.provision_people import ProvisionSelection

        chosen = ProvisionSelection(people=tuple(people), group=group)
        return asyncio.run(self._service().apply(client, directory, chosen)).to_json()


class RemoteProvisioning:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def settings(self, directory: str) -> ProvisioningJson:
        found: ProvisioningJson = self._api.get(
            f"/directories/{quote(directory, safe='')}/provisioning"
        )
        return found

    def change_settings(self, directory: str, given: Mapping[str, Any]) -> ProvisioningJson:
        found: ProvisioningJson = self._api.patch(
            f"/directories/{quote(directory, safe='')}/provisioning", dict(given)
        )
        return found

    def _post(
        self, step: str, client: str, directory: str, people: Sequence[str], group: str | None
    ) -> ProvisionReportJson:
        body = {"client": client, "directory": directory, "people": list(people), "group": group}
        done: ProvisionReportJson = self._api.post(f"/people/provision/{step}", body)
        return done

    def plan(
        self, client: str, directory: str, *, people: Sequence[str], group: str | None
    ) -> ProvisionReportJson:
        return self._post("plan", client, directory, people, group)

    def apply(
        self, client: str, directory: str, *, people: Sequence[str], group: str | None
    ) -> ProvisionReportJson:
        return self._post("apply", client, directory, people, group)


def local(rt: LocalVault) -> ProvisioningPort:
    return LocalProvisioning(rt)


def remote(api: Remote) -> ProvisioningPort:
    return RemoteProvisioning(api)
