"""The ``quarantine_items`` table: its owner. One row per action a run held back (see
:mod:`credsync.sync.quarantine`; ``direction`` is ``outbound``, ``inbound``, ``people`` or
``groups``): ``held`` until an operator decides, then ``approved`` (carried out),
``discarded``, ``restored`` (the directory put back as it was) or ``accepted`` (the
directory's change taken as it is)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, records
from credsync.storage.ids import one_by_id_prefix
from credsync.storage.tables import quarantine_items

__all__ = [
    "GROUPS",
    "HELD",
    "INBOUND",
    "OUTBOUND",
    "PEOPLE",
    "QuarantineRow",
    "credentials_of",
    "decide",
    "find",
    "forget_directory",
    "held_for",
    "insert",
    "listed",
    "seen",
]

HELD = "held"
OUTBOUND = "outbound"  # pushes a run planned
INBOUND = "inbound"  # links a mass change in the directory touched
PEOPLE = "people"  # creates, disables, deletes of users a provisioning run planned
GROUPS = "groups"  # creates, member removals, deletes a group export planned


class QuarantineRow(NamedTuple):
    id: str
    client_id: str
    directory_id: str
    run_id: str
    direction: str
    credential_id: str | None
    account_id: str
    account_name: str
    action: str
    observed: str
    reason: str
    state: str
    created_at: dt.datetime
    decided_at: dt.datetime | None = None
    decided_by: str | None = None
    decided_run_id: str | None = None
    outcome: str | None = None


_BASE = sa.select(*columns_for(QuarantineRow, quarantine_items))
_ORDER = (quarantine_items.c.created_at, quarantine_items.c.account_name, quarantine_items.c.id)


def insert(conn: Connection, rows: Iterable[QuarantineRow]) -> int:
    values = [r._asdict() for r in rows]
    if values:
        conn.execute(quarantine_items.insert(), values)
    return len(values)


def listed(
    conn: Connection,
    client_ids: Sequence[str] | None,
    *,
    directory_id: str | None = None,
    states: Sequence[str] | None = (HELD,),
    run_id: str | None = None,
    limit: int = 5000,
) -> list[QuarantineRow]:
    """Rows in the clients given (None: any), newest run first within a directory."""
    query = _BASE
    if client_ids is not None:
        query = query.where(quarantine_items.c.client_id.in_(list(client_ids)))
    if directory_id is not None:
        query = query.where(quarantine_items.c.directory_id == directory_id)
    if states is not None:
        query = query.where(quarantine_items.c.state.in_(list(states)))
    if run_id is not None:
        query = query.where(quarantine_items.c.run_id == run_id)
    return records(QuarantineRow, conn.execute(query.order_by(*_ORDER).limit(limit)))


def find(conn: Connection, ref: str) -> QuarantineRow:
    """One row by its id or a leading part of it (at least 8 characters)."""
    row = one_by_id_prefix(conn, _BASE, quarantine_items.c.id, ref, "quarantine item", min_chars=8)
    return QuarantineRow(*row)


def held_for(conn: Connection, directory_id: str, direction: str) -> dict[str, QuarantineRow]:
    """Account id -> its held row of this direction in the directory."""
    query = _BASE.where(
        quarantine_items.c.directory_id == directory_id,
        quarantine_items.c.direction == direction,
        quarantine_items.c.state == HELD,
    )
    return {r.account_id: r for r in records(QuarantineRow, conn.execute(query))}


def credentials_of(conn: Connection, directory_id: str, since: dt.datetime) -> set[str]:
    """Credentials with an action held in the directory, or one decided since ``since``."""
    query = sa.select(quarantine_items.c.credential_id).where(
        quarantine_items.c.directory_id == directory_id,
        quarantine_items.c.credential_id.is_not(None),
        sa.or_(quarantine_items.c.state == HELD, quarantine_items.c.decided_at >= since),
    )
    return {c for c in conn.execute(query).scalars() if c is not None}


def seen(conn: Connection, directory_id: str, direction: str) -> set[tuple[str, str]]:
    """(account id, observed) of every row of this direction in the directory, decided or
    not: a change already quarantined once is not counted again in that state."""
    query = sa.select(quarantine_items.c.account_id, quarantine_items.c.observed).where(
        quarantine_items.c.directory_id == directory_id,
        quarantine_items.c.direction == direction,
    )
    return {(a, o) for a, o in conn.execute(query)}


def decide(
    conn: Connection,
    item_id: str,
    state: str,
    *,
    at: dt.datetime,
    by: str,
    run_id: str | None = None,
    outcome: str | None = None,
) -> bool:
    """Move a held row to ``state``; False when it was decided meanwhile."""
    result = conn.execute(
        quarantine_items.update()
        .where(quarantine_items.c.id == item_id, quarantine_items.c.state == HELD)
        .values(state=state, decided_at=at, decided_by=by, decided_run_id=run_id, outcome=outcome)
    )
    return bool(result.rowcount)


def forget_directory(conn: Connection, directory_id: str) -> None:
    conn.execute(quarantine_items.delete().where(quarantine_items.c.directory_id == directory_id))
