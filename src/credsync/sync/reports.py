"""Stored runs and their per-object reports, as read back for people and scripts."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.errors import InvalidInput
from credsync.storage.tables import clients, directories, run_items, runs
from credsync.sync import lease
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.clients import find_client_row
from credsync.vault.flags import side_of
from credsync.vault.ids import one_by_id_prefix
from credsync.vault.models import iso

__all__ = ["ItemReport", "RunReport", "list_runs", "load_run", "report_from_row"]


@dataclass(frozen=True)
class ItemReport:
    credential_id: str | None
    account_id: str | None
    account: str
    status: str
    action: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "credential_id": self.credential_id,
            "account_id": self.account_id,
            "account": self.account,
            "status": self.status,
            "action": self.action,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RunReport:
    id: str
    directory_id: str
    directory: str
    side: str  # Active Directory / Entra ID: where the statuses of this run come from
    client_id: str
    client: str
    kind: str
    trigger: str
    dry_run: bool
    actor: str
    state: str
    message: str
    summary: dict[str, Any]
    accounts_read: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    items: tuple[ItemReport, ...] = ()
    heartbeat_at: dt.datetime | None = None  # the last sign of life (not in to_json)

    @property
    def ok(self) -> bool:
        return self.state == "done"

    def count(self, status: str) -> int:
        return int(self.summary.get("statuses", {}).get(status, 0))

    def to_json(self, *, items: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "directory_id": self.directory_id,
            "directory": self.directory,
            "side": self.side,
            "client_id": self.client_id,
            "client": self.client,
            "kind": self.kind,
            "trigger": self.trigger,
            "dry_run": self.dry_run,
            "actor": self.actor,
            "state": self.state,
            "message": self.message,
            "summary": self.summary,
            "accounts_read": self.accounts_read,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
        }
        if items:
            data["items"] = [i.to_json() for i in self.items]
        return data


_SELECT = (
    sa.select(
        runs,
        directories.c.name.label("directory_name"),
        directories.c.kind.label("directory_kind"),
        clients.c.name.label("client_name"),
    )
    .join(directories, directories.c.id == runs.c.directory_id)
    .join(clients, clients.c.id == runs.c.client_id)
)


def report_from_row(row: Any, items: tuple[ItemReport, ...] = ()) -> RunReport:
    """A ``runs`` row (joined with its directory's name and kind and its client's name) as a
    report; a run still under way has no summary yet. A run left ``running`` by a process
    that stopped shows as the sweep will store it: aborted, and why."""
    state, message, finished_at = row.state, row.message, as_utc_opt(row.finished_at)
    if lease.abandoned(row, utcnow()):
        state, message = "aborted", lease.abandoned_message(row)
        finished_at = lease.last_sign_of_life(row)
    return RunReport(
        id=row.id,
        directory_id=row.directory_id,
        directory=row.directory_name,
        side=side_of(row.directory_kind),
        client_id=row.client_id,
        client=row.client_name,
        kind=row.kind,
        trigger=row.trigger,
        dry_run=bool(row.dry_run),
        actor=row.actor,
        state=state,
        message=message,
        summary=json.loads(row.summary or "{}"),
        accounts_read=row.accounts_read,
        started_at=as_utc(row.started_at),
        finished_at=finished_at,
        items=items,
        heartbeat_at=as_utc_opt(row.heartbeat_at),
    )


def load_run(conn: Connection, ref: str) -> RunReport:
    """A run by id (or an unambiguous prefix of at least 8 characters), with its items."""
    row = one_by_id_prefix(conn, _SELECT, runs.c.id, ref, "run", min_chars=8)
    items = conn.execute(
        sa.select(run_items).where(run_items.c.run_id == row.id).order_by(run_items.c.seq)
    )
    return report_from_row(
        row,
        tuple(
            ItemReport(i.credential_id, i.account_id, i.account_name, i.status, i.action, i.detail)
            for i in items
        ),
    )


def list_runs(
    conn: Connection,
    *,
    client_ref: str | None = None,
    directory_id: str | None = None,
    limit: int = 50,
) -> list[RunReport]:
    """The newest runs first, without their items."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000")
    query = _SELECT.order_by(runs.c.started_at.desc(), runs.c.id).limit(limit)
    if client_ref:
        query = query.where(runs.c.client_id == find_client_row(conn, client_ref).id)
    if directory_id:
        query = query.where(runs.c.directory_id == directory_id)
    return [report_from_row(r) for r in conn.execute(query)]
