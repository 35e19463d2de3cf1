"""The check of deleted and disabled objects (issue 16; see
:mod:`credsync.sync.deleted_check`): the check's findings and the report of chosen actions,
the same JSON both ways."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote
from credsync.sync.deleted_report import DeletedApplyJson, DeletedCheckJson, DeletedChoiceJson

if TYPE_CHECKING:
    from credsync.sync.deleted_check import DeletedCheck

__all__ = ["LocalPeopleDeleted", "PeopleDeletedPort", "RemotePeopleDeleted", "local", "remote"]


class PeopleDeletedPort(Protocol):
    def check(self, client: str, directory: str, *, include_kept: bool) -> DeletedCheckJson:
        """The client's people and groups whose object in the directory is deleted, disabled
        or gone, with the actions offered; writes nothing."""
        ...

    def apply(
        self, client: str, directory: str, choices: Sequence[DeletedChoiceJson]
    ) -> DeletedApplyJson:
        """Carry out the chosen actions: one line per object."""
        ...


class LocalPeopleDeleted:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def _checker(self) -> DeletedCheck:
        from credsync.sync.deleted_check import DeletedCheck  # the connectors: when used

        return DeletedCheck(self._rt.vault, self._rt.keys, self._rt.actor)

    def check(self, client: str, directory: str, *, include_kept: bool) -> DeletedCheckJson:
        return asyncio.run(self._checker().check(client, directory, include_kept=include_kept))

    def apply(
        self, client: str, directory: str, choices: Sequence[DeletedChoiceJson]
    ) -> DeletedApplyJson:
        from credsync.sync.deleted_report import Choice

        chosen = [
            Choice(c["object_id"], c["action"], kind=c["kind"], new_username=c["new_username"])
            for c in choices
        ]
        return asyncio.run(self._checker().apply(client, directory, chosen))


class RemotePeopleDeleted:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def check(self, client: str, directory: str, *, include_kept: bool) -> DeletedCheckJson:
        body = {"client": client, "directory": directory, "include_kept": include_kept}
        found: DeletedCheckJson = self._api.post("/people/deleted/check", body)
        return found

    def apply(
        self, client: str, directory: str, choices: Sequence[DeletedChoiceJson]
    ) -> DeletedApplyJson:
        body = {"client": client, "directory": directory, "choices": list(choices)}
        done: DeletedApplyJson = self._api.post("/people/deleted/apply", body)
        return done


def local(rt: LocalVault) -> PeopleDeletedPort:
    return LocalPeopleDeleted(rt)


def remote(api: Remote) -> PeopleDeletedPort:
    return RemotePeopleDeleted(api)
