"""People on the dashboard (issue 16; ``/operators`` are the vault's own users): a client's
people a page at a time, searched (``vault.people.search``, as ``credsync person search``),
or in the trash; a person's page (their fields, each directory-sourced one with its
directory and a read-only mark, their accounts in the client's directories, their primary
login credential, the groups they belong to); adding one, editing one (read with its
version: a stale save is refused), disabling and enabling, moving to the trash after a
confirm page, and restoring.

The rules and permissions are :mod:`credsync.vault.people`'s: vault.read sees, vault.write
changes (a form's page asks it before showing the form), and a client outside the
operator's reach is "Not found". Its refusals are shown on the field they name, with the
values typed kept.
"""

from __future__ import annotations

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from credsync.types import CredentialType
from credsync.vault import Permission
from credsync.vault.memberships import groups_of
from credsync.vault.models import Client
from credsync.vault.people_records import Person
from credsync.web.forms import form_version
from credsync.web.identity_forms import (
    PERSON_FIELDS,
    PersonForm,
    changes_of,
    list_client,
)
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()

CREDENTIAL_CHOICES = 200  # a select of the client's credentials up to this many, else an id


# -- a client's people -------------------------------------------------------------------------
@router.get("/clients/{ref}/people")
def people_page(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    q: str | None = Query(None),
    after: str | None = Query(None, max_length=512),
    trash: bool = Query(False),
) -> Response:
    """A client's people by display name, a page at a time; with ``q``, those the search
    finds (at most a page: narrow it for more); with ``trash``, those in the trash."""
    client = state.vault.clients.get(viewer.actor, ref)
    listing = list_client(
        state.vault.people, viewer.actor, client.id, q=q, after=after, trash=trash
    )
    return page(
        request,
        "people.html",
        viewer,
        status=listing.status,
        title=f"People of {client.name}" + (" in the trash" if trash else ""),
        client=client,
        **listing.context("people"),
    )


# -- a person ----------------------------------------------------------------------------------
def _credential_title(state: State, viewer: Viewer, person: Person) -> str:
    """The title of the person's primary credential ("" when it can't be seen)."""
    if person.row.credential_id is None:
        return ""
    try:
        return state.vault.credentials.get(
            viewer.actor, person.row.credential_id, trashed=True
        ).title
    except NotFound:
        return ""


@router.get("/people/{ref}")
def person_page(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """A person's fields (directory-sourced ones marked), accounts, primary login credential
    and groups, with edit, disable or enable, and the trash."""
    vault, actor = state.vault, viewer.actor
    person = vault.people.get(actor, ref)
    sourced = set(person.source.attributes) if person.source else set()
    return page(
        request,
        "person.html",
        viewer,
        title=person.row.display_name,
        person=person,
        p=person.row,
        fields=PERSON_FIELDS,
        sourced=sourced,
        credential_title=_credential_title(state, viewer, person),
        groups=groups_of(vault.db, actor, person.id, person.row.client_id),
        invitation=vault.self_service.invitation_of(actor, person.id),
        mfa=vault.person_auth.mfa_status(person.id),
    )


@router.post("/people/{ref}/mfa-reset")
def reset_person_mfa(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Remove the person's authenticator app and security keys, ending their portal sessions
    (vault.write; audited): they set one up again at their next sign-in."""
    person = state.vault.people.get(viewer.actor, ref)
    done = state.vault.person_auth.reset_mfa(viewer.actor, person.id)
    said = f"{person.row.display_name} has no second factor now"
    if done["sessions_ended"]:
        said += f" ({done['sessions_ended']} portal session(s) ended)"
    return redirect(request, f"/people/{person.id}", viewer, said + ".")


# -- the form ----------------------------------------------------------------------------------
def _credentials(state: State, viewer: Viewer, client: Client) -> list[tuple[str, str]] | None:
    """(id, label) of the client's credentials a person may log in with, for a select; None
    when there are too many (the form then asks for an id)."""
    found = state.vault.credentials.list(viewer.actor, client.id, limit=CREDENTIAL_CHOICES)
    if found.next_cursor is not None:
        return None
    return [
        (c.id, f"{c.title} ({c.username})" if c.username else c.title)
        for c in found.items
        if c.type != CredentialType.DIRECTORY_ADMIN.value
    ]


def _form_page(
    request: Request,
    state: State,
    viewer: Viewer,
    client: Client,
    form: PersonForm,
    *,
    person: Person | None = None,
    status: int = 200,
) -> Response:
    sourced = set(person.source.attributes) if person and person.source else set()
    return page(
        request,
        "person_form.html",
        viewer,
        status=status,
        title=f"Edit {person.row.display_name}" if person else f"Add a person to {client.name}",
        client=client,
        person=person,
        form=form,
        fields=PERSON_FIELDS,
        sourced=sourced,
        source=person.source.directory if person and person.source else "",
        credentials=_credentials(state, viewer, client),
    )


def _refused(form: PersonForm, exc: InvalidInput | Conflict) -> int:
    """The vault's refusal on the form's field; the page's status."""
    if isinstance(exc, AlreadyExists):  # the only name a person must have alone: the username
        form.error("username", str(exc))
        return 409
    form.refused(exc)
    return 409 if isinstance(exc, Conflict) else 400


# -- add ---------------------------------------------------------------------------------------
@router.get("/clients/{ref}/people/new")
def new_person(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The form for a new person of the client."""
    viewer.actor.require(Permission.VAULT_WRITE)
    client = state.vault.clients.get(viewer.actor, ref)
    return _form_page(request, state, viewer, client, PersonForm.read({}))


@router.post("/clients/{ref}/people/new")
def add_person(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Add them, then their page; a refused form comes back with what was wrong."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    client = vault.clients.get(actor, ref)
    form = PersonForm.read(fields)
    try:
        person = vault.people.add(actor, client.id, form.given())
    except (InvalidInput, Conflict) as exc:
        status = _refused(form, exc)
        return _form_page(request, state, viewer, client, form, status=status)
    return redirect(request, f"/people/{person.id}", viewer, f"Added {person.row.display_name}.")


# -- edit --------------------------------------------------------------------------------------
def _current(person: Person) -> dict[str, str]:
    row = person.row
    values = {name: str(getattr(row, name)) for name in PERSON_FIELDS}
    values["credential"] = row.credential_id or ""
    values["version"] = str(row.version)
    return values


@router.get("/people/{ref}/edit")
def edit_person(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The form with the person's fields (directory-sourced ones read-only)."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    person = vault.people.get(actor, ref, trashed=False)
    client = vault.clients.get(actor, person.row.client_id)
    form = PersonForm(_current(person))
    return _form_page(request, state, viewer, client, form, person=person)


@router.post("/people/{ref}/edit")
def change_person(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Save what changed, with the version the form was read at."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    person = vault.people.get(actor, ref, trashed=False)
    client = vault.clients.get(actor, person.row.client_id)
    form = PersonForm.read(fields)
    changes = changes_of(form, _current(person), [*PERSON_FIELDS, "credential"])
    if not changes:
        return redirect(request, f"/people/{person.id}", viewer, "Nothing changed.", "info")
    try:
        expected = form_version(form.values["version"])
        vault.people.update(actor, person.id, changes, expected_version=expected)
    except (InvalidInput, Conflict) as exc:
        status = _refused(form, exc)
        return _form_page(request, state, viewer, client, form, person=person, status=status)
    return redirect(request, f"/people/{person.id}", viewer, "Changes saved.")


# -- disable, enable ---------------------------------------------------------------------------
def _set_enabled(request: Request, state: State, viewer: Viewer, ref: str, on: bool) -> Response:
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    person = vault.people.get(actor, ref, trashed=False)
    back = f"/people/{person.id}"
    try:
        changed = vault.people.set_enabled(actor, person.id, on)
    except (InvalidInput, Conflict) as exc:
        return redirect(request, back, viewer, f"Nothing was changed: {exc}.", "error")
    name = changed.row.display_name
    return redirect(request, back, viewer, f"{name} is {'enabled' if on else 'disabled'}.")


@router.post("/people/{ref}/disable")
def disable_person(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Disable the person in the vault (refused while a directory is the source of truth of
    ``enabled``)."""
    return _set_enabled(request, state, viewer, ref, False)


@router.post("/people/{ref}/enable")
def enable_person(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Enable the person again."""
    return _set_enabled(request, state, viewer, ref, True)


# -- trash -------------------------------------------------------------------------------------
@router.get("/people/{ref}/delete")
def confirm_delete(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """What moving the person to the trash does, and the button that does it."""
    viewer.actor.require(Permission.VAULT_WRITE)
    person = state.vault.people.get(viewer.actor, ref, trashed=False)
    return page(
        request,
        "identity_delete.html",
        viewer,
        title=f"Move {person.row.display_name} to the trash",
        name=person.row.display_name,
        client_id=person.row.client_id,
        client_name=person.client,
        back=f"/people/{person.id}",
        what="person",
    )


@router.post("/people/{ref}/delete")
def delete_person(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Move them to the trash; their page then says so and offers to restore them."""
    person = state.vault.people.delete(viewer.actor, ref)
    name = person.row.display_name
    notice = f"Moved {name} to the trash: out of the lists and searches. Restore brings them back."
    return redirect(request, f"/people/{person.id}", viewer, notice)


@router.post("/people/{ref}/restore")
def restore_person(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Bring them back from the trash, as they were (their memberships too)."""
    person = state.vault.people.restore(viewer.actor, ref)
    return redirect(request, f"/people/{person.id}", viewer, f"Restored {person.row.display_name}.")
