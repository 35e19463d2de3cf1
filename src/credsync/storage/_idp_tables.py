"""The identity provider's tables (revision 0034): each client's token-signing keys (the
private key sealed under the master key, the certificate in clear), its federated domains, the
people who may sign in to each (their Entra immutable id and UPN) and the sign-in requests
waiting for a person to sign in. Declared here, named and imported through
:mod:`credsync.storage.tables`; their owners are :mod:`credsync.storage.idp_keys` (keys) and
:mod:`credsync.storage.federation` (the rest)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from credsync.storage._schema import ID, TS, metadata

# One row per key: at most one "current" and one "next" per client (the service keeps it so);
# "retired" ones stay for the record (and never sign again).
idp_signing_keys = Table(
    "idp_signing_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    # PKCS#8 DER sealed by the master key (KeyEncryptionKey.wrap_idp_key), re-wrapped on rotation
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("cert_der", LargeBinary, nullable=False),
    Column("thumbprint", String(64), nullable=False),
    Column("not_before", TS, nullable=False),
    Column("not_after", TS, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("rotated_at", TS),
    Column("rotated_by", String(64)),
)

# A domain belongs to one client (the primary key is the domain, lower case).
federated_domains = Table(
    "federated_domains",
    metadata,
    Column("domain", String(255), primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False, index=True),
    # no foreign key: removing the directory must not silently drop a domain Microsoft still
    # federates to the vault (the federation commands say so instead)
    Column("directory_id", ID, nullable=False),
    Column("base_url", String(500), nullable=False),
    Column("login_url", String(500), nullable=False),
    Column("protocol", String(16), nullable=False),
    Column("mfa_behavior", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("config_id", String(64)),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
)

# Who may sign in through a domain: a person and their Entra user's immutable id and UPN.
federation_identities = Table(
    "federation_identities",
    metadata,
    Column("domain", String(255), ForeignKey("federated_domains.domain"), primary_key=True),
    Column("person_id", ID, ForeignKey("people.id"), primary_key=True),
    Column("immutable_id", String(64), nullable=False),
    Column("upn", String(256), nullable=False),
    UniqueConstraint("domain", "immutable_id"),
)

# A sign-in request (SAML AuthnRequest or WS-Federation wsignin1.0) kept between the sign-in
# page and the person's return from the portal: one-time, short-lived.
idp_requests = Table(
    "idp_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("domain", String(255), nullable=False),
    Column("protocol", String(16), nullable=False),
    Column("request_id", String(256)),
    Column("relay_state", Text),
    Column("force_authn", Boolean, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Index("ix_idp_requests_expires_at", "expires_at"),
)
