"""The relay tables (revision 0025): each client's relays (AD -> Office 365 password relay
definitions, their settings as JSON), and the pairs a relay run made (a source account and
the target account it carries the password to, with the credential on each side). Declared
here, named and imported through :mod:`credsync.storage.tables`; their owner is
:mod:`credsync.storage.relays`."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from credsync.storage._schema import ID, TS, metadata

relays = Table(
    "relays",
    metadata,
    Column("id", ID, primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("source_directory_id", ID, ForeignKey("directories.id"), nullable=False),
    Column("target_directory_id", ID, ForeignKey("directories.id"), nullable=False),
    Column("settings", Text, nullable=False),  # JSON: see credsync.vault.relay_settings
    Column("version", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
    UniqueConstraint("client_id", "name"),
    Index("ix_relays_source_directory_id", "source_directory_id"),
)

# A source account paired with a target account by a relay run (applied). One target takes
# one source (never two AD users to one Entra user). No foreign key to the credentials: a
# purged credential's pairs are dropped by its purge.
relay_pairs = Table(
    "relay_pairs",
    metadata,
    Column("relay_id", ID, ForeignKey("relays.id"), primary_key=True),
    Column("source_account_id", String(64), primary_key=True),
    Column("target_account_id", String(64), nullable=False),
    Column("source_credential_id", ID, nullable=False),
    Column("target_credential_id", ID, nullable=False),
    Column("rule", String(16), nullable=False),  # link | immutable_id | upn | mail
    Column("matched_at", TS, nullable=False),
    Column("matched_by", String(64), nullable=False),
    UniqueConstraint("relay_id", "target_account_id"),
    Index("ix_relay_pairs_source_credential_id", "source_credential_id"),
)
