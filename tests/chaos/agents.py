"""``credsync agent`` as real processes on a test's vault (a SQLite file or a PostgreSQL
database both share), for the scenarios where a process dies: started, killed with SIGKILL
(a crash, not a stop), started again. Each one's standard error goes to a log file shown when
a wait fails; whatever still runs at the end is killed (:meth:`Agents.close`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from credsync.storage import push_queue
from credsync.storage.tables import sync_queue
from credsync.vault._time import utcnow


def queue_rows(db: Any) -> list[Any]:
    with db.read() as conn:
        query = sa.select(sync_queue.c.id, sync_queue.c.claimed_by, sync_queue.c.dead_at)
        return list(conn.execute(query).all())


def release_claims(db: Any) -> int:
    """The claims of a killed agent released, as the end of their lease (two minutes) would
    release them: the test does not wait for the lease. Returns how many there were."""
    claimed = [r.id for r in queue_rows(db) if r.claimed_by is not None]
    with db.write() as conn:
        push_queue.release(conn, claimed, utcnow())
    return len(claimed)


def expire_leases(db: Any) -> int:
    """What two minutes without the killed agent would do, without waiting for them: its
    claims on the queue released (their lease ended) and its runs' heartbeats dated back past
    :data:`credsync.sync.lease.STALE_AFTER` (the next agent sweeps them as abandoned). Returns
    how many queue claims there were."""
    from credsync.storage.tables import runs
    from credsync.sync.lease import STALE_AFTER

    released = release_claims(db)
    long_ago = utcnow() - 2 * STALE_AFTER
    with db.write() as conn:
        conn.execute(
            runs.update()
            .where(runs.c.state == "running")
            .values(heartbeat_at=long_ago, started_at=long_ago)
        )
    return released
