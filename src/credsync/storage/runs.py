"""Runs and their report items (``runs``, ``run_items``): their owner.

A run's row is inserted ``running`` once its lease is taken, beats while it works
(``heartbeat_at``), and ends once (:func:`end`, only while still ``running``: a run swept as
abandoned meanwhile stays swept). Its items are stored a chunk at a time, numbered in the
order the run made them. What the lease means (when a run is abandoned, who may start) is
:mod:`credsync.sync.lease`'s; these functions only read and write.

Reads for people come joined with the directory's name and kind and the client's name
(:class:`RunRow`), a whole list or a page at a time; a page asks for one row more than it
shows (``fetch``), so that the caller knows whether there is a next one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage import run_days
from credsync.storage._rows import columns_for, record, records, within
from credsync.storage.ids import one_by_id_prefix
from credsync.storage.tables import clients, directories, run_items, runs

__all__ = [
    "ItemRow",
    "NewItem",
    "RunRow",
    "add_items",
    "beat",
    "end",
    "exists",
    "find",
    "find_counted",
    "find_id",
    "forget_directory",
    "insert",
    "item_counts",
    "items",
    "last_whole_start",
    "mark_abandoned",
    "newest",
    "note_abort",
    "page",
    "prune_items",
    "prune_runs",
    "running",
    "update_items",
]


class RunRow(NamedTuple):
    id: str
    directory_id: str
    client_id: str
    kind: str
    trigger: str
    dry_run: bool
    actor: str
    state: str
    message: str
    summary: str  # JSON
    accounts_read: int
    accounts_total: int | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    owner: str | None
    directory_name: str
    directory_kind: str
    client_name: str
    items_pruned_at: dt.datetime | None = None  # when the retention deleted its items


_SELECT = (
    sa.select(
        *columns_for(
            RunRow,
            runs,
            directory_name=directories.c.name,
            directory_kind=directories.c.kind,
            client_name=clients.c.name,
            items_pruned_at=runs.c.items_pruned_at,
        )
    )
    .join(directories, directories.c.id == runs.c.directory_id)
    .join(clients, clients.c.id == runs.c.client_id)
)
_ITEM_COUNT = (
    sa.select(sa.func.count())
    .select_from(run_items)
    .where(run_items.c.run_id == runs.c.id)
    .scalar_subquery()
)
_COUNTED = _SELECT.add_columns(_ITEM_COUNT.label("item_count"))


def _counted(row: Any) -> tuple[RunRow, int]:
    return RunRow(*row[:-1]), int(row[-1])


# -- a run's life --------------------------------------------------------------------------------
def insert(
    conn: Connection,
    run_id: str,
    *,
    directory_id: str,
    client_id: str,
    kind: str,
    trigger: str,
    dry_run: bool,
    actor: str,
    owner: str,
    now: dt.datetime,
) -> None:
    """A new run, ``running`` from ``now`` (its first heartbeat)."""
    conn.execute(
        runs.insert().values(
            id=run_id,
            directory_id=directory_id,
            client_id=client_id,
            kind=kind,
            trigger=trigger,
            dry_run=dry_run,
            actor=actor,
            state="running",
            message="",
            summary="{}",
            accounts_read=0,
            started_at=now,
            heartbeat_at=now,
            owner=owner,
        )
    )
    if not dry_run:
        run_days.moved(
            conn,
            day=run_days.day_of(now),
            directory_id=directory_id,
            client_id=client_id,
            before=None,
            after="running",
        )


def running(conn: Connection, directory_id: str | None = None) -> list[RunRow]:
    """Runs still ``running`` (of one directory, or all), the oldest first."""
    query = _SELECT.where(runs.c.state == "running").order_by(runs.c.started_at)
    if directory_id is not None:
        query = query.where(runs.c.directory_id == directory_id)
    return records(RunRow, conn.execute(query))


# Built once, with bound parameters: a push's intent and outcome each beat (issue 19).
_BEAT = (
    runs.update()
    .where(runs.c.id == sa.bindparam("b_run"), runs.c.state == "running")
    .values(heartbeat_at=sa.bindparam("b_at"))
)


def beat(conn: Connection, run_id: str, now: dt.datetime) -> bool:
    """The run's sign of life; False when its row is no longer ``running``."""
    done = conn.execute(_BEAT, {"b_run": run_id, "b_at": now})
    return bool(done.rowcount == 1)


def end(
    conn: Connection,
    run_id: str,
    *,
    kind: str,
    state: str,
    message: str,
    summary: str,
    accounts_read: int,
    accounts_total: int | None,
    now: dt.datetime,
) -> bool:
    """The run's end, if it is still ``running`` (False: it was swept meanwhile)."""
    run = conn.execute(
        sa.select(runs.c.directory_id, runs.c.client_id, runs.c.dry_run, runs.c.started_at).where(
            runs.c.id == run_id
        )
    ).first()
    ended = conn.execute(
        runs.update()
        .where(runs.c.id == run_id, runs.c.state == "running")
        .values(
            kind=kind,
            state=state,
            message=message,
            summary=summary,
            accounts_read=accounts_read,
            accounts_total=accounts_total,
            finished_at=now,
        )
    )
    if ended.rowcount != 1:
        return False
    if run is not None:
        _counted_as(conn, run, state)
    return True


def note_abort(conn: Connection, run_id: str, message: str) -> None:
    """Why an ``aborted`` run stopped, in its own words (a swept run that noticed)."""
    conn.execute(
        runs.update().where(runs.c.id == run_id, runs.c.state == "aborted").values(message=message)
    )


def mark_abandoned(
    conn: Connection, run: RunRow, *, message: str, summary: str, finished_at: dt.datetime
) -> bool:
    """Mark the run ``aborted`` if it is still ``running`` with the heartbeat ``run`` was read
    with (False: it showed a sign of life meanwhile, or another sweeper got it)."""
    done = conn.execute(
        runs.update()
        .where(
            runs.c.id == run.id,
            runs.c.state == "running",
            runs.c.heartbeat_at.is_(None)
            if run.heartbeat_at is None
            else runs.c.heartbeat_at == run.heartbeat_at,
        )
        .values(state="aborted", message=message, summary=summary, finished_at=finished_at)
    )
    if done.rowcount != 1:
        return False
    _counted_as(conn, run, "aborted")
    return True


def _counted_as(conn: Connection, run: Any, state: str) -> None:
    """A run that was ``running`` (a RunRow, or the row ``end`` read) counted in its day as
    ``state`` (a dry run is not counted)."""
    if not run.dry_run:
        run_days.moved(
            conn,
            day=run_days.day_of(run.started_at),
            directory_id=run.directory_id,
            client_id=run.client_id,
            before="running",
            after=state,
        )


def item_counts(conn: Connection, run_id: str) -> dict[str, dict[str, int]]:
    """How many items the run stored, by status and by action."""
    by: dict[str, dict[str, int]] = {"statuses": {}, "actions": {}}
    for name, column in (("statuses", run_items.c.status), ("actions", run_items.c.action)):
        rows = conn.execute(
            sa.select(column, sa.func.count()).where(run_items.c.run_id == run_id).group_by(column)
        )
        by[name] = {value: int(count) for value, count in rows}
    return by


class NewItem(NamedTuple):
    credential_id: str | None
    account_id: str | None
    account_name: str
    status: str
    action: str
    detail: str


def add_items(conn: Connection, run_id: str, new: Sequence[tuple[int, NewItem]]) -> None:
    """Items of the run by their numbers (the order of its report), each stamped with the
    time it is stored."""
    if not new:
        return
    now = dt.datetime.now(dt.UTC)
    conn.execute(
        run_items.insert(),
        [{"run_id": run_id, "seq": seq, **item._asdict(), "at": now} for seq, item in new],
    )


_UPDATE_ITEM = (
    run_items.update()
    .where(run_items.c.run_id == sa.bindparam("b_run"), run_items.c.seq == sa.bindparam("b_seq"))
    .values({name: sa.bindparam(f"b_{name}") for name in (*NewItem._fields, "at")})
)


def update_items(conn: Connection, run_id: str, items: Sequence[tuple[int, NewItem]]) -> None:
    """Items of the run by their numbers (stored as pushes' intents) become what they ended
    as: one statement, built once (an executemany for several)."""
    if not items:
        return
    now = dt.datetime.now(dt.UTC)
    conn.execute(
        _UPDATE_ITEM,
        [
            {"b_run": run_id, "b_seq": seq, "b_at": now,
             **{f"b_{name}": value for name, value in item._asdict().items()}}
            for seq, item in items
        ],
    )  # fmt: skip


def forget_directory(conn: Connection, directory_id: str) -> None:
    """The directory's runs and their items."""
    of_directory = sa.select(runs.c.id).where(runs.c.directory_id == directory_id)
    conn.execute(run_items.delete().where(run_items.c.run_id.in_(of_directory)))
    conn.execute(runs.delete().where(runs.c.directory_id == directory_id))
    run_days.forget_directory(conn, directory_id)


# -- reading back --------------------------------------------------------------------------------
def find(conn: Connection, ref: str, client_ids: Collection[str] | None = None) -> RunRow:
    """A run by id or 8+ characters of it (NotFound, or InvalidInput when ambiguous); only a
    run of ``client_ids`` when given (per-client access)."""
    query = _SELECT.where(within(runs.c.client_id, client_ids))
    return record(RunRow, one_by_id_prefix(conn, query, runs.c.id, ref, "run", min_chars=8))


def find_counted(
    conn: Connection, ref: str, client_ids: Collection[str] | None = None
) -> tuple[RunRow, int]:
    """:func:`find`, with how many items the run has stored."""
    query = _COUNTED.where(within(runs.c.client_id, client_ids))
    return _counted(one_by_id_prefix(conn, query, runs.c.id, ref, "run", min_chars=8))


def find_id(conn: Connection, ref: str, client_ids: Collection[str] | None = None) -> str:
    """The id of the run ``ref`` names (as :func:`find`)."""
    query = sa.select(runs.c.id).where(within(runs.c.client_id, client_ids))
    return str(one_by_id_prefix(conn, query, runs.c.id, ref, "run", min_chars=8).id)


def exists(conn: Connection, run_id: str) -> bool:
    return conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first() is not None


def last_whole_start(conn: Connection, directory_id: str) -> dt.datetime | None:
    """When the directory's newest run that went over it whole (a full or incremental run,
    done, not a dry run: the one that left its cursor) started; None when none did."""
    query = sa.select(sa.func.max(runs.c.started_at)).where(
        runs.c.directory_id == directory_id,
        runs.c.state == "done",
        runs.c.dry_run.is_(False),
        runs.c.kind.in_(("full", "incremental")),
    )
    found: dt.datetime | None = conn.execute(query).scalar_one()
    return found


def _newest_first(
    query: sa.Select[Any],
    client_id: str | None,
    directory_id: str | None,
    state: str | None = None,
    client_ids: Collection[str] | None = None,
) -> sa.Select[Any]:
    query = query.order_by(runs.c.started_at.desc(), runs.c.id)
    query = query.where(within(runs.c.client_id, client_ids))
    if client_id:
        query = query.where(runs.c.client_id == client_id)
    if directory_id:
        query = query.where(runs.c.directory_id == directory_id)
    if state:
        query = query.where(runs.c.state == state)
    return query


def newest(
    conn: Connection,
    *,
    client_id: str | None,
    directory_id: str | None,
    limit: int,
    state: str | None = None,
    client_ids: Collection[str] | None = None,
) -> list[RunRow]:
    """The newest ``limit`` runs (of one client, one directory, in one state; of
    ``client_ids`` when given), the newest first."""
    query = _newest_first(_SELECT, client_id, directory_id, state, client_ids).limit(limit)
    return records(RunRow, conn.execute(query))


def page(
    conn: Connection,
    *,
    client_id: str | None,
    directory_id: str | None,
    after: str | None,
    fetch: int,
    state: str | None = None,
    client_ids: Collection[str] | None = None,
) -> list[tuple[RunRow, int]]:
    """Up to ``fetch`` runs with their item counts, the newest first, from just after the run
    ``after`` (one that exists: see :func:`exists`), of one client, directory and state when
    given."""
    query = _newest_first(_COUNTED, client_id, directory_id, state, client_ids)
    if after is not None:
        started = sa.select(runs.c.started_at).where(runs.c.id == after).scalar_subquery()
        query = query.where(
            sa.or_(
                runs.c.started_at < started,
                sa.and_(runs.c.started_at == started, runs.c.id > after),
            )
        )
    return [_counted(r) for r in conn.execute(query.limit(fetch))]


class ItemRow(NamedTuple):
    seq: int
    credential_id: str | None
    account_id: str | None
    account_name: str
    status: str
    action: str
    detail: str


def items(
    conn: Connection, run_id: str, *, after: int | None = None, fetch: int | None = None
) -> list[ItemRow]:
    """A run's items in the order the run made them: all, or up to ``fetch`` after the item
    numbered ``after``."""
    query = (
        sa.select(*columns_for(ItemRow, run_items))
        .where(run_items.c.run_id == run_id)
        .order_by(run_items.c.seq)
    )
    if after is not None:
        query = query.where(run_items.c.seq > after)
    if fetch is not None:
        query = query.limit(fetch)
    return records(ItemRow, conn.execute(query))


# -- retention (see credsync.sync.retention; what may go: storage.run_retention) ------------
def prune_items(conn: Connection, found: dict[str, list[int]], now: dt.datetime) -> int:
    """Delete these items (:func:`old_items`) and mark their runs pruned; how many went."""
    deleted = 0
    for run_id, seqs in found.items():
        done = conn.execute(
            run_items.delete().where(run_items.c.run_id == run_id, run_items.c.seq.in_(seqs))
        )
        deleted += int(done.rowcount)
    if found:
        conn.execute(
            runs.update()
            .where(runs.c.id.in_(sorted(found)), runs.c.items_pruned_at.is_(None))
            .values(items_pruned_at=now)
        )
    return deleted


def prune_runs(conn: Connection, run_ids: Sequence[str]) -> tuple[int, int]:
    """Delete these runs (:func:`old_runs`) and any items they still have; how many of
    each went."""
    if not run_ids:
        return 0, 0
    items_gone = conn.execute(run_items.delete().where(run_items.c.run_id.in_(run_ids)))
    runs_gone = conn.execute(runs.delete().where(runs.c.id.in_(run_ids)))
    return int(runs_gone.rowcount), int(items_gone.rowcount)
