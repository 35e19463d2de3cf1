"""The identity provider's signing keys (``idp_signing_keys``): their owner.

Per client, at most one key is ``current`` (it signs) and one ``next`` (published during a
rotation, signs nothing yet); ``retired`` keys never sign again and stay for the record.
The service (:mod:`credsync.vault.idp_keys`) keeps those rules; this module only reads and
writes rows. The wrapped private key never appears in a row's repr.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, records, repr_without
from credsync.storage.tables import idp_signing_keys

__all__ = [
    "IdpKeyRow",
    "add",
    "delete",
    "get",
    "live_of",
    "of_client",
    "set_state",
    "set_wrapped_key",
    "wrapped_keys",
]


class IdpKeyRow(NamedTuple):
    id: str
    client_id: str
    state: str
    wrapped_key: bytes
    cert_der: bytes
    thumbprint: str
    not_before: dt.datetime
    not_after: dt.datetime
    created_at: dt.datetime
    created_by: str
    rotated_at: dt.datetime | None
    rotated_by: str | None

    def __repr__(self) -> str:
        return repr_without(self, ("wrapped_key",))


def _select() -> sa.Select[tuple[object, ...]]:
    return sa.select(*columns_for(IdpKeyRow, idp_signing_keys))


# the identity provider reads it on every sign-in: built once (see storage.federation)
_LIVE = _select().where(
    idp_signing_keys.c.client_id == sa.bindparam("client_id"),
    idp_signing_keys.c.state != "retired",  # current or next (no IN list: compiled once)
)


def add(conn: Connection, row: IdpKeyRow) -> None:
    conn.execute(sa.insert(idp_signing_keys).values(**row._asdict()))


def live_of(conn: Connection, client_id: str, *, lock: bool = False) -> list[IdpKeyRow]:
    """The client's current and next keys (0, 1 or 2 rows), current first."""
    query = _LIVE.with_for_update() if lock else _LIVE
    found = records(IdpKeyRow, conn.execute(query, {"client_id": client_id}))
    return sorted(found, key=lambda r: r.state != "current")


def of_client(conn: Connection, client_id: str) -> list[IdpKeyRow]:
    """Every key of the client, retired ones too, newest first."""
    query = (
        _select()
        .where(idp_signing_keys.c.client_id == client_id)
        .order_by(idp_signing_keys.c.created_at.desc(), idp_signing_keys.c.id)
    )
    return records(IdpKeyRow, conn.execute(query))


def get(conn: Connection, key_id: str) -> IdpKeyRow | None:
    row = conn.execute(_select().where(idp_signing_keys.c.id == key_id)).first()
    return None if row is None else record(IdpKeyRow, row)


def set_state(conn: Connection, key_id: str, state: str, *, at: dt.datetime, by: str) -> None:
    conn.execute(
        sa.update(idp_signing_keys)
        .where(idp_signing_keys.c.id == key_id)
        .values(state=state, rotated_at=at, rotated_by=by)
    )


def delete(conn: Connection, key_id: str) -> None:
    conn.execute(sa.delete(idp_signing_keys).where(idp_signing_keys.c.id == key_id))


def wrapped_keys(conn: Connection) -> list[tuple[str, str, bytes]]:
    """(client id, key id, wrapped key) of every key, for the master key's rotation."""
    query = sa.select(
        idp_signing_keys.c.client_id, idp_signing_keys.c.id, idp_signing_keys.c.wrapped_key
    ).order_by(idp_signing_keys.c.id)
    return [(c, k, bytes(w)) for c, k, w in conn.execute(query)]


def set_wrapped_key(conn: Connection, key_id: str, wrapped: bytes) -> None:
    conn.execute(
        sa.update(idp_signing_keys)
        .where(idp_signing_keys.c.id == key_id)
        .values(wrapped_key=wrapped)
    )
