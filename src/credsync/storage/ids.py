"""Finding one record by its id or a leading part of it, as people type ids."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.errors import InvalidInput, NotFound

__all__ = ["FULL_ID_CHARS", "one_by_id_prefix"]

FULL_ID_CHARS = 36


def one_by_id_prefix(
    conn: Connection,
    query: sa.Select[Any],
    column: sa.ColumnElement[str],
    ref: str,
    what: str,
    *,
    min_chars: int,
) -> Any:
    """The one row of ``query`` whose ``column`` is ``ref`` or starts with it (at least
    ``min_chars`` characters): NotFound when none, InvalidInput when several."""
    ref = ref.strip().lower()
    if len(ref) < min_chars:
        raise InvalidInput(f"a {what} id needs at least {min_chars} characters")
    # Not a range (id >= ref AND id < next(ref)): under a PostgreSQL database's linguistic
    # collation (en_US, ICU) ':' sorts before '9', and such a range misses ids.
    match = column == ref if len(ref) >= FULL_ID_CHARS else column.startswith(ref, autoescape=True)
    rows = conn.execute(query.where(match).limit(2)).all()
    if not rows:
        raise NotFound(f"no {what} with id {ref}")
    if len(rows) > 1:
        raise InvalidInput(f"{what} id {ref} is ambiguous: give more characters")
    return rows[0]
