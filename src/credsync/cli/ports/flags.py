"""Flags: the open problems checks found, resolving one (push the vault's password, or
accept the directory's state or password), and confirming the new links that wait for an
operator with directory.setup. A resolution's record: the flag, the outcome, a detail and the
run that pushed or checked (``ResolutionJson``, made by ``Resolution.to_json``)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Protocol

from credsync.cli.ports import Confirm, LocalVault, with_confirmation
from credsync.cli.ports.sync import run_record
from credsync.cli.remote import Remote, path_of

if TYPE_CHECKING:
    from credsync.sync.resolve import ResolutionJson
    from credsync.types import Secret
    from credsync.vault.flags import FlagJson

__all__ = ["FlagsPort", "LocalFlags", "RemoteFlags", "local", "remote"]


class FlagsPort(Protocol):
    def list(self, client: str | None, *, include_resolved: bool) -> list[FlagJson]:
        """Open flags (and resolved ones when asked), of one client or all, newest first."""
        ...

    def resolve(self, ref: str, *, push: bool, password: Secret | None) -> ResolutionJson:
        """Push the vault's password (``push``), or accept the directory's state, or its
        ``password`` (checked with one bind where the directory can)."""
        ...

    def confirm(
        self, refs: builtins.list[str], client: str | None, *, confirm: Confirm
    ) -> builtins.list[FlagJson]:
        """Confirm the links of these ``awaiting_confirmation`` flags (or of every one of
        ``client``) for pushes, once ``confirm`` has seen the accounts they overwrite."""
        ...


class LocalFlags:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def list(self, client: str | None, *, include_resolved: bool) -> list[FlagJson]:
        found = self._rt.vault.flags.list(self._rt.actor, client, include_resolved=include_resolved)
        return [f.to_json() for f in found]

    def resolve(self, ref: str, *, push: bool, password: Secret | None) -> ResolutionJson:
        import asyncio

        from credsync.sync.engine import Engine
        from credsync.sync.resolve import Resolver

        vault, actor = self._rt.vault, self._rt.actor
        resolver = Resolver(vault, Engine(vault, self._rt.keys, actor), actor)
        if push:
            result = asyncio.run(resolver.push(ref))
        else:
            result = asyncio.run(resolver.accept(ref, password))
        return result.to_json()

    def confirm(
        self, refs: builtins.list[str], client: str | None, *, confirm: Confirm
    ) -> builtins.list[FlagJson]:
        from credsync.sync.confirm import LinkConfirmations

        confirmations = LinkConfirmations(self._rt.vault)
        found = with_confirmation(
            lambda sure: confirmations.confirm(
                self._rt.actor, refs, client_ref=client, confirmed=sure
            ),
            confirm,
        )
        return [f.to_json() for f in found]


class RemoteFlags:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def list(self, client: str | None, *, include_resolved: bool) -> list[FlagJson]:
        rows: list[FlagJson] = self._api.get(
            "/flags", client=client, include_resolved=include_resolved
        )
        return rows

    def resolve(self, ref: str, *, push: bool, password: Secret | None) -> ResolutionJson:
        body = {"action": "push" if push else "accept_directory"}
        if password is not None:
            body["password"] = password.reveal()
        answer = self._api.post(path_of("flags", ref, "resolve"), body)
        return {
            "flag": answer["flag"],
            "outcome": answer["outcome"],
            "detail": answer["detail"],
            "run": run_record(answer["run"]) if answer["run"] else None,
        }

    def confirm(
        self, refs: builtins.list[str], client: str | None, *, confirm: Confirm
    ) -> builtins.list[FlagJson]:
        def send(sure: bool) -> builtins.list[FlagJson]:
            body = {"flags": refs, "client": client, "confirm": sure}
            found: builtins.list[FlagJson] = self._api.post("/flags/confirm", body)
            return found

        return with_confirmation(send, confirm)


def local(rt: LocalVault) -> FlagsPort:
    return LocalFlags(rt)


def remote(api: Remote) -> FlagsPort:
    return RemoteFlags(api)
