"""Saved import selections on the dashboard (issue 16): "Save this selection" on the import
page (the ticked objects, else every result of the query; a name and how often the agent
re-synchronises it), the client's list of saved selections with how each one's last run went
and "Run now" / "Remove", and a selection's page with its newest runs (counts and refused
lines). The rules are :mod:`credsync.sync.people_selections`'s: directory.setup and
vault.write on the client, asked before anything else; a client outside the operator's reach
is "Not found". Also the import page's options of the import into a group
(:func:`provisioning_of`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import quote

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.errors import InvalidInput, RunInProgress
from credsync.sync.people_import import Selection
from credsync.sync.people_onboarding import Provisioning
from credsync.sync.people_selections import SavedSelections
from credsync.vault import Permission
from credsync.vault.models import Client
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["provisioning_of", "router", "save_selection"]

router = page_router()

# The intervals offered (seconds; 0: by hand only).
INTERVALS = (
    (0, "by hand only"),
    (3600, "every hour"),
    (6 * 3600, "every 6 hours"),
    (86400, "every day"),
    (7 * 86400, "every week"),
)


def _require(viewer: Viewer) -> None:
    viewer.actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)


def _list_url(client: Client) -> str:
    return f"/clients/{client.id}/people/import/selections"


def provisioning_of(fields: Mapping[str, str]) -> Provisioning | None:
    """The import page's "into a group" options (none when no group is named)."""
    group = fields.get("into_group", "").strip()
    if not group:
        return None
    mode = fields.get("sync_mode") or None
    return Provisioning.make(
        group,
        folder=fields.get("folder", ""),
        sync_mode=None if mode == "inherit" else mode,
        invite=fields.get("invite") == "on",
    )


def save_selection(
    request: Request,
    state: State,
    viewer: Viewer,
    client: Client,
    fields: Mapping[str, str],
    selection: Selection,
    policy: Provisioning | None,
) -> Response:
    """ "Save this selection" on the import page: saved under the form's ``name``, run by the
    agent every ``interval`` seconds (0: by hand); the list of saved selections next."""
    saved = SavedSelections(state.vault, state.keys, viewer.actor)
    made = saved.save(
        client.id,
        fields.get("directory", ""),
        fields.get("name", ""),
        selection,
        interval=_interval(fields.get("interval", "0")),
        provisioning=policy,
    )
    return redirect(request, _list_url(client), viewer, f"Saved selection {made.name}.")


def _interval(text: str) -> int | None:
    try:
        seconds = int(text or "0")
    except ValueError:
        raise InvalidInput(f"{text!r} is not a number of seconds", field="interval") from None
    return seconds or None


@router.get("/clients/{ref}/people/import/selections")
def selections_page(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The client's saved selections, each with its last run and "Run now" / "Remove"."""
    _require(viewer)
    client = state.vault.clients.get(viewer.actor, ref)
    saved = SavedSelections(state.vault, state.keys, viewer.actor)
    found = [s.to_json() for s in saved.list(client.id)]
    return page(
        request,
        "people_selections.html",
        viewer,
        title=f"Saved import selections of {client.name}",
        client=client,
        selections=found,
        intervals=dict(INTERVALS),
    )


@router.get("/clients/{ref}/people/import/selections/{selection_id}")
def selection_page(
    ref: str, selection_id: str, request: Request, state: State, viewer: ViewerDep
) -> Response:
    """One saved selection and its newest runs (counts, refused lines)."""
    _require(viewer)
    client = state.vault.clients.get(viewer.actor, ref)
    saved = SavedSelections(state.vault, state.keys, viewer.actor)
    found = saved.get(client.id, selection_id).to_json()
    return page(
        request,
        "people_selection.html",
        viewer,
        title=f"Saved selection {found['name']}",
        client=client,
        selection=found,
        runs=saved.runs(client.id, found["id"]),
        intervals=dict(INTERVALS),
    )


@router.post("/clients/{ref}/people/import/selections/{selection_id}/run")
def run_now(
    ref: str, selection_id: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Run it now; its page shows the run."""
    _require(viewer)
    client = state.vault.clients.get(viewer.actor, ref)
    saved = SavedSelections(state.vault, state.keys, viewer.actor)
    found = saved.get(client.id, selection_id)
    to = f"{_list_url(client)}/{quote(found.id)}"
    try:
        run = asyncio.run(saved.run(client.id, found.id))
    except RunInProgress as exc:
        return redirect(request, to, viewer, str(exc), "error")
    totals = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in run["totals"].items() if v)
    kind = "ok" if run["state"] == "done" and not run["totals"].get("refused") else "error"
    return redirect(request, to, viewer, f"Run {run['state']}: {totals or run['message']}", kind)


@router.post("/clients/{ref}/people/import/selections/{selection_id}/remove")
def remove(
    ref: str, selection_id: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Forget it and its runs (what it imported stays)."""
    _require(viewer)
    client = state.vault.clients.get(viewer.actor, ref)
    gone = SavedSelections(state.vault, state.keys, viewer.actor).remove(client.id, selection_id)
    return redirect(request, _list_url(client), viewer, f"Removed selection {gone.name}.")
