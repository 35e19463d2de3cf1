"""A client's Office 365 domain federated to the vault (issue 17): show, enable, rotate the
signing certificate, disable (defederation, with the password push). The rules are
:mod:`credsync.sync.federation`'s: ``show`` needs vault.read; the others vault.read,
vault.write and directory.setup."""

from __future__ import annotations

from fastapi import Query

from credsync.api.deps import Caller, State
from credsync.api.routes.sync import run_coroutine
from credsync.api.routing import api_router
from credsync.api.schemas_federation import (
    FederationDisableIn,
    FederationEnableIn,
    FederationRotateIn,
)
from credsync.sync.federation import DomainFederationService
from credsync.sync.federation_report import (
    DisableReport,
    EnableReport,
    FederationDisableJson,
    FederationEnableJson,
    FederationRotationJson,
    FederationView,
    FederationViewJson,
    RotationReport,
)
from credsync.sync.federation_view import FederationShow

router = api_router(prefix="/federation", tags=["federation"])


@router.get("", response_model=FederationViewJson)
def show_federation(
    actor: Caller,
    state: State,
    client: str = Query(max_length=200),
    domain: str | None = Query(default=None, max_length=253),
) -> FederationViewJson:
    """The client's federated domains (the vault's record and the directory's state, with
    every disagreement), its signing certificates, the users without an identity."""

    async def shown() -> FederationView:
        return await FederationShow(state.vault, state.keys, actor).show(client, domain)

    return run_coroutine(shown).to_json()


@router.post("/enable", response_model=FederationEnableJson)
def enable_federation(
    body: FederationEnableIn, actor: Caller, state: State
) -> FederationEnableJson:
    """Federate the domain to the vault (Microsoft may take up to 2 hours to apply it)."""

    async def done() -> EnableReport:
        return await DomainFederationService(state.vault, state.keys, actor).enable(
            body.client,
            body.domain,
            base_url=body.url,
            protocol=body.protocol,
            mfa=body.mfa,
            directory_ref=body.directory,
        )

    return run_coroutine(done).to_json()


@router.post("/rotate", response_model=FederationRotationJson)
def rotate_federation(
    body: FederationRotateIn, actor: Caller, state: State
) -> FederationRotationJson:
    """A step of the signing certificate's rotation, published to every federated domain."""

    async def done() -> RotationReport:
        service = DomainFederationService(state.vault, state.keys, actor)
        return await service.rotate(body.client, body.step)

    return run_coroutine(done).to_json()


@router.post("/disable", response_model=FederationDisableJson)
def disable_federation(
    body: FederationDisableIn, actor: Caller, state: State
) -> FederationDisableJson:
    """Return the domain to managed sign-in and push every person's vault password to
    their Office 365 user; the report says who was left without one."""

    async def done() -> DisableReport:
        service = DomainFederationService(state.vault, state.keys, actor)
        return await service.disable(body.client, body.domain)

    return run_coroutine(done).to_json()
