"""The import of people and groups from a client's directory on the dashboard (issue 16):
from the client's People page, "Import from a directory" chooses one of the client's
directories that can be a people source (the kind's ``people_source``: its connector has the
PEOPLE capability), takes a query (in the directory's own query language: the field's hint
is the kind's, ``Kind.people_query_hint``) and whether groups are searched too, and shows
the preview: every user and group found with a checkbox, and the person / group of the
client each already is (linked). The ticked ones (or every result of the query) are then
synchronised, for real or as a dry run, and the report page lists each object (created,
updated with its fields, unchanged, linked, refused and why) with the counts at the top.

The rules and permissions are :mod:`credsync.sync.people_import`'s: directory.setup and
vault.write (and vault.read) on the client, for the search too (it reads the directory with
the client's bind credential); a client outside the operator's reach is "Not found". The
pages ask the permissions before anything else, and show the service's refusals (a bad query
on the query field, a directory that can't be read) on the page.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from credsync.api.deps import State
from credsync.errors import ConnectorError, InvalidInput, NotSupported
from credsync.sync.people_import import PeopleImport, Selection
from credsync.sync.people_import_report import ImportReport, Preview
from credsync.vault import Permission
from credsync.vault.directories import Directory
from credsync.vault.models import Client
from credsync.web.pages import page, page_router
from credsync.web.routes.people_selections import provisioning_of, save_selection
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()

PREVIEW_LIMIT = (
    200  # users (and groups) a preview shows (<= MAX_PREVIEW); "import all" takes every result
)
MAX_PICKED = 5000  # ids a selection may carry (as the API's)
OUTCOMES = ("created", "updated", "unchanged", "linked", "refused")
# The form fields of the import's options (a refusal of one is shown on the preview's form).
_OPTION_FIELDS = {"into_group", "folder", "sync_mode", "name", "interval"}


async def picked_ids(request: Request) -> list[str]:
    """The object ids ticked on the preview (``id``, once per object)."""
    if request.method != "POST":
        return []
    form = await request.form()
    ids = [v.strip() for v in form.getlist("id") if isinstance(v, str) and v.strip()]
    return list(dict.fromkeys(ids))[:MAX_PICKED]


Picked = Annotated[list[str], Depends(picked_ids)]


def _require(viewer: Viewer) -> None:
    # What the import asks (search included), asked before any form is shown.
    viewer.actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)


def _sources(state: State, viewer: Viewer, client: Client) -> list[Directory]:
    """The client's directories people and groups can be imported from."""
    return [
        d
        for d in state.vault.directories.list(viewer.actor)
        if d.client_id == client.id and d.descriptor.people_source
    ]


def query_hint(sources: list[Directory], chosen: str) -> str:
    """What the query field takes, in the words of the chosen directory's kind (each kind
    supplies its own: ``Kind.people_query_hint``); with none chosen, each directory's."""
    picked = [d for d in sources if chosen in (d.id, d.name)]
    hints = {d.descriptor.people_query_hint for d in picked or sources}
    if len(hints) <= 1:
        return next(iter(hints), "")
    return "; ".join(f"{d.name}: {d.descriptor.people_query_hint}" for d in sources)


def _form_page(
    request: Request,
    viewer: Viewer,
    client: Client,
    sources: list[Directory],
    values: dict[str, Any],
    *,
    preview: Preview | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        "people_import.html",
        viewer,
        status=status,
        title=f"Import people of {client.name} from a directory",
        client=client,
        sources=sources,
        values=values,
        query_hint=query_hint(sources, str(values.get("directory") or "")),
        preview=preview,
        errors=errors or {},
    )


def _refusal(exc: InvalidInput | NotSupported | ConnectorError) -> dict[str, str]:
    """The service's refusal on the form field it concerns (else on the whole form)."""
    field = getattr(exc, "field", None)
    known = {"query": "q", "directory": "directory", "into_group": "into_group",
             "sync_mode": "sync_mode", "folder": "folder", "name": "name",
             "interval": "interval"}  # fmt: skip
    return {known.get(field or "", "form"): str(exc)}


@router.get("/clients/{ref}/people/import")
def import_page(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    directory: str | None = Query(None, max_length=200),
    q: str = Query("", max_length=2000),
    groups: bool = Query(False),
    select_all: bool = Query(False, alias="all"),
) -> Response:
    """The form; with ``directory``, the search's preview (reads the directory, writes
    nothing); with ``all``, every object of the preview ticked."""
    _require(viewer)
    client = state.vault.clients.get(viewer.actor, ref)
    sources = _sources(state, viewer, client)
    values: dict[str, Any] = {
        "directory": directory or (sources[0].id if len(sources) == 1 else ""),
        "q": q,
        "groups": groups,
        "all": select_all,
    }
    if directory is None:
        return _form_page(request, viewer, client, sources, values)
    importer = PeopleImport(state.vault, state.keys, viewer.actor)
    try:
        preview = asyncio.run(
            importer.search(client.id, directory, q, groups=groups, limit=PREVIEW_LIMIT)
        )
    except (InvalidInput, NotSupported, ConnectorError) as exc:
        return _form_page(
            request, viewer, client, sources, values, errors=_refusal(exc), status=400
        )
    return _form_page(request, viewer, client, sources, values, preview=preview)


@router.post("/clients/{ref}/people/import")
def import_selection(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    fields: Fields,
    picked: Picked,
) -> Response:
    """Synchronise the ticked objects (``mode=all``: every result of the query), with the
    members of imported groups when asked, for real or as a dry run; the report page."""
    _require(viewer)
    client = state.vault.clients.get(viewer.actor, ref)
    directory = fields.get("directory", "")
    every = fields.get("mode") == "all"
    groups = fields.get("groups") == "on"
    selection = Selection(
        ids=() if every else tuple(picked),
        query=fields.get("q", "")[:2000] if every else None,
        groups=groups,
        members=fields.get("members") == "on",
    )
    dry_run = fields.get("dry_run") == "on"
    importer = PeopleImport(state.vault, state.keys, viewer.actor)
    try:
        policy = provisioning_of(fields)
        if fields.get("mode") == "save":  # "Save this selection": the ticked ones, else the query
            if not picked:
                selection = Selection(query=fields.get("q", "")[:2000], groups=groups,
                                      members=selection.members)  # fmt: skip
            return save_selection(request, state, viewer, client, fields, selection, policy)
        report = asyncio.run(
            importer.sync(client.id, directory, selection, dry_run=dry_run, provisioning=policy)
        )
    except (InvalidInput, NotSupported, ConnectorError) as exc:
        values: dict[str, Any] = {"directory": directory, "q": fields.get("q", ""),
                                  "groups": groups, "all": False, "picked": picked}  # fmt: skip
        values |= {k: fields.get(k, "") for k in (*_OPTION_FIELDS, "invite", "members")}
        sources = _sources(state, viewer, client)
        errors = _refusal(exc)
        preview = None
        if set(errors) & _OPTION_FIELDS:  # an option's refusal: the preview again, with it
            try:
                preview = asyncio.run(
                    importer.search(client.id, directory, values["q"], groups=groups,
                                    limit=PREVIEW_LIMIT)
                )  # fmt: skip
            except (InvalidInput, NotSupported, ConnectorError):
                preview = None
        if preview is None and "form" not in errors:
            errors["form"] = str(exc)
        return _form_page(
            request, viewer, client, sources, values, preview=preview, errors=errors, status=400
        )
    return _report_page(request, viewer, client, report)


def _report_page(
    request: Request, viewer: Viewer, client: Client, report: ImportReport
) -> Response:
    rows = [o.to_json() for o in report.objects]
    word = "Dry run of the import" if report.dry_run else "Import"
    return page(
        request,
        "people_import_report.html",
        viewer,
        title=f"{word} from {report.directory}",
        client=client,
        report=report,
        rows=rows,
        totals=report.totals,
        outcomes=OUTCOMES,
        members_added=sum(len(r["members_added"]) for r in rows),
        members_removed=sum(len(r["members_removed"]) for r in rows),
        onboarding=report.onboarding,
    )
