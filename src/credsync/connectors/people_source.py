"""What the import of people and groups reads of a directory (a connector's ``people``
capability, :attr:`~credsync.connectors.base.Capability.PEOPLE`).

A connector with it answers, in the vault's words (no directory's attribute names):

* ``search_people(query)`` / ``search_groups(query)``: the users / groups a query finds, in the
  directory's own query language (the kind's package documents it; an empty query finds
  every one), each with its person / group fields;
* ``read_people(ids)`` / ``read_groups(ids)``: those objects by their stable id (an id that
  names nothing is left out of the answer, not an error);
* ``iter_members(group_id)``: the group's direct members, people and groups.

Listings are paged and honour throttling as the kind's other reads do; a query the directory
refuses is an :class:`~credsync.errors.InvalidInput` naming ``query``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "DirectoryGroup",
    "DirectoryMember",
    "DirectoryPerson",
    "GroupKind",
    "PeopleSource",
]

# "distribution": a mail-only list, which the vault has no group type for
GroupKind = Literal["security", "microsoft365", "distribution"]


@dataclass(frozen=True)
class DirectoryPerson:
    """A user as the import sees it: the person fields of :mod:`credsync.vault.people`
    (``username``: the sign-in name, e.g. the user principal name)."""

    object_id: str
    username: str
    display_name: str = ""
    given_name: str = ""
    surname: str = ""
    email: str = ""
    usage_location: str = ""
    department: str = ""
    job_title: str = ""
    enabled: bool = True

    def attributes(self) -> dict[str, str | bool]:
        """The person fields, as :meth:`People.upsert_from_directory` takes them."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "given_name": self.given_name,
            "surname": self.surname,
            "email": self.email,
            "usage_location": self.usage_location,
            "department": self.department,
            "job_title": self.job_title,
            "enabled": self.enabled,
        }


@dataclass(frozen=True)
class DirectoryGroup:
    object_id: str
    name: str
    type: GroupKind
    email: str = ""
    description: str = ""

    def attributes(self) -> dict[str, str]:
        """The group fields, as :meth:`Groups.upsert_from_directory` takes them (a
        distribution list has no vault type: the caller refuses it first)."""
        return {
            "name": self.name,
            "type": self.type,
            "email": self.email,
            "description": self.description,
        }


@dataclass(frozen=True)
class DirectoryMember:
    object_id: str
    kind: Literal["person", "group"]
    name: str = ""


@runtime_checkable
class PeopleSource(Protocol):
    def search_people(self, query: str) -> AsyncIterator[DirectoryPerson]: ...

    def search_groups(self, query: str) -> AsyncIterator[DirectoryGroup]: ...

    async def read_people(self, ids: Sequence[str]) -> list[DirectoryPerson]: ...

    async def read_groups(self, ids: Sequence[str]) -> list[DirectoryGroup]: ...

    def iter_members(self, group_id: str) -> AsyncIterator[DirectoryMember]: ...

    async def close(self) -> None: ...
