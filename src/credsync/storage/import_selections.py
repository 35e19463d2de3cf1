"""Saved import selections and their runs (``import_selections``, ``import_selection_runs``):
their owner.

A selection is a client's saved choice of a directory's people and groups (its ``spec``, one
JSON text: :mod:`credsync.sync.people_selections` says what it holds), with an interval (None:
run by hand only), ``next_run_at`` (when the agent runs it next) and how its last finished
run went. A run is a row ``running`` while it works; with a fresh ``heartbeat_at`` it holds the
selection's lease (:func:`lock` then :func:`running` in one write transaction: one run of a
selection at a time across processes, as a directory's sync runs are).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, records, within
from credsync.storage.tables import clients
from credsync.storage.tables import import_selection_runs as runs
from credsync.storage.tables import import_selections as selections

__all__ = [
    "RunRow",
    "SelectionRow",
    "beat",
    "by_name",
    "delete",
    "due",
    "finish_run",
    "forget_directory",
    "get",
    "get_run",
    "insert",
    "insert_run",
    "lock",
    "of_clients",
    "running",
    "runs_of",
    "schedule",
    "update",
]


class SelectionRow(NamedTuple):
    id: str
    client_id: str
    directory_id: str
    name: str
    name_key: str
    spec: str
    interval_seconds: int | None
    enabled: bool
    next_run_at: dt.datetime | None
    last_run_at: dt.datetime | None
    last_state: str | None
    last_totals: str | None
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str


class RunRow(NamedTuple):
    id: str
    selection_id: str
    trigger: str
    actor: str
    owner: str
    state: str
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    finished_at: dt.datetime | None
    totals: str
    refused: str
    message: str


def _select() -> sa.Select[Any]:
    return sa.select(*columns_for(SelectionRow, selections))


def get(conn: Connection, selection_id: str) -> SelectionRow | None:
    row = conn.execute(_select().where(selections.c.id == selection_id)).first()
    return None if row is None else record(SelectionRow, row)


def by_name(conn: Connection, client_id: str, name_key: str) -> SelectionRow | None:
    query = _select().where(selections.c.client_id == client_id, selections.c.name_key == name_key)
    row = conn.execute(query).first()
    return None if row is None else record(SelectionRow, row)


def of_clients(
    conn: Connection, client_ids: Sequence[str] | None, *, directory_id: str | None = None
) -> list[SelectionRow]:
    """The selections of these clients (None: every client's), by client and name."""
    query = (
        _select()
        .where(within(selections.c.client_id, client_ids))
        .order_by(selections.c.client_id, selections.c.name_key)
    )
    if directory_id is not None:
        query = query.where(selections.c.directory_id == directory_id)
    return records(SelectionRow, conn.execute(query))


def due(conn: Connection, now: dt.datetime, limit: int = 50) -> list[SelectionRow]:
    """Enabled selections with an interval whose next run is due, of clients whose directory
    sync is on (and not archived), the most overdue first."""
    query = (
        _select()
        .join(clients, clients.c.id == selections.c.client_id)
        .where(
            clients.c.directory_sync.is_(True),
            clients.c.archived_at.is_(None),
            selections.c.enabled.is_(True),
            selections.c.next_run_at.is_not(None),
            selections.c.next_run_at <= now,
        )
        .order_by(selections.c.next_run_at)
        .limit(limit)
    )
    return records(SelectionRow, conn.execute(query))


def insert(conn: Connection, row: SelectionRow) -> None:
    conn.execute(selections.insert().values(**row._asdict()))


def update(
    conn: Connection, selection_id: str, *, version: int, by: str, now: dt.datetime, **values: Any
) -> bool:
    """Store ``values`` (spec, interval_seconds, enabled, next_run_at) as ``version``; False
    when the stored version is not ``version - 1`` (changed by someone else since read)."""
    allowed = {"spec", "interval_seconds", "enabled", "next_run_at"}
    if set(values) - allowed:
        raise ValueError(f"import_selections.update: not {sorted(set(values) - allowed)}")
    done = conn.execute(
        selections.update()
        .where(selections.c.id == selection_id, selections.c.version == version - 1)
        .values(version=version, updated_at=now, updated_by=by, **values)
    )
    return bool(done.rowcount == 1)


def schedule(
    conn: Connection,
    selection_id: str,
    *,
    next_run_at: dt.datetime | None,
    last: tuple[dt.datetime, str, str] | None = None,
) -> None:
    """Set when the selection runs next and (``last``: (finished at, state, totals JSON)) how
    its last run went. Not a change of the selection: its version stays."""
    values: dict[str, Any] = {"next_run_at": next_run_at}
    if last is not None:
        values |= {"last_run_at": last[0], "last_state": last[1], "last_totals": last[2]}
    conn.execute(selections.update().where(selections.c.id == selection_id).values(**values))


def delete(conn: Connection, selection_id: str) -> None:
    conn.execute(runs.delete().where(runs.c.selection_id == selection_id))
    conn.execute(selections.delete().where(selections.c.id == selection_id))


def forget_directory(conn: Connection, directory_id: str) -> None:
    """The directory is removed: its selections and their runs go."""
    ids = sa.select(selections.c.id).where(selections.c.directory_id == directory_id)
    conn.execute(runs.delete().where(runs.c.selection_id.in_(ids)))
    conn.execute(selections.delete().where(selections.c.directory_id == directory_id))


def lock(conn: Connection, selection_id: str) -> SelectionRow | None:
    """The selection's row, locked until the transaction ends (``FOR UPDATE`` on PostgreSQL;
    SQLite's write transactions are one at a time already); None when it is gone."""
    row = conn.execute(_select().where(selections.c.id == selection_id).with_for_update()).first()
    return None if row is None else record(SelectionRow, row)


# -- runs ----------------------------------------------------------------------------------------
_RUN = sa.select(*columns_for(RunRow, runs))


def running(conn: Connection, selection_id: str) -> list[RunRow]:
    query = _RUN.where(runs.c.selection_id == selection_id, runs.c.state == "running")
    return records(RunRow, conn.execute(query))


def insert_run(conn: Connection, row: RunRow) -> None:
    conn.execute(runs.insert().values(**row._asdict()))


def beat(conn: Connection, run_id: str, now: dt.datetime) -> bool:
    """The run's sign of life; False when it is no longer ``running`` (swept)."""
    done = conn.execute(
        runs.update().where(runs.c.id == run_id, runs.c.state == "running").values(heartbeat_at=now)
    )
    return bool(done.rowcount == 1)


def finish_run(
    conn: Connection,
    run_id: str,
    *,
    state: str,
    totals: str,
    refused: str,
    message: str,
    now: dt.datetime,
    silent_since: dt.datetime | None = None,
) -> bool:
    """End a running run; False when it had ended already. ``silent_since``: only if its last
    heartbeat is no later (a sweep of an abandoned run: a run that beat since is left)."""
    query = runs.update().where(runs.c.id == run_id, runs.c.state == "running")
    if silent_since is not None:
        query = query.where(runs.c.heartbeat_at <= silent_since)
    done = conn.execute(
        query.values(state=state, totals=totals, refused=refused, message=message, finished_at=now)
    )
    return bool(done.rowcount == 1)


def get_run(conn: Connection, run_id: str) -> RunRow | None:
    row = conn.execute(_RUN.where(runs.c.id == run_id)).first()
    return None if row is None else record(RunRow, row)


def runs_of(conn: Connection, selection_id: str, limit: int = 20) -> list[RunRow]:
    """The selection's newest runs first."""
    query = (
        _RUN.where(runs.c.selection_id == selection_id)
        .order_by(runs.c.started_at.desc(), runs.c.id)
        .limit(limit)
    )
    return records(RunRow, conn.execute(query))
