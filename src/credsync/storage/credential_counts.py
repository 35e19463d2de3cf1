"""Live credentials counted by client (``credential_counts``, revision 0049): their owner.

The rows are added by triggers on ``credentials`` (the migration's), as
:mod:`credsync.storage.link_counts`'s are by those on ``links``: +n when credentials
outside the trash are made, -n when they are removed, -1 and +1 when one goes to or comes
back from the trash, changes type to or from directory_admin, or moves to another client;
any other update adds nothing. So no code path that writes credentials can forget the count,
and on PostgreSQL rows are only ever added (writers never wait for each other on a count
row); SQLite, one writer at a time, adds to the key's row in place (revision 0050). Here:
:func:`per_client` (what the clients' list joins instead of counting every credential:
116,085 index entries grouped, ~36 ms on PostgreSQL under load) and :func:`fold` (the rows of
each client and kind folded into one, dropping those that sum to nothing; the agent's hourly
prune calls it).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import within
from credsync.storage.tables import credential_counts

__all__ = ["fold", "per_client"]

_SUMS = sa.func.sum(credential_counts.c.n)


def per_client(
    *, include_directory_admin: bool, client_ids: Collection[str] | None = None
) -> sa.Subquery:
    """A subquery of (``client_id``, ``n``): each client's credentials outside the trash
    (directory_admin ones only with ``include_directory_admin``), of ``client_ids`` when
    given; clients with none may be missing or 0."""
    query: sa.Select[Any] = sa.select(credential_counts.c.client_id, _SUMS.label("n")).where(
        within(credential_counts.c.client_id, client_ids)
    )
    if not include_directory_admin:
        query = query.where(credential_counts.c.directory_admin.is_(False))
    return query.group_by(credential_counts.c.client_id).subquery()


def fold(conn: Connection) -> tuple[int, int]:
    """Each (client, kind)'s rows folded into one row of their sum (none when it is 0);
    returns (rows before, rows after). On PostgreSQL one statement that deletes the rows it
    sees and inserts their sums (rows added meanwhile by other transactions are not seen,
    so not deleted); on SQLite inside the write transaction (the only writer)."""
    count = sa.select(sa.func.count()).select_from(credential_counts)
    before = int(conn.execute(count).scalar_one())
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "WITH gone AS (DELETE FROM credential_counts "
                "RETURNING client_id, directory_admin, n) "
                "INSERT INTO credential_counts (client_id, directory_admin, n) "
                "SELECT client_id, directory_admin, sum(n) FROM gone "
                "GROUP BY client_id, directory_admin HAVING sum(n) <> 0"
            )
        )
    else:
        keys = (credential_counts.c.client_id, credential_counts.c.directory_admin)
        folded = conn.execute(sa.select(*keys, _SUMS).group_by(*keys).having(_SUMS != 0)).all()
        conn.execute(credential_counts.delete())
        if folded:
            conn.execute(
                credential_counts.insert(),
                [{"client_id": c, "directory_admin": a, "n": int(n)} for c, a, n in folded],
            )
    return before, int(conn.execute(count).scalar_one())
