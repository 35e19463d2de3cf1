"""Quarantine (issue 18; see :mod:`credsync.sync.quarantine_service`): the held items and
the decisions on them, the same JSON both ways."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote
from credsync.sync.quarantine_service import QuarantineDoneJson, QuarantineItemJson
from credsync.vault.quarantine_defaults import QuarantineDefaultsJson

if TYPE_CHECKING:
    from credsync.sync.quarantine_restore import Quarantine

__all__ = ["LocalQuarantine", "QuarantinePort", "RemoteQuarantine", "local", "remote"]


class QuarantinePort(Protocol):
    def list(self, directory: str | None, *, include_decided: bool) -> list[QuarantineItemJson]:
        """The held items (and the decided ones when asked), of one directory or all."""
        ...

    def show(self, ref: str) -> QuarantineItemJson: ...

    def decide(
        self, decision: str, ids: Sequence[str], directory: str | None, *, dry_run: bool = False
    ) -> QuarantineDoneJson:
        """``approve``, ``discard``, ``restore`` (``dry_run``: what it would do) or
        ``accept`` the items ``ids``, or every held item of ``directory``."""
        ...

    def show_defaults(self) -> QuarantineDefaultsJson:
        """The vault-wide thresholds (vault.read)."""
        ...

    def set_defaults(self, values: Mapping[str, int | None]) -> QuarantineDefaultsJson:
        """Set the thresholds given (None: back to the built-in); admin."""
        ...


class LocalQuarantine:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def _service(self) -> Quarantine:
        from credsync.sync.quarantine_restore import Quarantine  # the connectors: when used

        return Quarantine(self._rt.vault, self._rt.keys, self._rt.actor)

    def list(self, directory: str | None, *, include_decided: bool) -> list[QuarantineItemJson]:
        return self._service().list(directory, include_decided=include_decided)

    def show(self, ref: str) -> QuarantineItemJson:
        return self._service().show(ref)

    def decide(
        self, decision: str, ids: Sequence[str], directory: str | None, *, dry_run: bool = False
    ) -> QuarantineDoneJson:
        service = self._service()
        if decision == "approve":
            return asyncio.run(service.approve(ids, directory))
        if decision == "restore":
            return asyncio.run(service.restore(ids, directory, dry_run=dry_run))
        if decision == "discard":
            return service.discard(ids, directory)
        return service.accept(ids, directory)

    def show_defaults(self) -> QuarantineDefaultsJson:
        return self._rt.vault.quarantine_defaults.show(self._rt.actor)

    def set_defaults(self, values: Mapping[str, int | None]) -> QuarantineDefaultsJson:
        return self._rt.vault.quarantine_defaults.set(self._rt.actor, values)


class RemoteQuarantine:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def list(self, directory: str | None, *, include_decided: bool) -> list[QuarantineItemJson]:
        params: dict[str, object] = {"all": include_decided}
        if directory is not None:
            params["directory"] = directory
        found: list[QuarantineItemJson] = self._api.get("/quarantine", **params)
        return found

    def show(self, ref: str) -> QuarantineItemJson:
        found: QuarantineItemJson = self._api.get(f"/quarantine/{ref}")
        return found

    def decide(
        self, decision: str, ids: Sequence[str], directory: str | None, *, dry_run: bool = False
    ) -> QuarantineDoneJson:
        body: dict[str, object] = {"ids": list(ids), "directory": directory}
        if decision == "restore":
            body["dry_run"] = dry_run
        done: QuarantineDoneJson = self._api.post(f"/quarantine/{decision}", body)
        return done

    def show_defaults(self) -> QuarantineDefaultsJson:
        found: QuarantineDefaultsJson = self._api.get("/quarantine/defaults")
        return found

    def set_defaults(self, values: Mapping[str, int | None]) -> QuarantineDefaultsJson:
        done: QuarantineDefaultsJson = self._api.put("/quarantine/defaults", dict(values))
        return done


def local(rt: LocalVault) -> QuarantinePort:
    return LocalQuarantine(rt)


def remote(api: Remote) -> QuarantinePort:
    return RemoteQuarantine(api)
