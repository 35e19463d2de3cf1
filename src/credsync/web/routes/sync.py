"""Directory sync on the dashboard: runs with their per-object reports (and a run's live
progress), directories with "sync now" and their connection test. (Flags are
:mod:`credsync.web.routes.flags`'.)"""

from __future__ import annotations

import asyncio
import math

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse

from credsync.api.deps import State
from credsync.errors import NotFound, RunInProgress
from credsync.sync.background import background_runs
from credsync.sync.connect import directory_test_steps
from credsync.sync.reports import RUN_STATES, StoredRuns
from credsync.sync.views import credential_titles, last_runs, run_progress
from credsync.vault import Permission
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import ViewerDep

TRIGGER = "web"  # the trigger of runs started here, as the reports show it

router = page_router()

ITEMS_PER_PAGE = 200  # report items shown per page of a run
RUNS_PER_PAGE = 100  # runs shown per page of the runs list


# -- runs --------------------------------------------------------------------------------------
@router.get("/runs")
def runs_page(
    request: Request,
    state: State,
    viewer: ViewerDep,
    client: str | None = Query(None, max_length=200),
    directory: str | None = Query(None, max_length=100),
    run_state: str | None = Query(None, alias="state", max_length=16),
    cursor: str | None = Query(None, max_length=64),
) -> Response:
    """The newest runs first, RUNS_PER_PAGE a page, of one client, directory and state when
    chosen (the filters are a GET form; "older runs" pages on with the cursor)."""
    actor = viewer.actor
    shown_client = state.vault.clients.get(actor, client) if client else None
    shown_directory = state.vault.directories.get(actor, directory) if directory else None
    found, next_cursor = StoredRuns(state.vault.db).page(
        actor,
        client_ref=shown_client.id if shown_client else None,
        directory_ref=shown_directory.id if shown_directory else None,
        cursor=cursor or None,
        limit=RUNS_PER_PAGE,
        state=run_state or None,
    )
    choices = state.vault.directories.list(actor)
    return page(
        request,
        "runs.html",
        viewer,
        title="Runs",
        runs=[s.report for s in found],
        client=shown_client,
        directory=shown_directory,
        run_state=run_state or "",
        states=RUN_STATES,
        clients=state.vault.clients.list(actor),
        directories=choices,
        next_cursor=next_cursor,
        paged=bool(cursor),
    )


@router.get("/runs/{run_id}")
def run_page(
    run_id: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    page_number: int = Query(1, alias="page", ge=1, le=100_000),
) -> Response:
    """One run with its per-object report (a page of items at a time); a run under way
    shows its progress and follows it."""
    run = StoredRuns(state.vault.db).load(viewer.actor, run_id)
    pages = max(1, math.ceil(len(run.items) / ITEMS_PER_PAGE))
    start = (min(page_number, pages) - 1) * ITEMS_PER_PAGE
    items = run.items[start : start + ITEMS_PER_PAGE]
    titles = credential_titles(state.vault.db, viewer.actor, [i.credential_id or "" for i in items])
    return page(
        request,
        "run.html",
        viewer,
        title=f"Run {run.id[:8]}",
        run=run,
        items=items,
        titles=titles,
        page_number=min(page_number, pages),
        pages=pages,
        first_item=start + 1,
    )


@router.get("/runs/{run_id}/progress")
def run_progress_json(run_id: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """``ProgressJson`` (state, items, message): what the run page polls while the run is
    going."""
    progress = run_progress(state.vault.db, viewer.actor, run_id)
    if progress is None:
        raise NotFound(f"no run with id {run_id}")
    return JSONResponse(progress.to_json())


# -- directories -------------------------------------------------------------------------------
@router.get("/directories")
def directories_page(request: Request, state: State, viewer: ViewerDep) -> Response:
    """Every directory with its newest run, "sync now" and "test"."""
    vault, actor = state.vault, viewer.actor
    return page(
        request,
        "directories.html",
        viewer,
        title="Directories",
        directories=vault.directories.list(actor),
        last_runs=last_runs(vault.db, actor),
    )


@router.post("/directories/{ref}/sync")
def sync_now(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Start a run of the directory now and follow it on its page."""
    actor = viewer.actor
    # The engine asks the same; asked here too, so that a refusal is a page rather than a
    # background run that never starts.
    actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_ADMIN_USE)
    directory = state.vault.directories.get(actor, ref)
    run_id = background_runs.running(directory.id)  # this server's: follow that one
    if run_id is None:
        try:
            run_id = background_runs.start(
                state.vault, state.keys, actor, directory, trigger=TRIGGER, timeout=10.0
            )
        except RunInProgress as err:  # a run under way elsewhere: the notice names it
            return redirect(
                request, "/directories", viewer,
                f"The run of {directory.name} did not start: {err}", "error",
            )  # fmt: skip
        except TimeoutError:
            return redirect(
                request, "/directories", viewer,
                f"The run of {directory.name} did not start: the server log says why.", "error",
            )  # fmt: skip
    return redirect(request, f"/runs/{run_id}")


@router.post("/directories/{ref}/test")
def test_directory(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Each step of reaching the directory (TCP, TLS, bind or token, rights), with its
    outcome and the directory's own words."""
    actor = viewer.actor
    actor.require(Permission.DIRECTORY_ADMIN_USE)  # the bind credential is decrypted
    directory = state.vault.directories.get(actor, ref)
    found = asyncio.run(directory_test_steps(state.vault.db, state.keys, actor, directory))
    return page(
        request,
        "directory_test.html",
        viewer,
        title=f"Test of {directory.name}",
        directory=directory,
        steps=found,
        ok=all(s.outcome.value != "failed" for s in found),
    )
