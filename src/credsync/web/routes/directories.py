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
from typing import Any

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.connectors import registry
from credsync.connectors.base import StepOutcome, TestStep
from credsync.errors import (
    Conflict,
    ConnectorError,
    InvalidInput,
    NotFound,
)
from credsync.sync.connect import directory_test_steps
from credsync.sync.views import last_runs
from credsync.vault import Actor, Permission
from credsync.vault.directories import Directory, DirectoryInput
from credsync.vault.models import Client
from credsync.web.auto_create_form import form_of
from credsync.web.directory_form import (
    OPTIONS,
    BindChoice,
    DirectoryForm,
    binds,
    check,
    form_name,
    kind_of_form,
    kind_views,
    read_form,
)
from credsync.web.forms import form_version
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

router = page_router()
log = logging.getLogger("credsync.web")


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
        last=last_runs(state.vault.db, viewer.actor, [directory.id]).get(directory.id),
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
    return _form_page(request, state, viewer, shown, read_form({"kind": registry.KINDS[0].name}))


@router.post("/directories/new")
def add_directory(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Add the directory, then test reaching it: its page with each step."""
    _require_setup(viewer)
    vault, actor = state.vault, viewer.actor
    client = vault.clients.get(actor, fields.get("client", ""))
    form = read_form(fields)
    kind = kind_of_form(form)
    options = check(form, kind, adding=True)
    if form.errors or kind is None:
        return _form_page(request, state, viewer, client, form, status=400)
    given: dict[str, Any] = {
        s.name: form.values[form_name(kind.name, s.name)] or None for s in kind.settings
    }
    given.update(binds(form, kind))
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
        **{name: str(directory.option(name)) for name in OPTIONS},
        "version": str(directory.version),
        "insecure_skip_verify": "on" if directory.insecure_skip_verify else "",
        form_name(kind.name, "bind_method"): directory.bind_kind or "",
    }
    for setting in kind.settings:
        values[form_name(kind.name, setting.name)] = directory.setting(setting.name) or ""
    return values


def _changes(directory: Directory, form: DirectoryForm, options: dict[str, int]) -> dict[str, Any]:
    """The inputs that differ from the directory (an empty optional setting is its default;
    an empty CA keeps the one there is, unless "remove the CA" is ticked)."""
    kind = directory.descriptor
    now = _current(directory)
    given = form.values
    out: dict[str, Any] = {}
    for setting in kind.settings:
        name = form_name(kind.name, setting.name)
        value = given[name] or setting.default or ""
        if value != now[name]:
            out[setting.name] = value
    method = form_name(kind.name, "bind_method")
    credential = given["bind_credential"] or now["bind_credential"]
    if credential != now["bind_credential"] or (given[method] or now[method]) != now[method]:
        out.update(binds(DirectoryForm({**now, **given, "bind_credential": credential}), kind))
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
    form = read_form({**fields, "kind": directory.kind})
    options = check(form, directory.descriptor, adding=False)
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
