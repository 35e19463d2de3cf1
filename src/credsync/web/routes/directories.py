"""Setting up directories on the dashboard: add one to a client (of any kind) and see each step
of reaching it tested at once; a directory's page; change its connection; remove it after a
confirm page. Adding and changing need directory.setup and directory_admin.use, removing
directory.setup, as the vault's service asks.

The form is made from the kind descriptors (:mod:`credsync.connectors.registry`): each kind's
settings are fields of their own, named ``<kind>-<setting>``. The forms carry no secret: the
credential to sign in with is chosen among the client's ``directory_admin`` credentials by id,
and a CA certificate is public. Without JavaScript every kind's fields are shown and the
server reads only the chosen kind's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.connectors import registry
from credsync.connectors.base import StepOutcome, TestStep
from credsync.connectors.kinds import BIND_FIELD, Kind
from credsync.errors import (
    AlreadyExists,
    Conflict,
    ConnectorError,
    CredsyncError,
    InvalidInput,
    NotFound,
)
from credsync.sync.connect import directory_test_steps
from credsync.sync.views import last_runs
from credsync.vault import Actor, Permission
from credsync.vault.directories import Directory, DirectoryInput
from credsync.vault.models import Client
from credsync.web.auto_create_form import form_of
from credsync.web.forms import Form, form_version
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

router = page_router()
log = logging.getLogger("credsync.web")

# The options on the form (the thresholds among them: docs/quarantine.md).
_OPTIONS = ("interval", "push_cap", "push_cap_percent", "inbound_cap", "inbound_cap_percent")
# The form's fields every kind has; a kind's own are "<kind>-<setting>" (and
# "<kind>-bind_method" for a kind with several ways to sign in), read only for that kind.
_SHARED = ("name", "kind", "bind_credential", "ca_pem", *_OPTIONS, "version")
# Where an input the vault refused is on the form (a kind's settings: that kind's field).
_FIELDS = {f"options.{name}": name for name in _OPTIONS}


@dataclass(frozen=True)
class BindChoice:
    id: str
    title: str
    username: str


@dataclass(frozen=True)
class FieldView:
    name: str  # the form field
    label: str
    hint: str
    placeholder: str


@dataclass(frozen=True)
class KindView:
    """A kind as the form shows it: its settings' fields and its ways to sign in (a choice
    only for a kind with several)."""

    name: str
    display_name: str
    description: str
    fields: tuple[FieldView, ...]
    methods: tuple[tuple[str, str], ...]  # (value, label)

    @property
    def method_field(self) -> str:
        return f"{self.name}-bind_method"


def _form_name(kind: str, setting: str) -> str:
    return f"{kind}-{setting}"


def kind_views() -> list[KindView]:
    views = []
    for kind in registry.KINDS:
        fields = tuple(
            FieldView(
                _form_name(kind.name, s.name),
                s.heading,
                ("(" + s.help.rstrip(".") + ")") if s.help else "",
                s.placeholder,
            )
            for s in kind.settings
        )
        methods = (
            tuple((m.name or "", m.label[:1].upper() + m.label[1:]) for m in kind.binds)
            if len(kind.binds) > 1
            else ()
        )
        views.append(KindView(kind.name, kind.display_name, kind.description, fields, methods))
    return views


class DirectoryForm(Form):
    """A directory's connection and options as typed."""

    @property
    def kind(self) -> str:
        return self.values.get("kind", "")

    def skip_verify(self) -> bool:
        return self.ticked("insecure_skip_verify")

    def refused(self, exc: CredsyncError, default: str = "") -> None:
        """The vault's refusal, on the field it is about: a kind's setting is that kind's
        field, any way to sign in the credential's choice."""
        if isinstance(exc, InvalidInput) and exc.field:
            name = exc.field
            if name in registry.settings():
                name = _form_name(self.kind, name)
            elif name in registry.bind_methods():
                name = "bind_credential"
            self.error(_FIELDS.get(name, name), str(exc))
        elif isinstance(exc, AlreadyExists):
            self.error("name", str(exc))
        elif isinstance(exc, NotFound):
            self.error("bind_credential", str(exc))
        else:
            self.error(default, str(exc))


def _form(fields: dict[str, str]) -> DirectoryForm:
    names = list(_SHARED)
    for kind in registry.KINDS:
        names += [_form_name(kind.name, s.name) for s in kind.settings]
        names.append(_form_name(kind.name, "bind_method"))
    values = {k: fields.get(k, "").strip() for k in names}
    values["ca_pem"] = fields.get("ca_pem", "").replace("\r\n", "\n").strip()
    if values["ca_pem"]:
        values["ca_pem"] += "\n"
    values["insecure_skip_verify"] = "on" if fields.get("insecure_skip_verify") == "on" else ""
    values["remove_ca"] = "on" if fields.get("remove_ca") == "on" else ""
    return DirectoryForm(values)


def _kind(form: DirectoryForm) -> Kind[Any] | None:
    try:
        return registry.kind_of(form.kind) if form.kind else None
    except InvalidInput:
        return None


def _check(form: DirectoryForm, kind: Kind[Any] | None, *, adding: bool) -> dict[str, int]:
    """What the form can tell at once (every missing field, not only the first); the
    options as numbers. The vault checks the rest (the formats)."""
    if adding and not form.values["name"]:
        form.error("name", "Give the directory a name.")
    if kind is None:
        form.error("kind", "Choose the kind of directory.")
    else:
        for setting in kind.settings:
            if setting.required and not form.values[_form_name(kind.name, setting.name)]:
                form.error(_form_name(kind.name, setting.name), f"Give the {setting.label}.")
        if len(kind.binds) > 1 and not form.values[_form_name(kind.name, "bind_method")]:
            form.error(
                _form_name(kind.name, "bind_method"),
                "Choose how the directory signs in: "
                + " or ".join(m.label for m in kind.binds)
                + ".",
            )
    if adding and not form.values["bind_credential"]:
        form.error("bind_credential", "Choose the credential to bind or sign in with.")
    options: dict[str, int] = {}
    for name in _OPTIONS:
        raw = form.values[name]
        if raw:
            try:
                options[name] = int(raw)
            except ValueError:
                form.error(name, f"The {name.replace('_', ' ')} must be a whole number.")
    return options


def _binds(form: DirectoryForm, kind: Kind[Any]) -> dict[str, str]:
    """The credential chosen, under the input of the way to sign in chosen."""
    credential = form.values["bind_credential"]
    if len(kind.binds) == 1:
        return {BIND_FIELD: credential}
    chosen = form.values[_form_name(kind.name, "bind_method")]
    method = next((m for m in kind.binds if m.name == chosen), None)
    return {method.field if method else BIND_FIELD: credential}


def bind_choices(state: State, actor: Actor, client_id: str) -> list[BindChoice]:
    """The client's directory_admin credentials (not in the trash), by title."""
    found = state.vault.directories.bind_choices(actor, client_id)
    return [BindChoice(c.id, c.title, c.username or "") for c in found]


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
    anchors = {"kind": f"kind-{registry.KINDS[0].name}"}
    for view in kind_views():
        if view.methods:
            anchors[view.method_field] = f"{view.method_field}-{view.methods[0][0]}"
    return page(
        request,
        "directory_form.html",
        viewer,
        status=status,
        title=title,
        client=client,
        directory=directory,
        form=form,
        anchors=anchors,
        kinds=kind_views(),
        choices=bind_choices(state, viewer.actor, client.id),
    )


def _test(state: State, actor: Actor, directory: Directory) -> tuple[list[TestStep], str]:
    """Each step of reaching the directory; or no steps and why the test could not start."""
    try:
        return asyncio.run(directory_test_steps(state.vault.db, state.keys, actor, directory)), ""
    except (ConnectorError, InvalidInput) as exc:
        return [], str(exc)


def _connection(directory: Directory) -> list[tuple[str, str]]:
    """The directory's settings as its page shows them: (label, value)."""
    kind = directory.descriptor
    shown = [
        (s.label[:1].upper() + s.label[1:], directory.setting(s.name) or "-") for s in kind.settings
    ]
    return shown


def _signs_in_with(directory: Directory) -> str:
    """How the directory signs in with its credential, in its kind's words (the bind account,
    the app's certificate...)."""
    kind = directory.descriptor
    method = next((m for m in kind.binds if m.name == directory.bind_kind), kind.binds[0])
    return method.label


def directory_view(
    request: Request,
    state: State,
    viewer: Viewer,
    directory: Directory,
    *,
    done: str = "",
    tested: bool = False,
    status: int = 200,
    **extra: Any,
) -> Response:
    """A directory's page; ``extra``: its auto-create section's form, error or dry run
    (:mod:`credsync.web.routes.auto_create`)."""
    steps, test_error = _test(state, viewer.actor, directory) if tested else ([], "")
    auto = state.vault.auto_create.get(viewer.actor, directory.id)[1]
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
        connection=_connection(directory),
        bind_title=bind_title,
        signs_in_with=_signs_in_with(directory),
        last=last_runs(state.vault.db, viewer.actor).get(directory.id),
        done=done,
        tested=tested,
        steps=steps,
        test_error=test_error,
        ok=bool(steps) and all(s.outcome != StepOutcome.FAILED for s in steps),
        status=status,
        **{
            "auto": auto,
            "auto_form": form_of(auto),
            "auto_error": "",
            "auto_preview": None,
            **extra,
        },
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
    return _form_page(request, state, viewer, shown, _form({"kind": registry.KINDS[0].name}))


@router.post("/directories/new")
def add_directory(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Add the directory, then test reaching it: its page with each step."""
    _require_setup(viewer)
    vault, actor = state.vault, viewer.actor
    client = vault.clients.get(actor, fields.get("client", ""))
    form = _form(fields)
    kind = _kind(form)
    options = _check(form, kind, adding=True)
    if form.errors or kind is None:
        return _form_page(request, state, viewer, client, form, status=400)
    given: dict[str, Any] = {
        s.name: form.values[_form_name(kind.name, s.name)] or None for s in kind.settings
    }
    given.update(_binds(form, kind))
    given.update(
        ca_pem=form.values["ca_pem"] or None,
        insecure_skip_verify=form.skip_verify(),
        options=options,
    )
    try:
        directory = vault.directories.add(
            actor, client.id, form.values["name"], kind.name, DirectoryInput.of(given)
        )
    except (InvalidInput, NotFound, Conflict) as exc:
        form.refused(exc)
        return _form_page(request, state, viewer, client, form, status=400)
    _warn_insecure(viewer, directory, form.skip_verify())
    return directory_view(
        request, state, viewer, directory, done=f"Directory {directory.name} added.", tested=True
    )


# -- a directory -------------------------------------------------------------------------------
@router.get("/directories/{ref}")
def directory_page(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """A directory's connection and options, with sync now, test, change and remove."""
    directory = state.vault.directories.get(viewer.actor, ref)
    return directory_view(request, state, viewer, directory)


# -- change ------------------------------------------------------------------------------------
def _current(directory: Directory) -> dict[str, str]:
    """The form's fields as the directory has them."""
    kind = directory.descriptor
    values = {
        "kind": directory.kind,
        "bind_credential": directory.bind_credential_id or "",  # shown: the form needs the use
        **{name: str(directory.option(name)) for name in _OPTIONS},
        "version": str(directory.version),
        "insecure_skip_verify": "on" if directory.insecure_skip_verify else "",
        _form_name(kind.name, "bind_method"): directory.bind_kind or "",
    }
    for setting in kind.settings:
        values[_form_name(kind.name, setting.name)] = directory.setting(setting.name) or ""
    return values


def _changes(directory: Directory, form: DirectoryForm, options: dict[str, int]) -> dict[str, Any]:
    """The inputs that differ from the directory (an empty optional setting is its default;
    an empty CA keeps the one there is, unless "remove the CA" is ticked)."""
    kind = directory.descriptor
    now = _current(directory)
    given = form.values
    out: dict[str, Any] = {}
    for setting in kind.settings:
        name = _form_name(kind.name, setting.name)
        value = given[name] or setting.default or ""
        if value != now[name]:
            out[setting.name] = value
    method = _form_name(kind.name, "bind_method")
    credential = given["bind_credential"] or now["bind_credential"]
    if credential != now["bind_credential"] or (given[method] or now[method]) != now[method]:
        out.update(_binds(DirectoryForm({**now, **given, "bind_credential": credential}), kind))
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
    options = _check(form, directory.descriptor, adding=False)
    changes = {} if form.errors else _changes(directory, form, options)
    if not form.errors and not changes:
        return redirect(request, f"/directories/{directory.id}", viewer, "Nothing changed.", "info")
    if not form.errors:
        expected = form_version(form.values["version"])
        try:
            changed = vault.directories.update(
                actor, directory.id, DirectoryInput.of(changes), expected_version=expected
            )
        except (InvalidInput, NotFound, Conflict) as exc:
            form.refused(exc)
        else:
            _warn_insecure(viewer, changed, changes.get("insecure_skip_verify") is True)
            return directory_view(
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
