"""Groups: a client's security and Microsoft 365 groups (issue 16): list a client's (pages),
search, add, show, change, trash, restore, purge, and members (list, add, remove). The rules
are :mod:`credsync.vault.groups`'s."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from credsync.api.deps import Caller, Cursor, Limit, SearchText, State
from credsync.api.routing import api_router
from credsync.api.schemas import PurgedOut
from credsync.api.schemas_identities import GroupIn, GroupPatch, MemberIn
from credsync.vault.group_records import GroupJson, GroupPage, MemberJson

router = api_router(tags=["groups"])
ClientRef = Query(None, max_length=200, description="The group's client (name or id).")


@router.get("/clients/{client}/groups", response_model=GroupPage)
def list_groups(
    client: str,
    actor: Caller,
    state: State,
    limit: Limit = 100,
    cursor: Cursor = None,
    trash: bool = Query(False, description="The client's trash instead."),
) -> GroupPage:
    """A client's groups by name, a page at a time (follow ``next_cursor``). Needs
    vault.read."""
    found, next_cursor = state.vault.groups.list(
        actor, client, trash=trash, limit=limit, cursor=cursor
    )
    return GroupPage(items=[g.to_json() for g in found], next_cursor=next_cursor)


@router.get("/groups", response_model=GroupPage)
def search_groups(
    actor: Caller,
    state: State,
    q: Annotated[SearchText, Query(description="Words; each starts a word of the group.")],
    client: str | None = Query(None, max_length=200, description="Only this client's."),
    limit: Limit = 100,
) -> GroupPage:
    """Search group names and e-mails (archived clients left out); ``next_cursor`` is always
    null. Needs vault.read."""
    found = state.vault.groups.search(actor, q, client_ref=client, limit=limit)
    return GroupPage(items=[g.to_json() for g in found], next_cursor=None)


@router.post("/clients/{client}/groups", response_model=GroupJson, status_code=201)
def add_group(client: str, body: GroupIn, actor: Caller, state: State) -> GroupJson:
    """Add a group to a client (needs vault.write; type security unless given)."""
    return state.vault.groups.add(actor, client, body.model_dump(exclude_unset=True)).to_json()


@router.get("/groups/{ref}", response_model=GroupJson)
def get_group(ref: str, actor: Caller, state: State, client: str | None = ClientRef) -> GroupJson:
    """A group by name (any case; a 400 when several share it: give the id) or id, in the
    trash too. Needs vault.read."""
    return state.vault.groups.get(actor, ref, client_ref=client).to_json()


@router.patch("/groups/{ref}", response_model=GroupJson)
def change_group(
    ref: str, body: GroupPatch, actor: Caller, state: State, client: str | None = ClientRef
) -> GroupJson:
    """Change the fields given (needs vault.write); one whose source of truth is a directory
    is refused (400 naming it and the directory)."""
    given = body.model_dump(exclude_unset=True, exclude={"version"})
    return state.vault.groups.update(
        actor, ref, given, client_ref=client, expected_version=body.version
    ).to_json()


@router.delete("/groups/{ref}", response_model=GroupJson)
def delete_group(
    ref: str, actor: Caller, state: State, client: str | None = ClientRef
) -> GroupJson:
    """Move to the trash, members kept (restore brings it back). Needs vault.write."""
    return state.vault.groups.delete(actor, ref, client_ref=client).to_json()


@router.post("/groups/{ref}/restore", response_model=GroupJson)
def restore_group(
    ref: str, actor: Caller, state: State, client: str | None = ClientRef
) -> GroupJson:
    """Bring a group back from the trash. Needs vault.write."""
    return state.vault.groups.restore(actor, ref, client_ref=client).to_json()


@router.post("/groups/{ref}/purge", response_model=PurgedOut)
def purge_group(ref: str, actor: Caller, state: State, client: str | None = ClientRef) -> PurgedOut:
    """Destroy a group in the trash with its members list and memberships (needs admin)."""
    return PurgedOut(id=state.vault.groups.purge(actor, ref, client_ref=client))


@router.get("/groups/{ref}/members", response_model=list[MemberJson])
def list_members(
    ref: str, actor: Caller, state: State, client: str | None = ClientRef
) -> list[MemberJson]:
    """A group's direct members: groups, then people, by name. Needs vault.read."""
    return state.vault.groups.members(actor, ref, client_ref=client)


@router.post("/groups/{ref}/members", response_model=GroupJson)
def add_member(
    ref: str, body: MemberIn, actor: Caller, state: State, client: str | None = ClientRef
) -> GroupJson:
    """Add a person or a group of the same client (needs vault.write). A group that holds
    this one (directly or through others) is refused (400): no cycles."""
    return state.vault.groups.add_member(
        actor, ref, body.member, kind=body.type, client_ref=client
    ).to_json()


@router.delete("/groups/{ref}/members/{kind}/{member}", response_model=GroupJson)
def remove_member(
    ref: str,
    kind: Literal["person", "group"],
    member: str,
    actor: Caller,
    state: State,
    client: str | None = ClientRef,
) -> GroupJson:
    """Take a member out (needs vault.write); 404 when it is not one."""
    return state.vault.groups.remove_member(
        actor, ref, member, kind=kind, client_ref=client
    ).to_json()
