"""Flags: the open problems checks found, a page at a time with filters; resolving one (push
the vault's password, or accept the directory's state or password) or several at once; and
confirming the new links that wait for an operator with directory.setup. A resolution's
record: the flag, the outcome, a detail and the run that pushed or checked
(``ResolutionJson``, made by ``Resolution.to_json``); one of several: ``BulkItemJson``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from credsync.cli.ports import Confirm, LocalVault, with_confirmation
from credsync.cli.ports.sync import run_record
from credsync.cli.remote import PAGE_MAX, Remote, path_of

if TYPE_CHECKING:
    from credsync.sync.resolve import BulkItemJson, ResolutionJson, Resolver
    from credsync.types import Secret
    from credsync.vault.flags import FlagFilter, FlagJson

__all__ = ["PAGE", "FlagsPort", "LocalFlags", "RemoteFlags", "local", "remote"]

PAGE = PAGE_MAX  # the most flags one call of ``page`` returns, locally and through a server


class FlagsPort(Protocol):
    def page(
        self, where: FlagFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[FlagJson], str | None]:
        """At most ``limit`` (up to :data:`PAGE`) of the flags ``where`` holds, the most
        recently opened first, after ``cursor``; and the next page's cursor (None: no more)."""
        ...

    def resolve(self, ref: str, *, push: bool, password: Secret | None) -> ResolutionJson:
        """Push the vault's password (``push``), or accept the directory's state, or its
        ``password`` (checked with one bind where the directory can)."""
        ...

    def resolve_many(self, refs: Sequence[str], *, push: bool) -> list[BulkItemJson]:
        """Push the vault's passwords, or accept the directories' states (no password), of
        several flags: one result per flag, in the order given."""

    def confirm(
        self, refs: builtins.list[str], client: str | None, *, confirm: Confirm
    ) -> builtins.list[FlagJson]:
        """Confirm the links of these ``awaiting_confirmation`` flags (or of every one of
        ``client``) for pushes, once ``confirm`` has seen the accounts they overwrite."""
        ...


class LocalFlags:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def page(
        self, where: FlagFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[FlagJson], str | None]:
        found, next_cursor = self._rt.vault.flags.page(
            self._rt.actor, where, limit=limit, cursor=cursor
        )
        return [f.to_json() for f in found], next_cursor

    def _resolver(self) -> Resolver:
        from credsync.sync.engine import Engine
        from credsync.sync.resolve import Resolver

        vault, actor = self._rt.vault, self._rt.actor
        return Resolver(vault, Engine(vault, self._rt.keys, actor), actor)

    def resolve(self, ref: str, *, push: bool, password: Secret | None) -> ResolutionJson:
        import asyncio

        resolver = self._resolver()
        if push:
            result = asyncio.run(resolver.push(ref))
        else:
            result = asyncio.run(resolver.accept(ref, password))
        return result.to_json()

    def resolve_many(self, refs: Sequence[str], *, push: bool) -> list[BulkItemJson]:
        import asyncio

        resolver = self._resolver()
        many = resolver.push_many if push else resolver.accept_many
        return [item.to_json() for item in asyncio.run(many(refs))]

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

    def page(
        self, where: FlagFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[FlagJson], str | None]:
        answer = self._api.get(
            "/flags",
            limit=limit,
            cursor=cursor,
            client=where.client,
            directory=where.directory,
            status=where.status,
            older_than=where.older_than,
            since=where.since,
            include_resolved=where.include_resolved or None,
        )
        rows: list[FlagJson] = answer["items"]
        next_cursor: str | None = answer["next_cursor"]
        return rows, next_cursor

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

    def resolve_many(self, refs: Sequence[str], *, push: bool) -> list[BulkItemJson]:
        results: list[BulkItemJson] = []
        for start in range(0, len(refs), PAGE):  # the API takes 500 flags a request
            body = {
                "action": "push" if push else "accept_directory",
                "flags": list(refs[start : start + PAGE]),
            }
            results += self._api.post("/flags/resolve", body)["results"]
        return results

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
