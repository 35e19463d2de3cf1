"""Fixtures of the storage tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from credsync.storage import Database


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A database of its own (each backend, as ``db_url`` gives) with one scratch table
    ``t (id, v)``; a module may define a ``db`` of its own instead."""
    made = Database(db_url)
    with made.write() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    try:
        yield made
    finally:
        made.dispose()
