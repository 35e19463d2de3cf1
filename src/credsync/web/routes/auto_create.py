"""Auto-create on a directory's page: its settings shown, changed through a form (needs
directory.setup; a refused value shown on its field, nothing saved), and the dry run listing
what it would make now (needs directory_admin.use too: it reads the directory)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.errors import Conflict, ConnectorError, InvalidInput
from credsync.sync.auto_create import preview
from credsync.vault import Permission
from credsync.web.auto_create_form import AutoCreateForm
from credsync.web.forms import form_version
from credsync.web.pages import page_router, redirect
from credsync.web.routes.directories import directory_view
from credsync.web.session import Fields, ViewerDep

router = page_router()

_FIELDS = (
    "enabled", "trigger", "ous", "groups", "include_disabled", "name_filter", "folder",
    "title", "tags", "sync_mode", "max_per_run", "version",
)  # fmt: skip


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _given(form: AutoCreateForm) -> dict[str, Any]:
    """The settings' JSON names from the form (every field: the form shows them all)."""
    values = form.values
    given: dict[str, Any] = {
        "enabled": form.ticked("enabled"),
        "trigger": values["trigger"],
        "ous": _lines(values["ous"]),
        "groups": _lines(values["groups"]),
        "include_disabled": form.ticked("include_disabled"),
        "name_filter": values["name_filter"] or None,
        "folder": values["folder"] or None,
        "title": values["title"],
        "tags": [t.strip() for t in values["tags"].split(",") if t.strip()],
        "sync_mode": values["sync_mode"] or None,
    }
    try:
        given["max_per_run"] = int(values["max_per_run"])
    except ValueError:
        form.error("max_per_run", "max per run must be a whole number")
    return given


@router.post("/directories/{ref}/auto-create")
def change_auto_create(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Save the directory's auto-create settings; back to its page."""
    viewer.actor.require(Permission.DIRECTORY_SETUP)
    vault, actor = state.vault, viewer.actor
    directory = vault.directories.get(actor, ref)
    form = AutoCreateForm({name: fields.get(name, "") for name in _FIELDS})
    given = _given(form)
    if not form.errors:
        try:
            expected = form_version(form.values["version"])
            vault.auto_create.update(actor, directory.id, given, expected_version=expected)
        except (InvalidInput, Conflict) as exc:
            form.refused(exc)
        else:
            done = "Auto-create settings saved."
            return redirect(request, f"/directories/{directory.id}", viewer, done)
    return directory_view(request, state, viewer, directory, status=400, auto_form=form)


@router.post("/directories/{ref}/auto-create/dry-run")
def dry_run_auto_create(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """What auto-create would make now, listed on the directory's page (nothing stored)."""
    viewer.actor.require(Permission.DIRECTORY_SETUP, Permission.DIRECTORY_ADMIN_USE)
    directory = state.vault.directories.get(viewer.actor, ref)
    try:
        shown = asyncio.run(preview(state.vault, state.keys, viewer.actor, directory.id))
    except (InvalidInput, ConnectorError) as exc:
        return directory_view(request, state, viewer, directory, auto_error=str(exc))
    return directory_view(request, state, viewer, directory, auto_preview=shown)
