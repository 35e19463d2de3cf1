"""People: a client's end users as identities (issue 16; ``routes/people.py`` is the
operators'): list a client's (pages), search, add, show, change, disable or enable, trash,
restore and purge. The rules are :mod:`credsync.vault.people`'s."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from credsync.api.deps import Caller, Cursor, Limit, SearchText, State
from credsync.api.routing import api_router
from credsync.api.schemas import PurgedOut
from credsync.api.schemas_identities import PersonIn, PersonPatch
from credsync.vault.people_records import PersonJson, PersonPage

router = api_router(tags=["people"])
ClientRef = Query(None, max_length=200, description="The person's client (name or id).")


@router.get("/clients/{client}/people", response_model=PersonPage)
def list_people(
    client: str,
    actor: Caller,
    state: State,
    limit: Limit = 100,
    cursor: Cursor = None,
    trash: bool = Query(False, description="The client's trash instead."),
) -> PersonPage:
    """A client's people by display name, a page at a time (follow ``next_cursor``).
    Needs vault.read."""
    found, next_cursor = state.vault.people.list(
        actor, client, trash=trash, limit=limit, cursor=cursor
    )
    return PersonPage(items=[p.to_json() for p in found], next_cursor=next_cursor)


@router.get("/people", response_model=PersonPage)
def search_people(
    actor: Caller,
    state: State,
    q: Annotated[SearchText, Query(description="Words; each starts a word of the person.")],
    client: str | None = Query(None, max_length=200, description="Only this client's."),
    limit: Limit = 100,
) -> PersonPage:
    """Search given names, surnames, display names, usernames and e-mails (archived clients
    left out). ``next_cursor`` is always null: narrow the search. Needs vault.read."""
    found = state.vault.people.search(actor, q, client_ref=client, limit=limit)
    return PersonPage(items=[p.to_json() for p in found], next_cursor=None)


@router.post("/clients/{client}/people", response_model=PersonJson, status_code=201)
def add_person(client: str, body: PersonIn, actor: Caller, state: State) -> PersonJson:
    """Add a person to a client (needs vault.write). A bad value is a 400 naming the field;
    a username the client has already is a 409."""
    return state.vault.people.add(actor, client, body.model_dump(exclude_unset=True)).to_json()


@router.get("/people/{ref}", response_model=PersonJson)
def get_person(ref: str, actor: Caller, state: State, client: str | None = ClientRef) -> PersonJson:
    """A person by username (any case) or id, in the trash too. Needs vault.read."""
    return state.vault.people.get(actor, ref, client_ref=client).to_json()


@router.patch("/people/{ref}", response_model=PersonJson)
def change_person(
    ref: str, body: PersonPatch, actor: Caller, state: State, client: str | None = ClientRef
) -> PersonJson:
    """Change the fields given (needs vault.write; ``enabled`` false disables). An attribute
    whose source of truth is a directory is refused (400 naming it and the directory)."""
    given = body.model_dump(exclude_unset=True, exclude={"version"})
    return state.vault.people.update(
        actor, ref, given, client_ref=client, expected_version=body.version
    ).to_json()


@router.delete("/people/{ref}", response_model=PersonJson)
def delete_person(
    ref: str, actor: Caller, state: State, client: str | None = ClientRef
) -> PersonJson:
    """Move to the trash (restore brings them back; memberships are kept). Needs
    vault.write."""
    return state.vault.people.delete(actor, ref, client_ref=client).to_json()


@router.post("/people/{ref}/restore", response_model=PersonJson)
def restore_person(
    ref: str, actor: Caller, state: State, client: str | None = ClientRef
) -> PersonJson:
    """Bring a person back from the trash. Needs vault.write."""
    return state.vault.people.restore(actor, ref, client_ref=client).to_json()


@router.post("/people/{ref}/purge", response_model=PurgedOut)
def purge_person(
    ref: str, actor: Caller, state: State, client: str | None = ClientRef
) -> PurgedOut:
    """Destroy a person in the trash with their accounts and memberships (needs admin)."""
    return PurgedOut(id=state.vault.people.purge(actor, ref, client_ref=client))
