"""A federated domain for the identity provider's tests: a client with an Office 365
directory record, a person with an identity in the domain, and Entra's requests built as
Entra sends them."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
import zlib
from dataclasses import dataclass

from credsync.vault.federated_domains import FederatedIdentity
from credsync.vault.identity_provider import PersonProof

from .flag_seed import add_ad_directory
from .helpers import Ctx

LOGIN = "https://login.microsoftonline.com/login.srf"
BASE = "https://vault.example.test"
IMMUTABLE = "AbC+dEf/123=="


@dataclass
class Federated:
    domain: str
    person_id: str
    upn: str

    def proof(self, ctx: Ctx, *, mfa: bool = True, at: dt.datetime | None = None) -> PersonProof:
        when = at or dt.datetime.now(dt.UTC)
        return PersonProof(self.person_id, ctx.client.id, "anna", when, mfa)


def federate(ctx: Ctx, protocol: str = "saml") -> Federated:
    directory_id, _ = add_ad_directory(ctx.world, ctx.name, f"o365-{uuid.uuid4().hex[:6]}")
    domain = f"f{uuid.uuid4().hex[:8]}.example"
    feds = ctx.vault.federated_domains
    feds.record(
        ctx.admin,
        ctx.name,
        domain,
        directory_id=directory_id,
        base_url=BASE,
        login_url=LOGIN,
        protocol=protocol,
        mfa_behavior="enforceMfaByFederatedIdp",
    )
    feds.set_state(ctx.admin, ctx.name, domain, "federated", config_id="cfg")
    person = ctx.vault.people.add(ctx.admin, ctx.name, {"username": "anna"}).id
    upn = f"anna@{domain}"
    feds.set_identities(ctx.admin, ctx.name, domain, [FederatedIdentity(person, IMMUTABLE, upn)])
    ctx.vault.idp_keys.attach(ctx.keys)
    return Federated(domain, person, upn)


def authn_request(
    *,
    request_id: str = "_req1",
    issuer: str = "urn:federation:MicrosoftOnline",
    acs: str | None = LOGIN,
    force: bool = False,
    extra: str = "",
) -> bytes:
    acs_attr = f' AssertionConsumerServiceURL="{acs}"' if acs else ""
    force_attr = ' ForceAuthn="true"' if force else ""
    return (
        f'{extra}<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        f'ID="{request_id}" Version="2.0" IssueInstant="2026-12-07T01:00:00Z"{acs_attr}'
        f'{force_attr}><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">'
        f"{issuer}</saml:Issuer>"
        '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"/>'
        "</samlp:AuthnRequest>"
    ).encode()


def redirect_encoded(xml: bytes) -> str:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(packer.compress(xml) + packer.flush()).decode()


def post_encoded(xml: bytes) -> str:
    return base64.b64encode(xml).decode()
