"""Quarantine on the dashboard (issue 18): ``/quarantine`` lists the held items (of one
directory with ``?directory=``), each with a checkbox; the buttons approve or discard the
chosen held pushes, or restore (after a dry run shown first) or accept the chosen links a mass
change held. Nothing chosen: every held item of the directory shown. The result page says per
item what was done, or would be.

The rules and permissions are :mod:`credsync.sync.quarantine_service`'s (the page needs
vault.read; a decision's refusal is the 403 page, a bad choice shown on the page)."""

from __future__ import annotations

import asyncio

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.errors import ConnectorError, InvalidInput, NotSupported
from credsync.sync.quarantine_restore import RESTORE, Quarantine
from credsync.sync.quarantine_service import DECIDE, QuarantineDoneJson
from credsync.vault import Permission
from credsync.web.pages import page, page_router
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()


def _list_page(
    request: Request, state: State, viewer: Viewer, directory: str, *, error: str = "",
    status: int = 200,
) -> Response:  # fmt: skip
    service = Quarantine(state.vault, state.keys, viewer.actor)
    items = service.list(directory or None)
    names = {d.id: d.name for d in state.vault.directories.list(viewer.actor)}
    return page(
        request,
        "quarantine.html",
        viewer,
        status=status,
        title="Quarantine",
        items=items,
        names=names,
        directory=directory,
        error=error,
        may_decide=all(viewer.actor.can(p) for p in DECIDE),
        may_restore=all(viewer.actor.can(p) for p in RESTORE),
    )


@router.get("/quarantine")
def quarantine_page(
    request: Request,
    state: State,
    viewer: ViewerDep,
    directory: str = Query("", max_length=200),
) -> Response:
    """The held items, oldest first."""
    viewer.actor.require(Permission.VAULT_READ)
    return _list_page(request, state, viewer, directory)


def _decide(
    decision: str, request: Request, state: State, viewer: Viewer, fields: dict[str, str]
) -> Response:
    """Approve, discard, restore (``dry_run`` = "yes": the steps only) or accept the chosen
    items (``item:<id>`` fields), or every held item of ``directory``."""
    viewer.actor.require(*(RESTORE if decision == "restore" else DECIDE))
    directory = fields.get("directory", "")
    ids = [k.removeprefix("item:") for k in fields if k.startswith("item:")]
    service = Quarantine(state.vault, state.keys, viewer.actor)
    dry_run = decision == "restore" and fields.get("dry_run") == "yes"
    try:
        done: QuarantineDoneJson
        if decision == "approve":
            done = asyncio.run(service.approve(ids, directory or None))
        elif decision == "restore":
            done = asyncio.run(service.restore(ids, directory or None, dry_run=dry_run))
        elif decision == "discard":
            done = service.discard(ids, directory or None)
        else:
            done = service.accept(ids, directory or None)
    except (InvalidInput, NotSupported, ConnectorError) as exc:
        return _list_page(request, state, viewer, directory, error=str(exc), status=400)
    return page(
        request,
        "quarantine_done.html",
        viewer,
        title=f"Quarantine: {decision}{' (dry run)' if done['dry_run'] else ''}",
        done=done,
        ids=ids,
        directory=directory,
    )


@router.post("/quarantine/approve")
def quarantine_approve(
    request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Carry out the chosen held pushes."""
    return _decide("approve", request, state, viewer, fields)


@router.post("/quarantine/discard")
def quarantine_discard(
    request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Drop the chosen held pushes."""
    return _decide("discard", request, state, viewer, fields)


@router.post("/quarantine/restore")
def quarantine_restore(
    request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Restore the directory's previous state for the chosen links (a dry run first)."""
    return _decide("restore", request, state, viewer, fields)


@router.post("/quarantine/accept")
def quarantine_accept(
    request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Accept the change for the chosen links."""
    return _decide("accept", request, state, viewer, fields)
