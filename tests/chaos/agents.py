"""``credsync agent`` as real processes on a test's vault (a SQLite file or a PostgreSQL
database both share), for the scenarios where a process dies: started, killed with SIGKILL
(a crash, not a stop), started again. Each one's standard error goes to a log file shown when
a wait fails; whatever still runs at the end is killed (:meth:`Agents.close`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from credsync.storage import push_queue
from credsync.storage.tables import sync_queue
from credsync.testing import prefork
from credsync.vault._time import utcnow
from vault.helpers import ADMIN_PASSWORD, PASSPHRASE

WAIT = 120.0  # seconds: the longest any bounded wait here may take


class Agents:
    def __init__(self, url: str, home: Path) -> None:
        home.mkdir(mode=0o700)
        self.home = home
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")},
            "CREDSYNC_HOME": str(home),
            "CREDSYNC_DATABASE_URL": url,
            "CREDSYNC_PASSPHRASE": PASSPHRASE,
            "CREDSYNC_OPERATOR": "alice",
            "CREDSYNC_OPERATOR_PASSWORD": ADMIN_PASSWORD,
            "PYTHONUNBUFFERED": "1",
        }
        self.started: list[tuple[prefork.Child, Path]] = []

    def __repr__(self) -> str:  # env holds the passphrase and the admin's password
        return f"Agents(started={[proc.pid for proc, _ in self.started]})"

    def start(self) -> prefork.Child:
        log = self.home / f"agent-{len(self.started) + 1}.log"
        with log.open("wb") as stderr:
            proc = prefork.spawn(
                ["agent", "--poll", "0.05"], self.env, stderr=stderr.fileno(), new_session=True
            )
        self.started.append((proc, log))
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for _, log in self.started)

    def until(self, done: Callable[[], bool], proc: prefork.Child | None, never: str) -> None:
        """Wait (at most WAIT seconds) until ``done()``; ``proc``, if given, must stay alive."""
        deadline = time.monotonic() + WAIT
        while not done():
            if proc is not None and proc.poll() is not None:
                pytest.fail(f"the agent ended (status {proc.returncode}): {never}\n{self.logs()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{never} (after {WAIT:.0f} s)\n{self.logs()}")
            time.sleep(0.02)

    def close(self) -> None:
        for proc, _ in self.started:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


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
