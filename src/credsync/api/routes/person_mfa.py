"""People's second factors as operators see them (issue 17): a person's MFA state, and an
operator's reset of it (the person sets one up again at their next sign-in). The rules are
:mod:`credsync.vault.person_auth`'s."""

from __future__ import annotations

from fastapi import Query

from credsync.api.deps import Caller, State
from credsync.api.routing import api_router
from credsync.vault.person_auth import PersonMfaResetJson, PersonMfaStatusJson

router = api_router(tags=["people"])
ClientRef = Query(None, max_length=200, description="The person's client (name or id).")


@router.get("/people/{ref}/mfa", response_model=PersonMfaStatusJson)
def person_mfa(
    ref: str, actor: Caller, state: State, client: str | None = ClientRef
) -> PersonMfaStatusJson:
    """A person's second factors: the authenticator app (on, pending, off) and how many
    security keys. Needs vault.read."""
    return state.vault.person_auth.mfa_of(actor, ref, client_ref=client).to_json()


@router.post("/people/{ref}/mfa/reset", response_model=PersonMfaResetJson)
def reset_person_mfa(
    ref: str, actor: Caller, state: State, client: str | None = ClientRef
) -> PersonMfaResetJson:
    """Remove a person's authenticator app and security keys and end their portal sessions;
    they set one up again at their next sign-in. Needs vault.write; audited
    ``person.mfa_reset``."""
    return state.vault.person_auth.reset_mfa(actor, ref, client_ref=client)
