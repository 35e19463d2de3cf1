"""Sync runs: plan (a dry run), start a run, list runs, one run with its per-object report.

A run started here works in a thread of its own (its own event loop: the engine's database
calls never hold up the server's) and answers 202 at once with the run as stored so far: the
``runs`` row exists from the start with state ``running``, and the engine stores its report a
chunk at a time, so ``GET /runs/{id}`` shows the progress (``item_count``) until the state
becomes done, aborted or failed. ``?wait=true`` answers when the run has ended instead.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import sqlalchemy as sa
from fastapi import Query, Response
from sqlalchemy.engine import Connection

from credsync.api.deps import Caller, Cursor, Limit, State
from credsync.api.errors import ApiError
from credsync.api.routing import api_router
from credsync.api.schemas_sync import RunIn, RunItemOut, RunItemPage, RunOut, RunPage
from credsync.errors import Conflict
from credsync.storage.tables import clients, directories, run_items, runs
from credsync.sync.engine import Engine
from credsync.sync.reports import RunReport, report_from_row
from credsync.vault import Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.directories import Directory, find_directory_row
from credsync.vault.ids import one_by_id_prefix
from credsync.vault.models import iso

__all__ = ["BackgroundRuns", "background_runs", "router", "run_coroutine", "run_out"]

log = logging.getLogger("credsync.api")
router = api_router(tags=["sync"])
T = TypeVar("T")

START_TIMEOUT = 60.0  # seconds a run may take to store its row before the request gives up
ITEMS_PAGE = 500  # items shown with a run; the rest through /runs/{id}/items


def run_coroutine(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run async engine work from a plain ``def`` route: in this worker thread's own event
    loop, so the engine's (synchronous) database calls never block the server's loop."""
    return asyncio.run(make())


# -- reading runs ----------------------------------------------------------------------------
_ITEM_COUNT = (
    sa.select(sa.func.count())
    .select_from(run_items)
    .where(run_items.c.run_id == runs.c.id)
    .scalar_subquery()
)
_RUN_SELECT = (
    sa.select(
        runs,
        directories.c.name.label("directory_name"),
        directories.c.kind.label("directory_kind"),
        clients.c.name.label("client_name"),
        _ITEM_COUNT.label("item_count"),
    )
    .join(directories, directories.c.id == runs.c.directory_id)
    .join(clients, clients.c.id == runs.c.client_id)
)


def _run_row_out(row: Any) -> RunOut:
    """A ``runs`` row as ``RunReport.to_json`` shows it, with the items stored so far."""
    report = report_from_row(row)
    return RunOut(
        **report.to_json(items=False),
        item_count=int(row.item_count),
        heartbeat_at=iso(report.heartbeat_at),
    )


def _item_page(
    conn: Connection, run_id: str, after: int | None, limit: int
) -> tuple[list[RunItemOut], str | None]:
    query = (
        sa.select(run_items)
        .where(run_items.c.run_id == run_id)
        .order_by(run_items.c.seq)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(run_items.c.seq > after)
    rows = conn.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        RunItemOut(
            credential_id=r.credential_id,
            account_id=r.account_id,
            account=r.account_name,
            status=r.status,
            action=r.action,
            detail=r.detail,
        )
        for r in rows
    ]
    return items, str(rows[-1].seq) if more else None


def _load(state: State, ref: str, items_limit: int = ITEMS_PAGE) -> RunOut:
    with state.vault.db.read() as conn:
        row = one_by_id_prefix(conn, _RUN_SELECT, runs.c.id, ref, "run", min_chars=8)
        out = _run_row_out(row)
        if items_limit:
            out.items, out.next_items_cursor = _item_page(conn, row.id, None, items_limit)
    return out


def run_out(report: RunReport) -> RunOut:
    """A finished run as the engine reported it (every item)."""
    data = report.to_json()
    data["items"] = [RunItemOut(**i) for i in data["items"]]
    return RunOut(**data, item_count=len(report.items), heartbeat_at=iso(report.heartbeat_at))


def _seq_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit():
        raise ApiError(400, "invalid_input", "cursor is not a cursor of this list")
    return int(cursor)


# -- starting runs ---------------------------------------------------------------------------
class BackgroundRuns:
    """Runs started through the API, each in a thread of its own. One at a time per
    directory: a quick check in this process, and the engine's lease on the directory for
    every process (the agent, the CLI, other servers); either refuses a second start with
    409 ``run_in_progress``. The threads are daemons: a server shutting down waits for them
    a bounded time (:meth:`join_all`), then lets them go (their runs, no longer beating,
    are swept as abandoned later)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}  # run id -> its thread
        self._busy: dict[str, Future[str]] = {}  # directory id -> its run's id, once stored

    def start(self, state: State, actor: Actor, directory: Directory, *, full: bool) -> str:
        started: Future[str] = Future()
        with self._lock:
            busy = self._busy.get(directory.id)
            if busy is not None:
                where = f": see GET /api/v1/runs/{busy.result()}" if _ok(busy) else ""
                raise ApiError(
                    409,
                    "run_in_progress",
                    f"directory {directory.name!r} has a run under way{where}",
                )
            self._busy[directory.id] = started
        engine = Engine(state.vault, state.keys, actor)

        def work() -> None:
            try:
                asyncio.run(
                    engine.run(directory.id, full=full, trigger="api", on_start=started.set_result)
                )
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)  # refused before it began: the route says why
                else:  # the engine stored the run as failed, with the reason
                    log.error(
                        "run of directory %s stopped: %s",
                        directory.name,
                        type(exc).__name__,
                        exc_info=exc,
                    )
            finally:
                with self._lock:
                    if self._busy.get(directory.id) is started:
                        del self._busy[directory.id]
                    if _ok(started):
                        self._threads.pop(started.result(), None)

        thread = threading.Thread(target=work, name=f"credsync-run-{directory.id[:8]}", daemon=True)
        with self._lock:
            try:
                thread.start()
            except BaseException:
                del self._busy[directory.id]
                raise
        try:
            run_id = started.result(timeout=START_TIMEOUT)
        except Conflict as exc:  # the engine's lease: a run under way in another process
            raise ApiError(409, "run_in_progress", str(exc)) from None
        with self._lock:
            if self._busy.get(directory.id) is started:  # still under way
                self._threads[run_id] = thread
        return run_id

    def join(self, run_id: str, timeout: float | None = None) -> None:
        """Wait for a run started here to end (at once when it has, or was not started here)."""
        with self._lock:
            thread = self._threads.get(run_id)
        if thread is not None:
            thread.join(timeout)

    def join_all(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds in all for the runs under way to end; how many
        have not."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return sum(thread.is_alive() for thread in threads)


def _ok(future: Future[str]) -> bool:
    return future.done() and future.exception() is None


background_runs = BackgroundRuns()


def _engine(state: State, actor: Actor) -> Engine:
    return Engine(state.vault, state.keys, actor)


# -- routes ----------------------------------------------------------------------------------
@router.post("/directories/{ref}/plan", response_model=RunOut)
def plan_run(ref: str, actor: Caller, state: State, body: RunIn | None = None) -> RunOut:
    """What a run would do per credential, and why, without doing it (a dry run, stored like
    any run; needs vault.read and directory_admin.use)."""
    full = body.full if body else False
    engine = _engine(state, actor)
    report = run_coroutine(lambda: engine.run(ref, dry_run=True, full=full, trigger="api"))
    return run_out(report)


@router.post("/directories/{ref}/runs", response_model=RunOut, status_code=202)
def start_run(
    ref: str,
    actor: Caller,
    state: State,
    response: Response,
    body: RunIn | None = None,
    wait: bool = Query(False, description="Answer when the run has ended (200), not at once."),
) -> RunOut:
    """Start a run (incremental, or ``full``) now: 202 with the run as it starts (state
    ``running``; poll ``GET /runs/{id}``), or with ``wait=true`` 200 with the finished run.
    Needs vault.read, vault.write and directory_admin.use. One run at a time per directory."""
    actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_ADMIN_USE)
    directory = state.vault.directories.get(actor, ref)
    run_id = background_runs.start(state, actor, directory, full=body.full if body else False)
    response.headers["Location"] = f"/api/v1/runs/{run_id}"
    if wait:
        background_runs.join(run_id)
        response.status_code = 200
    return _load(state, run_id)


@router.get("/runs", response_model=RunPage)
def list_runs(
    actor: Caller,
    state: State,
    limit: Limit = 50,
    cursor: Cursor = None,
    client: str | None = Query(None, max_length=200, description="A client's name or id."),
    directory: str | None = Query(None, max_length=100, description="A directory's name or id."),
) -> RunPage:
    """Runs, the newest first, without their items (needs vault.read)."""
    actor.require(Permission.VAULT_READ)
    query = _RUN_SELECT.order_by(runs.c.started_at.desc(), runs.c.id).limit(limit + 1)
    with state.vault.db.read() as conn:
        if client:
            query = query.where(runs.c.client_id == find_client_row(conn, client).id)
        if directory:
            query = query.where(runs.c.directory_id == find_directory_row(conn, directory).id)
        if cursor is not None:
            last = conn.execute(
                sa.select(runs.c.id, runs.c.started_at).where(runs.c.id == cursor)
            ).first()
            if last is None:
                raise ApiError(400, "invalid_input", "cursor is not a cursor of this list")
            started = sa.select(runs.c.started_at).where(runs.c.id == last.id).scalar_subquery()
            query = query.where(
                sa.or_(
                    runs.c.started_at < started,
                    sa.and_(runs.c.started_at == started, runs.c.id > last.id),
                )
            )
        rows = conn.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return RunPage(items=[_run_row_out(r) for r in rows], next_cursor=rows[-1].id if more else None)


@router.get("/runs/{ref}", response_model=RunOut)
def get_run(
    ref: str,
    actor: Caller,
    state: State,
    items_limit: int = Query(
        ITEMS_PAGE, ge=0, le=ITEMS_PAGE, description="Items shown with the run (0: none)."
    ),
) -> RunOut:
    """One run (id or 8+ characters of it) with the first page of its per-object report;
    ``next_items_cursor`` pages on through ``/runs/{id}/items`` (needs vault.read)."""
    actor.require(Permission.VAULT_READ)
    return _load(state, ref, items_limit)


@router.get("/runs/{ref}/items", response_model=RunItemPage)
def run_items_page(
    ref: str, actor: Caller, state: State, limit: Limit = 500, cursor: Cursor = None
) -> RunItemPage:
    """A run's per-object report, a page at a time, in the order the run made it."""
    actor.require(Permission.VAULT_READ)
    after = _seq_cursor(cursor)
    with state.vault.db.read() as conn:
        row = one_by_id_prefix(conn, sa.select(runs.c.id), runs.c.id, ref, "run", min_chars=8)
        items, next_cursor = _item_page(conn, row.id, after, limit)
    return RunItemPage(items=items, next_cursor=next_cursor)
