"""Groups on the dashboard (issue 16): a client's groups a page at a time, searched
(``vault.groups.search``), or in the trash; a group's page (its fields, directory-sourced
ones marked read-only, its objects in the client's directories, its members, people and
groups, those in the trash marked, and the groups it belongs to) with a member picker (a
search among the client's people and groups, each found with an "Add" button); adding,
editing (with its version), moving to the trash after a confirm page, restoring, and adding
and removing members.

The rules and permissions are :mod:`credsync.vault.groups`'s: vault.read sees, vault.write
changes (members too); a group joining one it holds, directly or through others, is refused
with the vault's message, shown by the picker; a client outside the operator's reach is
"Not found".
"""

from __future__ import annotations

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.errors import Conflict, InvalidInput, NotFound
from credsync.vault import Permission
from credsync.vault.group_records import Group
from credsync.vault.identities import GROUP_TYPES
from credsync.vault.memberships import groups_of
from credsync.vault.models import Client
from credsync.vault.people_records import Person
from credsync.web.forms import form_version
from credsync.web.identity_forms import (
    GROUP_FIELDS,
    GroupForm,
    changes_of,
    check_query,
    list_client,
    refusal,
)
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()

PICKS = 20  # people and groups the member picker shows for a search, of each
SHOWN_MEMBERS = 500  # a group's members listed on its page (the CLI and API list them all)


# -- a client's groups -------------------------------------------------------------------------
@router.get("/clients/{ref}/groups")
def groups_page(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    q: str | None = Query(None),
    after: str | None = Query(None, max_length=512),
    trash: bool = Query(False),
) -> Response:
    """A client's groups by name, a page at a time; with ``q``, those the search finds (at
    most a page); with ``trash``, those in the trash."""
    client = state.vault.clients.get(viewer.actor, ref)
    listing = list_client(
        state.vault.groups, viewer.actor, client.id, q=q, after=after, trash=trash
    )
    return page(
        request,
        "groups.html",
        viewer,
        status=listing.status,
        title=f"Groups of {client.name}" + (" in the trash" if trash else ""),
        client=client,
        **listing.context("groups"),
    )


# -- a group -----------------------------------------------------------------------------------
def _group_page(
    request: Request,
    state: State,
    viewer: Viewer,
    group: Group,
    *,
    find: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    """The group's page; with ``find``, the picker's people and groups found (those that
    are members already, and the group itself, left out)."""
    vault, actor = state.vault, viewer.actor
    members = vault.groups.members(actor, group.id)
    people: list[Person] = []
    groups: list[Group] = []
    text, problem = check_query(find)
    error = error or problem
    can_pick = viewer.can("vault.write") and group.row.deleted_at is None
    if text and can_pick and not problem:
        try:
            people = vault.people.search(actor, text, client_ref=group.row.client_id, limit=PICKS)
            groups = vault.groups.search(actor, text, client_ref=group.row.client_id, limit=PICKS)
        except InvalidInput as exc:
            error = refusal(exc)
        held = {m["id"] for m in members} | {group.id}
        people = [p for p in people if p.id not in held]
        groups = [g for g in groups if g.id not in held]
    return page(
        request,
        "group.html",
        viewer,
        status=400 if problem and status == 200 else status,
        title=f"Group {group.row.name}",
        group=group,
        g=group.row,
        sourced=set(group.source.attributes) if group.source else set(),
        fields=GROUP_FIELDS,
        members=members[:SHOWN_MEMBERS],
        more_members=max(0, len(members) - SHOWN_MEMBERS),
        member_of=groups_of(vault.db, actor, group.id, group.row.client_id),
        can_pick=can_pick,
        find=text,
        found_people=people,
        found_groups=groups,
        error=error,
    )


@router.get("/groups/{ref}")
def group_page(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    find: str | None = Query(None),
) -> Response:
    """A group's fields, objects, members and the groups it belongs to; with ``find``, the
    member picker's search."""
    group = state.vault.groups.get(viewer.actor, ref)
    return _group_page(request, state, viewer, group, find=find or "")


# -- members -----------------------------------------------------------------------------------
@router.post("/groups/{ref}/members")
def add_member(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Make the person or group picked a member (``type`` and ``member``, its id); a
    refusal (a cycle) comes back on the group's page with the search kept."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    group = vault.groups.get(actor, ref)
    kind, member = fields.get("type", "person"), fields.get("member", "").strip()
    try:
        if not member:
            raise InvalidInput("choose a person or a group to add", field="member")
        vault.groups.add_member(actor, group.id, member, kind=kind)
    except (InvalidInput, NotFound, Conflict) as exc:
        return _group_page(
            request, state, viewer, group, find=fields.get("find", ""),
            error=f"Not added: {exc}.", status=404 if isinstance(exc, NotFound) else 400,
        )  # fmt: skip
    back = f"/groups/{group.id}"
    return redirect(request, back, viewer, "Member added.")


@router.post("/groups/{ref}/members/remove")
def remove_member(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Take a member (``type``, ``member``: its id) out of the group."""
    vault, actor = state.vault, viewer.actor
    changed = vault.groups.remove_member(
        actor, ref, fields.get("member", "").strip(), kind=fields.get("type", "person")
    )
    return redirect(request, f"/groups/{changed.id}", viewer, "Member removed.")


# -- the form ----------------------------------------------------------------------------------
def _form_page(
    request: Request,
    viewer: Viewer,
    client: Client,
    form: GroupForm,
    *,
    group: Group | None = None,
    status: int = 200,
) -> Response:
    sourced = set(group.source.attributes) if group and group.source else set()
    return page(
        request,
        "group_form.html",
        viewer,
        status=status,
        title=f"Edit group {group.row.name}" if group else f"Add a group to {client.name}",
        client=client,
        group=group,
        form=form,
        types=GROUP_TYPES,
        sourced=sourced,
        source=group.source.directory if group and group.source else "",
    )


@router.get("/clients/{ref}/groups/new")
def new_group(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The form for a new group of the client."""
    viewer.actor.require(Permission.VAULT_WRITE)
    client = state.vault.clients.get(viewer.actor, ref)
    return _form_page(request, viewer, client, GroupForm({"type": "security"}))


@router.post("/clients/{ref}/groups/new")
def add_group(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Add it, then its page; a refused form comes back with what was wrong."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    client = vault.clients.get(actor, ref)
    form = GroupForm.read(fields)
    try:
        group = vault.groups.add(actor, client.id, form.given())
    except (InvalidInput, Conflict) as exc:
        form.refused(exc)
        return _form_page(request, viewer, client, form, status=400)
    return redirect(request, f"/groups/{group.id}", viewer, f"Added group {group.row.name}.")


def _current(group: Group) -> dict[str, str]:
    values = {name: str(getattr(group.row, name)) for name in GROUP_FIELDS}
    values["version"] = str(group.row.version)
    return values


@router.get("/groups/{ref}/edit")
def edit_group(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The form with the group's fields (directory-sourced ones read-only)."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    group = vault.groups.get(actor, ref)
    if group.row.deleted_at is not None:
        raise NotFound(f"group {group.row.name!r} is in the trash: restore it first")
    client = vault.clients.get(actor, group.row.client_id)
    return _form_page(request, viewer, client, GroupForm(_current(group)), group=group)


@router.post("/groups/{ref}/edit")
def change_group(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Save what changed, with the version the form was read at."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    group = vault.groups.get(actor, ref)
    client = vault.clients.get(actor, group.row.client_id)
    form = GroupForm.read(fields)
    changes = changes_of(form, _current(group), list(GROUP_FIELDS))
    if not changes:
        return redirect(request, f"/groups/{group.id}", viewer, "Nothing changed.", "info")
    try:
        expected = form_version(form.values["version"])
        vault.groups.update(actor, group.id, changes, expected_version=expected)
    except (InvalidInput, Conflict, NotFound) as exc:
        form.refused(exc)
        status = 409 if isinstance(exc, Conflict) else 400
        return _form_page(request, viewer, client, form, group=group, status=status)
    return redirect(request, f"/groups/{group.id}", viewer, "Changes saved.")


# -- trash -------------------------------------------------------------------------------------
@router.get("/groups/{ref}/delete")
def confirm_delete(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """What moving the group to the trash does, and the button that does it."""
    viewer.actor.require(Permission.VAULT_WRITE)
    group = state.vault.groups.get(viewer.actor, ref)
    if group.row.deleted_at is not None:
        raise NotFound(f"group {group.row.name!r} is in the trash already")
    return page(
        request,
        "identity_delete.html",
        viewer,
        title=f"Move group {group.row.name} to the trash",
        name=group.row.name,
        client_id=group.row.client_id,
        client_name=group.client,
        back=f"/groups/{group.id}",
        what="group",
    )


@router.post("/groups/{ref}/delete")
def delete_group(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Move it to the trash (its members and memberships kept); its page offers restore."""
    group = state.vault.groups.delete(viewer.actor, ref)
    notice = f"Moved group {group.row.name} to the trash. Restore brings it back with its members."
    return redirect(request, f"/groups/{group.id}", viewer, notice)


@router.post("/groups/{ref}/restore")
def restore_group(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Bring it back from the trash, with its members."""
    group = state.vault.groups.restore(viewer.actor, ref)
    return redirect(request, f"/groups/{group.id}", viewer, f"Restored group {group.row.name}.")
