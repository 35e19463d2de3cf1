"""Adding and changing credentials on the dashboard: a client's "Add a credential" form; a
credential's edit form (saved with the version it was read at: a stale save is refused and
the operator reloads); its sync mode (switching to enforce after a page naming the directory
accounts whose passwords it will overwrite); moving it to the trash after a confirm page, and
restoring it. All need vault.write, and what the vault's service asks besides
(directory_admin.use for that type, directory.setup for enforce); the service writes the
audit entries.

No form shows a password or the sealed notes: the edit form's notes field replaces the notes
when filled, and a refused form comes back without the passwords typed. A certificate and key
in PEM go in with the CLI (``--password-file``): a password field holds one line.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.errors import Conflict, DuplicateCredential, InvalidInput, NotFound
from credsync.sync.enforce import EnforceSwitches, EnforceUnconfirmed
from credsync.types import CredentialType, Secret
from credsync.vault import Permission
from credsync.vault.models import Client, Credential
from credsync.vault.validate import parse_sync_mode
from credsync.web.forms import Form, form_version
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()

_TEXT = ("title", "username", "url", "type", "folder", "new_folder", "tags", "sync_mode")
_CHECKS = ("generate", "remove_notes", "allow_duplicate")
MODES = ("inherit", "off", "report", "enforce", "two_way")


class CredentialForm(Form):
    """A credential's fields as typed (passwords left out)."""

    # A folder path typed is the new folder's field (the select offers the existing ones).
    field_names = MappingProxyType({"folder": "new_folder"})

    def tags(self) -> list[str]:
        return [t.strip() for t in self.values["tags"].split(",") if t.strip()]

    def folder(self) -> str:
        """The folder to file it in: a new path typed, else the one chosen ("" for none)."""
        return self.values["new_folder"] or self.values["folder"]

    def duplicate(self, exc: DuplicateCredential, client: str) -> None:
        """The vault refused a duplicate: said on the box that allows one, with a link to
        the credential it would duplicate."""
        self.values["duplicate_of"] = exc.existing_id
        self.error(
            "allow_duplicate",
            f"{client} already has a credential with this folder, title and username. "
            "Tick the box to make a second one anyway.",
        )


def _form(fields: dict[str, str]) -> CredentialForm:
    values = {name: fields.get(name, "").strip() for name in _TEXT}
    values["notes"] = fields.get("notes", "").replace("\r\n", "\n").strip()
    values["policy"] = fields.get("policy", "").strip() or "default"
    values["version"] = fields.get("version", "").strip()
    values.update({name: "on" if fields.get(name) == "on" else "" for name in _CHECKS})
    form = CredentialForm(values)
    if not values["title"]:
        form.error("title", "Give the credential a title.")
    return form


def _form_page(
    request: Request,
    state: State,
    viewer: Viewer,
    client: Client,
    form: CredentialForm,
    *,
    cred: Credential | None = None,
    status: int = 200,
) -> Response:
    types = [t.value for t in CredentialType]
    if not viewer.can(Permission.DIRECTORY_ADMIN_USE.value):
        types.remove(CredentialType.DIRECTORY_ADMIN.value)
    return page(
        request,
        "credential_form.html",
        viewer,
        status=status,
        title=f"Edit {cred.title}" if cred else f"Add a credential to {client.name}",
        client=client,
        cred=cred,
        form=form,
        types=types,
        modes=MODES,
        folders=[f.path for f in state.vault.clients.folders(viewer.actor, client.id)],
        policies=[name for name, _ in state.vault.policies.list(viewer.actor)],
    )


# -- add ---------------------------------------------------------------------------------------
@router.get("/clients/{ref}/credentials/new")
def new_credential(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The form for a new credential of the client."""
    viewer.actor.require(Permission.VAULT_WRITE)
    client = state.vault.clients.get(viewer.actor, ref)
    form = CredentialForm({"type": CredentialType.LOGIN.value, "sync_mode": "inherit"})
    return _form_page(request, state, viewer, client, form)


def _check_password(form: CredentialForm, fields: dict[str, str]) -> str | None:
    """The password typed twice (None when one is to be generated)."""
    if form.ticked("generate"):
        return None
    typed = fields.get("password", "")
    if not typed:
        form.error("password", "Type the password (twice), or tick 'Generate one'.")
    elif typed != fields.get("password_again", ""):
        form.error("password_again", "The two passwords differ.")
    return typed


@router.post("/clients/{ref}/credentials/new")
def add_credential(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Add it, then its page with a notice; a refused form comes back with what was wrong."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    client = vault.clients.get(actor, ref)
    form = _form(fields)
    typed = _check_password(form, fields)
    status = 400
    if not form.errors:
        try:
            cred = vault.credentials.create(
                actor,
                state.keys,
                client.id,
                title=form.values["title"],
                password=None if typed is None else Secret(typed),
                generate=typed is None,
                policy=form.values["policy"] if typed is None else None,
                username=form.values["username"],
                url=form.values["url"],
                notes=form.values["notes"] or None,
                type_=form.values["type"],
                tags=form.tags(),
                sync_mode=parse_sync_mode(form.values["sync_mode"], allow_inherit=True),
                folder=form.folder() or None,
                allow_duplicate=form.ticked("allow_duplicate"),
            )
        except NotFound as exc:  # the policy chosen (the client was found above)
            form.error("policy", str(exc))
        except DuplicateCredential as exc:
            form.duplicate(exc, client.name)
            status = 409
        except (InvalidInput, Conflict) as exc:
            form.refused(exc)
        else:
            notice = f"Added {cred.title}."
            if typed is None:
                notice += " Its password was generated: reveal it to see it."
            return redirect(request, f"/credentials/{cred.id}", viewer, notice)
    return _form_page(request, state, viewer, client, form, status=status)


# -- edit --------------------------------------------------------------------------------------
def _current(cred: Credential) -> dict[str, str]:
    return {
        "title": cred.title,
        "username": cred.username,
        "url": cred.url,
        "type": cred.type,
        "folder": cred.folder or "",
        "tags": ", ".join(cred.tags),
        "version": str(cred.version),
    }


def _changes(cred: Credential, form: CredentialForm) -> dict[str, Any]:
    """The edit's arguments for what differs from the credential (the notes: replaced when
    typed, removed when ticked)."""
    given = form.values
    out: dict[str, Any] = {
        name: given[name]
        for name in ("title", "username", "url")
        if given[name] != getattr(cred, name)
    }
    if given["type"] and given["type"] != cred.type:
        out["type_"] = given["type"]
    if sorted({t.lower() for t in form.tags()}) != list(cred.tags):
        out["tags"] = form.tags()
    if form.folder() != (cred.folder or ""):
        out["folder"] = form.folder()
    if form.ticked("remove_notes"):
        if cred.has_notes:
            out["notes"] = ""
    elif given["notes"]:
        out["notes"] = given["notes"]
    return out


@router.get("/credentials/{ref}/edit")
def edit_credential(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The form with the credential's fields (not its password, not its sealed notes)."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    cred = vault.credentials.get(actor, ref)
    client = vault.clients.get(actor, cred.client_id)
    return _form_page(request, state, viewer, client, CredentialForm(_current(cred)), cred=cred)


@router.post("/credentials/{ref}/edit")
def change_credential(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Save what changed, with the version the form was read at."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    cred = vault.credentials.get(actor, ref)
    client = vault.clients.get(actor, cred.client_id)
    form = _form(fields)
    changes = {} if form.errors else _changes(cred, form)
    if not form.errors and not changes:
        return redirect(request, f"/credentials/{cred.id}", viewer, "Nothing changed.", "info")
    status = 400
    if not form.errors:
        expected = form_version(form.values["version"])
        allow = form.ticked("allow_duplicate")
        try:
            vault.credentials.edit(
                actor, state.keys, cred.id, expected_version=expected, allow_duplicate=allow,
                **changes,
            )  # fmt: skip
        except DuplicateCredential as exc:
            form.duplicate(exc, client.name)
            status = 409
        except (InvalidInput, NotFound, Conflict) as exc:
            form.refused(exc)
            status = 409 if isinstance(exc, Conflict) else 400
        else:
            return redirect(request, f"/credentials/{cred.id}", viewer, "Changes saved.")
    return _form_page(request, state, viewer, client, form, cred=cred, status=status)


# -- sync mode ---------------------------------------------------------------------------------
@router.post("/credentials/{ref}/sync-mode")
def set_sync_mode(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Set the sync mode; one that makes the credential push more (enforce, two-way) is first
    confirmed on a page naming the accounts whose directory password the next run overwrites
    (and, for two-way, those it leaves alone for their capture)."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    cred = vault.credentials.get(actor, ref)
    chosen = fields.get("sync_mode", "")
    mode = parse_sync_mode(chosen, allow_inherit=True)
    expected = form_version(fields.get("version"))
    if mode is not None and mode.pushes:
        actor.require(Permission.DIRECTORY_SETUP)
    if mode == cred.sync_mode:
        return redirect(request, f"/credentials/{cred.id}", viewer, "Nothing changed.", "info")
    try:
        changed = EnforceSwitches(vault).set_credential_mode(
            actor,
            cred.id,
            mode,
            confirmed=fields.get("confirm") == "yes",
            expected_version=expected,
        )
    except EnforceUnconfirmed as need:
        preview = need.preview
        return page(
            request,
            "sync_mode_confirm.html",
            viewer,
            title=f"Switch {cred.title} to {preview.mode.spelled}?",
            cred=cred,
            chosen="inherit" if mode is None else mode.value,
            mode_name=preview.mode.spelled,
            version=fields.get("version", ""),
            impact=preview.overwritten,
            kept=[i for i in preview.impact if i.waits_for_capture],
            summary=preview.summary,
        )
    notice = f"Sync mode: {changed.effective_sync_mode.spelled}"
    notice += " (the client's default)." if changed.sync_mode is None else "."
    return redirect(request, f"/credentials/{cred.id}", viewer, notice)


# -- trash -------------------------------------------------------------------------------------
def _delete_page(
    request: Request, viewer: Viewer, cred: Credential, *, status: int = 200, error: str = ""
) -> Response:
    return page(
        request,
        "credential_delete.html",
        viewer,
        status=status,
        title=f"Move {cred.title} to the trash",
        cred=cred,
        error=error,
    )


@router.get("/credentials/{ref}/delete")
def confirm_delete(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """What moving the credential to the trash does, and the button that does it."""
    viewer.actor.require(Permission.VAULT_WRITE)
    return _delete_page(request, viewer, state.vault.credentials.get(viewer.actor, ref))


@router.post("/credentials/{ref}/delete")
def delete_credential(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Move it to the trash; its page then says so and offers to restore it."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    cred = vault.credentials.get(actor, ref)
    try:
        vault.credentials.delete(
            actor, cred.id, expected_version=form_version(fields.get("version"))
        )
    except (InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        message = str(exc)
        return _delete_page(
            request, viewer, cred, status=status, error=message[:1].upper() + message[1:]
        )
    return redirect(
        request,
        f"/credentials/{cred.id}",
        viewer,
        f"Moved {cred.title} to the trash: it is no longer synced. Restore brings it back.",
    )


@router.post("/credentials/{ref}/restore")
def restore_credential(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Bring it back from the trash, as it was."""
    viewer.actor.require(Permission.VAULT_WRITE)
    cred = state.vault.credentials.restore(viewer.actor, ref)
    return redirect(request, f"/credentials/{cred.id}", viewer, f"Restored {cred.title}.")
