"""The tables of operators who sign in with an identity provider (revision 0032): the
provider's connection (one row per provider: its tenant, app, sealed client secret, authority,
TLS trust and the dashboard's redirect URI) and the operators' identities there (tenant id +
object id, one identity per operator, one operator per identity) and the groups whose
members the import makes operators (a role and client access each). Declared here, named and
imported through :mod:`credsync.storage.tables`; their owner is
:mod:`credsync.storage.operator_sign_in`."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from credsync.storage._schema import ID, TS, metadata

sign_in_providers = Table(
    "sign_in_providers",
    metadata,
    Column("provider", String(32), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("client_id", String(36), nullable=False),
    # the app's client secret, sealed under the master key (KeyEncryptionKey.wrap_sign_in_secret)
    Column("secret_ct", LargeBinary, nullable=False),
    Column("authority", String(500), nullable=False),
    Column("ca_pem", Text),
    Column("redirect_uri", String(500), nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
)

operator_identities = Table(
    "operator_identities",
    metadata,
    Column("operator_id", ID, ForeignKey("operators.id"), primary_key=True),
    Column("provider", String(32), nullable=False),
    Column("tenant_id", String(36), nullable=False),
    Column("object_id", String(36), nullable=False),
    Column("username", String(256), nullable=False),  # as the provider said it at link time
    Column("linked_at", TS, nullable=False),
    Column("linked_by", String(64), nullable=False),
    # link: an admin linked it; import: the import of operators made the operator
    Column("source", String(16), nullable=False, server_default=text("'link'")),
    # why a sync disabled the operator (deleted or disabled in the tenant), until reviewed
    Column("review", String(200)),
    Column("review_at", TS),
    UniqueConstraint("provider", "tenant_id", "object_id"),
)

# A group of the tenant whose members the import makes operators: with a role and a client
# access list (clients: JSON list of client ids; all_clients: every client).
operator_group_maps = Table(
    "operator_group_maps",
    metadata,
    Column("provider", String(32), primary_key=True),
    Column("group_id", String(36), primary_key=True),
    Column("group_name", String(256), nullable=False),
    Column("role", String(64), ForeignKey("roles.name"), nullable=False),
    Column("all_clients", Boolean, nullable=False),
    Column("clients", Text, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
)
