"""Credentials: list a client's (pages), search, add, show, reveal (audited), set or
generate a password, history, edit, sync mode, trash, restore and purge."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from credsync.api.deps import Caller, Cursor, Limit, SearchText, State
from credsync.api.enforce import CONFIRM_RESPONSES, unconfirmed
from credsync.api.routing import api_router
from credsync.api.schemas import (
    CredentialIn,
    CredentialPage,
    CredentialPatch,
    PasswordIn,
    PurgedOut,
    SyncModeIn,
)
from credsync.sync.enforce import EnforceSwitches, EnforceUnconfirmed
from credsync.types import Secret, SyncMode
from credsync.vault.models import CredentialJson, HistoryEntryJson, RevealedCredentialJson

router = api_router(tags=["credentials"])
HistoryVersion = Annotated[
    int | None, Query(ge=1, description="Only this password version (its number).")
]


def _secret(password: str | None) -> Secret | None:
    return None if password is None else Secret(password)


@router.get("/clients/{client}/credentials", response_model=CredentialPage)
def list_credentials(
    client: str,
    actor: Caller,
    state: State,
    limit: Limit = 100,
    cursor: Cursor = None,
    folder: str | None = Query(None, max_length=1024),
    tag: str | None = Query(None, max_length=128),
    trash: bool = Query(False, description="The client's trash instead."),
    password_unknown: bool = Query(
        False,
        description="Only those whose password in one of the client's directories the vault "
        "does not know (password_unknown_in).",
    ),
    overdue: bool = Query(
        False,
        description="Only those overdue for rotation: password last changed more than the "
        "client's rotate_every_days ago (none when the client has no interval).",
    ),
) -> CredentialPage:
    """A client's credentials by title, a page at a time (follow ``next_cursor``).
    Needs vault.read."""
    page = state.vault.credentials.list(
        actor,
        client,
        folder=folder,
        tag=tag,
        trash=trash,
        limit=limit,
        cursor=cursor,
        password_unknown=password_unknown,
        overdue=overdue,
    )
    return CredentialPage(items=[c.to_json() for c in page.items], next_cursor=page.next_cursor)


@router.get("/credentials", response_model=CredentialPage)
def search_credentials(
    actor: Caller,
    state: State,
    q: Annotated[SearchText, Query(description="Words; each starts a word.")],
    client: str | None = Query(None, max_length=200),
    tag: str | None = Query(None, max_length=128),
    limit: Limit = 100,
) -> CredentialPage:
    """Search titles, usernames, urls and tags (archived clients left out). ``next_cursor``
    is always null: when more than ``limit`` match, narrow the search. Needs vault.read."""
    found = state.vault.credentials.search(actor, q, client_ref=client, tag=tag, limit=limit)
    return CredentialPage(items=[c.to_json() for c in found], next_cursor=None)


@router.post("/clients/{client}/credentials", response_model=CredentialJson, status_code=201)
def add_credential(client: str, body: CredentialIn, actor: Caller, state: State) -> CredentialJson:
    """Add a credential with a given or generated password (enforce needs directory.setup).
    One with the folder, title and username of a credential the client has is refused (409
    ``duplicate_credential``) unless ``allow_duplicate``."""
    cred = state.vault.credentials.create(
        actor,
        state.keys,
        client,
        title=body.title,
        password=_secret(body.password),
        generate=body.generate,
        policy=body.policy,
        username=body.username,
        url=body.url,
        notes=body.notes,
        type_=body.type,
        tags=body.tags,
        sync_mode=SyncMode(body.sync_mode) if body.sync_mode else None,
        folder=body.folder,
        allow_duplicate=body.allow_duplicate,
    )
    return cred.to_json()


@router.get("/credentials/{ref}", response_model=CredentialJson)
def get_credential(ref: str, actor: Caller, state: State) -> CredentialJson:
    """A credential by id or id prefix (the password is not included: see reveal).
    Needs vault.read."""
    return state.vault.credentials.get(actor, ref, trashed=True).to_json()


@router.post("/credentials/{ref}/reveal", response_model=RevealedCredentialJson)
def reveal_credential(ref: str, actor: Caller, state: State) -> RevealedCredentialJson:
    """The credential with its password and notes (needs secret.reveal; audited)."""
    return state.vault.credentials.reveal(actor, state.keys, ref).to_json()


@router.put("/credentials/{ref}/password", response_model=CredentialJson)
def set_password(ref: str, body: PasswordIn, actor: Caller, state: State) -> CredentialJson:
    """Store a new password (given or generated); enforce and two-way modes push it at once.
    Needs vault.write."""
    cred = state.vault.credentials.change_password(
        actor,
        state.keys,
        ref,
        _secret(body.password),
        generate=body.generate,
        policy=body.policy,
        reason=body.reason or "",
        expected_version=body.version,
    )
    return cred.to_json()


@router.get(
    "/credentials/{ref}/history",
    response_model=list[HistoryEntryJson],
    response_model_exclude_none=True,
)
def history(
    ref: str, actor: Caller, state: State, version: HistoryVersion = None
) -> list[HistoryEntryJson]:
    """Every password version, newest first: who, when, why (values: see history/reveal).
    Needs vault.read."""
    entries = state.vault.credentials.history(actor, None, ref, version=version)
    return [e.to_json() for e in entries]


@router.post("/credentials/{ref}/history/reveal", response_model=list[HistoryEntryJson])
def reveal_history(
    ref: str, actor: Caller, state: State, version: HistoryVersion = None
) -> list[HistoryEntryJson]:
    """Every password version with its value, or only ``version``'s (needs secret.reveal;
    audited with the versions shown)."""
    entries = state.vault.credentials.history(actor, state.keys, ref, reveal=True, version=version)
    return [e.to_json() for e in entries]


@router.patch("/credentials/{ref}", response_model=CredentialJson)
def edit_credential(ref: str, body: CredentialPatch, actor: Caller, state: State) -> CredentialJson:
    """Change title, username, url, notes, type, tags or folder (``""``: no folder); one
    that makes it a duplicate is refused as when adding (409 ``duplicate_credential``)
    unless ``allow_duplicate``. Needs vault.write."""
    cred = state.vault.credentials.edit(
        actor,
        state.keys,
        ref,
        title=body.title,
        username=body.username,
        url=body.url,
        notes=body.notes,
        type_=body.type,
        tags=body.tags,
        folder=body.folder,
        expected_version=body.version,
        allow_duplicate=body.allow_duplicate,
    )
    return cred.to_json()


@router.put(
    "/credentials/{ref}/sync-mode", response_model=CredentialJson, responses=CONFIRM_RESPONSES
)
def set_sync_mode(ref: str, body: SyncModeIn, actor: Caller, state: State) -> Any:
    """Set the sync mode (``inherit``: the client's default). A change that makes the
    credential push more (``enforce`` or ``two_way``, or ``inherit`` of a client whose
    default is one) is refused (409 ``confirm_enforce``, naming what it would overwrite)
    unless ``confirm``. Needs vault.write (and directory.setup for ``enforce`` and
    ``two_way``)."""
    mode = None if body.sync_mode == "inherit" else SyncMode(body.sync_mode)
    try:
        cred = EnforceSwitches(state.vault).set_credential_mode(
            actor, ref, mode, confirmed=body.confirm, expected_version=body.version
        )
    except EnforceUnconfirmed as need:
        return unconfirmed(need)
    return cred.to_json()


@router.delete("/credentials/{ref}", response_model=CredentialJson)
def delete_credential(
    ref: str, actor: Caller, state: State, version: int | None = Query(None, ge=1)
) -> CredentialJson:
    """Move to the trash (restore brings it back). Needs vault.write."""
    return state.vault.credentials.delete(actor, ref, expected_version=version).to_json()


@router.post("/credentials/{ref}/restore", response_model=CredentialJson)
def restore_credential(ref: str, actor: Caller, state: State) -> CredentialJson:
    """Bring a credential back from the trash. Needs vault.write."""
    return state.vault.credentials.restore(actor, ref).to_json()


@router.post("/credentials/{ref}/purge", response_model=PurgedOut)
def purge_credential(ref: str, actor: Caller, state: State) -> PurgedOut:
    """Destroy a credential in the trash and its whole history (needs admin; cannot be
    undone). One not in the trash is refused (400): delete it first."""
    return PurgedOut(id=state.vault.credentials.purge(actor, ref))
