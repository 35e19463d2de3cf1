"""Operators who sign in with an identity provider (the MSP's own tenant): what the vault asks
of the provider, in the vault's words.

A provider, opened from a :class:`ProviderConfig` by
:func:`credsync.connectors.registry.operator_sign_in`, plays OpenID Connect for the vault:

* ``begin()`` starts the authorization code flow (PKCE, ``state``, ``nonce``) for the
  dashboard: the flow (a dict to keep for the browser, tamper-proof: it holds the PKCE
  verifier) and its ``auth_uri`` where the browser goes;
* ``finish(flow, answer)``: the redirect's parameters redeemed (state checked), and the id
  token :meth:`verify`'d;
* ``verify(id_token, nonce)``: the id token checked by the vault itself (signature RS256
  under the provider's published keys, issuer of the configured tenant, audience the app's
  client id, ``tid`` the configured tenant, expiry, and ``nonce`` when the flow had one): the
  :class:`VerifiedIdentity`, or :class:`~credsync.errors.AuthenticationFailed` saying what is
  wrong;
* ``start_device()`` / ``finish_device(flow)``: the device code flow of a command line (a
  public client: no secret): the flow with the ``message`` to show, then (polling until the
  user signed in) the id token, which the CLI hands to the server to :meth:`verify`.

Errors: :class:`~credsync.errors.AuthenticationFailed` for a refused sign-in (with the
provider's error text, never a token or secret), :class:`~credsync.errors.ConnectorError` for
a provider that can't be reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from credsync.types import Secret

__all__ = ["OperatorSignIn", "ProviderConfig", "VerifiedIdentity"]


@dataclass(frozen=True)
class ProviderConfig:
    tenant_id: str
    client_id: str
    authority: str  # the authority host's URL, without the tenant
    client_secret: Secret | None = field(default=None, repr=False)  # None: a public client
    ca_pem: str | None = field(default=None, repr=False)  # extra CAs to trust (PEM)
    redirect_uri: str = ""  # the dashboard's
    timeout: float = 30.0

    @property
    def authority_url(self) -> str:
        return f"{self.authority.rstrip('/')}/{self.tenant_id}"


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who the provider says signed in: the tenant and the user's object id (stable), the
    sign-in name and display name (informative: they may change)."""

    tenant_id: str
    object_id: str
    username: str
    display_name: str = ""


class OperatorSignIn(Protocol):
    def begin(self) -> dict[str, Any]: ...

    def finish(self, flow: Mapping[str, Any], answer: Mapping[str, str]) -> VerifiedIdentity: ...

    def verify(self, id_token: str, nonce: str | None = None) -> VerifiedIdentity: ...

    def start_device(self) -> dict[str, Any]: ...

    def finish_device(self, flow: dict[str, Any]) -> str: ...

    def close(self) -> None: ...
