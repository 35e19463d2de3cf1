"""The tables of people signing in (revision 0035): a person's TOTP seed (sealed as operators'
are), their security keys and the WebAuthn challenges handed out for them, their failed
sign-ins (keyed digests, per person and per address, for one window) and their portal
sessions. Declared here, named and imported through :mod:`credsync.storage.tables`; their
owners are :mod:`credsync.storage.person_mfa` (seeds, keys, challenges),
:mod:`credsync.storage.person_failures` and :mod:`credsync.storage.person_sessions`."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
)

from credsync.storage._schema import ID, TS, metadata

person_mfa = Table(
    "person_mfa",
    metadata,
    Column("person_id", ID, ForeignKey("people.id"), primary_key=True),
    Column("seed_ct", LargeBinary, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("confirmed_at", TS),
    Column("last_step", BigInteger),
)

person_security_keys = Table(
    "person_security_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("person_id", ID, ForeignKey("people.id"), nullable=False, index=True),
    Column("credential_id", String(1024), nullable=False, unique=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("transports", String(200), nullable=False),
    Column("name", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("last_used_at", TS),
)

person_key_challenges = Table(
    "person_key_challenges",
    metadata,
    Column("challenge", String(128), primary_key=True),
    Column("person_id", ID, ForeignKey("people.id"), nullable=False, index=True),
    Column("purpose", String(16), nullable=False),
    Column("expires_at", TS, nullable=False),
)

# One row per failure and key (the HMAC-SHA256 of "person:<id>" or "address:<ip>" under a key
# of the vault's); rows older than the window are pruned.
person_sign_in_failures = Table(
    "person_sign_in_failures",
    metadata,
    Column("id", ID, primary_key=True),
    Column("key_hash", String(64), nullable=False),
    Column("at", TS, nullable=False),
    Index("ix_person_sign_in_failures_key_at", "key_hash", "at"),
    Index("ix_person_sign_in_failures_at", "at"),
)

# A person's portal session: the browser keeps the token, the database its SHA-256; each has a
# CSRF token of its own. mfa: the sign-in passed the second factor.
person_sessions = Table(
    "person_sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("person_id", ID, ForeignKey("people.id"), nullable=False, index=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("mfa", Boolean, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=False),
    Column("ended_at", TS),
)
