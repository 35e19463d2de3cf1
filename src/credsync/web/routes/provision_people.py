"""Provisioning a client's people to one of its directories on the dashboard (issue 16):
from the client's People page, "Provision to a directory" chooses one of the client's
directories people can be provisioned to (the kind's ``people_target``: its connector has the
PROVISION capability), shows and changes its settings (username mapping, principal name
suffix, default licence and usage location, passwords), and shows the plan: per person what an
apply would write, or why not. "Apply" leads to a confirmation page (the counts of what will
be written to the customer's directory); confirming applies the plan and shows the report
(per person created, updated, licensed, password set, refused and why).

Who may: the pages and the plan need vault.read and directory.setup on the client; changing
the settings directory.setup; the confirmation page and the apply vault.write too (the
rules of :mod:`credsync.sync.provision_people`). A client outside the operator's reach is
"Not found". Refusals (a suffix that is no verified domain, an unknown licence, a directory
that can't be read) are shown on the field they concern.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.errors import Conflict, ConnectorError, InvalidInput, NotSupported
from credsync.sync.provision_people import PeopleProvision, ProvisionSelection
from credsync.sync.provision_people_report import ProvisionReport
from credsync.vault import Permission
from credsync.vault.directories import Directory
from credsync.vault.models import Client
from credsync.vault.provisioning import SETTINGS_FIELDS, TEMPLATE_FIELDS
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()

SHOWN = 500  # plan / report lines a page shows (the counts are of all)
_GROUPS = 200  # groups offered as a selection


def _targets(state: State, viewer: Viewer, client: Client) -> list[Directory]:
    return [
        d
        for d in state.vault.directories.list(viewer.actor)
        if d.client_id == client.id and d.descriptor.people_target
    ]


def _refusal(exc: Exception) -> dict[str, str]:
    field = getattr(exc, "field", None)
    return {field if field in SETTINGS_FIELDS else "form": str(exc)}


def _group_choices(state: State, viewer: Viewer, client: Client) -> list[Any]:
    found, _more = state.vault.groups.list(viewer.actor, client.id, limit=_GROUPS)
    return list(found)


def _base(path: str, client: Client) -> str:
    return f"/clients/{client.id}/people/provision{path}"


def _plan(
    state: State, viewer: Viewer, client: Client, directory: str, group: str
) -> ProvisionReport:
    chosen = ProvisionSelection(group=group or None)
    service = PeopleProvision(state.vault, state.keys, viewer.actor)
    return asyncio.run(service.plan(client.id, directory, chosen))


def _provision_page(
    request: Request,
    state: State,
    viewer: Viewer,
    client: Client,
    directory: str,
    group: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    targets = _targets(state, viewer, client)
    chosen = next((d for d in targets if directory in (d.id, d.name)), None)
    if chosen is None and len(targets) == 1 and not directory:
        chosen = targets[0]
    report: ProvisionReport | None = None
    settings: dict[str, Any] = {}
    errors = dict(errors or {})
    if chosen is not None:
        settings = dict(state.vault.provisioning.settings(viewer.actor, chosen.id)[1].to_json(""))
        if values is None and settings["upn_suffix"]:
            try:
                report = _plan(state, viewer, client, chosen.id, group)
            except (InvalidInput, NotSupported, ConnectorError) as exc:
                errors.update(_refusal(exc))
                status = 400
    return page(
        request,
        "people_provision.html",
        viewer,
        status=status,
        title=f"Provision the people of {client.name} to a directory",
        client=client,
        targets=targets,
        directory=chosen,
        settings={**settings, **(values or {})},
        fields=TEMPLATE_FIELDS,
        groups=_group_choices(state, viewer, client),
        group=group,
        report=report,
        lines=[p.to_json() for p in report.people[:SHOWN]] if report else [],
        errors=errors,
        shown=SHOWN,
    )


@router.get("/clients/{ref}/people/provision")
def provision_page(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    directory: str = Query("", max_length=200),
    group: str = Query("", max_length=200),
) -> Response:
    """The target directory, its settings and the plan (reads the directory; writes
    nothing)."""
    viewer.actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP)
    client = state.vault.clients.get(viewer.actor, ref)
    return _provision_page(request, state, viewer, client, directory, group)


@router.post("/clients/{ref}/people/provision/settings")
def change_settings(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Save the target directory's settings; back to the plan."""
    viewer.actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP)
    client = state.vault.clients.get(viewer.actor, ref)
    directory = fields.get("directory", "")
    given = {name: fields.get(name, "").strip() for name in SETTINGS_FIELDS}
    version = fields.get("version", "")
    expected = int(version) if version.isdigit() else None
    try:
        found = state.vault.directories.get(viewer.actor, directory)
        if found.client_id != client.id:
            raise InvalidInput(f"directory {found.name!r} is not one of {client.name}")
        state.vault.provisioning.update(viewer.actor, found.id, given, expected_version=expected)
    except (InvalidInput, Conflict) as exc:
        return _provision_page(request, state, viewer, client, directory, "", values=given,
                               errors=_refusal(exc), status=400)  # fmt: skip
    to = _base(f"?directory={found.id}", client)
    return redirect(request, to, viewer, "Provisioning settings saved.")


@router.get("/clients/{ref}/people/provision/confirm")
def confirm_page(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    directory: str = Query("", max_length=200),
    group: str = Query("", max_length=200),
) -> Response:
    """What an apply will write, counted, and the button that applies it."""
    viewer.actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)
    client = state.vault.clients.get(viewer.actor, ref)
    try:
        report = _plan(state, viewer, client, directory, group)
    except (InvalidInput, NotSupported, ConnectorError) as exc:
        return _provision_page(request, state, viewer, client, directory, group,
                               errors=_refusal(exc), status=400)  # fmt: skip
    return page(
        request,
        "people_provision_confirm.html",
        viewer,
        title=f"Provision the people of {client.name} to {report.directory}?",
        client=client,
        report=report,
        directory=directory,
        group=group,
    )


@router.post("/clients/{ref}/people/provision/apply")
def apply_provision(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Apply the plan (writes the customer's directory); the report."""
    viewer.actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)
    client = state.vault.clients.get(viewer.actor, ref)
    directory, group = fields.get("directory", ""), fields.get("group", "")
    chosen = ProvisionSelection(group=group or None)
    service = PeopleProvision(state.vault, state.keys, viewer.actor)
    try:
        report = asyncio.run(service.apply(client.id, directory, chosen))
    except (InvalidInput, NotSupported, ConnectorError) as exc:
        return _provision_page(request, state, viewer, client, directory, group,
                               errors=_refusal(exc), status=400)  # fmt: skip
    return page(
        request,
        "people_provision_report.html",
        viewer,
        title=f"Provisioned to {report.directory}",
        client=client,
        report=report,
        lines=[p.to_json() for p in report.people[:SHOWN]],
        shown=SHOWN,
    )
