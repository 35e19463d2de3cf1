"""Rows handed to the services as small frozen dataclasses, selected by their field names."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Row

__all__ = ["AnyRow", "columns_for", "record", "records"]

R = TypeVar("R")
AnyRow = Row[*tuple[Any, ...]]


def columns_for(cls: type[Any], *sources: sa.FromClause) -> list[sa.ColumnElement[Any]]:
    """The columns of ``sources`` named like the fields of dataclass ``cls``, in field order
    (the first source that has a column of that name gives it)."""
    picked: list[sa.ColumnElement[Any]] = []
    for field in dataclasses.fields(cls):
        for source in sources:
            if field.name in source.c:
                picked.append(source.c[field.name])
                break
        else:
            raise KeyError(f"{cls.__name__}.{field.name}: no such column")
    return picked


def record(cls: type[R], row: AnyRow) -> R:
    return cls(**row._mapping)


def records(cls: type[R], rows: Iterable[AnyRow]) -> list[R]:
    return [cls(**row._mapping) for row in rows]
