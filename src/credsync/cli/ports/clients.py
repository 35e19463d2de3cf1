"""Clients and their folders. A client's record is the API's: the vault's ``Client.to_json``
with its credential count and its number of open flags (``ClientJson``)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Protocol

from credsync.cli.ports import Confirm, LocalVault, Record, with_confirmation
from credsync.cli.remote import Remote, path_of

if TYPE_CHECKING:
    from credsync.vault.models import Client, ClientJson, FolderJson

__all__ = ["ClientsPort", "LocalClients", "RemoteClients", "local", "remote"]


class ClientsPort(Protocol):
    def list(self, *, archived: bool = False) -> builtins.list[ClientJson]: ...

    def get(self, ref: str) -> ClientJson: ...

    def add(
        self,
        name: str,
        *,
        directory_sync: bool,
        default_sync_mode: str,
        rotate_every_days: int | None = None,
    ) -> ClientJson: ...

    def rename(self, ref: str, new_name: str, *, version: int | None = None) -> ClientJson: ...

    def set_archived(self, ref: str, archived: bool) -> ClientJson: ...

    def configure(
        self,
        ref: str,
        *,
        directory_sync: bool | None,
        default_sync_mode: str | None,
        version: int | None,
        confirm: Confirm,
    ) -> ClientJson:
        """The directory-sync switch and the default sync mode; a switch of the default to
        enforce goes ahead once ``confirm`` has seen what it overwrites."""
        ...

    def set_rotation(self, ref: str, days: int | None, *, version: int | None) -> ClientJson:
        """The rotation interval in days (None: no rotation)."""
        ...

    def folders(self, ref: str) -> builtins.list[FolderJson]: ...

    def add_folder(self, ref: str, path: str) -> FolderJson: ...

    def delete_folder(self, ref: str, path: str) -> FolderJson: ...


class LocalClients:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def _shown(self, client: Client, open_flags: dict[str, int] | None = None) -> ClientJson:
        vault, actor = self._rt.vault, self._rt.actor
        if client.credential_count is None:
            client = vault.clients.get(actor, client.id)
        counts = vault.flags.counts(actor) if open_flags is None else open_flags
        return client.to_json(open_flags=counts.get(client.name, 0))

    def list(self, *, archived: bool = False) -> builtins.list[ClientJson]:
        vault, actor = self._rt.vault, self._rt.actor
        found = vault.clients.list(actor, include_archived=archived)
        counts = vault.flags.counts(actor)
        return [self._shown(c, counts) for c in found]

    def get(self, ref: str) -> ClientJson:
        return self._shown(self._rt.vault.clients.get(self._rt.actor, ref))

    def add(
        self,
        name: str,
        *,
        directory_sync: bool,
        default_sync_mode: str,
        rotate_every_days: int | None = None,
    ) -> ClientJson:
        from credsync.types import SyncMode

        rt = self._rt
        client = rt.vault.clients.add(
            rt.actor,
            rt.keys,
            name,
            directory_sync=directory_sync,
            default_sync_mode=SyncMode(default_sync_mode),
            rotate_every_days=rotate_every_days,
        )
        return self._shown(client)

    def rename(self, ref: str, new_name: str, *, version: int | None = None) -> ClientJson:
        rt = self._rt
        return self._shown(
            rt.vault.clients.rename(rt.actor, ref, new_name, expected_version=version)
        )

    def set_archived(self, ref: str, archived: bool) -> ClientJson:
        return self._shown(self._rt.vault.clients.set_archived(self._rt.actor, ref, archived))

    def configure(
        self,
        ref: str,
        *,
        directory_sync: bool | None,
        default_sync_mode: str | None,
        version: int | None,
        confirm: Confirm,
    ) -> ClientJson:
        from credsync.sync.enforce import EnforceSwitches
        from credsync.types import SyncMode

        actor = self._rt.actor
        switches = EnforceSwitches(self._rt.vault)
        mode = SyncMode(default_sync_mode) if default_sync_mode else None
        client = with_confirmation(
            lambda sure: switches.configure_client(
                actor,
                ref,
                directory_sync=directory_sync,
                default_sync_mode=mode,
                confirmed=sure,
                expected_version=version,
            ),
            confirm,
        )
        return self._shown(client)

    def set_rotation(self, ref: str, days: int | None, *, version: int | None) -> ClientJson:
        rt = self._rt
        return self._shown(
            rt.vault.clients.set_rotation(rt.actor, ref, days, expected_version=version)
        )

    def folders(self, ref: str) -> builtins.list[FolderJson]:
        return [f.to_json() for f in self._rt.vault.clients.folders(self._rt.actor, ref)]

    def add_folder(self, ref: str, path: str) -> FolderJson:
        return self._rt.vault.clients.add_folder(self._rt.actor, ref, path).to_json()

    def delete_folder(self, ref: str, path: str) -> FolderJson:
        return self._rt.vault.clients.delete_folder(self._rt.actor, ref, path).to_json()


class RemoteClients:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def list(self, *, archived: bool = False) -> builtins.list[ClientJson]:
        rows: builtins.list[ClientJson] = self._api.get("/clients", archived=archived)
        return rows

    def get(self, ref: str) -> ClientJson:
        client: ClientJson = self._api.get(path_of("clients", ref))
        return client

    def add(
        self,
        name: str,
        *,
        directory_sync: bool,
        default_sync_mode: str,
        rotate_every_days: int | None = None,
    ) -> ClientJson:
        body = {
            "name": name,
            "directory_sync": directory_sync,
            "default_sync_mode": default_sync_mode,
            "rotate_every_days": rotate_every_days,
        }
        client: ClientJson = self._api.post("/clients", body)
        return client

    def _patch(self, ref: str, body: Record, *, confirm: bool = False) -> ClientJson:
        client: ClientJson = self._api.patch(path_of("clients", ref), body, confirm=confirm or None)
        return client

    def rename(self, ref: str, new_name: str, *, version: int | None = None) -> ClientJson:
        return self._patch(ref, {"name": new_name, "version": version})

    def set_archived(self, ref: str, archived: bool) -> ClientJson:
        return self._patch(ref, {"archived": archived})

    def configure(
        self,
        ref: str,
        *,
        directory_sync: bool | None,
        default_sync_mode: str | None,
        version: int | None,
        confirm: Confirm,
    ) -> ClientJson:
        from credsync.types import SyncMode
        from credsync.vault.clients import configuration

        # The API's PATCH changes what is given, nothing too; a configure changes something.
        mode = SyncMode(default_sync_mode) if default_sync_mode else None
        configuration(directory_sync, mode)
        body = {
            "directory_sync": directory_sync,
            "default_sync_mode": default_sync_mode,
            "version": version,
        }
        return with_confirmation(lambda sure: self._patch(ref, body, confirm=sure), confirm)

    def set_rotation(self, ref: str, days: int | None, *, version: int | None) -> ClientJson:
        return self._patch(ref, {"rotate_every_days": days, "version": version})

    def folders(self, ref: str) -> builtins.list[FolderJson]:
        rows: builtins.list[FolderJson] = self._api.get(path_of("clients", ref, "folders"))
        return rows

    def add_folder(self, ref: str, path: str) -> FolderJson:
        folder: FolderJson = self._api.post(path_of("clients", ref, "folders"), {"path": path})
        return folder

    def delete_folder(self, ref: str, path: str) -> FolderJson:
        folder: FolderJson = self._api.delete(path_of("clients", ref, "folders", path))
        return folder


def local(rt: LocalVault) -> ClientsPort:
    return LocalClients(rt)


def remote(api: Remote) -> ClientsPort:
    return RemoteClients(api)
