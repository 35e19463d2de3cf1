"""The whole database as portable rows, and back: what ``credsync backup`` reads and
``credsync restore`` loads (:mod:`credsync.vault.backup` frames, seals and checks them).

Every table but Alembic's own and the links' kept counts (made again from the links as they
are loaded) is read as the database has it (reflected, so a backup holds exactly what is
there), in foreign-key order and by primary key, each value in a form JSON
carries unchanged between SQLite and PostgreSQL: bytes as base64 (kind ``bytes``), times as
ISO 8601 in UTC (kind ``datetime``; SQLite's naive times are UTC), the rest as they are
(``value``). A load builds the schema of the backup's revision in an empty database with the
migrations and inserts the rows, all in the caller's one transaction.

This module reads and writes every table on purpose, like the migrations: it copies the
database, it does not change records. The owners of the tables (see ``storage/__init__``)
keep every rule about what a row may hold.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.errors import IntegrityError
from credsync.storage.migrate import upgrade_to

__all__ = [
    "BATCH_ROWS",
    "TableShape",
    "counts",
    "decode_row",
    "is_empty",
    "load",
    "read_rows",
    "revision",
    "shapes",
]

BATCH_ROWS = 500
# Alembic's own; and the links' and credentials' kept counts (revisions 0048, 0049), which
# the triggers on ``links`` and ``credentials`` make again as those are loaded (copied too,
# they would count every row twice).
_SKIPPED = {"alembic_version", "credential_counts", "link_counts"}


@dataclass(frozen=True)
class TableShape:
    """A table's name and its columns with their kinds (``bytes``, ``datetime``, ``value``)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    table: sa.Table | None = field(default=None, compare=False, repr=False)  # as reflected

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "columns": [list(c) for c in self.columns]}


def _kind(column: sa.Column[Any]) -> str:
    if isinstance(column.type, sa.LargeBinary):
        return "bytes"
    if isinstance(column.type, sa.DateTime):
        return "datetime"
    return "value"


def _reflect(conn: Connection) -> list[sa.Table]:
    meta = sa.MetaData()
    meta.reflect(bind=conn)
    return [t for t in meta.sorted_tables if t.name not in _SKIPPED]


def shapes(conn: Connection) -> list[TableShape]:
    """Every table of the database, parents before the tables that refer to them."""
    return [
        TableShape(t.name, tuple((c.name, _kind(c)) for c in t.columns), t) for t in _reflect(conn)
    ]


def is_empty(conn: Connection) -> bool:
    """Whether the database has no tables at all (a restore's only target)."""
    return not sa.inspect(conn).get_table_names()


def revision(conn: Connection) -> str:
    """The schema revision the database is at (Alembic's own table)."""
    return str(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one())


def counts(conn: Connection, tables: Sequence[TableShape]) -> list[int]:
    """The number of rows of each table, in one statement (one round trip, one compile)."""
    if not tables:
        return []
    each = [
        sa.select(sa.func.count()).select_from(sa.table(t.name)).scalar_subquery() for t in tables
    ]
    return [int(n) for n in conn.execute(sa.select(*each)).one()]


def _encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "datetime":
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    return value


def _decode(kind: str, value: Any, where: str) -> Any:
    if value is None:
        return None
    try:
        if kind == "bytes":
            return base64.b64decode(value, validate=True)
        if kind == "datetime":
            return dt.datetime.fromisoformat(value)
    except (ValueError, TypeError):
        raise IntegrityError(f"backup archive: {where} is not a valid {kind} value") from None
    return value


def read_rows(conn: Connection, shape: TableShape) -> Iterator[list[Any]]:
    """The rows of one table in portable form, by primary key."""
    table = shape.table
    if table is None:
        table = sa.Table(shape.name, sa.MetaData(), autoload_with=conn)
    order = list(table.primary_key.columns) or list(table.columns)
    kinds = [k for _, k in shape.columns]
    result = conn.execute(sa.select(*(table.c[name] for name, _ in shape.columns)).order_by(*order))
    for row in result:
        yield [_encode(kind, value) for kind, value in zip(kinds, row, strict=True)]


def decode_row(shape: TableShape, row: Sequence[Any]) -> dict[str, Any]:
    """A row read from an archive as the values to insert (refused when malformed)."""
    if not isinstance(row, list) or len(row) != len(shape.columns):
        raise IntegrityError(f"backup archive: a row of {shape.name} has the wrong shape")
    return {
        name: _decode(kind, value, f"{shape.name}.{name}")
        for (name, kind), value in zip(shape.columns, row, strict=True)
    }


def load(
    conn: Connection,
    revision: str,
    tables: Sequence[TableShape],
    rows: Iterable[tuple[str, dict[str, Any]]],
) -> None:
    """Build the schema at ``revision`` in the empty database of ``conn`` and insert
    ``rows`` ((table, values), each table's rows together, parents first)."""
    upgrade_to(conn, revision)
    reflected = {t.name: t for t in _reflect(conn)}
    wanted = {s.name for s in tables}
    if wanted != set(reflected):
        missing, unknown = sorted(set(reflected) - wanted), sorted(wanted - set(reflected))
        raise IntegrityError(
            f"backup archive: its tables are not those of schema revision {revision} "
            f"(missing: {missing}, unknown: {unknown})"
        )
    for table in reversed(list(reflected.values())):  # rows a migration seeded
        if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
            conn.execute(table.delete())
    batch: list[dict[str, Any]] = []
    current: str | None = None
    for name, values in rows:
        if name != current or len(batch) >= BATCH_ROWS:
            if batch and current is not None:
                conn.execute(reflected[current].insert(), batch)
            batch, current = [], name
        batch.append(values)
    if batch and current is not None:
        conn.execute(reflected[current].insert(), batch)
    if conn.dialect.name == "postgresql":
        _reset_sequences(conn, reflected.values())


def _reset_sequences(conn: Connection, tables: Iterable[sa.Table]) -> None:
    """Set each serial column's sequence past the highest value loaded."""
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, sa.Integer):
                continue
            sequence = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": table.name, "c": column.name},
            ).scalar()
            if sequence is None:
                continue
            highest = conn.execute(sa.select(sa.func.max(column))).scalar()
            conn.execute(
                sa.text("SELECT setval(CAST(:s AS regclass), :v, :called)"),
                {"s": sequence, "v": highest or 1, "called": highest is not None},
            )
