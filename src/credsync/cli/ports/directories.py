"""Directories: add, list, show, change, remove, and test each step of reaching one.

What a directory takes is given as the inputs every boundary shares (each kind's settings and
ways to sign in by name, ``ca_pem``, ``insecure_skip_verify``, ``options``): the vault's
:class:`~credsync.vault.directories.DirectoryInput` locally, the API's JSON fields remotely.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote, path_of
from credsync.sync.connect import DirectoryTestJson
from credsync.vault.directories import DirectoryJson

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


def local(rt: LocalVault) -> LocalDirectories:
    return LocalDirectories(rt)


def remote(api: Remote) -> RemoteDirectories:
    return RemoteDirectories(api)
