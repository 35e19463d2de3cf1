"""Rows handed to the services: typed named tuples (a list page builds a hundred of them per
call, so they cost what a tuple costs), their columns selected in field order by name."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Row

__all__ = ["AnyRow", "columns_for", "one_of", "record", "records", "repr_without", "within"]

R = TypeVar("R", bound=tuple[Any, ...])
AnyRow = Row[*tuple[Any, ...]]


def columns_for(
    cls: type[NamedTuple], *sources: sa.FromClause, **labelled: sa.ColumnElement[Any]
) -> list[sa.ColumnElement[Any]]:
    """The columns named like the fields of ``cls``, in field order: from ``labelled`` (a
    column under that field's name), else from the first of ``sources`` that has one."""
    picked: list[sa.ColumnElement[Any]] = []
    for name in cls._fields:
        if name in labelled:
            picked.append(labelled[name].label(name))
            continue
        for source in sources:
            if name in source.c:
                picked.append(source.c[name])
                break
        else:
            raise KeyError(f"{cls.__name__}.{name}: no such column")
    return picked


def record(cls: type[R], row: AnyRow) -> R:
    """``row`` as a ``cls``: its columns must be :func:`columns_for`'s, in that order."""
    return cls(*row)


def records(cls: type[R], rows: Iterable[AnyRow]) -> list[R]:
    return [cls(*row) for row in rows]


def repr_without(row: tuple[Any, ...], hidden: tuple[str, ...]) -> str:
    """A named tuple's repr without the fields in ``hidden`` (sealed values, hashes)."""
    fields: tuple[str, ...] = getattr(row, "_fields", ())
    shown = ", ".join(f"{k}={v!r}" for k, v in zip(fields, row, strict=True) if k not in hidden)
    return f"{type(row).__name__}({shown})"


def within(
    column: sa.ColumnElement[Any], client_ids: Collection[str] | None
) -> sa.ColumnElement[bool]:
    """Per-client access in SQL: rows whose client (``column``) is one of ``client_ids``;
    None: every client (so that paging and counts are right, not filtered after a LIMIT)."""
    if client_ids is None:
        return sa.true()
    return column.in_(sorted(client_ids))


def one_of(
    conn: Connection, column: sa.ColumnElement[Any], values: Sequence[str]
) -> sa.ColumnElement[bool]:
    """``column IN (values)``, on PostgreSQL as ``column = ANY(%s)`` with the values in one
    array parameter: a statement of the same short text whatever their number (psycopg
    parses a long statement's placeholders on every execution and the server plans each of
    500 parameters; an array it matches against a hash of it)."""
    if conn.dialect.name == "postgresql":
        array = sa.bindparam(None, list(values), type_=postgresql.ARRAY(sa.String()))
        return column == sa.any_(array)
    return column.in_(list(values))
