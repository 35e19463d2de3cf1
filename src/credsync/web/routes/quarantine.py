"""Quarantine on the dashboard (issue 18): ``/quarantine`` lists the held items (of one
directory with ``?directory=``), each with a checkbox; the buttons approve or discard the
chosen held pushes, or restore (after a dry run shown first) or accept the chosen links a mass
change held. Nothing chosen: every held item of the directory shown. The result page says per
item what was done, or would be.

The rules and permissions are :mod:`credsync.sync.quarantine_service`'s (the page needs
vault.read; a decision's refusal is the 403 page, a bad choice shown on the page).

The page also shows the vault-wide thresholds (:mod:`credsync.vault.quarantine_defaults`)
and, to an admin, a form for them (``POST /quarantine/defaults``: a number sets one, an empty
field puts it back to the built-in default; a refused value comes back naming its field)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.errors import ConnectorError, InvalidInput, NotSupported
from credsync.sync.quarantine_restore import RESTORE, Quarantine
from credsync.sync.quarantine_service import DECIDE, QuarantineDoneJson
from credsync.vault import Permission
from credsync.vault.quarantine_defaults import THRESHOLDS
from credsync.web.forms import Form
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()


def _list_page(
    request: Request, state: State, viewer: Viewer, directory: str, *, error: str = "",
    status: int = 200, form: Form | None = None,
) -> Response:  # fmt: skip
    service = Quarantine(state.vault, state.keys, viewer.actor)
    items = service.list(directory or None)
    names = {d.id: d.name for d in state.vault.directories.list(viewer.actor)}
    defaults: dict[str, Any] = dict(state.vault.quarantine_defaults.show(viewer.actor))
    if form is None:
        form = Form({k: "" if defaults[k]["vault"] is None else str(defaults[k]["vault"])
                     for k in THRESHOLDS})  # fmt: skip
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
        defaults=defaults,
        form=form,
        may_set_defaults=viewer.actor.can(Permission.ADMIN),
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


@router.post("/quarantine/defaults")
def quarantine_defaults(
    request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Save the vault-wide thresholds (admin): each field a whole number, or empty for the
    built-in default."""
    viewer.actor.require(Permission.ADMIN)
    form = Form({k: fields.get(k, "").strip() for k in THRESHOLDS})
    given: dict[str, int | None] = {}
    try:
        for name, text in form.values.items():
            try:
                given[name] = int(text) if text else None
            except ValueError:
                raise InvalidInput(f"{name} must be a whole number, not {text!r}",
                                   field=name) from None  # fmt: skip
        state.vault.quarantine_defaults.set(viewer.actor, given)
    except InvalidInput as exc:
        form.refused(exc)
        return _list_page(request, state, viewer, "", status=400, form=form)
    return redirect(request, "/quarantine", viewer, "The vault-wide thresholds are saved.")
