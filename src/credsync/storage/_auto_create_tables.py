"""Auto-create's tables (revision 0024): each directory's auto-create settings, and the
accounts auto-create took (one row per account, keyed by its stable id: what makes creating
idempotent). Declared here, named and imported through :mod:`credsync.storage.tables`; their
owner is :mod:`credsync.storage.auto_create`."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from credsync.storage._schema import ID, TS, metadata

auto_create_settings = Table(
    "auto_create_settings",
    metadata,
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True),
    Column("settings", Text, nullable=False),  # JSON: see credsync.vault.auto_create
    Column("version", Integer, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
)

# An account auto-create made a credential for. No foreign key to the credential: a purged
# credential's row stays, so that the account is not made into a credential again.
auto_created = Table(
    "auto_created",
    metadata,
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("credential_id", ID, nullable=False),
    Column("trigger", String(16), nullable=False),  # capture | first_seen
    # The secret version that is a placeholder (a shell: no password yet); NULL once the
    # credential has the account's password (or was made with it).
    Column("shell_version", Integer),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
    Index("ix_auto_created_credential", "credential_id"),
)
