"""What the services of people and groups (:mod:`credsync.vault.people`,
:mod:`credsync.vault.groups`) do alike, written once: finding a record by reference, a page
of a client's records, a search, an update with its read-only attributes, the trash (delete,
restore, purge) and the refresh of a record from a directory. A :class:`Kind` says what
differs: the record's type (``person`` / ``group``: audit actions, target type, search
index, messages), the field that names it in messages (``username`` / ``name``), its storage
module, how its models are built and how it is found.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.errors import InvalidInput, NotFound, StaleVersion
from credsync.storage import Database, identity_search
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import check_version, find_client_row
from credsync.vault.credentials import check_limit
from credsync.vault.identities import join_sourced, reach, read_only, split_sourced
from credsync.vault.identity_names import Names
from credsync.vault.listing import decode_cursor, encode_cursor
from credsync.vault.search import query_words
from credsync.vault.validate import name_key

__all__ = ["IdentityService", "Kind"]


class Row(Protocol):
    """What the services read of a person's or a group's row."""

    @property
    def id(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def source_directory_id(self) -> str | None: ...
    @property
    def sourced(self) -> str: ...
    @property
    def deleted_at(self) -> dt.datetime | None: ...
    def _asdict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Row)
M = TypeVar("M")


class Store(Protocol[R]):
    """The storage module of a kind (:mod:`credsync.storage.people`, ``.groups``)."""

    def get(self, conn: Connection, row_id: str, /) -> R | None: ...
    def lock(self, conn: Connection, row_id: str, /) -> R | None: ...
    def page(
        self,
        conn: Connection,
        client_id: str,
        /,
        *,
        trash: bool,
        fetch: int,
        after: tuple[str, str] | None = None,
    ) -> builtins.list[R]: ...
    def live(
        self, client_id: str | None, client_ids: Collection[str] | None, /
    ) -> builtins.list[sa.ColumnElement[bool]]: ...
    def bump(
        self,
        conn: Connection,
        row_id: str,
        version: int,
        /,
        *,
        by: str,
        now: dt.datetime,
        changes: Mapping[str, Any],
    ) -> bool: ...
    def purge(self, conn: Connection, row_id: str, /) -> None: ...


R_co = TypeVar("R_co", bound=Row, covariant=True)


class FindRow(Protocol[R_co]):
    def __call__(
        self, conn: Connection, actor: Actor, ref: str, *, client_id: str | None = None
    ) -> R_co: ...


@dataclass(frozen=True)
class Kind(Generic[R, M]):
    """What differs between people and groups in what their services do alike."""

    type: identity_search.Kind
    """``person`` | ``group``: audit actions ``<type>.*``, target type, search index."""
    name_field: str
    """The field that names a record in messages and audit details."""
    pronoun: str
    """How a purge refused names the record (``delete them first``)."""
    attributes: tuple[str, ...]
    store: Store[R]
    find_row: FindRow[R]
    models: Callable[[Connection, Sequence[R]], builtins.list[M]]
    in_order: Callable[[Connection, Sequence[str]], builtins.list[R]]
    """Rows by id, in the order of :attr:`order_key`."""
    order_key: str
    keys: Mapping[str, str]
    """The key column kept with a field (``{"name": "name_key"}``)."""
    terms: Callable[[Mapping[str, Any]], set[str]]
    """The search terms of a row's values; :attr:`term_fields` are the fields they use."""
    term_fields: frozenset[str]


def check_object_id(object_id: str) -> str:
    object_id = object_id.strip()
    if not object_id or len(object_id) > 64:
        raise InvalidInput("an object id is 1 to 64 characters", field="object_id")
    return object_id


class IdentityService(Generic[R, M]):
    """The base of :class:`~credsync.vault.people.People` and
    :class:`~credsync.vault.groups.Groups`."""

    def __init__(self, db: Database, audit: AuditLog, kind: Kind[R, M]) -> None:
        self._db = db
        self._audit = audit
        self._kind = kind

    def _name(self, row: R) -> str:
        return str(row._asdict()[self._kind.name_field])

    def _what(self, row: R) -> str:
        return f"{self._kind.type} {self._name(row)!r}"

    def _record(
        self, conn: Connection, actor: Actor, action: str, row: R, details: dict[str, Any]
    ) -> None:
        self._audit.append(
            conn,
            actor,
            f"{self._kind.type}.{action}",
            target_type=self._kind.type,
            target_id=row.id,
            client_id=row.client_id,
            details=details,
        )

    def _model(self, conn: Connection, row: R) -> M:
        return self._kind.models(conn, [row])[0]

    # -- reading -----------------------------------------------------------------------------
    def _row(
        self,
        conn: Connection,
        actor: Actor,
        ref: str,
        *,
        client_ref: str | None = None,
        trashed: bool = False,
        lock: bool = False,
    ) -> R:
        client_id = find_client_row(conn, client_ref, actor).id if client_ref else None
        row = self._kind.find_row(conn, actor, ref, client_id=client_id)
        if row.deleted_at is not None and not trashed:
            restore = f"`credsync {self._kind.type} restore`"
            raise NotFound(f"{self._what(row)} is in the trash ({restore})")
        if lock:
            row = self._kind.store.lock(conn, row.id) or row
        return row

    def _get(self, actor: Actor, ref: str, client_ref: str | None, trashed: bool) -> M:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, trashed=trashed)
            return self._model(conn, row)

    def list(
        self,
        actor: Actor,
        client_ref: str,
        *,
        trash: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[builtins.list[M], str | None]:
        """A page of a client's records (people by display name, groups by name), and the
        next page's cursor."""
        actor.require(Permission.VAULT_READ)
        limit = check_limit(limit)
        with self._db.read() as conn:
            client = find_client_row(conn, client_ref, actor)
            after = decode_cursor(cursor) if cursor else None
            found = self._kind.store.page(
                conn, client.id, trash=trash, fetch=limit + 1, after=after
            )
            more = len(found) > limit
            found = found[:limit]
            next_cursor = None
            if more:
                last = found[-1]
                next_cursor = encode_cursor(last._asdict()[self._kind.order_key], last.id)
            return self._kind.models(conn, found), next_cursor

    def search(
        self, actor: Actor, text: str, *, client_ref: str | None = None, limit: int = 100
    ) -> builtins.list[M]:
        """Records outside the trash (archived clients left out) whose searched fields (a
        person's given name, surname, display name, username and e-mail; a group's name and
        e-mail) hold words starting with each word of ``text``, in list order; at most
        ``limit`` (which ones, when more match, is not defined)."""
        actor.require(Permission.VAULT_READ)
        limit = check_limit(limit)
        words = query_words(text)
        with self._db.read() as conn:
            client_id = find_client_row(conn, client_ref, actor).id if client_ref else None
            seen = reach(actor)
            conditions = self._kind.store.live(client_id, seen)
            ids = identity_search.search_ids(
                conn, self._kind.type, words, client_id, conditions, limit, reach=seen
            )
            return self._kind.models(conn, self._kind.in_order(conn, ids))

    # -- changing ----------------------------------------------------------------------------
    def _clean_update(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _prepare(
        self,
        conn: Connection,
        actor: Actor,
        row: R,
        fields: Mapping[str, Any],
        values: dict[str, Any],
    ) -> None:
        """Checks and additions of a kind to an update's ``values``, before they are applied."""

    def _update_action(self, changed: Mapping[str, Any]) -> str:
        return "update"

    def _index(self, conn: Connection, row: R) -> None:
        values = row._asdict()
        terms = self._kind.terms(values)
        identity_search.reindex(conn, self._kind.type, row.id, row.client_id, terms)

    def _bump(self, conn: Connection, actor: Actor, row: R, **changes: Any) -> R:
        for field, key in self._kind.keys.items():
            if field in changes:
                changes[key] = name_key(changes[field])
        store = self._kind.store
        if not store.bump(conn, row.id, row.version, by=actor.name, now=utcnow(), changes=changes):
            raise StaleVersion(f"{self._what(row)} was changed by someone else: retry")
        after = store.get(conn, row.id)
        assert after is not None  # noqa: S101 - just written in this transaction
        if self._kind.term_fields & set(changes):
            self._index(conn, after)
        return after

    def _source_name(self, conn: Connection, row: R) -> str | None:
        if row.source_directory_id is None:
            return None
        return Names(conn).directory(row.source_directory_id)

    def update(
        self,
        actor: Actor,
        ref: str,
        fields: Mapping[str, Any],
        *,
        client_ref: str | None = None,
        expected_version: int | None = None,
    ) -> M:
        """Change the fields given (vault.write); an attribute whose source of truth is a
        directory is refused (InvalidInput naming it and the directory)."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        if not fields:
            raise InvalidInput("nothing to change")
        values = self._clean_update(fields)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, lock=True)
            check_version(self._kind.type, row.id, row.version, expected_version)
            current = row._asdict()
            sourced = split_sourced(row.sourced)
            read_only(self._what(row), values, current, sourced, self._source_name(conn, row))
            self._prepare(conn, actor, row, fields, values)
            changed = {k: v for k, v in values.items() if current[k] != v}
            if not changed:
                return self._model(conn, row)
            after = self._bump(conn, actor, row, **changed)
            details = {self._kind.name_field: self._name(after), "changed": changed}
            self._record(conn, actor, self._update_action(changed), row, details)
            return self._model(conn, after)

    # -- trash -------------------------------------------------------------------------------
    def _trash(self, actor: Actor, ref: str, client_ref: str | None, *, delete: bool) -> M:
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, trashed=True, lock=True)
            if (row.deleted_at is None) != delete:
                state = "in the trash already" if delete else "not in the trash"
                raise InvalidInput(f"{self._what(row)} is {state}", field=self._kind.type)
            now = utcnow()
            after = self._bump(
                conn,
                actor,
                row,
                deleted_at=now if delete else None,
                deleted_by=actor.name if delete else None,
            )
            details = {self._kind.name_field: self._name(row)}
            self._record(conn, actor, "delete" if delete else "restore", row, details)
            return self._model(conn, after)

    def delete(self, actor: Actor, ref: str, *, client_ref: str | None = None) -> M:
        """To the trash (vault.write): out of lists and searches; a person's memberships, a
        group's members and memberships are kept."""
        return self._trash(actor, ref, client_ref, delete=True)

    def restore(self, actor: Actor, ref: str, *, client_ref: str | None = None) -> M:
        return self._trash(actor, ref, client_ref, delete=False)

    def _forget(self, conn: Connection, row: R) -> None:
        """What a kind removes before its record is purged (its search terms are gone)."""

    def purge(self, actor: Actor, ref: str, *, client_ref: str | None = None) -> str:
        """Destroy a record in the trash (admin): a person with their accounts and
        memberships, a group with its members list and memberships."""
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, trashed=True, lock=True)
            if row.deleted_at is None:
                raise InvalidInput(
                    f"{self._what(row)} is not in the trash: delete {self._kind.pronoun} first",
                    field=self._kind.type,
                )
            identity_search.forget(conn, self._kind.type, row.id)
            self._forget(conn, row)
            self._kind.store.purge(conn, row.id)
            self._record(conn, actor, "purge", row, {self._kind.name_field: self._name(row)})
            return row.id

    # -- from a directory --------------------------------------------------------------------
    def _check_unique(self, conn: Connection, row: R, diff: Mapping[str, Any]) -> None:
        """Refuse a change that would take a value another record holds."""

    def _refresh(
        self, conn: Connection, actor: Actor, row: R, values: Mapping[str, Any], directory: str
    ) -> tuple[R, dict[str, Any]]:
        """``row`` takes ``values`` from directory ``directory`` (by id), which becomes the
        source of truth of them; the row after, and what changed."""
        current = row._asdict()
        diff = {k: v for k, v in values.items() if current[k] != v}
        self._check_unique(conn, row, diff)
        sourced = split_sourced(row.sourced) | frozenset(values)
        marks = {"source_directory_id": directory}
        marks["sourced"] = join_sourced(sourced, self._kind.attributes)
        marks = {k: v for k, v in marks.items() if current[k] != v}
        if diff or marks:
            row = self._bump(conn, actor, row, **diff, **marks)
        return row, diff
