"""Flags: the open problems checks found (per client, with the side they come from), a page
at a time with filters; resolving one or several by pushing the vault's password or
accepting the directory's; and confirming the new links that wait for an operator with
directory.setup before anything is pushed."""

from __future__ import annotations

from typing import Any

from fastapi import Query

from credsync.api.deps import Caller, Cursor, Limit, State
from credsync.api.enforce import CONFIRM_RESPONSES, unconfirmed
from credsync.api.routes.sync import run_coroutine, run_out
from credsync.api.routing import api_router
from credsync.api.schemas_sync import (
    FlagConfirmIn,
    FlagPage,
    FlagResolutionOut,
    FlagResolveIn,
    FlagsResolutionOut,
    FlagsResolveIn,
)
from credsync.errors import InvalidInput
from credsync.sync.confirm import LinkConfirmations
from credsync.sync.enforce import EnforceUnconfirmed
from credsync.sync.engine import Engine
from credsync.sync.resolve import Resolution, Resolver
from credsync.types import Secret
from credsync.vault.flags import FlagFilter, FlagJson

router = api_router(prefix="/flags", tags=["flags"])

_MOMENT = "An age (30m, 12h, 7d, 2w) or a date or time (2026-12-01, 2026-12-01T08:00:00Z)."


@router.get("", response_model=FlagPage)
def list_flags(
    actor: Caller,
    state: State,
    limit: Limit = 100,
    cursor: Cursor = None,
    client: str | None = Query(None, max_length=200, description="A client's name or id."),
    directory: str | None = Query(None, max_length=100, description="A directory's name or id."),
    status: str | None = Query(None, max_length=32, description="Only this status."),
    older_than: str | None = Query(
        None, max_length=40, description=f"Opened before this. {_MOMENT}"
    ),
    since: str | None = Query(
        None, max_length=40, description=f"Opened at or after this. {_MOMENT}"
    ),
    include_resolved: bool = Query(False, description="Resolved flags too."),
) -> FlagPage:
    """Open flags, the most recently opened first, a page at a time (follow
    ``next_cursor``): of one client, one directory, one status, and by age when asked.
    ``side`` says where the status comes from (Active Directory, Entra ID...). Needs
    vault.read; flags on directory_admin credentials need directory_admin.use too."""
    where = FlagFilter(client, directory, status, older_than, since, include_resolved)
    found, next_cursor = state.vault.flags.page(actor, where, limit=limit, cursor=cursor)
    return FlagPage(items=[f.to_json() for f in found], next_cursor=next_cursor)


@router.post("/resolve", response_model=FlagsResolutionOut)
def resolve_flags(body: FlagsResolveIn, actor: Caller, state: State) -> FlagsResolutionOut:
    """Resolve several open flags at once (needs vault.read, vault.write and
    directory_admin.use, asked before anything is done; then each flag is checked as one
    resolved alone is):

    - ``{"action": "push", "flags": [...]}``: the vault's password is set in each flag's
      directory now (one run per directory);
    - ``{"action": "accept_directory", "flags": [...]}`` (report mode only): each flag
      closes until its directory's password changes again; the directory's password stays
      unknown to the vault (the credential's status there is ``password_unknown``).

    Each flag has its own result, in the order given: ``pushed``, ``accepted``, ``failed``
    (the directory said no) or ``refused`` (not tried: no such flag, already resolved, about
    linking, in the trash, enforce mode for an acceptance), with the reason."""
    resolver = Resolver(state.vault, Engine(state.vault, state.keys, actor), actor)
    if body.action == "push":
        done = run_coroutine(lambda: resolver.push_many(body.flags))
    else:
        done = run_coroutine(lambda: resolver.accept_many(body.flags))
    return FlagsResolutionOut(results=[d.to_json() for d in done])


@router.post("/confirm", response_model=list[FlagJson], responses=CONFIRM_RESPONSES)
def confirm_links(body: FlagConfirmIn, actor: Caller, state: State) -> Any:
    """Confirm for pushes the links of ``awaiting_confirmation`` flags (those named, or every
    one of a client): a link a run made by matching names pushes nothing until then. Refused
    with 409 ``confirm_enforce`` naming the directory accounts whose password the next run
    overwrites until the request says ``"confirm": true``. Needs vault.read, vault.write and
    directory.setup. Answers the flags, closed as ``confirmed``."""
    try:
        found = LinkConfirmations(state.vault).confirm(
            actor, body.flags, client_ref=body.client, confirmed=body.confirm
        )
    except EnforceUnconfirmed as need:
        return unconfirmed(need)
    return [f.to_json() for f in found]


@router.get("/{ref}", response_model=FlagJson)
def get_flag(ref: str, actor: Caller, state: State) -> FlagJson:
    """A flag by id (or 8+ characters of it). Needs vault.read."""
    return state.vault.flags.get(actor, ref).to_json()


@router.post("/{ref}/resolve", response_model=FlagResolutionOut)
def resolve_flag(ref: str, body: FlagResolveIn, actor: Caller, state: State) -> FlagResolutionOut:
    """Resolve an open flag (needs vault.read, vault.write and directory_admin.use):

    - ``{"action": "push"}``: the vault's password is set in the directory now (a run of one
      item, stored like any run), whatever the credential's sync mode; through a link not
      confirmed yet only with directory.setup too, and that confirms the link;
    - ``{"action": "accept_directory", "password": "..."}``: the directory's password, checked
      with one bind where the directory can (not Entra), becomes the credential's password;
    - ``{"action": "accept_directory"}`` (report mode only): the flag closes until the
      directory's password changes again; the vault does not know the directory's password
      (the credential's status there is ``password_unknown`` until a password is set).

    A push the directory refused is an answer, not an error: 200 with ``outcome`` "failed",
    the flag still open and the run that tried."""
    if body.password is not None and body.action != "accept_directory":
        raise InvalidInput("password goes with the accept_directory action")
    resolver = Resolver(state.vault, Engine(state.vault, state.keys, actor), actor)
    password = Secret(body.password) if body.password is not None else None
    result: Resolution
    if body.action == "push":
        result = run_coroutine(lambda: resolver.push(ref))
    else:
        result = run_coroutine(lambda: resolver.accept(ref, password))
    return FlagResolutionOut(
        flag=result.flag.to_json(),
        outcome=result.outcome,
        detail=result.detail,
        run=run_out(result.run) if result.run else None,
    )
