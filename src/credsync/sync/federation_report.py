"""What the federation commands answer: plain values, one shape for the CLI (local or through a
server), the API and the dashboard (``to_json``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from typing_extensions import TypedDict

from credsync.sync.federation_passwords import PasswordPushReport

__all__ = [
    "PROPAGATION",
    "CertificateView",
    "DisableReport",
    "DomainView",
    "EnableReport",
    "FederationDisableJson",
    "FederationEnableJson",
    "FederationRotationJson",
    "FederationView",
    "FederationViewJson",
    "RotationReport",
    "certificate_view",
]

PROPAGATION = (
    "Microsoft may take up to 2 hours to apply this: until then some sign-ins to the domain "
    "may still go the old way or fail"
)


class FederationCertificateJson(TypedDict):
    state: str
    """current, or next during a rotation"""
    thumbprint: str
    """SHA-256 of the certificate (hex): no key material is ever shown"""
    not_after: str


class FederationEnableJson(TypedDict):
    client: str
    domain: str
    directory: str
    issuer_uri: str
    sign_in_uri: str
    sign_out_uri: str
    login_url: str
    """where the identity provider posts its answers (Microsoft's login.srf)"""
    protocol: str
    mfa: str
    config_id: str
    """the directory's id of the federation settings"""
    certificate: FederationCertificateJson
    identities: int
    """people of the client who can sign in to the domain through the vault"""
    immutable_ids_written: int
    users_without_person: list[str]
    again: bool
    """the domain was already federated to the vault: its settings were updated"""
    note: str


class FederationRotationJson(TypedDict):
    client: str
    step: str
    certificate: FederationCertificateJson | None
    domains: dict[str, str]
    """each federated domain: "updated", or the directory's refusal"""


class FederationPushLineJson(TypedDict):
    username: str
    object_id: str
    outcome: str
    """pushed, no_password, no_person, managed_elsewhere or refused"""
    person_id: str | None
    person: str
    reason: str


class FederationPushJson(TypedDict):
    client: str
    directory: str
    domain: str
    lines: list[FederationPushLineJson]
    counts: dict[str, int]


class FederationDisableJson(TypedDict):
    client: str
    domain: str
    deleted_config: bool
    push: FederationPushJson
    note: str


class FederationDomainJson(TypedDict):
    domain: str
    vault_state: str | None
    directory_state: str | None
    issuer_uri: str
    directory_issuer: str
    config_id: str
    default: bool
    initial: bool
    verified: bool
    disagreements: list[str]
    without_identity: list[str]


class FederationViewJson(TypedDict):
    client: str
    domains: list[FederationDomainJson]
    certificates: list[FederationCertificateJson]
    directory: str
    directory_error: str


@dataclass(frozen=True)
class CertificateView:
    state: str  # current | next
    thumbprint: str
    not_after: str


def certificate_view(cert: Any) -> CertificateView:
    """A vault SigningCertificate as shown (no key material: the public thumbprint only)."""
    after = cert.not_after
    when = after.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(after, dt.datetime) else str(after)
    return CertificateView(cert.state, cert.thumbprint, when)


@dataclass
class EnableReport:
    client: str
    domain: str
    directory: str
    issuer_uri: str
    sign_in_uri: str
    sign_out_uri: str
    login_url: str
    protocol: str
    mfa: str
    config_id: str
    certificate: CertificateView
    identities: int = 0
    immutable_ids_written: int = 0
    users_without_person: list[str] = field(default_factory=list)
    again: bool = False
    note: str = PROPAGATION

    def to_json(self) -> FederationEnableJson:
        return cast(FederationEnableJson, asdict(self))


@dataclass
class RotationReport:
    client: str
    step: str  # begin | finish | cancel
    certificate: CertificateView | None
    domains: dict[str, str] = field(default_factory=dict)  # domain -> "updated" or the refusal

    def to_json(self) -> FederationRotationJson:
        return cast(FederationRotationJson, asdict(self))


@dataclass
class DisableReport:
    client: str
    domain: str
    deleted_config: bool
    push: PasswordPushReport
    note: str = PROPAGATION

    def to_json(self) -> FederationDisableJson:
        out = asdict(self)
        out["push"]["counts"] = {
            o: self.push.count(o)
            for o in ("pushed", "no_password", "no_person", "managed_elsewhere", "refused")
        }
        return cast(FederationDisableJson, out)


@dataclass
class DomainView:
    """One domain as the vault records it and as the directory reports it, with every
    disagreement spelt out."""

    domain: str
    vault_state: str | None  # None: not recorded in the vault
    directory_state: str | None  # "federated" | "managed" | None: unknown to the directory
    issuer_uri: str = ""
    directory_issuer: str = ""
    config_id: str = ""
    default: bool = False
    initial: bool = False
    verified: bool = True
    disagreements: list[str] = field(default_factory=list)
    without_identity: list[str] = field(default_factory=list)


@dataclass
class FederationView:
    client: str
    domains: list[DomainView]
    certificates: list[CertificateView]
    directory: str = ""
    directory_error: str = ""

    def to_json(self) -> FederationViewJson:
        return cast(FederationViewJson, asdict(self))
