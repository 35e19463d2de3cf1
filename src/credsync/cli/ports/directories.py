"""Directories: add, list, show, change, remove, and test each step of reaching one.

What a directory takes is given as the inputs every boundary shares (each kind's settings and
ways to sign in by name, ``ca_pem``, ``insecure_skip_verify``, ``options``): the vault's
:class:`~credsync.vault.directories.DirectoryInput` locally, the API's JSON fields remotely.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote, path_of
from credsync.sync.connect import DirectoryTestJson
from credsync.vault.directories import DirectoryJson

if TYPE_CHECKING:
    from credsync.sync.auto_create import AutoCreatePreviewJson
    from credsync.vault.auto_create_settings import AutoCreateJson

__all__ = ["DirectoriesPort", "LocalDirectories", "RemoteDirectories", "local", "remote"]


class DirectoriesPort(Protocol):
    def add(self, client: str, name: str, kind: str, given: Mapping[str, Any]) -> DirectoryJson:
        """A new directory of ``kind`` (its name) for ``client``."""
        ...

    def list(self, client: str | None) -> list[DirectoryJson]:
        """Directories by name (of one client, or all)."""
        ...

    def show(self, name: str) -> DirectoryJson: ...

    def change(self, name: str, given: Mapping[str, Any]) -> DirectoryJson:
        """Change what is given (its kind refuses what is not its own)."""
        ...

    def remove(self, name: str) -> DirectoryJson:
        """The directory as it was."""
        ...

    def test(self, name: str) -> DirectoryTestJson:
        """Each step of reaching it: step, outcome, detail; ``ok`` when none failed."""
        ...

    def auto_create(self, name: str) -> AutoCreateJson:
        """The directory's auto-create settings."""
        ...

    def change_auto_create(self, name: str, given: Mapping[str, Any]) -> AutoCreateJson:
        """Change what is given (the settings' JSON names)."""
        ...

    def auto_create_dry_run(self, name: str) -> AutoCreatePreviewJson:
        """What auto-create would make now (it reads the directory; nothing stored)."""
        ...


class LocalDirectories:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def add(self, client: str, name: str, kind: str, given: Mapping[str, Any]) -> DirectoryJson:
        from credsync.vault.directories import DirectoryInput

        directories = self._rt.vault.directories
        return directories.add(
            self._rt.actor, client, name, kind, DirectoryInput.of(given)
        ).to_json()

    def list(self, client: str | None) -> list[DirectoryJson]:
        return [d.to_json() for d in self._rt.vault.directories.list(self._rt.actor, client)]

    def show(self, name: str) -> DirectoryJson:
        return self._rt.vault.directories.get(self._rt.actor, name).to_json()

    def change(self, name: str, given: Mapping[str, Any]) -> DirectoryJson:
        from credsync.vault.directories import DirectoryInput

        directories = self._rt.vault.directories
        return directories.update(self._rt.actor, name, DirectoryInput.of(given)).to_json()

    def remove(self, name: str) -> DirectoryJson:
        return self._rt.vault.directories.remove(self._rt.actor, name).to_json()

    def test(self, name: str) -> DirectoryTestJson:
        from credsync.sync.connect import directory_test_steps, directory_tested

        vault, actor = self._rt.vault, self._rt.actor
        directory = vault.directories.get(actor, name)
        steps = asyncio.run(directory_test_steps(vault.db, self._rt.keys, actor, directory))
        return directory_tested(directory.name, steps)

    def auto_create(self, name: str) -> AutoCreateJson:
        directory, settings = self._rt.vault.auto_create.get(self._rt.actor, name)
        return settings.to_json(directory.name)

    def change_auto_create(self, name: str, given: Mapping[str, Any]) -> AutoCreateJson:
        auto = self._rt.vault.auto_create
        directory, settings = auto.update(self._rt.actor, name, given)
        return settings.to_json(directory.name)

    def auto_create_dry_run(self, name: str) -> AutoCreatePreviewJson:
        from credsync.sync.auto_create import preview

        shown = preview(self._rt.vault, self._rt.keys, self._rt.actor, name)
        return asyncio.run(shown).to_json()


class RemoteDirectories:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def add(self, client: str, name: str, kind: str, given: Mapping[str, Any]) -> DirectoryJson:
        added: DirectoryJson = self._api.post(
            "/directories", {"client": client, "name": name, "kind": kind, **given}
        )
        return added

    def list(self, client: str | None) -> list[DirectoryJson]:
        rows: list[DirectoryJson] = self._api.get("/directories", client=client)
        return rows

    def show(self, name: str) -> DirectoryJson:
        shown: DirectoryJson = self._api.get(path_of("directories", name))
        return shown

    def change(self, name: str, given: Mapping[str, Any]) -> DirectoryJson:
        changed: DirectoryJson = self._api.patch(path_of("directories", name), dict(given))
        return changed

    def remove(self, name: str) -> DirectoryJson:
        removed: DirectoryJson = self._api.delete(path_of("directories", name))
        return removed

    def test(self, name: str) -> DirectoryTestJson:
        tested: DirectoryTestJson = self._api.post(path_of("directories", name, "test"))
        return tested

    def auto_create(self, name: str) -> AutoCreateJson:
        shown: AutoCreateJson = self._api.get(path_of("directories", name, "auto-create"))
        return shown

    def change_auto_create(self, name: str, given: Mapping[str, Any]) -> AutoCreateJson:
        where = path_of("directories", name, "auto-create")
        changed: AutoCreateJson = self._api.patch(where, dict(given))
        return changed

    def auto_create_dry_run(self, name: str) -> AutoCreatePreviewJson:
        where = path_of("directories", name, "auto-create", "dry-run")
        shown: AutoCreatePreviewJson = self._api.post(where)
        return shown


def local(rt: LocalVault) -> LocalDirectories:
    return LocalDirectories(rt)


def remote(api: Remote) -> RemoteDirectories:
    return RemoteDirectories(api)
