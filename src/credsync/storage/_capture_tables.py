"""The capture tables (revision 0023; 0039 adds the remote agents' rows): directories'
capture keys, enrolled forwarders, the nonces they sent, the capture ledger and captured
passwords waiting for an operator. Declared here, named and imported through
:mod:`credsync.storage.tables` like every other table; their owner is
:mod:`credsync.storage.capture`."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from credsync.storage._schema import ID, TS, metadata

# One OpenPGP key per directory: the public part goes to its DCs, the secret part is sealed
# by the master key (re-wrapped when it is rotated).
capture_keys = Table(
    "capture_keys",
    metadata,
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("public_key", Text, nullable=False),
    Column("wrapped_secret", LargeBinary, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
)

# Forwarders: the Ed25519 public key only (the token, its private seed, was shown once). A
# row with ``remote_agent_id`` (revision 0039) is a remote agent's capture state for one of its
# directories: authenticated with the agent's key, its own ``public_key`` is empty.
capture_forwarders = Table(
    "capture_forwarders",
    metadata,
    Column("id", ID, primary_key=True),
    Column("directory_id", ID, ForeignKey("directories.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("enrolled_at", TS, nullable=False),
    Column("enrolled_by", String(64), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_seen_at", TS),
    Column("revoked_at", TS),
    Column("revoked_by", String(64)),
    Column("remote_agent_id", ID, ForeignKey("remote_agents.id")),
    UniqueConstraint("remote_agent_id", "directory_id"),
)

# Nonces seen in the last 24 hours, per forwarder (a replay is refused); older ones purged.
capture_nonces = Table(
    "capture_nonces",
    metadata,
    Column("forwarder_id", ID, primary_key=True),
    Column("nonce", String(32), primary_key=True),
    Column("seen_at", TS, nullable=False),
    Index("ix_capture_nonces_seen_at", "seen_at"),
)

# Every event received, once per idempotency key (directory, object_guid, pwd_last_set, kvno:
# ``event_key`` holds the last three), with what became of it. Never a secret.
capture_ledger = Table(
    "capture_ledger",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("directory_id", ID, ForeignKey("directories.id"), nullable=False),
    Column("event_key", String(128), nullable=False),
    Column("object_guid", String(64), nullable=False),
    Column("pwd_last_set", BigInteger),
    Column("kvno", Integer),
    Column("kind", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("forwarder_id", ID, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("credential_id", ID),
    Column("dc", String(255)),
    Column("captured_at", TS),
    Column("received_at", TS, nullable=False),
    UniqueConstraint("directory_id", "event_key"),
    Index("ix_capture_ledger_account", "directory_id", "object_guid", "pwd_last_set"),
)

# A captured password not made current (report mode, or the vault won a conflict): sealed
# under the client's data key, bound to this row, until an operator accepts it or a newer
# capture or password replaces it.
capture_pending = Table(
    "capture_pending",
    metadata,
    Column("id", ID, primary_key=True),
    Column("credential_id", ID, ForeignKey("credentials.id"), nullable=False),
    Column("directory_id", ID, ForeignKey("directories.id"), nullable=False),
    Column("object_guid", String(64), nullable=False),
    Column("pwd_last_set", BigInteger),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("forwarder_id", ID, nullable=False),
    Column("dc", String(255)),
    Column("captured_at", TS, nullable=False),
    Column("flag_id", ID),
    UniqueConstraint("credential_id", "directory_id"),
)
