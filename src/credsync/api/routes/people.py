"""People: operators (list, add, show, change role, disable or enable, set a password),
roles (list, add a custom one, change or delete it) and API tokens (list, create, revoke one
or all)."""

from __future__ import annotations

import datetime as dt

from fastapi import Query, Request, Response

from credsync.api.deps import Caller, State
from credsync.api.errors import ApiError
from credsync.api.routing import api_router
from credsync.api.schemas_people import (
    OperatorClientsIn,
    OperatorIn,
    OperatorPasswordIn,
    OperatorPatch,
    RoleIn,
    RolePatch,
    TokenIn,
    TokensRevokeIn,
)
from credsync.api.signin import limited
from credsync.errors import AuthenticationFailed, InvalidInput
from credsync.types import Secret
from credsync.vault import Actor, Permission
from credsync.vault.models import (
    ApiTokenJson,
    NewApiTokenJson,
    OperatorJson,
    PasswordChangeJson,
    RoleJson,
    TokensRevokedJson,
)

router = api_router()


# -- operators -------------------------------------------------------------------------------
@router.get("/operators", response_model=list[OperatorJson], tags=["operators"])
def list_operators(actor: Caller, state: State) -> list[OperatorJson]:
    """Every operator (needs admin)."""
    return [o.to_json() for o in state.vault.operators.list(actor)]


@router.post("/operators", response_model=OperatorJson, status_code=201, tags=["operators"])
def add_operator(body: OperatorIn, actor: Caller, state: State) -> OperatorJson:
    """Add an operator with a role, a password of 12+ characters and client access: every
    client, or only ``clients`` (needs admin; an admin reaches every client)."""
    op = state.vault.operators.add(actor, body.name, Secret(body.password), body.role, body.clients)
    return op.to_json()


@router.get("/operators/{ref}", response_model=OperatorJson, tags=["operators"])
def get_operator(ref: str, actor: Caller, state: State) -> OperatorJson:
    """An operator by name or id (oneself, or anyone with admin)."""
    return state.vault.operators.get(actor, ref).to_json()


@router.patch("/operators/{ref}", response_model=OperatorJson, tags=["operators"])
def change_operator(ref: str, body: OperatorPatch, actor: Caller, state: State) -> OperatorJson:
    """Give another role, disable (no sign-in; every web and CLI session of theirs ends for
    good; API tokens are refused until enabled) or enable (needs admin; the last active admin
    can be neither demoted nor disabled)."""
    actor.require(Permission.ADMIN)  # before anything changes
    if body.role is None and body.disabled is None:
        raise InvalidInput("nothing to change: give role or disabled")
    op = state.vault.operators.get(actor, ref)
    if body.role is not None:
        op = state.vault.operators.set_role(actor, op.id, body.role)
    if body.disabled is not None:
        op = state.vault.operators.set_disabled(actor, op.id, body.disabled)
    return op.to_json()


@router.put("/operators/{ref}/clients", response_model=OperatorJson, tags=["operators"])
def set_operator_clients(
    ref: str, body: OperatorClientsIn, actor: Caller, state: State
) -> OperatorJson:
    """Client access: every client (``{"all_clients": true}``) or only those listed
    (``{"clients": [...]}``); needs admin; it applies from the operator's next request on.
    Outside their access a client, and all it holds, answers 404."""
    actor.require(Permission.ADMIN)  # before the body is judged
    if (body.all_clients is None) == (body.clients is None) or body.all_clients is False:
        raise InvalidInput(
            'give {"all_clients": true} or {"clients": [...]}', field=("all_clients", "clients")
        )
    op = state.vault.operators.set_clients(actor, ref, body.clients)
    return op.to_json()


def _check_current_password(request: Request, state: State, actor: Actor, given: str) -> None:
    """One's own password changes only with the current one (a stolen session or token
    must not lock its owner out); failures count in the sign-in limiter and are audited."""
    try:
        limited(
            request,
            state,
            actor.name,
            lambda: state.vault.access.check_password(actor.name, Secret(given)),
            "attempts",
        )
    except AuthenticationFailed:
        raise ApiError(403, "forbidden", "current_password is not your password") from None


@router.put("/operators/{ref}/password", response_model=PasswordChangeJson, tags=["operators"])
def set_operator_password(
    ref: str, body: OperatorPasswordIn, request: Request, actor: Caller, state: State
) -> PasswordChangeJson:
    """Set a password of 12+ characters: one's own (with ``current_password``), or another
    operator's (needs admin). Every web and CLI session of the operator ends, the caller's
    too; their API tokens are revoked only with ``revoke_tokens`` (``tokens_left``: those that
    still work)."""
    target = state.vault.operators.get(actor, ref)
    if target.id == actor.operator_id:
        if body.current_password is None:
            raise InvalidInput("give current_password to change your own password")
        _check_current_password(request, state, actor, body.current_password)
    elif body.current_password is not None:
        raise InvalidInput("current_password is for changing your own password")
    change = state.vault.operators.set_password(
        actor, target.id, Secret(body.password), revoke_tokens=body.revoke_tokens
    )
    return change.to_json()


# -- roles -----------------------------------------------------------------------------------
@router.get("/roles", response_model=list[RoleJson], tags=["roles"])
def list_roles(actor: Caller, state: State) -> list[RoleJson]:
    """Roles and the permissions they grant (needs vault.read)."""
    return [r.to_json() for r in state.vault.operators.roles(actor)]


@router.post("/roles", response_model=RoleJson, status_code=201, tags=["roles"])
def add_role(body: RoleIn, actor: Caller, state: State) -> RoleJson:
    """Add a custom role (needs admin)."""
    role = state.vault.operators.add_role(actor, body.name, body.permissions, body.description)
    return role.to_json()


@router.patch("/roles/{name}", response_model=RoleJson, tags=["roles"])
def change_role(name: str, body: RolePatch, actor: Caller, state: State) -> RoleJson:
    """Change a custom role's permissions (replaced by those given) or description (needs
    admin; built-in roles can't be changed). Its holders have the new permissions from their
    next request on."""
    role = state.vault.operators.change_role(
        actor, name, permissions=body.permissions, description=body.description
    )
    return role.to_json()


@router.delete("/roles/{name}", status_code=204, tags=["roles"])
def delete_role(name: str, actor: Caller, state: State) -> Response:
    """Delete a custom role nobody holds (needs admin)."""
    state.vault.operators.delete_role(actor, name)
    return Response(status_code=204)


# -- API tokens ------------------------------------------------------------------------------
@router.get("/tokens", response_model=list[ApiTokenJson], tags=["tokens"])
def list_tokens(
    actor: Caller,
    state: State,
    everyone: bool = Query(False, alias="all", description="Every operator's (needs admin)."),
) -> list[ApiTokenJson]:
    """Your API tokens, or everyone's (never their values).
    Any signed-in caller; everyone's needs admin."""
    return [t.to_json() for t in state.vault.access.list_tokens(actor, everyone=everyone)]


@router.post("/tokens", response_model=NewApiTokenJson, status_code=201, tags=["tokens"])
def create_token(body: TokenIn, response: Response, actor: Caller, state: State) -> NewApiTokenJson:
    """Create an API token (for yourself, or with admin for another operator). ``token`` is
    shown this once: store it now."""
    token, secret = state.vault.access.create_token(
        actor,
        body.name,
        operator=body.operator,
        expires_in=dt.timedelta(days=body.expires_days) if body.expires_days else None,
    )
    response.headers["Cache-Control"] = "no-store"
    return token.to_json_with(secret)


@router.post("/tokens/revoke-all", response_model=TokensRevokedJson, tags=["tokens"])
def revoke_all_tokens(
    actor: Caller, state: State, body: TokensRevokeIn | None = None
) -> TokensRevokedJson:
    """Revoke every API token of yours, the one in use too (or, with admin, every token of
    ``operator``; no body: yours). Any signed-in caller; another's needs admin."""
    operator = body.operator if body is not None else None
    return state.vault.access.revoke_all_tokens(actor, operator).to_json()


@router.delete("/tokens/{token_id}", response_model=ApiTokenJson, tags=["tokens"])
def revoke_token(token_id: str, actor: Caller, state: State) -> ApiTokenJson:
    """Revoke an API token (your own, or anyone's with admin)."""
    return state.vault.access.revoke_token(actor, token_id).to_json()
