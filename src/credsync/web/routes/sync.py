"""Directory sync on the dashboard: open flags and their resolve actions, confirming new
links (directory.setup, after a page naming the accounts the next run overwrites), runs with
their per-object reports (and a run's live progress), directories with "sync now" and their
connection test."""

from __future__ import annotations

import asyncio
import math
from typing import Annotated

from fastapi import Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from credsync.api.deps import State
from credsync.errors import ConnectorError, InvalidInput, NotFound, RunInProgress, SyncError
from credsync.sync.background import background_runs
from credsync.sync.confirm import LinkConfirmations
from credsync.sync.connect import directory_test_steps
from credsync.sync.enforce import EnforceUnconfirmed
from credsync.sync.engine import Engine
from credsync.sync.reports import StoredRuns
from credsync.sync.resolve import Resolution, Resolver
from credsync.sync.views import credential_titles, last_runs, run_progress
from credsync.types import Secret
from credsync.vault import Permission
from credsync.web.pages import local_path, page, page_router, redirect
from credsync.web.session import Fields, ViewerDep

TRIGGER = "web"  # the trigger of runs started here, as the reports show it

router = page_router()

ITEMS_PER_PAGE = 200  # report items shown per page of a run


# -- flags -------------------------------------------------------------------------------------
@router.get("/flags")
def flags_page(
    request: Request,
    state: State,
    viewer: ViewerDep,
    client: str | None = Query(None, max_length=200),
) -> Response:
    """Open flags (of one client, or all), the newest first, with their resolve actions."""
    vault, actor = state.vault, viewer.actor
    shown_client = vault.clients.get(actor, client) if client else None
    found = vault.flags.list(actor, shown_client.id if shown_client else None, limit=500)
    return page(
        request,
        "flags.html",
        viewer,
        title="Open flags",
        flags=found,
        client=shown_client,
        limit=500,
    )


def _resolution_notice(result: Resolution) -> tuple[str, str]:
    flag = result.flag
    what = f"{flag.title} ({flag.directory})"
    if result.outcome == "failed":
        return f"The push for {what} did not work: {result.detail}", "error"
    words = {
        "pushed": "pushed the vault's password to the directory",
        "accepted": "accepted the directory's state",
        "accepted_password": "stored the directory's password in the vault",
    }
    text = f"Flag on {what} resolved: {words.get(result.outcome, result.outcome)}."
    if result.detail:
        text += f" {result.detail[:1].upper()}{result.detail[1:]}."
    return text, "ok"


def _resolve(
    request: Request, state: State, viewer: ViewerDep, fields: Fields, flag_id: str, how: str
) -> Response:
    actor = viewer.actor
    back = local_path(fields.get("back"), "/flags")
    resolver = Resolver(state.vault, Engine(state.vault, state.keys, actor), actor)
    try:
        if how == "push":
            result = asyncio.run(resolver.push(flag_id))
        else:
            password = fields.get("password", "")
            result = asyncio.run(resolver.accept(flag_id, Secret(password) if password else None))
    except (InvalidInput, ConnectorError, SyncError) as exc:
        return redirect(request, back, viewer, f"Not resolved: {exc}", "error")
    text, kind = _resolution_notice(result)
    return redirect(request, back, viewer, text, kind)


@router.post("/flags/{flag_id}/push")
def push_flag(
    flag_id: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Push the vault's password to the directory now, whatever the credential's mode."""
    return _resolve(request, state, viewer, fields, flag_id, "push")


@router.post("/flags/{flag_id}/accept")
def accept_flag(
    flag_id: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Accept the directory's state (report mode), or its password when one is given."""
    return _resolve(request, state, viewer, fields, flag_id, "accept")


async def _chosen_flags(request: Request) -> list[str]:
    """The flags a form chose (``flag``, once per flag)."""
    form = await request.form()
    return [value for value in form.getlist("flag") if isinstance(value, str)]


ChosenFlags = Annotated[list[str], Depends(_chosen_flags)]


@router.post("/flags/confirm")
def confirm_links(
    request: Request, state: State, viewer: ViewerDep, fields: Fields, chosen: ChosenFlags
) -> Response:
    """Confirm new links for pushes: first a page naming the accounts the next run
    overwrites, then (``confirm=yes``) the confirmation. Needs vault.write and
    directory.setup."""
    actor = viewer.actor
    actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)
    back = local_path(fields.get("back"), "/flags")
    confirmations = LinkConfirmations(state.vault)
    try:
        done = confirmations.confirm(actor, chosen, confirmed=fields.get("confirm") == "yes")
    except EnforceUnconfirmed as need:
        flags = [state.vault.flags.get(actor, ref) for ref in chosen]
        return page(
            request,
            "links_confirm.html",
            viewer,
            title="Confirm new links",
            flags=flags,
            impact=need.preview.impact,
            summary=need.preview.summary,
            back=back,
        )
    except (InvalidInput, NotFound) as exc:
        return redirect(request, back, viewer, f"Not confirmed: {exc}", "error")
    count = sum(1 for f in done if f.resolution == "confirmed")
    what = (
        "1 link: the next run pushes through it"
        if count == 1
        else (f"{count} links: the next run pushes through them")
    )
    return redirect(request, back, viewer, f"Confirmed {what}.")


# -- runs --------------------------------------------------------------------------------------
@router.get("/runs")
def runs_page(
    request: Request,
    state: State,
    viewer: ViewerDep,
    client: str | None = Query(None, max_length=200),
) -> Response:
    """The newest runs first."""
    shown_client = state.vault.clients.get(viewer.actor, client) if client else None
    found = StoredRuns(state.vault.db).list(
        viewer.actor, client_ref=shown_client.id if shown_client else None, limit=100
    )
    return page(request, "runs.html", viewer, title="Runs", runs=found, client=shown_client)


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
