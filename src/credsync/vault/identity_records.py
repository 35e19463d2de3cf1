"""What the records of people and groups (:mod:`credsync.vault.people_records`,
:mod:`credsync.vault.group_records`) build alike: a record's source (the directory that is
the source of truth of some attributes), its links to objects in the client's directories,
and the lookup of a record by id (or an id prefix) within the actor's reach."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from typing import Protocol, TypeVar

from sqlalchemy.engine import Connection

from credsync.errors import InvalidInput, NotFound
from credsync.vault._time import as_utc, iso
from credsync.vault.auth import Actor
from credsync.vault.identities import LinkJson, Source, split_sourced
from credsync.vault.identity_names import Names

__all__ = ["MIN_ID_PREFIX", "find_by_id", "links_of", "source_of"]

MIN_ID_PREFIX = 6


class _Link(Protocol):
    @property
    def directory_id(self) -> str: ...
    @property
    def object_id(self) -> str: ...
    @property
    def linked_at(self) -> dt.datetime: ...
    @property
    def linked_by(self) -> str: ...


class _Owned(Protocol):
    @property
    def client_id(self) -> str: ...


R = TypeVar("R", bound=_Owned)
R_co = TypeVar("R_co", bound=_Owned, covariant=True)


class _FindByRef(Protocol[R_co]):
    def __call__(
        self, conn: Connection, ref: str, *, min_chars: int, client_ids: Collection[str] | None
    ) -> R_co: ...


def source_of(
    names: Names, directory_id: str | None, sourced: str, attributes: tuple[str, ...]
) -> Source | None:
    """The source of truth of a record's ``sourced`` attributes (in ``attributes``' order)."""
    if directory_id is None:
        return None
    held = split_sourced(sourced)
    found = tuple(a for a in attributes if a in held)
    return Source(names.directory(directory_id), directory_id, found)


def links_of(names: Names, links: Iterable[_Link]) -> tuple[LinkJson, ...]:
    return tuple(
        LinkJson(
            directory=names.directory(a.directory_id),
            directory_id=a.directory_id,
            object_id=a.object_id,
            linked_at=iso(as_utc(a.linked_at)),
            linked_by=a.linked_by,
        )
        for a in links
    )


def find_by_id(
    find: _FindByRef[R],
    conn: Connection,
    actor: Actor,
    ref: str,
    scope: Collection[str] | None,
    kind: str,
) -> R:
    """The ``kind`` (``person`` / ``group``) whose id is ``ref`` or starts with it, among the
    clients of ``scope`` that ``actor`` sees; NotFound otherwise."""
    missing = f"no {kind} {ref!r} (see `credsync {kind} list`)"
    try:
        row = find(conn, ref, min_chars=MIN_ID_PREFIX, client_ids=scope)
    except (NotFound, InvalidInput):
        raise NotFound(missing) from None
    if not actor.sees(row.client_id):
        raise NotFound(missing)
    return row
