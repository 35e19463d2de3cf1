"""Links counted by directory and status (``link_counts``, revision 0048): their owner.

The rows are added by triggers on ``links`` (the migration's): +n when links are made, -n
when they are removed, -1 and +1 when one moves to another status or directory; an update
that leaves both alone adds nothing. So no code path that writes links can forget the count,
and on PostgreSQL rows are only ever added (writers never wait for each other on a count
row); SQLite, one writer at a time, adds to the key's row in place (revision 0050: a row a
link until the hourly fold cost the overview 176 ms after an import of 126,829). Here:
:func:`sums` (what the overview reads instead of counting every link) and :func:`fold`
(the rows of each directory and status folded into one, dropping those that sum to nothing:
a removed directory's; the agent's hourly prune calls it).
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import within
from credsync.storage.tables import link_counts

__all__ = ["fold", "sums"]

_SUMS = sa.func.sum(link_counts.c.n)


def sums(
    conn: Connection, directory_ids: Collection[str] | None = None
) -> dict[tuple[str, str | None], int]:
    """(directory id, status) -> links (status None: not checked yet), of ``directory_ids``
    when given (None: every directory); pairs that sum to nothing left out. Every link
    counts, those of credentials in the trash too (the overview takes those off)."""
    rows = conn.execute(
        sa.select(link_counts.c.directory_id, link_counts.c.status, _SUMS)
        .where(within(link_counts.c.directory_id, directory_ids))
        .group_by(link_counts.c.directory_id, link_counts.c.status)
    )
    return {(d, s): int(n) for d, s, n in rows if n}


def fold(conn: Connection) -> tuple[int, int]:
    """Each (directory, status)'s rows folded into one row of their sum (none when it is 0);
    returns (rows before, rows after). On PostgreSQL one statement that deletes the rows it
    sees and inserts their sums (rows added meanwhile by other transactions are not seen,
    so not deleted); on SQLite inside the write transaction (the only writer)."""
    before = int(conn.execute(sa.select(sa.func.count()).select_from(link_counts)).scalar_one())
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "WITH gone AS (DELETE FROM link_counts RETURNING directory_id, status, n) "
                "INSERT INTO link_counts (directory_id, status, n) "
                "SELECT directory_id, status, sum(n) FROM gone "
                "GROUP BY directory_id, status HAVING sum(n) <> 0"
            )
        )
    else:
        folded = conn.execute(
            sa.select(link_counts.c.directory_id, link_counts.c.status, _SUMS)
            .group_by(link_counts.c.directory_id, link_counts.c.status)
            .having(_SUMS != 0)
        ).all()
        conn.execute(link_counts.delete())
        if folded:
            conn.execute(
                link_counts.insert(),
                [{"directory_id": d, "status": s, "n": int(n)} for d, s, n in folded],
            )
    after = int(conn.execute(sa.select(sa.func.count()).select_from(link_counts)).scalar_one())
    return before, after
