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
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import Future
from typing import Any, TypeVar

from fastapi import Query, Response

from credsync.api.deps import Caller, Cursor, Limit, State
from credsync.api.errors import ApiError
from credsync.api.routing import api_router
from credsync.api.schemas_sync import RunIn, RunItemOut, RunItemPage, RunOut, RunPage
from credsync.sync.engine import Engine
from credsync.sync.reports import (
    ItemReport,
    RunReport,
    StoredRun,
    items_page,
    runs_page,
    stored_run,
)
from credsync.vault import Actor, Permission
from credsync.vault.directories import Directory
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


# -- reading runs (sync.reports loads them; here they become the API's models) -------------
def _items_out(items: Iterable[ItemReport]) -> list[RunItemOut]:
    return [RunItemOut(**i.to_json()) for i in items]


def _stored_out(stored: StoredRun) -> RunOut:
    """A run as ``RunReport.to_json`` shows it, with the number of items stored so far."""
    report = stored.report
    return RunOut(
        **report.to_json(items=False),
        item_count=stored.item_count,
        heartbeat_at=iso(report.heartbeat_at),
    )


def _load(state: State, ref: str, items_limit: int = ITEMS_PAGE) -> RunOut:
    with state.vault.db.read() as conn:
        stored = stored_run(conn, ref, items_limit=items_limit)
    out = _stored_out(stored)
    if items_limit:
        out.items, out.next_items_cursor = _items_out(stored.report.items), stored.next_items_cursor
    return out


def run_out(report: RunReport) -> RunOut:
    """A finished run as the engine reported it (every item)."""
    out = _stored_out(StoredRun(report, len(report.items)))
    out.items = _items_out(report.items)
    return out


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
        # The engine's lease refuses a run under way in another process: RunInProgress, 409
        # ``run_in_progress`` like the check above.
        run_id = started.result(timeout=START_TIMEOUT)
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
    with state.vault.db.read() as conn:
        found, next_cursor = runs_page(
            conn, client_ref=client, directory_ref=directory, cursor=cursor, limit=limit
        )
    return RunPage(items=[_stored_out(s) for s in found], next_cursor=next_cursor)


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
    with state.vault.db.read() as conn:
        items, next_cursor = items_page(conn, ref, cursor, limit)
    return RunItemPage(items=_items_out(items), next_cursor=next_cursor)
