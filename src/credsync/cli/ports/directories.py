"""Directories: add, list, show, change, remove, and test each step of reaching one.

What a directory takes is given as the inputs every boundary shares (each kind's settings and
ways to sign in by name, ``ca_pem``, ``insecure_skip_verify``, ``options``): the vault's
:class:`~credsync.vault.directories.DirectoryInput` locally, the API's JSON fields remotely.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Mapping
from typing import Any, Protocol

from credsync.cli.ports import LocalVault, Record
from credsync.cli.remote import Remote, path_of

__all__ = ["DirectoriesPort", "LocalDirectories", "RemoteDirectories", "local", "remote"]


class DirectoriesPort(Protocol):
    def add(self, client: str, name: str, kind: str, given: Mapping[str, Any]) -> Record:
        """A new directory of ``kind`` (its name) for ``client``."""
        ...

    def list(self, client: str | None) -> list[Record]:
        """Directories by name (of one client, or all)."""
        ...

    def show(self, name: str) -> Record: ...

    def change(self, name: str, given: Mapping[str, Any]) -> Record:
        """Change what is given (its kind refuses what is not its own)."""
        ...

    def remove(self, name: str) -> Record:
        """The directory as it was."""
        ...

    def test(self, name: str) -> builtins.list[Record]:
        """Each step of reaching it: step, outcome, detail."""
        ...


class LocalDirectories:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def add(self, client: str, name: str, kind: str, given: Mapping[str, Any]) -> Record:
        from credsync.vault.directories import DirectoryInput

        directories = self._rt.vault.directories
        return directories.add(
            self._rt.actor, client, name, kind, DirectoryInput.of(given)
        ).to_json()

    def list(self, client: str | None) -> list[Record]:
        return [d.to_json() for d in self._rt.vault.directories.list(self._rt.actor, client)]

    def show(self, name: str) -> Record:
        return self._rt.vault.directories.get(self._rt.actor, name).to_json()

    def change(self, name: str, given: Mapping[str, Any]) -> Record:
        from credsync.vault.directories import DirectoryInput

        directories = self._rt.vault.directories
        return directories.update(self._rt.actor, name, DirectoryInput.of(given)).to_json()

    def remove(self, name: str) -> Record:
        return self._rt.vault.directories.remove(self._rt.actor, name).to_json()

    def test(self, name: str) -> builtins.list[Record]:
        from credsync.sync.connect import directory_test_steps

        vault, actor = self._rt.vault, self._rt.actor
        directory = vault.directories.get(actor, name)
        steps = asyncio.run(directory_test_steps(vault.db, self._rt.keys, actor, directory))
        return [{"step": s.name, "outcome": s.outcome.value, "detail": s.detail} for s in steps]


class RemoteDirectories:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def add(self, client: str, name: str, kind: str, given: Mapping[str, Any]) -> Record:
        added: Record = self._api.post(
            "/directories", {"client": client, "name": name, "kind": kind, **given}
        )
        return added

    def list(self, client: str | None) -> list[Record]:
        rows: list[Record] = self._api.get("/directories", client=client)
        return rows

    def show(self, name: str) -> Record:
        shown: Record = self._api.get(path_of("directories", name))
        return shown

    def change(self, name: str, given: Mapping[str, Any]) -> Record:
        changed: Record = self._api.patch(path_of("directories", name), dict(given))
        return changed

    def remove(self, name: str) -> Record:
        removed: Record = self._api.delete(path_of("directories", name))
        return removed

    def test(self, name: str) -> builtins.list[Record]:
        steps: list[Record] = self._api.post(path_of("directories", name, "test"))["steps"]
        return steps


def local(rt: LocalVault) -> LocalDirectories:
    return LocalDirectories(rt)


def remote(api: Remote) -> RemoteDirectories:
    return RemoteDirectories(api)
