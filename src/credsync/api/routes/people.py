"""People: operators (list, add, show, change role, disable or enable, set a password),
roles (list, add a custom one, delete) and API tokens (list, create, revoke)."""

from __future__ import annotations

import datetime as dt

from fastapi import Query, Request, Response

from credsync.api.deps import Caller, State
from credsync.api.errors import ApiError
from credsync.api.routing import api_router
from credsync.api.schemas import ApiTokenOut
from credsync.api.schemas_people import (
    NewTokenOut,
    OperatorIn,
    OperatorOut,
    OperatorPasswordIn,
    OperatorPatch,
    RoleIn,
    RoleOut,
    TokenIn,
)
from credsync.api.signin import limited
from credsync.errors import AuthenticationFailed, InvalidInput
from credsync.types import Secret
from credsync.vault import Actor, Permission
from credsync.vault.models import Operator

router = api_router()


def operator_out(op: Operator) -> OperatorOut:
    return OperatorOut(**op.to_json())


# -- operators -------------------------------------------------------------------------------
@router.get("/operators", response_model=list[OperatorOut], tags=["operators"])
def list_operators(actor: Caller, state: State) -> list[OperatorOut]:
    """Every operator (needs admin)."""
    return [operator_out(o) for o in state.vault.operators.list(actor)]


@router.post("/operators", response_model=OperatorOut, status_code=201, tags=["operators"])
def add_operator(body: OperatorIn, actor: Caller, state: State) -> OperatorOut:
    """Add an operator with a role and a password of 12+ characters (needs admin)."""
    op = state.vault.operators.add(actor, body.name, Secret(body.password), body.role)
    return operator_out(op)


@router.get("/operators/{ref}", response_model=OperatorOut, tags=["operators"])
def get_operator(ref: str, actor: Caller, state: State) -> OperatorOut:
    """An operator by name or id (oneself, or anyone with admin)."""
    return operator_out(state.vault.operators.get(actor, ref))


@router.patch("/operators/{ref}", response_model=OperatorOut, tags=["operators"])
def change_operator(ref: str, body: OperatorPatch, actor: Caller, state: State) -> OperatorOut:
    """Give another role, disable (sign-in, tokens and sessions stop at once) or enable
    (needs admin; the last active admin can be neither demoted nor disabled)."""
    actor.require(Permission.ADMIN)  # before anything changes
    if body.role is None and body.disabled is None:
        raise InvalidInput("nothing to change: give role or disabled")
    op = state.vault.operators.get(actor, ref)
    if body.role is not None:
        op = state.vault.operators.set_role(actor, op.id, body.role)
    if body.disabled is not None:
        op = state.vault.operators.set_disabled(actor, op.id, body.disabled)
    return operator_out(op)


def _check_current_password(request: Request, state: State, actor: Actor, given: str) -> None:
    """One's own password changes only with the current one (a stolen session or token
    must not lock its owner out); failures count in the sign-in limiter and are audited."""
    try:
        limited(
            request,
            state,
            actor.name,
            lambda: state.vault.access.login_password(actor.name, Secret(given)),
            "attempts",
        )
    except AuthenticationFailed:
        raise ApiError(403, "forbidden", "current_password is not your password") from None


@router.put("/operators/{ref}/password", status_code=204, tags=["operators"])
def set_operator_password(
    ref: str, body: OperatorPasswordIn, request: Request, actor: Caller, state: State
) -> Response:
    """Set a password of 12+ characters: one's own (with ``current_password``), or another
    operator's (needs admin)."""
    target = state.vault.operators.get(actor, ref)
    if target.id == actor.operator_id:
        if body.current_password is None:
            raise InvalidInput("give current_password to change your own password")
        _check_current_password(request, state, actor, body.current_password)
    elif body.current_password is not None:
        raise InvalidInput("current_password is for changing your own password")
    state.vault.operators.set_password(actor, target.id, Secret(body.password))
    return Response(status_code=204)


# -- roles -----------------------------------------------------------------------------------
@router.get("/roles", response_model=list[RoleOut], tags=["roles"])
def list_roles(actor: Caller, state: State) -> list[RoleOut]:
    """Roles and the permissions they grant (needs vault.read)."""
    return [RoleOut(**r.to_json()) for r in state.vault.operators.roles(actor)]


@router.post("/roles", response_model=RoleOut, status_code=201, tags=["roles"])
def add_role(body: RoleIn, actor: Caller, state: State) -> RoleOut:
    """Add a custom role (needs admin)."""
    role = state.vault.operators.add_role(actor, body.name, body.permissions, body.description)
    return RoleOut(**role.to_json())


@router.delete("/roles/{name}", status_code=204, tags=["roles"])
def delete_role(name: str, actor: Caller, state: State) -> Response:
    """Delete a custom role nobody holds (needs admin)."""
    state.vault.operators.delete_role(actor, name)
    return Response(status_code=204)


# -- API tokens ------------------------------------------------------------------------------
@router.get("/tokens", response_model=list[ApiTokenOut], tags=["tokens"])
def list_tokens(
    actor: Caller,
    state: State,
    everyone: bool = Query(False, alias="all", description="Every operator's (needs admin)."),
) -> list[ApiTokenOut]:
    """Your API tokens, or everyone's (never their values).
    Any signed-in caller; everyone's needs admin."""
    return [
        ApiTokenOut(**t.to_json()) for t in state.vault.access.list_tokens(actor, everyone=everyone)
    ]


@router.post("/tokens", response_model=NewTokenOut, status_code=201, tags=["tokens"])
def create_token(body: TokenIn, response: Response, actor: Caller, state: State) -> NewTokenOut:
    """Create an API token (for yourself, or with admin for another operator). ``token`` is
    shown this once: store it now."""
    token, secret = state.vault.access.create_token(
        actor,
        body.name,
        operator=body.operator,
        expires_in=dt.timedelta(days=body.expires_days) if body.expires_days else None,
    )
    response.headers["Cache-Control"] = "no-store"
    return NewTokenOut(**token.to_json(), token=secret.reveal())


@router.delete("/tokens/{token_id}", response_model=ApiTokenOut, tags=["tokens"])
def revoke_token(token_id: str, actor: Caller, state: State) -> ApiTokenOut:
    """Revoke an API token (your own, or anyone's with admin)."""
    return ApiTokenOut(**state.vault.access.revoke_token(actor, token_id).to_json())
