"""Flags: open problems found by checks, shown on the credential and rolled up per client.

A flag is opened by a run for a credential and a directory, updated while the problem lasts,
and closed by the next good check (resolution ``in_sync``) or by an operator (``accepted``,
``accepted_password``, ``pushed``). Resolving with the directory (push, verify) is the sync
engine's work (:mod:`credsync.sync.resolve`); this module reads flags and closes them.
"""

from __future__ import annotations

import builtins
import datetime as dt
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.connectors import registry
from credsync.errors import InvalidInput
from credsync.storage import Database
from credsync.storage import flags as flag_rows
from credsync.vault._time import as_utc, as_utc_opt
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import find_client_row, sees_directory_admin
from credsync.vault.models import Timestamp, iso

__all__ = ["Flag", "FlagJson", "Flags", "close_flag", "find_flag_row", "side_of"]


def side_of(kind: str) -> str:
    """Which side of a client's directories a status comes from, for people: its kind's
    display name."""
    try:
        return registry.kind_of(kind).display_name
    except InvalidInput:
        return kind  # a kind this version no longer has


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
    status: str
    detail: str
    run_id: str | None
    opened_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    resolved_by: str | None
    resolution: str | None

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
    return flag_rows.find(conn, ref, include_directory_admin=sees_directory_admin(actor))


def close_flag(
    conn: Connection, flag_id: str, actor: Actor, resolution: str, now: dt.datetime
) -> None:
    """Close the flag (if still open): an operator resolved it with ``resolution``."""
    flag_rows.close(conn, flag_id, by=actor.name, resolution=resolution, now=now)


class Flags:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def list(
        self,
        actor: Actor,
        client_ref: str | None = None,
        *,
        credential_id: str | None = None,
        include_resolved: bool = False,
        limit: int = 1000,
    ) -> builtins.list[Flag]:
        """Open flags (and resolved ones when asked), the newest first."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            rows = flag_rows.list_rows(
                conn,
                include_directory_admin=sees_directory_admin(actor),
                client_id=find_client_row(conn, client_ref).id if client_ref else None,
                credential_id=credential_id,
                include_resolved=include_resolved,
                limit=limit,
            )
            return [_model(r) for r in rows]

    def get(self, actor: Actor, ref: str) -> Flag:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return _model(find_flag_row(conn, actor, ref))

    def counts(self, actor: Actor) -> dict[str, int]:
        """Open flags per client name (the roll-up shown with clients)."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return flag_rows.open_counts(conn, include_directory_admin=sees_directory_admin(actor))
