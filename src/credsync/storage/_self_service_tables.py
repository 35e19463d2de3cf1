"""The tables of mail and self-service (revision 0036): the vault's SMTP settings (one row,
the password sealed under the master key), the one-time links sent to people (onboarding
invitations and password resets: only a hash of each token is kept) and each client's choice
of password policy for its people. Declared here, named and imported through
:mod:`credsync.storage.tables`; their owners are :mod:`credsync.storage.mail_settings`
(``mail_settings``) and :mod:`credsync.storage.person_links` (``person_links``,
``self_service_settings``)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from credsync.storage._schema import ID, TS, metadata

# The vault's mail server: one row (``name`` = "smtp"). ``password_ct`` is sealed under the
# master key (crypto.keys: wrap_sign_in_secret with "mail.smtp"), never shown back.
mail_settings = Table(
    "mail_settings",
    metadata,
    Column("name", String(16), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("port", Integer, nullable=False),
    Column("security", String(16), nullable=False),  # starttls | tls | none
    Column("allow_plain", Boolean, nullable=False),  # 'none' to a host other than loopback
    Column("username", String(255)),
    Column("password_ct", LargeBinary),
    Column("from_address", String(320), nullable=False),
    Column("public_url", String(500), nullable=False),
    Column("ca_pem", Text),
    Column("invite_days", Integer, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
)

# A one-time link sent to a person: an onboarding invitation or a password reset. The token
# itself is only in the mail; ``token_hash`` is its SHA-256 (hex). Used once (``used_at``), void
# when a newer link of the same purpose is made (``voided_at``), dead after ``expires_at``.
person_links = Table(
    "person_links",
    metadata,
    Column("id", ID, primary_key=True),
    Column("person_id", ID, ForeignKey("people.id"), nullable=False),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("purpose", String(16), nullable=False),  # invite | reset
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("used_at", TS),
    Column("voided_at", TS),
    Column("sent_at", TS),
    Column("send_error", String(2000)),
    Index("ix_person_links_person_id_purpose", "person_id", "purpose"),
)

# A client's choice of the named password policy its people's passwords must meet.
self_service_settings = Table(
    "self_service_settings",
    metadata,
    Column("client_id", ID, ForeignKey("clients.id"), primary_key=True),
    Column("password_policy", String(64), nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
)
