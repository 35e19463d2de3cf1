"""Bulk inserts straight through the driver, and fresh planner statistics after them.

SQLAlchemy's per-row parameter processing costs more than SQLite's own insert work for the
hundreds of thousands of rows an import writes, so bulk paths hand the driver plain tuples:
on SQLite through its executemany, on PostgreSQL as one ``COPY ... FROM STDIN`` (psycopg's
copy: one round trip and no per-statement work on the server; an executemany of single-row
INSERTs, even pipelined, costs the server a statement per row). Values must already be in the
driver's form: :func:`db_value` converts a Python value through the column's own SQLAlchemy
type (for example a datetime into SQLite's text form).

PostgreSQL plans a query from the table's statistics, which only ANALYZE (or autovacuum, a
minute or more later) refreshes: a table filled by an import in a minute still looks empty to
the planner, which then reads a batch's 500 ids with a scan of every row of the client
instead of an index probe each (a batch's reads growing with the table). Batch paths call
:func:`refresh_statistics` before their reads: it analyzes the tables that have more than
doubled since their last analysis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

__all__ = ["bulk_insert", "db_value", "insert_records", "insert_values", "refresh_statistics"]

# Changes since a table's last analysis that make it stale: at least this many, and more
# than the rows it had then (so an import analyzes a table a few times as it doubles).
STALE_CHANGES = 1000


def db_value(conn: Connection, table: Table, column: str, value: Any) -> Any:
    """``value`` as the driver should receive it for ``table.column``."""
    column_type = table.c[column].type.dialect_impl(conn.dialect)
    processor = column_type.bind_processor(conn.dialect)
    return processor(value) if processor is not None else value


def bulk_insert(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order): one executemany on SQLite, one COPY on
    PostgreSQL."""
    if not rows:
        return
    unknown = [name for name in columns if name not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no column {', '.join(unknown)}")
    if conn.dialect.name == "postgresql":
        _copy(conn, table, columns, rows)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - our names, bound values
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    conn.exec_driver_sql(sql, list(rows))


def insert_records(conn: Connection, table: Table, records: Sequence[NamedTuple]) -> None:
    """INSERT named tuples whose fields are columns of ``table`` (Python values) with
    :func:`insert_values`."""
    if records:
        insert_values(conn, table, records[0]._fields, records)


def insert_values(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT ``rows`` of Python values (tuples in ``columns`` order), converted through each
    column's type (its processor looked up once per column, not per row), with
    :func:`bulk_insert`."""
    if not rows:
        return
    processors = [
        table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if name in table.c
        else None  # bulk_insert names the unknown column
        for name in columns
    ]
    if all(p is None for p in processors):
        bulk_insert(conn, table, columns, rows)
        return
    converted = [
        tuple(v if p is None or v is None else p(v) for p, v in zip(processors, row, strict=True))
        for row in rows
    ]
    bulk_insert(conn, table, columns, converted)


def _copy(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``COPY table (columns) FROM STDIN`` on the transaction's own psycopg connection;
    the driver's errors mapped as SQLAlchemy maps them (a unique key refused: IntegrityError)."""
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    raw: Any = conn.connection.driver_connection
    dbapi: Any = conn.dialect.dbapi
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as err:
        raise DBAPIError.instance(sql, None, err, dbapi.Error) from err


def refresh_statistics(conn: Connection, tables: Sequence[Table]) -> None:
    """PostgreSQL: ANALYZE those of ``tables`` changed by more than :data:`STALE_CHANGES`
    rows and more than the rows they had when last analyzed (see the module docstring).
    Nothing on SQLite, whose planner needs no statistics for these reads."""
    if conn.dialect.name != "postgresql" or not tables:
        return
    query = sa.text(
        "SELECT relname, n_mod_since_analyze, n_live_tup FROM pg_stat_user_tables "
        "WHERE schemaname = current_schema() AND relname IN :names"
    ).bindparams(sa.bindparam("names", expanding=True))
    stale = [
        str(name)
        for name, changed, live in conn.execute(query, {"names": [t.name for t in tables]})
        if changed >= STALE_CHANGES and changed > live - changed
    ]
    if stale:
        conn.exec_driver_sql(f"ANALYZE {', '.join(sorted(stale))}")
