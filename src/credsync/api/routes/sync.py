"""Sync runs: plan (a dry run), start a run, list runs, one run with its per-object report;
prune what the retention no longer keeps (``POST /runs/prune``, admin).

A run started here works in a thread of its own (its own event loop: the engine's database
calls never hold up the server's) and answers 202 at once with the run as stored so far: the
``runs`` row exists from the start with state ``running``, and the engine stores its report a
chunk at a time, so ``GET /runs/{id}`` shows the progress (``item_count``) until the state
becomes done, aborted or failed. ``?wait=true`` answers when the run has ended instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Annotated, Any, TypeVar

from fastapi import Query, Response

from credsync.api.deps import Caller, Cursor, Limit, State
from credsync.api.routing import api_router
from credsync.api.schemas_sync import RunIn, RunItemPage, RunOut, RunPage
from credsync.sync.background import background_runs
from credsync.sync.engine import Engine
from credsync.sync.reports import (
    ItemReport,
    ItemReportJson,
    RunReport,
    RunState,
    StoredRun,
    StoredRuns,
)
from credsync.sync.retention import PruneJson, prune_for
from credsync.vault import Actor, Permission
from credsync.vault.models import iso

__all__ = ["router", "run_coroutine", "run_out"]

log = logging.getLogger("credsync.api")
router = api_router(tags=["sync"])
T = TypeVar("T")

ITEMS_PAGE = 500  # items shown with a run; the rest through /runs/{id}/items


def run_coroutine(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run async engine work from a plain ``def`` route: in this worker thread's own event
    loop, so the engine's (synchronous) database calls never block the server's loop."""
    return asyncio.run(make())


# -- reading runs (sync.reports loads them; here they get the API's fields) ----------------
def _items_out(items: Iterable[ItemReport]) -> list[ItemReportJson]:
    return [i.to_json() for i in items]


def _stored_out(
    stored: StoredRun,
    items: list[ItemReportJson] | None = None,
    next_items_cursor: str | None = None,
) -> RunOut:
    """A run as ``RunReport.to_json`` shows it, with the number of items stored so far (and
    the page of its items given)."""
    report = stored.report
    return RunOut(
        **report.to_json(items=False),
        item_count=stored.item_count,
        heartbeat_at=iso(report.heartbeat_at),
        items=items,
        next_items_cursor=next_items_cursor,
    )


def _load(state: State, actor: Actor, ref: str, items_limit: int = ITEMS_PAGE) -> RunOut:
    stored = StoredRuns(state.vault.db).stored(actor, ref, items_limit=items_limit)
    if not items_limit:
        return _stored_out(stored)
    return _stored_out(stored, _items_out(stored.report.items), stored.next_items_cursor)


def run_out(report: RunReport) -> RunOut:
    """A finished run as the engine reported it (every item)."""
    return _stored_out(StoredRun(report, len(report.items)), _items_out(report.items))


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
    full = body.full if body else False
    run_id = background_runs.start(
        state.vault, state.keys, actor, directory, trigger="api", full=full
    )
    response.headers["Location"] = f"/api/v1/runs/{run_id}"
    if wait:
        background_runs.join(run_id)
        response.status_code = 200
    return _load(state, actor, run_id)


@router.get("/runs", response_model=RunPage)
def list_runs(
    actor: Caller,
    state: State,
    limit: Limit = 50,
    cursor: Cursor = None,
    client: str | None = Query(None, max_length=200, description="A client's name or id."),
    directory: str | None = Query(None, max_length=100, description="A directory's name or id."),
    run_state: Annotated[
        RunState | None, Query(alias="state", description="Only runs in this state.")
    ] = None,
) -> RunPage:
    """Runs, the newest first, without their items (needs vault.read)."""
    found, next_cursor = StoredRuns(state.vault.db).page(
        actor,
        client_ref=client,
        directory_ref=directory,
        cursor=cursor,
        limit=limit,
        state=run_state,
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
    return _load(state, actor, ref, items_limit)


@router.get("/runs/{ref}/items", response_model=RunItemPage)
def run_items_page(
    ref: str, actor: Caller, state: State, limit: Limit = 500, cursor: Cursor = None
) -> RunItemPage:
    """A run's per-object report, a page at a time, in the order the run made it."""
    items, next_cursor = StoredRuns(state.vault.db).items(actor, ref, cursor, limit)
    return RunItemPage(items=_items_out(items), next_cursor=next_cursor)


@router.post("/runs/prune", response_model=PruneJson)
def prune_runs(
    actor: Caller,
    state: State,
    dry_run: bool = Query(False, description="Count what would go; delete nothing."),
) -> PruneJson:
    """Delete the runs and run items the retention no longer keeps (see docs/operations.md,
    "Retention"), as the agent does every hour; audited ``runs.pruned`` (needs admin, and
    every client)."""
    retention = state.retention
    return prune_for(state.vault.db, state.vault.audit, actor, retention, dry_run=dry_run)
