"""Flags: the open problems checks found (per client, with the side they come from),
resolving one by pushing the vault's password or accepting the directory's, and confirming
the new links that wait for an operator with directory.setup before anything is pushed."""

from __future__ import annotations

from typing import Any

from fastapi import Query

from credsync.api.deps import Caller, State
from credsync.api.enforce import CONFIRM_RESPONSES, unconfirmed
from credsync.api.routes.sync import run_coroutine, run_out
from credsync.api.routing import api_router
from credsync.api.schemas_sync import FlagConfirmIn, FlagResolutionOut, FlagResolveIn
from credsync.errors import InvalidInput
from credsync.sync.confirm import LinkConfirmations
from credsync.sync.enforce import EnforceUnconfirmed
from credsync.sync.engine import Engine
from credsync.sync.resolve import Resolution, Resolver
from credsync.types import Secret
from credsync.vault.flags import FlagJson

router = api_router(prefix="/flags", tags=["flags"])


@router.get("", response_model=list[FlagJson])
def list_flags(
    actor: Caller,
    state: State,
    client: str | None = Query(None, max_length=200, description="Only this client's."),
    include_resolved: bool = Query(False, description="Resolved flags too."),
    limit: int = Query(1000, ge=1, le=1000),
) -> list[FlagJson]:
    """Open flags (of one client, or all), the newest first; ``side`` says where the status
    comes from (Active Directory or Entra ID). Needs vault.read; flags on directory_admin
    credentials need directory_admin.use too."""
    found = state.vault.flags.list(actor, client, include_resolved=include_resolved, limit=limit)
    return [f.to_json() for f in found]


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
      directory's password changes again.

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
