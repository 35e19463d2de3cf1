"""Bulk inserts straight through the driver's executemany.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert work for the
hundreds of thousands of rows an import writes, so bulk paths hand the driver plain tuples.
Values must already be in the driver's form: :func:`db_value` converts a Python value through
the column's own SQLAlchemy type (for example a datetime into SQLite's text form).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Table
from sqlalchemy.engine import Connection

__all__ = ["bulk_insert", "db_value", "insert_records"]


def db_value(conn: Connection, table: Table, column: str, value: Any) -> Any:
    """``value`` as the driver should receive it for ``table.column``."""
    column_type = table.c[column].type.dialect_impl(conn.dialect)
    processor = column_type.bind_processor(conn.dialect)
    return processor(value) if processor is not None else value


def bulk_insert(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) with one executemany."""
    if not rows:
        return
    unknown = [name for name in columns if name not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no column {', '.join(unknown)}")
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - our names, bound values
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    conn.exec_driver_sql(sql, list(rows))


def insert_records(conn: Connection, table: Table, records: Sequence[NamedTuple]) -> None:
    """INSERT named tuples whose fields are columns of ``table`` (Python values, converted
    through each column's type once per column, not per row) with one executemany."""
    if not records:
        return
    columns = records[0]._fields
    processors = [
        table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        for name in columns
    ]
    if all(p is None for p in processors):
        bulk_insert(conn, table, columns, records)
        return
    rows = [
        tuple(v if p is None or v is None else p(v) for p, v in zip(processors, row, strict=True))
        for row in records
    ]
    bulk_insert(conn, table, columns, rows)
