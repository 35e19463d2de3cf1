"""Multi-factor sign-in: one's own enrolment (start, confirm with a first code, turn off),
an operator's state and an admin's reset, and who must use it (vault-wide or per role)."""

from __future__ import annotations

from fastapi import Request

from credsync.api.deps import SESSION_COOKIE, Caller, State
from credsync.api.routing import api_router
from credsync.api.schemas_mfa import MfaConfirmIn, MfaDisableIn, MfaRequirementIn
from credsync.api.signin import limited
from credsync.types import Secret
from credsync.vault.mfa import (
    MfaConfirmedJson,
    MfaEnrolmentJson,
    MfaRequirementJson,
    MfaResetJson,
    MfaStatusJson,
)

router = api_router(tags=["mfa"])


@router.get("/account/mfa", response_model=MfaStatusJson)
def my_mfa(actor: Caller, state: State) -> MfaStatusJson:
    """Your second factor: ``on``, ``pending`` or ``off``, whether it is required of you, and
    how many recovery codes are left. Any signed-in caller."""
    return state.vault.mfa.status(actor).to_json()


@router.post("/account/mfa/enroll", response_model=MfaEnrolmentJson)
def enroll(actor: Caller, state: State) -> MfaEnrolmentJson:
    """Start setting up a second factor (TOTP): a new secret and its otpauth:// URI, shown this
    once, pending until ``/account/mfa/confirm`` gets a first code of it (409 when one is set
    up already). Any signed-in caller, for themselves."""
    started = state.vault.mfa.begin(actor)
    return MfaEnrolmentJson(
        operator=started.operator, secret=started.secret.reveal(), uri=started.uri.reveal()
    )


@router.post("/account/mfa/confirm", response_model=MfaConfirmedJson)
def confirm(body: MfaConfirmIn, request: Request, actor: Caller, state: State) -> MfaConfirmedJson:
    """Confirm the pending secret with the app's current code (400 naming ``code`` when it does
    not match): the second factor is on, and the answer holds ten recovery codes, shown this
    once. A browser session that confirms counts as having passed the second factor. Any
    signed-in caller, for themselves."""
    codes = state.vault.mfa.confirm(actor, body.code)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and not request.headers.get("authorization"):
        sessions = state.vault.web_sessions
        _, session_id, _ = sessions.resume(Secret(cookie))
        sessions.passed_mfa(session_id)
    return MfaConfirmedJson(operator=actor.name, recovery_codes=[c.reveal() for c in codes])


@router.post("/account/mfa/disable", response_model=MfaStatusJson)
def disable(body: MfaDisableIn, request: Request, actor: Caller, state: State) -> MfaStatusJson:
    """Turn your second factor off, with your password and a code (refused while MFA is
    required of you; 409 when none is set up). Failures count in the sign-in limiter. Any
    signed-in caller, for themselves."""
    status = limited(
        request,
        state,
        actor.name,
        lambda: state.vault.mfa.disable(actor, Secret(body.password), body.code),
        "attempts",
    )
    return status.to_json()


@router.get("/operators/{ref}/mfa", response_model=MfaStatusJson, tags=["operators"])
def operator_mfa(ref: str, actor: Caller, state: State) -> MfaStatusJson:
    """An operator's second factor (oneself, or anyone with admin)."""
    return state.vault.mfa.status(actor, ref).to_json()


@router.post("/operators/{ref}/mfa/reset", response_model=MfaResetJson, tags=["operators"])
def reset(ref: str, actor: Caller, state: State) -> MfaResetJson:
    """Remove an operator's second factor and end every session of theirs (needs admin;
    audited ``operator.mfa_reset``): they sign in with the password and enrol again."""
    ended = state.vault.mfa.reset(actor, ref)
    name = state.vault.operators.get(actor, ref).name
    return MfaResetJson(operator=name, sessions_ended=ended)


@router.get("/mfa/requirement", response_model=MfaRequirementJson)
def requirement(actor: Caller, state: State) -> MfaRequirementJson:
    """Who must sign in with a second factor: everyone (``vault``) and the roles whose holders
    must (needs vault.read)."""
    return state.vault.mfa.requirement(actor).to_json()


@router.put("/mfa/requirement", response_model=MfaRequirementJson)
def set_requirement(body: MfaRequirementIn, actor: Caller, state: State) -> MfaRequirementJson:
    """Require a second factor (or stop) of every operator, or of a ``role``'s holders (needs
    admin; audited ``mfa.require``). API tokens stay single-factor; sessions already open stay
    open."""
    return state.vault.mfa.set_required(actor, body.required, body.role).to_json()
