"""People: a client's end users as identities (issue 16; ``people.py`` is the operators'):
list, search, show, add, edit (disable, enable), trash, restore. Fields travel by their JSON
names both ways."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.ports._identities import LocalIdentities, RemoteIdentities
from credsync.cli.remote import Remote, path_of
from credsync.vault.people_records import PersonJson
from credsync.vault.person_auth import PersonMfaResetJson, PersonMfaStatusJson

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

    def mfa(self, ref: str, client: str | None) -> PersonMfaStatusJson:
        """The person's second factors (issue 17)."""
        ...

    def mfa_reset(self, ref: str, client: str | None) -> PersonMfaResetJson:
        """Remove the person's second factors and end their portal sessions."""
        ...


class LocalPersons(LocalIdentities[PersonJson]):
    @property
    def _service(self) -> Any:
        return self._rt.vault.people

    def mfa(self, ref: str, client: str | None) -> PersonMfaStatusJson:
        return self._rt.vault.person_auth.mfa_of(self._rt.actor, ref, client_ref=client).to_json()

    def mfa_reset(self, ref: str, client: str | None) -> PersonMfaResetJson:
        return self._rt.vault.person_auth.reset_mfa(self._rt.actor, ref, client_ref=client)


class RemotePersons(RemoteIdentities[PersonJson]):
    _kind = "people"

    def mfa(self, ref: str, client: str | None) -> PersonMfaStatusJson:
        found: PersonMfaStatusJson = self._api.get(path_of("people", ref, "mfa"), client=client)
        return found

    def mfa_reset(self, ref: str, client: str | None) -> PersonMfaResetJson:
        done: PersonMfaResetJson = self._api.post(
            path_of("people", ref, "mfa", "reset"), client=client
        )
        return done


def local(rt: LocalVault) -> PersonsPort:
    return LocalPersons(rt)


def remote(api: Remote) -> PersonsPort:
    return RemotePersons(api)
