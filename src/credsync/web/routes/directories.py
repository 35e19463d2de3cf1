"""Setting up directories on the dashboard: add one to a client (Active Directory or Entra ID)
and see each step of reaching it tested at once; a directory's page; change its connection;
remove it after a confirm page. Adding and changing need directory.setup and
directory_admin.use, removing directory.setup, as the vault's service asks.

The forms carry no secret: the bind or app credential is chosen among the client's
``directory_admin`` credentials by id, and a CA certificate is public. Without JavaScript both
kinds' fields are shown and the server reads only the chosen kind's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.connectors.base import StepOutcome, TestStep
from credsync.errors import Conflict, ConnectorError, InvalidInput, NotFound
from credsync.storage.tables import credentials
from credsync.sync.engine import Engine
from credsync.sync.views import last_runs
from credsync.types import CredentialType
from credsync.vault import Actor, Permission
from credsync.vault.clients import visible_to
from credsync.vault.directories import DEFAULT_AUTHORITY, DEFAULT_GRAPH_URL, Directory
from credsync.vault.models import Client
from credsync.web.app import page, page_router, redirect
from credsync.web.forms import Form, field_of, form_version
from credsync.web.session import Fields, Viewer, ViewerDep

router = page_router()
log = logging.getLogger("credsync.web")

KIND_NAMES = {"active_directory": "Active Directory", "entra": "Entra ID"}
# The form's text fields; the kind-specific ones are read only for their kind.
_SHARED = ("name", "kind", "bind_credential", "ca_pem", "interval", "push_cap", "version")
_AD = ("ad_url", "base_dn", "tls_server_name")
_ENTRA = ("tenant_id", "app_id", "bind_kind", "graph_url", "authority")
# Where a field's error links to (a group of radio buttons: its first button).
ANCHORS = {"kind": "kind-active_directory", "bind_kind": "bind_kind-certificate"}
# Words of the service's messages -> the field they are about (the first that matches).
_MESSAGE_FIELDS = (
    ("tenant id", "tenant_id"),
    ("client id", "app_id"),
    ("authority", "authority"),
    ("base dn", "base_dn"),
    ("tls server name", "tls_server_name"),
    ("ca file", "ca_pem"),
    ("option interval", "interval"),
    ("option push_cap", "push_cap"),
    ("bind credential", "bind_credential"),
    ("credential with id", "bind_credential"),
    ("directory name", "name"),
    ("a directory named", "name"),
    ("kind", "kind"),
)


@dataclass(frozen=True)
class BindChoice:
    id: str
    title: str
    username: str


class DirectoryForm(Form):
    """A directory's connection and options as typed."""

    @property
    def kind(self) -> str:
        return self.values.get("kind", "")

    def skip_verify(self) -> bool:
        return self.ticked("insecure_skip_verify")

    def text(self, name: str) -> str | None:
        """The field's value, or None when left empty."""
        return self.values.get(name) or None


def _form(fields: dict[str, str]) -> DirectoryForm:
    values = {k: fields.get(k, "").strip() for k in (*_SHARED, *_AD, *_ENTRA)}
    values["ca_pem"] = fields.get("ca_pem", "").replace("\r\n", "\n").strip()
    if values["ca_pem"]:
        values["ca_pem"] += "\n"
    values["insecure_skip_verify"] = "on" if fields.get("insecure_skip_verify") == "on" else ""
    values["remove_ca"] = "on" if fields.get("remove_ca") == "on" else ""
    return DirectoryForm(values)


def _check(form: DirectoryForm, *, adding: bool) -> dict[str, int]:
    """The checks the service would word for the CLI (``--tenant-id``), worded for the form;
    the options as numbers. The service checks the rest (the formats)."""
    if adding and not form.values["name"]:
        form.error("name", "Give the directory a name.")
    if form.kind == "active_directory":
        if not form.values["ad_url"]:
            form.error("ad_url", "Give the server's URL: ldaps://HOST[:PORT] or ldap://HOST.")
        if not form.values["base_dn"]:
            form.error("base_dn", "Give the base DN: where the accounts are.")
    elif form.kind == "entra":
        if not form.values["tenant_id"]:
            form.error("tenant_id", "Give the tenant id (a GUID) or one of its domain names.")
        if not form.values["app_id"]:
            form.error("app_id", "Give the application (client) id of the app registration.")
        if form.values["bind_kind"] not in ("certificate", "secret"):
            form.error("bind_kind", "Choose how the app signs in: certificate or client secret.")
    elif adding:
        form.error("kind", "Choose the kind of directory: Active Directory or Entra ID.")
    if adding and not form.values["bind_credential"]:
        form.error("bind_credential", "Choose the credential to bind or sign in with.")
    options: dict[str, int] = {}
    for name, label in (("interval", "The interval"), ("push_cap", "The push cap")):
        raw = form.values[name]
        if raw:
            try:
                options[name] = int(raw)
            except ValueError:
                form.error(name, f"{label} must be a whole number.")
    return options


def _field_of(message: str, kind: str) -> str:
    if "directory url" in message.lower():
        return "ad_url" if kind == "active_directory" else "graph_url"
    return field_of(message, _MESSAGE_FIELDS)


def _refused(form: DirectoryForm, exc: InvalidInput | NotFound | Conflict) -> None:
    message = str(exc)
    form.error(_field_of(message, form.kind), message)


def bind_choices(state: State, actor: Actor, client_id: str) -> list[BindChoice]:
    """The client's directory_admin credentials (not in the trash), by title. A read no
    service offers yet: credentials.list has no type filter and pages a whole client."""
    actor.require(Permission.VAULT_READ, Permission.DIRECTORY_ADMIN_USE)
    query = (
        sa.select(credentials.c.id, credentials.c.title, credentials.c.username)
        .where(
            credentials.c.client_id == client_id,
            credentials.c.type == CredentialType.DIRECTORY_ADMIN.value,
            credentials.c.deleted_at.is_(None),
            visible_to(actor),
        )
        .order_by(credentials.c.title_key, credentials.c.id)
        .limit(500)
    )
    with state.vault.db.read() as conn:
        return [BindChoice(r.id, r.title, r.username or "") for r in conn.execute(query)]


def _require_setup(viewer: Viewer) -> None:
    viewer.actor.require(Permission.DIRECTORY_SETUP, Permission.DIRECTORY_ADMIN_USE)


def _warn_insecure(viewer: Viewer, directory: Directory, skip: bool) -> None:
    if skip:
        log.warning(
            "directory %s: TLS certificate verification turned off by %s",
            directory.name,
            viewer.actor.name,
        )


def _form_page(
    request: Request,
    state: State,
    viewer: Viewer,
    client: Client,
    form: DirectoryForm,
    *,
    directory: Directory | None = None,
    status: int = 200,
) -> Response:
    title = f"Change {directory.name}" if directory else f"Add a directory to {client.name}"
    return page(
        request,
        "directory_form.html",
        viewer,
        status=status,
        title=title,
        client=client,
        directory=directory,
        form=form,
        anchors=ANCHORS,
        kinds=KIND_NAMES,
        choices=bind_choices(state, viewer.actor, client.id),
        default_graph_url=DEFAULT_GRAPH_URL,
        default_authority=DEFAULT_AUTHORITY,
    )


def _test(state: State, actor: Actor, directory: Directory) -> tuple[list[TestStep], str]:
    """Each step of reaching the directory; or no steps and why the test could not start."""
    try:
        connector = Engine(state.vault, state.keys, actor).connect(directory.id)
    except (ConnectorError, InvalidInput) as exc:
        return [], str(exc)

    async def steps() -> list[TestStep]:
        try:
            return await connector.test_connection()
        finally:
            await connector.close()

    return asyncio.run(steps()), ""


def _directory_page(
    request: Request,
    state: State,
    viewer: Viewer,
    directory: Directory,
    *,
    done: str = "",
    tested: bool = False,
) -> Response:
    steps, test_error = _test(state, viewer.actor, directory) if tested else ([], "")
    bind_title = ""
    if viewer.can(Permission.DIRECTORY_ADMIN_USE.value):
        bind_title = next(
            (
                c.title
                for c in bind_choices(state, viewer.actor, directory.client_id)
                if c.id == directory.bind_credential_id
            ),
            "",
        )
    return page(
        request,
        "directory.html",
        viewer,
        title=directory.name,
        directory=directory,
        kinds=KIND_NAMES,
        bind_title=bind_title,
        last=last_runs(state.vault.db, viewer.actor).get(directory.id),
        done=done,
        tested=tested,
        steps=steps,
        test_error=test_error,
        ok=bool(steps) and all(s.outcome != StepOutcome.FAILED for s in steps),
    )


# -- add ---------------------------------------------------------------------------------------
@router.get("/directories/new")
def new_directory(
    request: Request,
    state: State,
    viewer: ViewerDep,
    client: str | None = Query(None, max_length=200),
) -> Response:
    """The setup form for a client's new directory (first the client, when none is given)."""
    _require_setup(viewer)
    vault, actor = state.vault, viewer.actor
    if not client:
        clients = vault.clients.list(actor)
        if len(clients) != 1:
            return page(
                request, "directory_client.html", viewer, title="Add a directory", clients=clients
            )
        client = clients[0].id
    shown = vault.clients.get(actor, client)
    return _form_page(request, state, viewer, shown, _form({"kind": "active_directory"}))


@router.post("/directories/new")
def add_directory(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Add the directory, then test reaching it: its page with each step."""
    _require_setup(viewer)
    vault, actor = state.vault, viewer.actor
    client = vault.clients.get(actor, fields.get("client", ""))
    form = _form(fields)
    options = _check(form, adding=True)
    if form.errors:
        return _form_page(request, state, viewer, client, form, status=400)
    ad = form.kind == "active_directory"
    try:
        directory = vault.directories.add(
            actor,
            client.id,
            form.values["name"],
            kind=form.kind,
            url=form.text("ad_url") if ad else form.text("graph_url"),
            base_dn=form.text("base_dn") if ad else None,
            bind_credential=form.values["bind_credential"],
            ca_pem=form.text("ca_pem"),
            tls_server_name=form.text("tls_server_name") if ad else None,
            insecure_skip_verify=form.skip_verify(),
            options=options,
            tenant_id=None if ad else form.text("tenant_id"),
            app_id=None if ad else form.text("app_id"),
            authority=None if ad else form.text("authority"),
            bind_kind=None if ad else form.text("bind_kind"),
        )
    except (InvalidInput, NotFound, Conflict) as exc:
        _refused(form, exc)
        return _form_page(request, state, viewer, client, form, status=400)
    _warn_insecure(viewer, directory, form.skip_verify())
    return _directory_page(
        request, state, viewer, directory, done=f"Directory {directory.name} added.", tested=True
    )


# -- a directory -------------------------------------------------------------------------------
@router.get("/directories/{ref}")
def directory_page(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """A directory's connection and options, with sync now, test, change and remove."""
    directory = state.vault.directories.get(viewer.actor, ref)
    return _directory_page(request, state, viewer, directory)


# -- change ------------------------------------------------------------------------------------
def _current(directory: Directory) -> dict[str, str]:
    """The form's fields as the directory has them."""
    values = {
        "kind": directory.kind,
        "bind_credential": directory.bind_credential_id,
        "interval": str(directory.option("interval")),
        "push_cap": str(directory.option("push_cap")),
        "version": str(directory.version),
        "insecure_skip_verify": "on" if directory.insecure_skip_verify else "",
    }
    if directory.kind == "entra":
        values.update(
            graph_url=directory.url,
            tenant_id=directory.tenant_id or "",
            app_id=directory.app_id or "",
            bind_kind=directory.bind_kind or "",
            authority=directory.authority or "",
        )
    else:
        values.update(
            ad_url=directory.url,
            base_dn=directory.base_dn,
            tls_server_name=directory.tls_server_name or "",
        )
    return values


def _changes(directory: Directory, form: DirectoryForm, options: dict[str, int]) -> dict[str, Any]:
    """The update's arguments for what differs from the directory (the same base DN given
    again would start a full pass; an empty CA keeps the one there is, unless "remove the CA"
    is ticked)."""
    now = _current(directory)
    given = form.values
    out: dict[str, Any] = {}
    if directory.kind == "entra":
        defaults = {"graph_url": DEFAULT_GRAPH_URL, "authority": DEFAULT_AUTHORITY}
        names = {"graph_url": "url", "tenant_id": "tenant_id", "app_id": "app_id"}
        names |= {"authority": "authority", "bind_kind": "bind_kind"}
    else:
        defaults = {}
        names = {"ad_url": "url", "base_dn": "base_dn", "tls_server_name": "tls_server_name"}
    for name, argument in names.items():
        value = given[name] or defaults.get(name, "")
        if value != now[name]:
            out[argument] = value
    if given["bind_credential"] and given["bind_credential"] != now["bind_credential"]:
        out["bind_credential"] = given["bind_credential"]
    if given["ca_pem"] and given["ca_pem"] != directory.ca_pem:
        out["ca_pem"] = given["ca_pem"]
    elif given.get("remove_ca") == "on" and directory.ca_pem:
        out["ca_pem"] = ""  # the system's CAs again
    if form.skip_verify() != directory.insecure_skip_verify:
        out["insecure_skip_verify"] = form.skip_verify()
    changed = {k: v for k, v in options.items() if v != directory.option(k)}
    if changed:
        out["options"] = changed
    return out


@router.get("/directories/{ref}/edit")
def edit_directory(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The form to change a directory's connection or options."""
    _require_setup(viewer)
    vault, actor = state.vault, viewer.actor
    directory = vault.directories.get(actor, ref)
    client = vault.clients.get(actor, directory.client_id)
    form = DirectoryForm(_current(directory))
    return _form_page(request, state, viewer, client, form, directory=directory)


@router.post("/directories/{ref}/edit")
def change_directory(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Save what changed, then test reaching the directory again."""
    _require_setup(viewer)
    vault, actor = state.vault, viewer.actor
    directory = vault.directories.get(actor, ref)
    client = vault.clients.get(actor, directory.client_id)
    form = _form({**fields, "kind": directory.kind})
    options = _check(form, adding=False)
    changes = {} if form.errors else _changes(directory, form, options)
    if not form.errors and not changes:
        return redirect(request, f"/directories/{directory.id}", viewer, "Nothing changed.", "info")
    if not form.errors:
        expected = form_version(form.values["version"])
        try:
            changed = vault.directories.update(
                actor, directory.id, expected_version=expected, **changes
            )
        except (InvalidInput, NotFound, Conflict) as exc:
            _refused(form, exc)
        else:
            _warn_insecure(viewer, changed, changes.get("insecure_skip_verify") is True)
            return _directory_page(
                request, state, viewer, changed, done="Changes saved.", tested=True
            )
    return _form_page(request, state, viewer, client, form, directory=directory, status=400)


# -- remove ------------------------------------------------------------------------------------
@router.get("/directories/{ref}/remove")
def confirm_remove(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """What removing the directory forgets, and the button that does it."""
    viewer.actor.require(Permission.DIRECTORY_SETUP)
    directory = state.vault.directories.get(viewer.actor, ref)
    return page(
        request,
        "directory_remove.html",
        viewer,
        title=f"Remove {directory.name}",
        directory=directory,
    )


@router.post("/directories/{ref}/remove")
def remove_directory(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Forget the directory with its links, runs and flags; back to its client."""
    viewer.actor.require(Permission.DIRECTORY_SETUP)
    removed = state.vault.directories.remove(viewer.actor, ref)
    return redirect(
        request,
        f"/clients/{removed.client_id}",
        viewer,
        f"Directory {removed.name} removed with its links, runs and flags; the credentials stay.",
    )
