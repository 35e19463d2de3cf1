"""Stored runs and their per-object reports, as read back for people and scripts: whole
(:func:`load_run`, :func:`list_runs`) or a page at a time (:func:`runs_page`,
:func:`stored_run`, :func:`items_page`: a page asks for one row more than it shows, and its
cursor is the last row shown). Callers check ``vault.read``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from credsync.errors import InvalidInput
from credsync.storage import runs as run_rows
from credsync.sync import lease
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.clients import find_client_row
from credsync.vault.directories import find_directory_row
from credsync.vault.flags import side_of
from credsync.vault.models import iso

__all__ = [
    "ItemReport",
    "RunReport",
    "StoredRun",
    "items_page",
    "list_runs",
    "load_run",
    "report_from_row",
    "runs_page",
    "stored_run",
]

_MAX_LIMIT = 1000  # rows a list or a page may ask for
_BAD_CURSOR = "cursor is not a cursor of this list"
T = TypeVar("T")


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


def report_from_row(row: run_rows.RunRow, items: tuple[ItemReport, ...] = ()) -> RunReport:
    """A run (with its directory's name and kind and its client's name) as a report; a run
    still under way has no summary yet. A run left ``running`` by a process that stopped
    shows as the sweep will store it: aborted, and why."""
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


@dataclass(frozen=True)
class StoredRun:
    """A run as stored so far: its report (with the first page of its items, or none), how
    many items it has stored (a run under way stores them a chunk at a time), and the cursor
    of the next page of its items."""

    report: RunReport
    item_count: int
    next_items_cursor: str | None = None


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= _MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {_MAX_LIMIT}")


def _page(
    rows: Sequence[T], limit: int, cursor_of: Callable[[T], str]
) -> tuple[list[T], str | None]:
    """The first ``limit`` of ``rows`` (fetched with one more), and the next page's cursor."""
    shown = list(rows[:limit])
    return shown, cursor_of(shown[-1]) if len(rows) > limit else None


def _items(
    conn: Connection, run_id: str, *, after: int | None = None, limit: int | None = None
) -> tuple[tuple[ItemReport, ...], str | None]:
    """A run's items in the order the run made them: all, or a page after the cursor."""
    if limit is None:
        rows, cursor = run_rows.items(conn, run_id, after=after), None
    else:
        fetched = run_rows.items(conn, run_id, after=after, fetch=limit + 1)
        rows, cursor = _page(fetched, limit, _seq_of)
    return (
        tuple(
            ItemReport(r.credential_id, r.account_id, r.account_name, r.status, r.action, r.detail)
            for r in rows
        ),
        cursor,
    )


def _seq_of(row: run_rows.ItemRow) -> str:
    return str(row.seq)


def _client_id(conn: Connection, client_ref: str | None) -> str | None:
    return find_client_row(conn, client_ref).id if client_ref else None


def load_run(conn: Connection, ref: str) -> RunReport:
    """A run by id (or an unambiguous prefix of at least 8 characters), with its items."""
    row = run_rows.find(conn, ref)
    return report_from_row(row, _items(conn, row.id)[0])


def list_runs(
    conn: Connection,
    *,
    client_ref: str | None = None,
    directory_id: str | None = None,
    limit: int = 50,
) -> list[RunReport]:
    """The newest runs first, without their items."""
    _check_limit(limit)
    rows = run_rows.newest(
        conn, client_id=_client_id(conn, client_ref), directory_id=directory_id, limit=limit
    )
    return [report_from_row(r) for r in rows]


def runs_page(
    conn: Connection,
    *,
    client_ref: str | None = None,
    directory_ref: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[StoredRun], str | None]:
    """A page of runs, the newest first, without their items: those after ``cursor`` (the
    last run of the page before), of one client and one directory (by name or id) when
    given; and the next page's cursor. InvalidInput for a cursor that is no run's id."""
    _check_limit(limit)
    client_id = _client_id(conn, client_ref)
    directory_id = find_directory_row(conn, directory_ref).id if directory_ref else None
    if cursor is not None and not run_rows.exists(conn, cursor):
        raise InvalidInput(_BAD_CURSOR)
    fetched = run_rows.page(
        conn, client_id=client_id, directory_id=directory_id, after=cursor, fetch=limit + 1
    )
    rows, next_cursor = _page(fetched, limit, _id_of)
    return [StoredRun(report_from_row(r), count) for r, count in rows], next_cursor


def _id_of(row: tuple[run_rows.RunRow, int]) -> str:
    return row[0].id


def stored_run(conn: Connection, ref: str, *, items_limit: int = 0) -> StoredRun:
    """A run by id (or 8+ characters of it) as stored so far, with its first ``items_limit``
    items (none for 0) and the cursor of the rest (see :func:`items_page`)."""
    row, count = run_rows.find_counted(conn, ref)
    items: tuple[ItemReport, ...] = ()
    next_cursor = None
    if items_limit:
        _check_limit(items_limit)
        items, next_cursor = _items(conn, row.id, limit=items_limit)
    return StoredRun(report_from_row(row, items), count, next_cursor)


def items_page(
    conn: Connection, ref: str, cursor: str | None, limit: int
) -> tuple[tuple[ItemReport, ...], str | None]:
    """A page of a run's items (the run by id or 8+ characters of it), in the order the run
    made them, after ``cursor`` (the previous page's ``next_cursor``); and the next page's
    cursor. InvalidInput for a cursor that is not one."""
    after = _seq_cursor(cursor)
    _check_limit(limit)
    return _items(conn, run_rows.find_id(conn, ref), after=after, limit=limit)


def _seq_cursor(cursor: str | None) -> int | None:
    # ASCII digits, and few enough for a 64-bit column (a database refuses a larger number)
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise InvalidInput(_BAD_CURSOR)
    return int(cursor)
