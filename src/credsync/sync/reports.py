"""Stored runs and their per-object reports, as read back for people and scripts: whole
(:func:`load_run`, :func:`list_runs`) or a page at a time (:func:`runs_page`,
:func:`stored_run`, :func:`items_page`: a page asks for one row more than it shows, and its
cursor is the last row shown). The CLI, the API and the dashboard read them through
:class:`StoredRuns`, which asks for vault.read first.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, cast, overload

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.errors import InvalidInput
from credsync.storage import Database
from credsync.storage import runs as run_rows
from credsync.sync import lease
from credsync.sync import report_text as texts
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.auth import SYSTEM, Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.directories import find_directory_row
from credsync.vault.flags import side_of
from credsync.vault.listing import bad_cursor, page_of
from credsync.vault.models import Timestamp, iso

__all__ = [
    "RUN_STATES",
    "ItemReport",
    "ItemReportJson",
    "RunJson",
    "RunReport",
    "RunReportJson",
    "RunState",
    "StoredRun",
    "StoredRuns",
    "check_limit",
    "check_state",
    "items_page",
    "list_runs",
    "load_run",
    "report_from_row",
    "runs_page",
    "stored_run",
]

_MAX_LIMIT = 1000  # rows a list or a page may ask for
RunState = Literal["running", "done", "aborted", "failed"]
RUN_STATES: tuple[RunState, ...] = ("running", "done", "aborted", "failed")


def check_state(state: str | None) -> None:
    """InvalidInput (field ``state``) unless ``state`` is None or a run's state."""
    if state is not None and state not in RUN_STATES:
        raise InvalidInput(
            f"state must be one of {', '.join(RUN_STATES)}, not {state[:40]!r}", field="state"
        )


class ItemReportJson(TypedDict):
    credential_id: str | None
    account_id: str | None
    """The account's stable id in the directory (objectGUID, Graph object id)."""
    account: str
    status: str
    action: str
    detail: str
    """Why, in the directory's own words where it spoke."""


@dataclass(frozen=True)
class ItemReport:
    credential_id: str | None
    account_id: str | None
    account: str
    status: str
    action: str
    detail: str

    def to_json(self) -> ItemReportJson:
        return ItemReportJson(
            credential_id=self.credential_id,
            account_id=self.account_id,
            account=self.account,
            status=self.status,
            action=self.action,
            detail=self.detail,
        )


class RunJson(TypedDict):
    """A run, without its per-object report."""

    id: str
    directory_id: str
    directory: str
    side: str
    """The display name of the directory's kind."""
    client_id: str
    client: str
    kind: str
    trigger: str
    dry_run: bool
    actor: str
    state: RunState
    message: str
    summary: dict[str, Any]
    """Counts by ``statuses`` and ``actions``; an incremental run that left credentials
    neither side changed also ``unchanged`` (linked ones, not re-checked),
    ``unchanged_unlinked`` and ``unchanged_since`` (the previous whole run's start);
    ``in_sync_unchanged``: credentials found in step as their last check said, nothing done,
    counted in ``statuses`` but not listed in ``items``; ``flagged_unchanged``: likewise,
    those found with a problem exactly as their open flag says; ``items_pruned_at``: when the
    retention deleted the run's items."""
    accounts_read: int
    """Accounts this pass read: every one in scope for a full pass, those changed since the
    last run for an incremental one, the credentials' own for a push."""
    accounts_total: int | None
    """The directory's accounts the vault knows (its account cache) when the run ended (null:
    a run from before this was recorded, or one still under way)."""
    started_at: Timestamp
    finished_at: Timestamp | None


class RunReportJson(RunJson):
    """A run with its per-object report."""

    items: NotRequired[list[ItemReportJson]]
    """The per-object report, in the order the run made it."""


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
    state: RunState
    message: str
    summary: dict[str, Any]
    accounts_read: int
    accounts_total: int | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    # Not in the repr: a full pass's thousands of items made it megabytes, and Python 3.11's
    # asyncio.run formats its main task (with this result) once it returns (issue 19).
    items: tuple[ItemReport, ...] = field(default=(), repr=False)
    heartbeat_at: dt.datetime | None = None  # the last sign of life (not in to_json)

    @property
    def ok(self) -> bool:
        return self.state == "done"

    @property
    def accounts_text(self) -> str:
        """What the run read, for people: see :func:`accounts_text`."""
        return texts.accounts_text(self.kind, self.accounts_read, self.accounts_total)

    @property
    def unchanged_text(self) -> str | None:
        """What the run did not check again, for people: see :func:`unchanged_text`."""
        return texts.unchanged_text(self.summary)

    @property
    def in_step_text(self) -> str | None:
        """What the run found in step as before, not listed: see :func:`in_step_text`."""
        return texts.in_step_text(self.summary)

    @property
    def flagged_text(self) -> str | None:
        """What the run found flagged as before, not listed: see :func:`flagged_text`."""
        return texts.flagged_text(self.summary)

    @property
    def pruned_text(self) -> str | None:
        """Whether the retention deleted the run's items: see :func:`pruned_text`."""
        return texts.pruned_text(self.summary)

    def count(self, status: str) -> int:
        return int(self.summary.get("statuses", {}).get(status, 0))

    def to_json(self, *, items: bool = True) -> RunReportJson:
        data = RunReportJson(
            id=self.id,
            directory_id=self.directory_id,
            directory=self.directory,
            side=self.side,
            client_id=self.client_id,
            client=self.client,
            kind=self.kind,
            trigger=self.trigger,
            dry_run=self.dry_run,
            actor=self.actor,
            state=self.state,
            message=self.message,
            summary=self.summary,
            accounts_read=self.accounts_read,
            accounts_total=self.accounts_total,
            started_at=iso(self.started_at),
            finished_at=iso(self.finished_at),
        )
        if items:
            data["items"] = [i.to_json() for i in self.items]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunReport:
        """A run as :meth:`to_json` shows it (the API's too: what it adds of its own, the
        stored item count and the page's cursor, is left out; its heartbeat is kept)."""
        return cls(
            id=data["id"],
            directory_id=data["directory_id"],
            directory=data["directory"],
            side=data["side"],
            client_id=data["client_id"],
            client=data["client"],
            kind=data["kind"],
            trigger=data["trigger"],
            dry_run=data["dry_run"],
            actor=data["actor"],
            state=data["state"],
            message=data["message"],
            summary=data["summary"],
            accounts_read=data["accounts_read"],
            accounts_total=data.get("accounts_total"),
            started_at=_parsed(data["started_at"]),
            finished_at=_parsed(data["finished_at"]),
            items=tuple(ItemReport(**i) for i in data.get("items") or ()),
            heartbeat_at=_parsed(data.get("heartbeat_at")),
        )


@overload
def _parsed(text: str) -> dt.datetime: ...
@overload
def _parsed(text: str | None) -> dt.datetime | None: ...
def _parsed(text: str | None) -> dt.datetime | None:
    """A time as :func:`~credsync.vault.models.iso` writes it."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def report_from_row(row: run_rows.RunRow, items: tuple[ItemReport, ...] = ()) -> RunReport:
    """A run (with its directory's name and kind and its client's name) as a report; a run
    still under way has no summary yet. A run left ``running`` by a process that stopped
    shows as the sweep will store it: aborted, and why."""
    state = cast(RunState, row.state)  # as stored by the recorder and the sweep
    message, finished_at = row.message, as_utc_opt(row.finished_at)
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
        summary=_summary(row),
        accounts_read=row.accounts_read,
        accounts_total=row.accounts_total,
        started_at=as_utc(row.started_at),
        finished_at=finished_at,
        items=items,
        heartbeat_at=as_utc_opt(row.heartbeat_at),
    )


def _summary(row: run_rows.RunRow) -> dict[str, Any]:
    """The run's stored summary, and when the retention deleted its items."""
    summary: dict[str, Any] = json.loads(row.summary or "{}")
    if row.items_pruned_at is not None:
        summary["items_pruned_at"] = iso(as_utc(row.items_pruned_at))
    return summary


@dataclass(frozen=True)
class StoredRun:
    """A run as stored so far: its report (with the first page of its items, or none), how
    many items it has stored (a run under way stores them a chunk at a time), and the cursor
    of the next page of its items."""

    report: RunReport
    item_count: int
    next_items_cursor: str | None = None


def check_limit(limit: int) -> None:
    """How many runs (or items) a list or a page may hold: 1 to 1,000."""
    if not 1 <= limit <= _MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {_MAX_LIMIT}")


def _items(
    conn: Connection, run_id: str, *, after: int | None = None, limit: int | None = None
) -> tuple[tuple[ItemReport, ...], str | None]:
    """A run's items in the order the run made them: all, or a page after the cursor."""
    if limit is None:
        rows, cursor = run_rows.items(conn, run_id, after=after), None
    else:
        fetched = run_rows.items(conn, run_id, after=after, fetch=limit + 1)
        rows, cursor = page_of(fetched, limit, _seq_of)
    return (
        tuple(
            ItemReport(r.credential_id, r.account_id, r.account_name, r.status, r.action, r.detail)
            for r in rows
        ),
        cursor,
    )


def _seq_of(row: run_rows.ItemRow) -> str:
    return str(row.seq)


def _client_id(conn: Connection, client_ref: str | None, actor: Actor) -> str | None:
    return find_client_row(conn, client_ref, actor).id if client_ref else None


def load_run(conn: Connection, ref: str, actor: Actor = SYSTEM) -> RunReport:
    """A run by id (or an unambiguous prefix of at least 8 characters), with its items; a run
    of a client outside ``actor``'s client access is NotFound."""
    row = run_rows.find(conn, ref, actor.clients)
    return report_from_row(row, _items(conn, row.id)[0])


def list_runs(
    conn: Connection,
    *,
    client_ref: str | None = None,
    directory_id: str | None = None,
    limit: int = 50,
    state: str | None = None,
    actor: Actor = SYSTEM,
) -> list[RunReport]:
    """The newest runs first (in one state when given; of the clients ``actor`` reaches),
    without their items."""
    check_limit(limit)
    check_state(state)
    rows = run_rows.newest(
        conn,
        client_id=_client_id(conn, client_ref, actor),
        directory_id=directory_id,
        limit=limit,
        state=state,
        client_ids=actor.clients,
    )
    return [report_from_row(r) for r in rows]


def runs_page(
    conn: Connection,
    *,
    client_ref: str | None = None,
    directory_ref: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    state: str | None = None,
    actor: Actor = SYSTEM,
) -> tuple[list[StoredRun], str | None]:
    """A page of runs, the newest first, without their items: those after ``cursor`` (the
    last run of the page before), of one client, one directory (by name or id) and one
    state when given; and the next page's cursor. InvalidInput for a cursor that is no
    run's id, or a state that is none."""
    check_limit(limit)
    check_state(state)
    client_id = _client_id(conn, client_ref, actor)
    directory_id = find_directory_row(conn, directory_ref, actor).id if directory_ref else None
    if cursor is not None and not run_rows.exists(conn, cursor):
        raise bad_cursor()
    fetched = run_rows.page(
        conn,
        client_id=client_id,
        directory_id=directory_id,
        after=cursor,
        fetch=limit + 1,
        state=state,
        client_ids=actor.clients,
    )
    rows, next_cursor = page_of(fetched, limit, _id_of)
    return [StoredRun(report_from_row(r), count) for r, count in rows], next_cursor


def _id_of(row: tuple[run_rows.RunRow, int]) -> str:
    return row[0].id


def stored_run(
    conn: Connection, ref: str, *, items_limit: int = 0, actor: Actor = SYSTEM
) -> StoredRun:
    """A run by id (or 8+ characters of it) as stored so far, with its first ``items_limit``
    items (none for 0) and the cursor of the rest (see :func:`items_page`)."""
    row, count = run_rows.find_counted(conn, ref, actor.clients)
    items: tuple[ItemReport, ...] = ()
    next_cursor = None
    if items_limit:
        check_limit(items_limit)
        items, next_cursor = _items(conn, row.id, limit=items_limit)
    return StoredRun(report_from_row(row, items), count, next_cursor)


def items_page(
    conn: Connection, ref: str, cursor: str | None, limit: int, actor: Actor = SYSTEM
) -> tuple[tuple[ItemReport, ...], str | None]:
    """A page of a run's items (the run by id or 8+ characters of it), in the order the run
    made them, after ``cursor`` (the previous page's ``next_cursor``); and the next page's
    cursor. InvalidInput for a cursor that is not one."""
    after = _seq_cursor(cursor)
    check_limit(limit)
    return _items(conn, run_rows.find_id(conn, ref, actor.clients), after=after, limit=limit)


def _seq_cursor(cursor: str | None) -> int | None:
    # ASCII digits, and few enough for a 64-bit column (a database refuses a larger number)
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise bad_cursor()
    return int(cursor)


class StoredRuns:
    """Stored runs read back for an operator (needs vault.read): the functions above, each
    in a read transaction of its own."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def list(
        self,
        actor: Actor,
        *,
        client_ref: str | None = None,
        limit: int = 50,
        state: str | None = None,
    ) -> builtins.list[RunReport]:
        """The newest runs first (of one client, in one state when given), without their
        items."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return list_runs(conn, client_ref=client_ref, limit=limit, state=state, actor=actor)

    def load(self, actor: Actor, ref: str) -> RunReport:
        """A run (its id or 8+ characters of it) with all its items."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return load_run(conn, ref, actor)

    def page(
        self,
        actor: Actor,
        *,
        client_ref: str | None = None,
        directory_ref: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        state: str | None = None,
    ) -> tuple[builtins.list[StoredRun], str | None]:
        """See :func:`runs_page`."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return runs_page(
                conn,
                client_ref=client_ref,
                directory_ref=directory_ref,
                cursor=cursor,
                limit=limit,
                state=state,
                actor=actor,
            )

    def stored(self, actor: Actor, ref: str, *, items_limit: int = 0) -> StoredRun:
        """See :func:`stored_run`."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return stored_run(conn, ref, items_limit=items_limit, actor=actor)

    def items(
        self, actor: Actor, ref: str, cursor: str | None, limit: int
    ) -> tuple[tuple[ItemReport, ...], str | None]:
        """See :func:`items_page`."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return items_page(conn, ref, cursor, limit, actor)
