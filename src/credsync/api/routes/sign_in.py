"""Operators who sign in with Microsoft: the connection to the MSP's tenant and the
operators' links to identities there (admin), and what a client needs to start a sign-in
(open to anyone). See :mod:`credsync.vault.operator_sign_in`."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from credsync.api.deps import Caller, State
from credsync.api.routing import api_router
from credsync.api.schemas_sign_in import (
    DeviceSignInIn,
    DeviceSignInOut,
    GroupMapIn,
    IdentityLinkIn,
    OperatorImportIn,
    OperatorSearchIn,
    SignInSetupIn,
)
from credsync.connectors import registry
from credsync.errors import NotFound
from credsync.sync.operator_import import OperatorImport
from credsync.types import Secret
from credsync.vault.models import iso
from credsync.vault.operator_groups import GroupMapJson
from credsync.vault.operator_sign_in import (
    LinkedIdentityJson,
    SignInPublicJson,
    SignInSettingsJson,
)

router = api_router(tags=["operators"])


@router.get("/sign-in/microsoft", response_model=SignInSettingsJson)
def show(actor: Caller, state: State) -> SignInSettingsJson:
    """The connection to the MSP's tenant, without its secret (404 when none is set up).
    Needs admin."""
    settings = state.vault.operator_sign_in.show(actor)
    if settings is None:
        raise NotFound("sign-in with Microsoft is not set up")
    return settings.to_json()


@router.put("/sign-in/microsoft", response_model=SignInSettingsJson)
def setup(body: SignInSetupIn, actor: Caller, state: State) -> SignInSettingsJson:
    """Connect the MSP's tenant (or change the connection): the secret is needed the first
    time, sealed under the master key, never shown again. A refused value: 400 naming its
    field. Needs admin; audited ``sign_in.setup``."""
    secret = Secret(body.client_secret) if body.client_secret is not None else None
    return state.vault.operator_sign_in.setup(
        actor,
        state.keys,
        tenant_id=body.tenant_id,
        client_id=body.client_id,
        client_secret=secret,
        redirect_uri=body.redirect_uri,
        authority=body.authority,
        ca_pem=body.ca_pem,
    ).to_json()


@router.get("/sign-in/microsoft/links", response_model=list[LinkedIdentityJson])
def links(actor: Caller, state: State) -> list[LinkedIdentityJson]:
    """The operators linked to identities of the tenant. Needs admin."""
    return [x.to_json() for x in state.vault.operator_sign_in.links(actor)]


@router.put("/operators/{ref}/microsoft", response_model=LinkedIdentityJson)
def link(ref: str, body: IdentityLinkIn, actor: Caller, state: State) -> LinkedIdentityJson:
    """Link an operator to a user of the tenant (its object id): they may then sign in with
    Microsoft (409 when another operator has that identity). Needs admin; audited
    ``operator.identity_link``."""
    return state.vault.operator_sign_in.link(
        actor, ref, body.object_id, tenant_id=body.tenant_id, username=body.username
    ).to_json()


@router.delete("/operators/{ref}/microsoft", status_code=204)
def unlink(ref: str, actor: Caller, state: State) -> Response:
    """Unlink an operator from their Microsoft identity (404 when not linked). Needs admin;
    audited ``operator.identity_unlink``."""
    state.vault.operator_sign_in.unlink(actor, ref)
    return Response(status_code=204)


@router.get("/auth/microsoft", response_model=SignInPublicJson)
def public(state: State) -> SignInPublicJson:
    """What a client needs to sign in with Microsoft (tenant, app, authority, its CAs; no
    secret), 404 when it is not set up. Open to anyone (signed out)."""
    found = state.vault.operator_sign_in.public()
    if found is None:
        raise NotFound("sign-in with Microsoft is not set up")
    return found


@router.post("/auth/microsoft/token", response_model=DeviceSignInOut)
def device_sign_in(body: DeviceSignInIn, state: State) -> DeviceSignInOut:
    """Trade the id token of a device code sign-in with Microsoft (``credsync login
    --microsoft``) for an API token of the operator linked to that identity, living 12
    hours. The id token is checked as the dashboard's (signature, issuer, audience, tenant,
    expiry); refused: 401, audited ``auth.failed``. Open to anyone (the id token is the
    credential)."""
    service = state.vault.operator_sign_in
    provider = registry.operator_sign_in(service.provider_config(state.keys))
    try:
        identity = provider.verify(body.id_token)
    finally:
        provider.close()
    token, secret = service.api_token(identity)
    return DeviceSignInOut(
        operator=token.operator,
        token=secret.reveal(),
        token_name=token.name,
        expires_at=iso(token.expires_at),
    )


@router.post("/sign-in/microsoft/import/search")
def import_search(body: OperatorSearchIn, actor: Caller, state: State) -> list[dict[str, Any]]:
    """The tenant's users (and groups) a query finds, for the import of operators (at most
    500). Needs admin."""
    return OperatorImport(state.vault, state.keys).search(actor, body.query, groups=body.groups)


@router.post("/sign-in/microsoft/import")
def import_sync(body: OperatorImportIn, actor: Caller, state: State) -> dict[str, Any]:
    """Synchronise operators with the tenant: the selected users and the mapped groups'
    members made operators, those disabled or deleted in the tenant disabled and marked for
    review (see credsync.sync.operator_import). Needs admin."""
    report = OperatorImport(state.vault, state.keys).sync(
        actor, body.ids, role=body.role, clients=body.clients, dry_run=body.dry_run
    )
    return report.to_json()


@router.get("/sign-in/microsoft/groups", response_model=list[GroupMapJson])
def group_maps(actor: Caller, state: State) -> list[GroupMapJson]:
    """The groups whose members the import makes operators. Needs admin."""
    return [g.to_json() for g in state.vault.operator_groups.list(actor)]


@router.put("/sign-in/microsoft/groups/{group_id}")
def map_group(group_id: str, body: GroupMapIn, actor: Caller, state: State) -> dict[str, Any]:
    """Map a group of the tenant to a role and client access. Needs admin; audited
    ``sign_in.group_map``."""
    return OperatorImport(state.vault, state.keys).map_group(
        actor, group_id, body.role, body.clients
    )


@router.delete("/sign-in/microsoft/groups/{group_id}", status_code=204)
def unmap_group(group_id: str, actor: Caller, state: State) -> Response:
    """Stop importing a group's members (the operators made stay). Needs admin."""
    state.vault.operator_groups.remove(actor, group_id)
    return Response(status_code=204)
