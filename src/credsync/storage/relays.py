"""The relay tables (``relays``, ``relay_pairs``): their owner.

A relay is a client's rule that carries passwords from a source directory to a target
(:mod:`credsync.vault.relays` says what it means); its settings are one JSON text with a
version (optimistic concurrency: :func:`update` succeeds only from the version read). A pair
is what an applied relay run matched: one source account, the target account its password
goes to, and the credential on each side (the same one when the person is one credential
with two links; two when an operator keeps them apart). One target account takes at most one
source account per relay (a unique key): never two AD users to one Entra user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, records
from credsync.storage.tables import relay_pairs, relays

__all__ = [
    "PairRow",
    "RelayRow",
    "by_name",
    "delete",
    "forget_credential",
    "forget_directory",
    "get",
    "insert",
    "of_client",
    "of_source_credential",
    "of_target_directory",
    "pairs_of",
    "put_pair",
    "update",
]


class RelayRow(NamedTuple):
    id: str
    client_id: str
    name: str
    source_directory_id: str
    target_directory_id: str
    settings: str
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str


class PairRow(NamedTuple):
    relay_id: str
    source_account_id: str
    target_account_id: str
    source_credential_id: str
    target_credential_id: str
    rule: str
    matched_at: dt.datetime
    matched_by: str


def _select() -> sa.Select[Any]:
    return sa.select(*columns_for(RelayRow, relays))


def get(conn: Connection, relay_id: str) -> RelayRow | None:
    row = conn.execute(_select().where(relays.c.id == relay_id)).first()
    return None if row is None else record(RelayRow, row)


def by_name(conn: Connection, client_id: str, name: str) -> RelayRow | None:
    query = _select().where(
        relays.c.client_id == client_id, sa.func.lower(relays.c.name) == name.strip().lower()
    )
    row = conn.execute(query).first()
    return None if row is None else record(RelayRow, row)


def of_client(conn: Connection, client_ids: Sequence[str] | None) -> list[RelayRow]:
    """The relays of these clients (None: of every client), by client and name."""
    query = _select().order_by(relays.c.client_id, relays.c.name)
    if client_ids is not None:
        query = query.where(relays.c.client_id.in_(list(client_ids)))
    return records(RelayRow, conn.execute(query))


def insert(conn: Connection, row: RelayRow) -> None:
    conn.execute(relays.insert().values(**row._asdict()))


def update(
    conn: Connection, relay_id: str, settings: str, *, version: int, by: str, now: dt.datetime
) -> bool:
    """Store the settings as ``version``; False when the stored one is not ``version - 1``
    (someone else changed it since it was read)."""
    done = conn.execute(
        relays.update()
        .where(relays.c.id == relay_id, relays.c.version == version - 1)
        .values(settings=settings, version=version, updated_at=now, updated_by=by)
    )
    return bool(done.rowcount == 1)


def delete(conn: Connection, relay_id: str) -> None:
    conn.execute(relay_pairs.delete().where(relay_pairs.c.relay_id == relay_id))
    conn.execute(relays.delete().where(relays.c.id == relay_id))


def pairs_of(conn: Connection, relay_id: str) -> dict[str, PairRow]:
    """Source account id -> its pair."""
    query = sa.select(*columns_for(PairRow, relay_pairs)).where(relay_pairs.c.relay_id == relay_id)
    return {p.source_account_id: p for p in records(PairRow, conn.execute(query))}


def put_pair(conn: Connection, pair: PairRow) -> None:
    """Record the pair, replacing the source account's earlier one and any other pair of the
    same target account (the newest match wins)."""
    conn.execute(
        relay_pairs.delete().where(
            relay_pairs.c.relay_id == pair.relay_id,
            sa.or_(
                relay_pairs.c.source_account_id == pair.source_account_id,
                relay_pairs.c.target_account_id == pair.target_account_id,
            ),
        )
    )
    conn.execute(relay_pairs.insert().values(**pair._asdict()))


def put_pairs(conn: Connection, pairs: Sequence[PairRow]) -> None:
    """:func:`put_pair` for many pairs of one relay (no two with the same source or target
    account): one DELETE per few hundred and one executemany."""
    if not pairs:
        return
    relay_ids = {p.relay_id for p in pairs}
    if len(relay_ids) != 1:
        raise ValueError("put_pairs: the pairs of one relay")
    for start in range(0, len(pairs), 400):
        chunk = pairs[start : start + 400]
        conn.execute(
            relay_pairs.delete().where(
                relay_pairs.c.relay_id == chunk[0].relay_id,
                sa.or_(
                    relay_pairs.c.source_account_id.in_([p.source_account_id for p in chunk]),
                    relay_pairs.c.target_account_id.in_([p.target_account_id for p in chunk]),
                ),
            )
        )
    conn.execute(relay_pairs.insert(), [p._asdict() for p in pairs])


def of_source_credential(conn: Connection, credential_id: str) -> list[tuple[PairRow, RelayRow]]:
    """The pairs whose source side is this credential, with their relays."""
    query = (
        sa.select(*columns_for(PairRow, relay_pairs), *columns_for(RelayRow, relays))
        .join(relays, relays.c.id == relay_pairs.c.relay_id)
        .where(relay_pairs.c.source_credential_id == credential_id)
    )
    width = len(PairRow._fields)
    return [(PairRow(*r[:width]), RelayRow(*r[width:])) for r in conn.execute(query).all()]


def of_target_directory(
    conn: Connection, directory_id: str, credential_ids: Sequence[str]
) -> list[tuple[PairRow, RelayRow]]:
    """The pairs of the relays whose target is this directory whose target side is one of
    ``credential_ids``, with their relays."""
    ids = sorted(set(credential_ids))
    width = len(PairRow._fields)
    out: list[tuple[PairRow, RelayRow]] = []
    for start in range(0, len(ids), 500):
        query = (
            sa.select(*columns_for(PairRow, relay_pairs), *columns_for(RelayRow, relays))
            .join(relays, relays.c.id == relay_pairs.c.relay_id)
            .where(
                relays.c.target_directory_id == directory_id,
                relay_pairs.c.target_credential_id.in_(ids[start : start + 500]),
            )
        )
        out += [(PairRow(*r[:width]), RelayRow(*r[width:])) for r in conn.execute(query).all()]
    return out


def forget_credential(conn: Connection, credential_id: str) -> None:
    """A purged credential's pairs."""
    conn.execute(
        relay_pairs.delete().where(
            sa.or_(
                relay_pairs.c.source_credential_id == credential_id,
                relay_pairs.c.target_credential_id == credential_id,
            )
        )
    )


def forget_directory(conn: Connection, directory_id: str) -> None:
    """A removed directory's relays (as source or target) and their pairs."""
    ids = [
        str(i)
        for i in conn.execute(
            sa.select(relays.c.id).where(
                sa.or_(
                    relays.c.source_directory_id == directory_id,
                    relays.c.target_directory_id == directory_id,
                )
            )
        ).scalars()
    ]
    for relay_id in ids:
        delete(conn, relay_id)
