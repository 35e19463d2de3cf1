"""Adding and changing clients on the dashboard: "Add a client" (its name, its rotation
interval, and with directory.setup the directory-sync switch and the default sync mode), a
client's edit form (saved with the version it was read at), archiving and bringing it back.
All need vault.write, and what the vault's services ask besides: directory.setup for the
switch and the default mode. A switch of the default to enforce first shows the page naming
the directory accounts it will overwrite (:mod:`credsync.sync.enforce`, as ``client set``
asks and the API answers 409 ``confirm_enforce``); the services write the audit entries.
"""

from __future__ import annotations

from types import MappingProxyType

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.errors import Conflict, InvalidInput
from credsync.sync.enforce import EnforceSwitches, EnforceUnconfirmed
from credsync.types import SyncMode
from credsync.vault import Permission
from credsync.vault.models import Client
from credsync.vault.rotation import parse_rotate_every
from credsync.vault.validate import parse_sync_mode
from credsync.web.forms import Form, form_version
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()

MODES = tuple(m.value for m in SyncMode)
# The form has the directory settings (shown with directory.setup): without this field they
# were not on it and stay as they are.
SETTINGS_SHOWN = "settings"


class ClientForm(Form):
    """A client's fields as typed."""

    default_field = "name"
    field_names = MappingProxyType({"sync_mode": "default_sync_mode"})

    @property
    def settings_shown(self) -> bool:
        return self.values.get(SETTINGS_SHOWN) == "on"

    def directory_sync(self) -> bool:
        return self.ticked("directory_sync")

    def default_mode(self) -> SyncMode:
        return parse_sync_mode(self.values["default_sync_mode"]) or SyncMode.REPORT

    def rotate_every(self) -> int | None:
        return parse_rotate_every(self.values["rotate_every_days"])


def _form(fields: dict[str, str]) -> ClientForm:
    form = ClientForm(
        {
            "name": fields.get("name", "").strip(),
            "default_sync_mode": fields.get("default_sync_mode", "").strip(),
            "rotate_every_days": fields.get("rotate_every_days", "").strip(),
            "directory_sync": "on" if fields.get("directory_sync") == "on" else "",
            SETTINGS_SHOWN: "on" if fields.get(SETTINGS_SHOWN) == "on" else "",
            "version": fields.get("version", "").strip(),
        }
    )
    if not form.values["name"]:
        form.error("name", "Give the client a name.")
    try:
        form.rotate_every()
    except InvalidInput as exc:
        form.refused(exc)
    if form.settings_shown:
        try:
            form.default_mode()
        except InvalidInput as exc:
            form.refused(exc)
    return form


def _form_page(
    request: Request,
    viewer: Viewer,
    form: ClientForm,
    *,
    client: Client | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        "client_form.html",
        viewer,
        status=status,
        title=f"Change {client.name}" if client else "Add a client",
        client=client,
        form=form,
        modes=MODES,
    )


# -- add ---------------------------------------------------------------------------------------
@router.get("/clients/new")
def new_client(request: Request, viewer: ViewerDep) -> Response:
    """The form for a new client."""
    viewer.actor.require(Permission.VAULT_WRITE)
    form = ClientForm({"default_sync_mode": SyncMode.REPORT.value})
    return _form_page(request, viewer, form)


@router.post("/clients/new")
def add_client(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Add it, then its page; a refused form comes back with what was wrong."""
    actor = viewer.actor
    actor.require(Permission.VAULT_WRITE)
    form = _form(fields)
    if not form.errors:
        shown = form.settings_shown
        try:
            client = state.vault.clients.add(
                actor,
                state.keys,
                form.values["name"],
                directory_sync=form.directory_sync() if shown else False,
                default_sync_mode=form.default_mode() if shown else SyncMode.REPORT,
                rotate_every_days=form.rotate_every(),
            )
        except (InvalidInput, Conflict) as exc:
            form.refused(exc)
        else:
            notice = f"Added {client.name}. Add its credentials, folders or a CSV import next."
            return redirect(request, f"/clients/{client.id}", viewer, notice)
    return _form_page(request, viewer, form, status=400)


# -- change ------------------------------------------------------------------------------------
def _current(client: Client) -> dict[str, str]:
    return {
        "name": client.name,
        "directory_sync": "on" if client.directory_sync else "",
        "default_sync_mode": client.default_sync_mode.value,
        "rotate_every_days": str(client.rotate_every_days or ""),
        "version": str(client.version),
    }


@router.get("/clients/{ref}/edit")
def edit_client(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The client's name and, with directory.setup, its directory settings."""
    viewer.actor.require(Permission.VAULT_WRITE)
    client = state.vault.clients.get(viewer.actor, ref)
    return _form_page(request, viewer, ClientForm(_current(client)), client=client)


@router.post("/clients/{ref}/edit")
def change_client(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Save what changed (as ``PATCH /api/v1/clients/{ref}`` does): every permission first,
    then a switch of the default to enforce or two-way only when confirmed, then the changes
    with the version the form was read at."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    client = vault.clients.get(actor, ref)
    form = _form(fields)
    if form.errors:
        return _form_page(request, viewer, form, client=client, status=400)
    renamed = form.values["name"] != client.name
    rotate = form.rotate_every() != client.rotate_every_days
    sync = mode = None
    if form.settings_shown:
        if form.directory_sync() != client.directory_sync:
            sync = form.directory_sync()
        if form.default_mode() is not client.default_sync_mode:
            mode = form.default_mode()
    if not renamed and not rotate and sync is None and mode is None:
        return redirect(request, f"/clients/{client.id}", viewer, "Nothing changed.", "info")
    if sync is not None or mode is not None:
        actor.require(Permission.DIRECTORY_SETUP)
    try:
        EnforceSwitches(vault).check_client_default(
            actor, client, mode, confirmed=fields.get("confirm") == "yes"
        )
    except EnforceUnconfirmed as need:
        preview = need.preview
        return page(
            request,
            "client_enforce_confirm.html",
            viewer,
            title=f"Switch {client.name}'s default to {preview.mode.spelled}?",
            client=client,
            values=form.values,
            mode_name=preview.mode.spelled,
            impact=preview.overwritten,
            kept=[i for i in preview.impact if i.waits_for_capture],
            summary=preview.summary,
        )
    version = form_version(form.values["version"])  # the first change checks it
    status = 400
    try:
        if renamed:
            client = vault.clients.rename(
                actor, client.id, form.values["name"], expected_version=version
            )
            version = None
        if sync is not None or mode is not None:
            client = vault.clients.configure(
                actor,
                client.id,
                directory_sync=sync,
                default_sync_mode=mode,
                expected_version=version,
            )
            version = None
        if rotate:
            client = vault.clients.set_rotation(
                actor, client.id, form.rotate_every(), expected_version=version
            )
    except (InvalidInput, Conflict) as exc:
        form.refused(exc)
        status = 409 if isinstance(exc, Conflict) else 400
        return _form_page(request, viewer, form, client=client, status=status)
    return redirect(request, f"/clients/{client.id}", viewer, "Changes saved.")


# -- archive -----------------------------------------------------------------------------------
@router.post("/clients/{ref}/archive")
def archive_client(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Archive it: out of the lists and the search, nothing deleted."""
    client = state.vault.clients.set_archived(viewer.actor, ref, True)
    return redirect(
        request,
        f"/clients/{client.id}",
        viewer,
        f"Archived {client.name}: it is no longer listed or searched. Nothing was deleted.",
    )


@router.post("/clients/{ref}/unarchive")
def unarchive_client(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Bring an archived client back."""
    client = state.vault.clients.set_archived(viewer.actor, ref, False)
    return redirect(request, f"/clients/{client.id}", viewer, f"{client.name} is back.")
