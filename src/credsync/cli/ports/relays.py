"""Relays: add, list, show, change, remove; plan and run (see :mod:`credsync.vault.relays`
and :mod:`credsync.sync.relay`). Settings travel by their JSON names both ways."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote, path_of
from credsync.sync.relay import RelayReportJson
from credsync.vault.relays import RelayJson

__all__ = ["LocalRelays", "RelaysPort", "RemoteRelays", "local", "remote"]


class RelaysPort(Protocol):
    def add(self, client: str, name: str, source: str, target: str,
            settings: Mapping[str, Any]) -> RelayJson: ...  # fmt: skip

    def list(self, client: str | None) -> list[RelayJson]: ...

    def show(self, name: str) -> RelayJson: ...

    def change(self, name: str, settings: Mapping[str, Any]) -> RelayJson: ...

    def remove(self, name: str) -> RelayJson: ...

    def plan(self, name: str) -> RelayReportJson:
        """What a run would do (reads both directories; writes nothing)."""
        ...

    def run(self, name: str, *, apply: bool) -> RelayReportJson:
        """A stored run: a dry run unless ``apply``."""
        ...


class LocalRelays:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def add(self, client: str, name: str, source: str, target: str,
            settings: Mapping[str, Any]) -> RelayJson:  # fmt: skip
        relays = self._rt.vault.relays
        return relays.add(
            self._rt.actor, client, name, source=source, target=target, settings=settings
        ).to_json()

    def list(self, client: str | None) -> list[RelayJson]:
        return [r.to_json() for r in self._rt.vault.relays.list(self._rt.actor, client)]

    def show(self, name: str) -> RelayJson:
        return self._rt.vault.relays.get(self._rt.actor, name).to_json()

    def change(self, name: str, settings: Mapping[str, Any]) -> RelayJson:
        return self._rt.vault.relays.update(self._rt.actor, name, settings).to_json()

    def remove(self, name: str) -> RelayJson:
        return self._rt.vault.relays.remove(self._rt.actor, name).to_json()

    def _runner(self) -> Any:
        from credsync.sync.relay import RelayRunner

        return RelayRunner(self._rt.vault, self._rt.keys, self._rt.actor)

    def plan(self, name: str) -> RelayReportJson:
        report = asyncio.run(self._runner().plan(name))
        shown: RelayReportJson = report.to_json()
        return shown

    def run(self, name: str, *, apply: bool) -> RelayReportJson:
        report = asyncio.run(self._runner().run(name, apply=apply))
        shown: RelayReportJson = report.to_json()
        return shown


class RemoteRelays:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def add(self, client: str, name: str, source: str, target: str,
            settings: Mapping[str, Any]) -> RelayJson:  # fmt: skip
        body = {"client": client, "name": name, "source": source, "target": target, **settings}
        added: RelayJson = self._api.post("/relays", body)
        return added

    def list(self, client: str | None) -> list[RelayJson]:
        rows: list[RelayJson] = self._api.get("/relays", client=client)
        return rows

    def show(self, name: str) -> RelayJson:
        shown: RelayJson = self._api.get(path_of("relays", name))
        return shown

    def change(self, name: str, settings: Mapping[str, Any]) -> RelayJson:
        changed: RelayJson = self._api.patch(path_of("relays", name), dict(settings))
        return changed

    def remove(self, name: str) -> RelayJson:
        removed: RelayJson = self._api.delete(path_of("relays", name))
        return removed

    def plan(self, name: str) -> RelayReportJson:
        shown: RelayReportJson = self._api.post(path_of("relays", name, "plan"))
        return shown

    def run(self, name: str, *, apply: bool) -> RelayReportJson:
        shown: RelayReportJson = self._api.post(path_of("relays", name, "runs"), {"apply": apply})
        return shown


def local(rt: LocalVault) -> LocalRelays:
    return LocalRelays(rt)


def remote(api: Remote) -> RemoteRelays:
    return RemoteRelays(api)
