"""People: a client's end users as identities (issue 16; ``people.py`` is the operators'):
list, search, show, add, edit (disable, enable), trash, restore. Fields travel by their JSON
names both ways."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.ports._identities import LocalIdentities, RemoteIdentities
from credsync.cli.remote import Remote
from credsync.vault.people_records import PersonJson

__all__ = ["LocalPersons", "PersonsPort", "RemotePersons", "local", "remote"]


class PersonsPort(Protocol):
    def list(
        self, client: str, *, trash: bool, limit: int, cursor: str | None
    ) -> tuple[builtins.list[PersonJson], str | None]:
        """A page by display name and the next page's cursor (None: the last)."""
        ...

    def search(self, text: str, *, client: str | None, limit: int) -> builtins.list[PersonJson]: ...

    def show(self, ref: str, client: str | None) -> PersonJson:
        """A person (one in the trash too)."""
        ...

    def add(self, client: str, fields: Mapping[str, Any]) -> PersonJson: ...

    def edit(self, ref: str, client: str | None, fields: Mapping[str, Any]) -> PersonJson: ...

    def delete(self, ref: str, client: str | None) -> PersonJson: ...

    def restore(self, ref: str, client: str | None) -> PersonJson: ...


class LocalPersons(LocalIdentities[PersonJson]):
    @property
    def _service(self) -> Any:
        return self._rt.vault.people


class RemotePersons(RemoteIdentities[PersonJson]):
    _kind = "people"


def local(rt: LocalVault) -> PersonsPort:
    return LocalPersons(rt)


def remote(api: Remote) -> PersonsPort:
    return RemotePersons(api)
