"""The remote agents' tables (revision 0038): agents enrolled to work near their directories
over HTTPS (docs/remote-agent.md), and the directories each serves. Declared here, named and
imported through :mod:`credsync.storage.tables`; their owner is
:mod:`credsync.storage.remote_agents`."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, LargeBinary, String, Table

from credsync.storage._schema import ID, TS, metadata

# An agent: until it registers, a one-time enrolment token (its SHA-256 only, with an expiry);
# once registered, its two public keys (Ed25519 to sign requests, X25519 to seal to). Never a
# private key. Revoked: refused from then on, and it serves nothing.
remote_agents = Table(
    "remote_agents",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("token_hash", String(64)),
    Column("token_expires_at", TS),
    Column("sign_key", LargeBinary),
    Column("box_key", LargeBinary),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("registered_at", TS),
    Column("last_seen_at", TS),
    Column("revoked_at", TS),
    Column("revoked_by", String(64)),
)

# The directories an agent serves (its work and nothing else).
remote_agent_directories = Table(
    "remote_agent_directories",
    metadata,
    Column("agent_id", ID, ForeignKey("remote_agents.id"), primary_key=True),
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True, index=True),
)
