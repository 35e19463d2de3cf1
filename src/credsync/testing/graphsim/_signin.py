"""A client of the simulator's password grant, so a test can prove that a password works in
the tenant the way a user would: by signing in with it (over HTTPS, at the token endpoint).

    assert sign_in(sim, "ada@contoso.test", "N3w-Secret!")          # it works
    assert sign_in(sim, "ada@contoso.test", "old").code == 50126    # it does not
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from ._simulator import GraphSimulator
    from ._tenant import SimApp, SimTenant

__all__ = ["SignIn", "sign_in"]

SCOPE = "openid profile https://graph.microsoft.com/User.Read"


@dataclass(frozen=True)
class SignIn:
    """The answer: true when the sign-in worked; else the OAuth ``error`` and AADSTS ``code``."""

    ok: bool
    error: str | None = None  # e.g. "invalid_grant"
    code: int | None = None  # e.g. 50126
    description: str = field(default="", repr=False)

    def __bool__(self) -> bool:
        return self.ok


def sign_in(
    sim: GraphSimulator,
    upn: str,
    password: str,
    *,
    tenant: SimTenant | None = None,
    app: SimApp | None = None,
    scope: str = SCOPE,
) -> SignIn:
    """Sign ``upn`` in with ``password`` (ROPC) at ``tenant`` (default: the tenant of the UPN's
    domain) through ``app`` (default: the tenant's own, with its secret)."""
    if tenant is None:
        tenant = sim.find_tenant(upn.rsplit("@", 1)[-1])
        if tenant is None:
            raise ValueError(f"no tenant of this simulator has the domain of {upn!r}")
    app = app or tenant.default_app
    context = ssl.create_default_context(cafile=str(sim.ca_file))
    with httpx.Client(verify=context, trust_env=False, timeout=30) as http:
        answer = http.post(
            f"{sim.authority_url(tenant)}/oauth2/v2.0/token",
            data={
                "grant_type": "password",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "scope": scope,
                "username": upn,
                "password": password,
            },
        )
    body = answer.json()
    if answer.status_code == 200 and "access_token" in body:
        return SignIn(True)
    codes = body.get("error_codes") or [None]
    return SignIn(False, body.get("error"), codes[0], body.get("error_description", ""))
