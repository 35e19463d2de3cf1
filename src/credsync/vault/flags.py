"""Flags: open problems found by checks, shown on the credential and rolled up per client.

A flag is opened by a run for a credential and a directory, updated while the problem lasts,
and closed by the next good check (resolution ``in_sync``) or by an operator (``accepted``,
``accepted_password``, ``pushed``). Resolving with the directory (push, verify) is the sync
engine's work (:mod:`credsync.sync.resolve`); this module reads flags and closes them.

Lists come a page at a time (:meth:`Flags.page`), the most recently opened first, filtered by
a :class:`FlagFilter` (client, directory, status, age): the API, the CLI and the dashboard
page through the same call. Nothing here tells one status from another, so a kind of flag a
later version adds lists like any other.
"""

from __future__ import annotations

import builtins
import datetime as dt
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.connectors import registry
from credsync.errors import InvalidInput
from credsync.storage import Database
from credsync.storage import flags as flag_rows
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import find_client_row, reached, sees_directory_admin
from credsync.vault.directories import find_directory_row
from credsync.vault.listing import bad_cursor, page_of
from credsync.vault.models import Timestamp, iso

__all__ = [
    "MAX_PAGE",
    "Flag",
    "FlagFilter",
    "FlagJson",
    "Flags",
    "close_flag",
    "find_flag_row",
    "parse_moment",
    "side_of",
]

MAX_PAGE = 1000  # flags a page may hold
_AGE = re.compile(r"(\d{1,6})\s*([mhdw])", re.ASCII)
_AGE_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_LONGEST_AGE = dt.timedelta(days=36_600)


def side_of(kind: str) -> str:
    """Which side of a client's directories a status comes from, for people: its kind's
    display name."""
    try:
        return registry.kind_of(kind).display_name
    except InvalidInput:
        return kind  # a kind this version no longer has


def parse_moment(text: str, field: str, now: dt.datetime | None = None) -> dt.datetime:
    """A moment given as an age before ``now`` (``30m``, ``12h``, ``7d``, ``2w``) or as a date
    or time (ISO 8601: ``2026-12-01``, ``2026-12-01T08:00:00Z``; UTC when it names no zone).
    InvalidInput naming ``field`` otherwise."""
    text = text.strip()
    label = field.replace("_", " ")
    age = _AGE.fullmatch(text.lower())
    if age is not None:
        delta = dt.timedelta(**{_AGE_UNITS[age.group(2)]: int(age.group(1))})
        if delta > _LONGEST_AGE:
            raise InvalidInput(f"{label} {text!r} is longer than a century", field=field)
        return (now or utcnow()) - delta
    try:
        moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidInput(
            f"{label} {text[:40]!r} is neither an age (30m, 12h, 7d, 2w) nor a date or time "
            "(2026-12-01, 2026-12-01T08:00:00Z)",
            field=field,
        ) from None
    return as_utc(moment)


@dataclass(frozen=True)
class FlagFilter:
    """Which flags a list shows: open ones (resolved ones too with ``include_resolved``), of
    one client and one directory (by name or id), of one status, opened more than
    ``older_than`` ago and ``since`` a moment (each an age such as ``7d`` or a date or time:
    see :func:`parse_moment`). Every boundary hands its filters over as given."""

    client: str | None = None
    directory: str | None = None
    status: str | None = None
    older_than: str | None = None
    since: str | None = None
    include_resolved: bool = False

    def where(self, conn: Connection, actor: Actor) -> flag_rows.FlagWhere:
        now = utcnow()
        status = (self.status or "").strip().lower() or None
        if status is not None and (len(status) > 32 or not status.replace("_", "").isalnum()):
            raise InvalidInput(f"status {status[:40]!r} is not a status", field="status")
        return flag_rows.FlagWhere(
            include_directory_admin=sees_directory_admin(actor),
            client_id=find_client_row(conn, self.client, actor).id if self.client else None,
            directory_id=find_directory_row(conn, self.directory, actor).id
            if self.directory
            else None,
            status=status,
            opened_before=parse_moment(self.older_than, "older_than", now)
            if self.older_than
            else None,
            opened_since=parse_moment(self.since, "since", now) if self.since else None,
            include_resolved=self.include_resolved,
            client_ids=actor.clients,
        )


class FlagJson(TypedDict):
    id: str
    client_id: str
    client: str
    credential_id: str
    title: str
    username: str
    directory_id: str
    directory: str
    side: str
    """The display name of the directory's kind."""
    account_id: str | None
    account: str | None
    """The account's name in the directory, as the last run read it (null: not known)."""
    status: str
    detail: str
    run_id: str | None
    open: bool
    opened_at: Timestamp
    updated_at: Timestamp
    resolved_at: Timestamp | None
    resolved_by: str | None
    resolution: str | None


@dataclass(frozen=True)
class Flag:
    id: str
    client_id: str
    client: str
    credential_id: str
    title: str
    username: str
    directory_id: str
    directory: str
    directory_kind: str
    account_id: str | None
    account: str | None
    status: str
    detail: str
    run_id: str | None
    opened_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    resolved_by: str | None
    resolution: str | None

    @property
    def open(self) -> bool:
        return self.resolved_at is None

    def to_json(self) -> FlagJson:
        return FlagJson(
            id=self.id,
            client_id=self.client_id,
            client=self.client,
            credential_id=self.credential_id,
            title=self.title,
            username=self.username,
            directory_id=self.directory_id,
            directory=self.directory,
            side=side_of(self.directory_kind),
            account_id=self.account_id,
            account=self.account,
            status=self.status,
            detail=self.detail,
            run_id=self.run_id,
            open=self.resolved_at is None,
            opened_at=iso(self.opened_at),
            updated_at=iso(self.updated_at),
            resolved_at=iso(self.resolved_at),
            resolved_by=self.resolved_by,
            resolution=self.resolution,
        )


def _model(row: flag_rows.FlagRow) -> Flag:
    return Flag(
        id=row.id,
        client_id=row.client_id,
        client=row.client_name,
        credential_id=row.credential_id,
        title=row.title,
        username=row.username,
        directory_id=row.directory_id,
        directory=row.directory_name,
        directory_kind=row.directory_kind,
        account_id=row.account_id,
        account=row.account_name,
        status=row.status,
        detail=row.detail,
        run_id=row.run_id,
        opened_at=as_utc(row.opened_at),
        updated_at=as_utc(row.updated_at),
        resolved_at=as_utc_opt(row.resolved_at),
        resolved_by=row.resolved_by,
        resolution=row.resolution,
    )


def find_flag_row(conn: Connection, actor: Actor, ref: str) -> flag_rows.FlagRow:
    """A flag the actor may see, by id or 8+ characters of it."""
    return flag_rows.find(
        conn, ref, include_directory_admin=sees_directory_admin(actor), client_ids=actor.clients
    )


def close_flag(
    conn: Connection, flag_id: str, actor: Actor, resolution: str, now: dt.datetime
) -> None:
    """Close the flag (if still open): an operator resolved it with ``resolution``."""
    flag_rows.close(conn, flag_id, by=actor.name, resolution=resolution, now=now)


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    return limit


def _cursor(conn: Connection, actor: Actor, cursor: str | None) -> str | None:
    """The flag a page starts after: one the actor may see (a page's ``next_cursor``)."""
    if cursor is None:
        return None
    if not (len(cursor) <= 64 and cursor.isascii() and cursor.replace("-", "").isalnum()):
        raise bad_cursor()
    if not flag_rows.exists(
        conn,
        cursor,
        include_directory_admin=sees_directory_admin(actor),
        client_ids=actor.clients,
    ):
        raise bad_cursor()
    return cursor


def _id_of(row: flag_rows.FlagRow) -> str:
    return row.id


class Flags:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def page(
        self,
        actor: Actor,
        where: FlagFilter | None = None,
        *,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[builtins.list[Flag], str | None]:
        """A page of the flags ``where`` holds, the most recently opened first, after
        ``cursor`` (the ``next_cursor`` of the page before); and the next page's cursor
        (None: the last page). A cursor no page gave is refused (InvalidInput, ``cursor``).
        Needs vault.read; flags of directory_admin credentials are there only with
        directory_admin.use."""
        actor.require(Permission.VAULT_READ)
        _check_limit(limit)
        with self._db.read() as conn:
            condition = (where or FlagFilter()).where(conn, actor)
            after = _cursor(conn, actor, cursor)
            rows = flag_rows.page(conn, condition, after=after, fetch=limit + 1)
        shown, next_cursor = page_of(rows, limit, _id_of)
        return [_model(r) for r in shown], next_cursor

    def iterate(self, actor: Actor, where: FlagFilter | None = None) -> Iterator[Flag]:
        """Every flag ``where`` holds, a page at a time (nothing left out)."""
        cursor: str | None = None
        while True:
            found, cursor = self.page(actor, where, limit=MAX_PAGE, cursor=cursor)
            yield from found
            if cursor is None:
                return

    def list(
        self, actor: Actor, client_ref: str | None = None, *, include_resolved: bool = False
    ) -> builtins.list[Flag]:
        """Every open flag (and resolved one when asked), of one client or all, the most
        recently opened first."""
        return builtins.list(
            self.iterate(actor, FlagFilter(client=client_ref, include_resolved=include_resolved))
        )

    def count(self, actor: Actor, where: FlagFilter | None = None) -> int:
        """How many flags ``where`` holds."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return flag_rows.count(conn, (where or FlagFilter()).where(conn, actor))

    def get(self, actor: Actor, ref: str) -> Flag:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return _model(find_flag_row(conn, actor, ref))

    def of_ids(self, actor: Actor, ids: Sequence[str]) -> builtins.list[Flag]:
        """The flags of ``ids`` the actor may see, in the order of ``ids`` (ids of no such
        flag left out): what a selection of flags shows before it is acted on."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            rows = flag_rows.of_ids(
                conn,
                ids,
                include_directory_admin=sees_directory_admin(actor),
                client_ids=actor.clients,
            )
        by_id = {r.id: _model(r) for r in rows}
        return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]

    def counts(self, actor: Actor, of: Collection[str] | None = None) -> dict[str, int]:
        """Open flags per client name (the roll-up shown with clients): of the clients
        ``of`` (ids) when given, of those the actor reaches in any case."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return flag_rows.open_counts(
                conn,
                include_directory_admin=sees_directory_admin(actor),
                client_ids=reached(actor, of),
            )

    def total(self, actor: Actor) -> int:
        """How many open flags there are in the clients the actor reaches."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return flag_rows.open_total(
                conn, include_directory_admin=sees_directory_admin(actor), client_ids=actor.clients
            )
