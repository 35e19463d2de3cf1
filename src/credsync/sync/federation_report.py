"""What the federation commands answer: plain values, one shape for the CLI (local or through a
server), the API and the dashboard (``to_json``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from credsync.sync.federation_passwords import PasswordPushReport

__all__ = [
    "PROPAGATION",
    "CertificateView",
    "DisableReport",
    "DomainView",
    "EnableReport",
    "FederationView",
    "RotationReport",
    "certificate_view",
]

PROPAGATION = (
    "Microsoft may take up to 2 hours to apply this: until then some sign-ins to the domain "
    "may still go the old way or fail"
)


@dataclass(frozen=True)
class CertificateView:
    state: str  # current | next
    thumbprint: str
    not_after: str


def certificate_view(cert: Any) -> CertificateView:
    """A vault SigningCertificate as shown (no key material: the public thumbprint only)."""
    after = cert.not_after
    when = after.isoformat() if isinstance(after, dt.datetime) else str(after)
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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RotationReport:
    client: str
    step: str  # begin | finish | cancel
    certificate: CertificateView | None
    domains: dict[str, str] = field(default_factory=dict)  # domain -> "updated" or the refusal

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DisableReport:
    client: str
    domain: str
    deleted_config: bool
    push: PasswordPushReport
    note: str = PROPAGATION

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["push"]["counts"] = {
            o: self.push.count(o)
            for o in ("pushed", "no_password", "no_person", "managed_elsewhere", "refused")
        }
        return out


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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
