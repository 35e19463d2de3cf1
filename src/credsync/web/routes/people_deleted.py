"""The check of deleted and disabled objects on the dashboard (issue 16): from the client's
People page, "Deleted in a directory" chooses one of the client's directories whose kind can
tell deleted objects (the kind's ``deleted_objects``) and lists the client's people and
groups whose object there is deleted, disabled or gone, each with a select of the actions
that apply (and a new username for a restore). "Review" shows the chosen actions for
confirmation; "Apply" carries them out and shows the report (done, refused, skipped and why,
per object).

The rules and permissions are :mod:`credsync.sync.deleted_check`'s: the list needs
directory.setup and vault.read on the client, applying also vault.write; a client outside
the operator's reach is "Not found". The pages ask the permissions before anything else and
show the service's refusals on the page.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.errors import ConnectorError, InvalidInput, NotSupported
from credsync.sync.deleted_check import DeletedCheck
from credsync.sync.deleted_report import (
    ACTIONS,
    Choice,
    DeletedCheckJson,
    ObjectKind,
)
from credsync.vault import Permission
from credsync.vault.directories import Directory
from credsync.vault.models import Client
from credsync.web.pages import page, page_router
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()

_READ = (Permission.VAULT_READ, Permission.DIRECTORY_SETUP)
_WRITE = (*_READ, Permission.VAULT_WRITE)
_WORDS = {
    "disable": "Disable in the vault",
    "delete": "Move to the vault's trash",
    "restore": "Restore in the directory",
    "keep": "Keep as it is",
}


def _sources(state: State, viewer: Viewer, client: Client) -> list[Directory]:
    """The client's directories that can tell deleted objects."""
    return [
        d
        for d in state.vault.directories.list(viewer.actor)
        if d.client_id == client.id and d.descriptor.deleted_objects
    ]


def _refusal(exc: InvalidInput | NotSupported | ConnectorError) -> str:
    field = getattr(exc, "field", None)
    return f"{exc} ({field})" if field and field not in str(exc) else str(exc)


def _list_page(
    request: Request,
    viewer: Viewer,
    client: Client,
    sources: list[Directory],
    directory: str,
    *,
    found: DeletedCheckJson | None = None,
    kept: bool = False,
    error: str = "",
    status: int = 200,
) -> Response:
    return page(
        request,
        "people_deleted.html",
        viewer,
        status=status,
        title=f"People and groups of {client.name} deleted in a directory",
        client=client,
        sources=sources,
        directory=directory,
        found=found,
        kept=kept,
        error=error,
        words=_WORDS,
        may_apply=viewer.actor.can(Permission.VAULT_WRITE),
    )


@router.get("/clients/{ref}/people/deleted")
def deleted_page(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    directory: str | None = Query(None, max_length=200),
    kept: bool = Query(False),
) -> Response:
    """The form; with ``directory``, the check's list (reads the directory, writes
    nothing); with ``kept``, the objects kept as they are too."""
    viewer.actor.require(*_READ)
    client = state.vault.clients.get(viewer.actor, ref)
    sources = _sources(state, viewer, client)
    chosen = directory or (sources[0].id if len(sources) == 1 else "")
    if not chosen:
        return _list_page(request, viewer, client, sources, "")
    checker = DeletedCheck(state.vault, state.keys, viewer.actor)
    try:
        found = asyncio.run(checker.check(client.id, chosen, include_kept=kept))
    except (InvalidInput, NotSupported, ConnectorError) as exc:
        return _list_page(request, viewer, client, sources, chosen, error=_refusal(exc),
                          status=400)  # fmt: skip
    return _list_page(request, viewer, client, sources, chosen, found=found, kept=kept)


def _choices(fields: dict[str, str]) -> list[Choice]:
    """``action:<kind>:<object id>`` = an action ("" for none), ``new:<object id>`` = a new
    username for a restore."""
    out: list[Choice] = []
    for key, value in fields.items():
        if not key.startswith("action:") or value not in ACTIONS:
            continue
        _, kind, object_id = key.split(":", 2)
        if kind not in ("person", "group"):
            continue
        new = fields.get(f"new:{object_id}", "").strip() if value == "restore" else ""
        which = cast(ObjectKind, kind)
        out.append(Choice(object_id, value, kind=which, new_username=new or None))
    return out


@router.post("/clients/{ref}/people/deleted")
def deleted_apply(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Without ``confirm``: the chosen actions shown for confirmation (nothing is done);
    with it, the actions carried out and the report."""
    viewer.actor.require(*_WRITE)
    client = state.vault.clients.get(viewer.actor, ref)
    directory = fields.get("directory", "")
    choices = _choices(fields)
    names = {k.removeprefix("name:"): v for k, v in fields.items() if k.startswith("name:")}
    if fields.get("confirm") != "yes":
        sources = _sources(state, viewer, client)
        if not choices:
            return _list_page(request, viewer, client, sources, directory,
                              error="Choose an action for at least one object.",
                              status=400)  # fmt: skip
        rows: list[dict[str, Any]] = [
            {"choice": c, "name": names.get(c.object_id, c.object_id), "word": _WORDS[c.action]}
            for c in choices
        ]
        return page(
            request,
            "people_deleted_confirm.html",
            viewer,
            title=f"Apply {len(rows)} action{'s' if len(rows) != 1 else ''}?",
            client=client,
            directory=directory,
            rows=rows,
        )
    checker = DeletedCheck(state.vault, state.keys, viewer.actor)
    try:
        report = asyncio.run(checker.apply(client.id, directory, choices))
    except (InvalidInput, NotSupported, ConnectorError) as exc:
        sources = _sources(state, viewer, client)
        return _list_page(request, viewer, client, sources, directory, error=_refusal(exc),
                          status=400)  # fmt: skip
    return page(
        request,
        "people_deleted_report.html",
        viewer,
        title=f"Deleted objects of {report['directory']}: done",
        client=client,
        directory=directory,
        report=report,
    )
