"""What federating a domain to the vault asks of a directory (a connector's ``federation``
capability, :attr:`~credsync.connectors.base.Capability.FEDERATION`).

A connector with it answers, in the vault's words (no directory's property names):

* ``federation_domains()``: the tenant's domains (verified, default, initial, federated);
* ``federation_settings(domain)``: the domain's federation settings, or None when it has none;
* ``create_federation(domain, settings)`` / ``update_federation(domain, config_id, change)`` /
  ``delete_federation(domain, config_id)``: write them (the directory flips the domain to
  federated on create and back to managed on delete);
* ``domain_users(domain)``: the users whose sign-in name is in the domain, with their
  immutable id (the anchor a federated sign-in names the user by);
* ``set_immutable_id(object_id, immutable_id)``: give a user its anchor;
* ``federation_setup()``: whether the app may federate at all, and what it lacks;
* ``federation_login_url()``: where the identity provider posts its answers (the directory's
  sign-in service).

Errors are credsync's (:class:`~credsync.errors.DirectoryDenied` for a refusal, with what the
app needs; :class:`~credsync.errors.PermanentConnectorError` for the directory's other no's,
its words verbatim).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "MFA_BEHAVIOURS",
    "PROTOCOLS",
    "DomainFederation",
    "DomainUser",
    "FederationChange",
    "FederationDomain",
    "FederationSettings",
    "FederationSetup",
]

PROTOCOLS = ("saml", "wsFed")
# who performs MFA: the identity provider (enforce), either (accept), never it (reject)
MFA_BEHAVIOURS = ("enforce", "accept", "reject")


@dataclass(frozen=True)
class FederationDomain:
    name: str
    verified: bool
    default: bool
    initial: bool
    federated: bool


@dataclass(frozen=True)
class FederationSettings:
    """A domain's federation settings. ``signing_certificate`` / ``next_signing_certificate``:
    base64 DER of the identity provider's public certificates; ``protocol``: one of
    :data:`PROTOCOLS`; ``mfa``: one of :data:`MFA_BEHAVIOURS`. ``config_id`` is the
    directory's id of the settings (empty before they are created)."""

    issuer_uri: str
    sign_in_uri: str
    sign_out_uri: str
    signing_certificate: str
    protocol: str = "saml"
    mfa: str = "enforce"
    display_name: str = ""
    metadata_uri: str = ""
    next_signing_certificate: str | None = None
    config_id: str = ""


@dataclass(frozen=True)
class FederationChange:
    """What to change in a domain's settings: a None field stays as it is;
    ``clear_next`` empties the next signing certificate."""

    signing_certificate: str | None = None
    next_signing_certificate: str | None = None
    clear_next: bool = False
    issuer_uri: str | None = None
    sign_in_uri: str | None = None
    sign_out_uri: str | None = None
    protocol: str | None = None
    mfa: str | None = None


@dataclass(frozen=True)
class DomainUser:
    """``managed_elsewhere``: synchronised from an on-premises directory (its anchor is that
    directory's, and the vault writes nothing to it)."""

    object_id: str
    username: str
    immutable_id: str = ""
    managed_elsewhere: bool = False


@dataclass(frozen=True)
class FederationSetup:
    """``may_federate``: the app holds a permission and a directory role that allow creating
    and deleting a domain's federation settings; ``missing``: what it lacks, in words an
    administrator can act on (empty when nothing)."""

    may_federate: bool
    permissions: tuple[str, ...]
    roles: tuple[str, ...]
    missing: str = ""


@runtime_checkable
class DomainFederation(Protocol):
    async def federation_domains(self) -> tuple[FederationDomain, ...]: ...

    async def federation_settings(self, domain: str) -> FederationSettings | None: ...

    async def create_federation(
        self, domain: str, settings: FederationSettings
    ) -> FederationSettings: ...

    async def update_federation(
        self, domain: str, config_id: str, change: FederationChange
    ) -> None: ...

    async def delete_federation(self, domain: str, config_id: str) -> None: ...

    async def domain_users(self, domain: str) -> list[DomainUser]: ...

    async def set_immutable_id(self, object_id: str, immutable_id: str) -> None: ...

    async def federation_setup(self) -> FederationSetup: ...

    def federation_login_url(self) -> str: ...

    async def close(self) -> None: ...
