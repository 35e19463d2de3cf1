"""Operators who sign in with an identity provider (``sign_in_providers``,
``operator_identities``): their owner. What the rows mean: :mod:`credsync.vault.operator_sign_in`.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, records, repr_without
from credsync.storage.tables import operator_group_maps, operator_identities, sign_in_providers

__all__ = [
    "GroupMapRow",
    "IdentityRow",
    "ProviderRow",
    "delete_group_map",
    "group_maps",
    "identities",
    "identity_of",
    "link",
    "operator_of",
    "provider",
    "put_group_map",
    "put_provider",
    "sealed_secrets",
    "set_review",
    "set_sealed_secret",
    "unlink",
]


class ProviderRow(NamedTuple):
    provider: str
    tenant_id: str
    client_id: str
    secret_ct: bytes
    authority: str
    ca_pem: str | None
    redirect_uri: str
    updated_at: dt.datetime
    updated_by: str

    def __repr__(self) -> str:
        return repr_without(self, ("secret_ct",))


class IdentityRow(NamedTuple):
    operator_id: str
    provider: str
    tenant_id: str
    object_id: str
    username: str
    linked_at: dt.datetime
    linked_by: str
    source: str = "link"
    review: str | None = None
    review_at: dt.datetime | None = None


class GroupMapRow(NamedTuple):
    provider: str
    group_id: str
    group_name: str
    role: str
    all_clients: bool
    clients: str  # JSON list of client ids
    created_at: dt.datetime
    created_by: str


def provider(conn: Connection, name: str) -> ProviderRow | None:
    query = sa.select(*columns_for(ProviderRow, sign_in_providers)).where(
        sign_in_providers.c.provider == name
    )
    found = conn.execute(query).first()
    return None if found is None else record(ProviderRow, found)


def put_provider(conn: Connection, row: ProviderRow) -> None:
    """Insert or replace the provider's row."""
    conn.execute(sign_in_providers.delete().where(sign_in_providers.c.provider == row.provider))
    conn.execute(sign_in_providers.insert().values(**row._asdict()))


def sealed_secrets(conn: Connection) -> list[tuple[str, bytes]]:
    """(provider, sealed secret) of every provider (the master key's rotation re-wraps them)."""
    rows = conn.execute(sa.select(sign_in_providers.c.provider, sign_in_providers.c.secret_ct))
    return [(r.provider, bytes(r.secret_ct)) for r in rows]


def set_sealed_secret(conn: Connection, name: str, sealed: bytes) -> None:
    conn.execute(
        sign_in_providers.update()
        .where(sign_in_providers.c.provider == name)
        .values(secret_ct=sealed)
    )


def operator_of(conn: Connection, name: str, tenant_id: str, object_id: str) -> str | None:
    """The id of the operator linked to that identity, if any."""
    query = sa.select(operator_identities.c.operator_id).where(
        operator_identities.c.provider == name,
        operator_identities.c.tenant_id == tenant_id.lower(),
        operator_identities.c.object_id == object_id.lower(),
    )
    found = conn.execute(query).scalar_one_or_none()
    return None if found is None else str(found)


def identity_of(conn: Connection, operator_id: str) -> IdentityRow | None:
    query = sa.select(*columns_for(IdentityRow, operator_identities)).where(
        operator_identities.c.operator_id == operator_id
    )
    found = conn.execute(query).first()
    return None if found is None else record(IdentityRow, found)


def identities(conn: Connection, name: str) -> list[IdentityRow]:
    query = (
        sa.select(*columns_for(IdentityRow, operator_identities))
        .where(operator_identities.c.provider == name)
        .order_by(operator_identities.c.username)
    )
    return records(IdentityRow, conn.execute(query))


def link(conn: Connection, row: IdentityRow) -> None:
    """Link an operator (replacing the identity it had)."""
    unlink(conn, row.operator_id)
    values = row._asdict()
    values.update(tenant_id=row.tenant_id.lower(), object_id=row.object_id.lower())
    conn.execute(operator_identities.insert().values(**values))


def unlink(conn: Connection, operator_id: str) -> int:
    result = conn.execute(
        operator_identities.delete().where(operator_identities.c.operator_id == operator_id)
    )
    return result.rowcount or 0


def set_review(
    conn: Connection, operator_id: str, review: str | None, at: dt.datetime | None
) -> None:
    """Mark (or clear, None) why a sync disabled the operator."""
    conn.execute(
        operator_identities.update()
        .where(operator_identities.c.operator_id == operator_id)
        .values(review=review, review_at=at)
    )


def group_maps(conn: Connection, name: str) -> list[GroupMapRow]:
    query = (
        sa.select(*columns_for(GroupMapRow, operator_group_maps))
        .where(operator_group_maps.c.provider == name)
        .order_by(operator_group_maps.c.group_name, operator_group_maps.c.group_id)
    )
    return records(GroupMapRow, conn.execute(query))


def put_group_map(conn: Connection, row: GroupMapRow) -> None:
    delete_group_map(conn, row.provider, row.group_id)
    conn.execute(operator_group_maps.insert().values(**row._asdict()))


def delete_group_map(conn: Connection, name: str, group_id: str) -> int:
    result = conn.execute(
        operator_group_maps.delete().where(
            operator_group_maps.c.provider == name, operator_group_maps.c.group_id == group_id
        )
    )
    return result.rowcount or 0
