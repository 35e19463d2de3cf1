"""What the owners of a directory's settings tables share (``provisioning_settings``,
``group_export_settings``, ``auto_create_settings``): one row per directory with a version,
changed only from the version read (optimistic concurrency).

As in :mod:`credsync.storage._identity_rows`, each helper reads, or builds a statement for,
the table it is given and runs nothing that writes: the table's own module executes it, so
each table keeps one owner."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for

__all__ = ["settings_of", "update_from"]

N = TypeVar("N", bound=NamedTuple)


def settings_of(conn: Connection, cls: type[N], table: sa.Table, directory_id: str) -> N | None:
    """The directory's row of ``table`` as a ``cls`` (None: it has none yet)."""
    query = sa.select(*columns_for(cls, table)).where(table.c.directory_id == directory_id)
    row = conn.execute(query).first()
    return None if row is None else cls(*row)


def update_from(
    table: sa.Table, directory_id: str, version: int, values: Mapping[str, Any]
) -> sa.Update:
    """The update that stores ``values`` as version ``version`` of the directory's row if it
    is still at the version before (its rowcount 0 when someone else stored that version)."""
    return (
        table.update()
        .where(table.c.directory_id == directory_id, table.c.version == version - 1)
        .values(**values)
    )
