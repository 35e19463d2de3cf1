"""The export of a client's groups to one of its directories on the dashboard (issue 16,
Passly's group export rules): from the client's Groups page, "Export to a directory" chooses
one of the client's directories the groups can be exported to (the kind's ``group_export``:
its connector has the GROUP_EXPORT capability), shows and changes its settings, and shows the
plan: per group its directory group (linked, matched, to create, or why not) with the members
to add and remove, and the duplicates to remove. Applying is a form on the plan: its
confirmation lists the groups to create and the duplicates, which are removed only when
"Remove these duplicates" is ticked (the ids shown go with it, and a plan that has changed
since is refused). The report is the plan with what was done.

The rules and permissions are :mod:`credsync.sync.provision_groups`'s: directory.setup and
vault.read to see the settings and the plan, vault.write too to apply and change them; a
client outside the operator's reach is "Not found".
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from credsync.api.deps import State
from credsync.errors import ConnectorError, InvalidInput, NotSupported
from credsync.sync.provision_groups import ExportPlan, ExportSettings, ProvisionGroups
from credsync.vault import Permission
from credsync.vault.directories import Directory
from credsync.vault.models import Client
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()

MAX_LISTED = 5000  # duplicate ids a confirmation may carry (as the API's)


async def listed_duplicates(request: Request) -> list[str]:
    """The duplicate ids the confirmation listed (``duplicate``, once per group)."""
    if request.method != "POST":
        return []
    form = await request.form()
    ids = [v.strip() for v in form.getlist("duplicate") if isinstance(v, str) and v.strip()]
    return list(dict.fromkeys(ids))[:MAX_LISTED]


Listed = Annotated[list[str], Depends(listed_duplicates)]


def _targets(state: State, viewer: Viewer, client: Client) -> list[Directory]:
    """The client's directories its groups can be exported to."""
    return [
        d
        for d in state.vault.directories.list(viewer.actor)
        if d.client_id == client.id and d.descriptor.group_export
    ]


def _page(
    request: Request,
    viewer: Viewer,
    client: Client,
    targets: list[Directory],
    directory: str,
    *,
    settings: ExportSettings | None = None,
    plan: ExportPlan | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    word = "Export" if plan is None or not plan.applied else "Exported"
    return page(
        request,
        "group_export.html",
        viewer,
        status=status,
        title=f"{word} {client.name}'s groups to a directory",
        client=client,
        targets=targets,
        directory=directory,
        settings=settings.to_json() if settings is not None else None,
        plan=plan.to_json() if plan is not None else None,
        errors=errors or {},
    )


def _refusal(exc: InvalidInput | NotSupported | ConnectorError) -> dict[str, str]:
    field = getattr(exc, "field", None)
    return {"directory" if field == "directory" else "form": str(exc)}


@router.get("/clients/{ref}/groups/export")
def export_page(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    directory: str | None = Query(None, max_length=200),
    plan: bool = Query(False),
) -> Response:
    """The directory select and its settings; with ``plan``, the plan (reads the directory,
    writes nothing) and the form that applies it."""
    viewer.actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP)
    client = state.vault.clients.get(viewer.actor, ref)
    targets = _targets(state, viewer, client)
    chosen = directory or (targets[0].id if len(targets) == 1 else "")
    if not chosen:
        return _page(request, viewer, client, targets, chosen)
    service = ProvisionGroups(state.vault, state.keys, viewer.actor)
    try:
        settings = service.settings(client.id, chosen)
        planned = asyncio.run(service.plan(client.id, chosen)) if plan else None
    except (InvalidInput, NotSupported, ConnectorError) as exc:
        return _page(request, viewer, client, targets, chosen, errors=_refusal(exc), status=400)
    return _page(request, viewer, client, targets, chosen, settings=settings, plan=planned)


@router.post("/clients/{ref}/groups/export/settings")
def export_settings(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Change the directory's settings; back to the page with a notice."""
    viewer.actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)
    client = state.vault.clients.get(viewer.actor, ref)
    directory = fields.get("directory", "")
    changes: dict[str, Any] = {
        "matching": fields.get("matching") or None,
        "membership_source": fields.get("membership_source") or None,
        "create_missing": fields.get("create_missing") == "on",
        "remove_duplicates": fields.get("remove_duplicates") == "on",
    }
    service = ProvisionGroups(state.vault, state.keys, viewer.actor)
    try:
        service.configure(client.id, directory, changes)
    except (InvalidInput, NotSupported, ConnectorError) as exc:
        targets = _targets(state, viewer, client)
        return _page(request, viewer, client, targets, directory, errors=_refusal(exc), status=400)
    back = f"/clients/{client.id}/groups/export?directory={directory}"
    return redirect(request, back, viewer, "Group export settings saved.")


@router.post("/clients/{ref}/groups/export")
def export_apply(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields, listed: Listed
) -> Response:
    """Apply the plan (removing the listed duplicates only when that was ticked); the
    report."""
    viewer.actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)
    client = state.vault.clients.get(viewer.actor, ref)
    directory = fields.get("directory", "")
    confirm = listed if fields.get("remove_duplicates") == "on" else None
    service = ProvisionGroups(state.vault, state.keys, viewer.actor)
    try:
        done = asyncio.run(service.apply(client.id, directory, confirm_duplicates=confirm))
    except (InvalidInput, NotSupported, ConnectorError) as exc:
        targets = _targets(state, viewer, client)
        return _page(request, viewer, client, targets, directory, errors=_refusal(exc), status=400)
    targets = _targets(state, viewer, client)
    return _page(request, viewer, client, targets, directory, settings=done.settings, plan=done)
