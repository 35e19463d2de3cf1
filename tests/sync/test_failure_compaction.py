"""Issue 20: a run whose directory can't be read (a 429 storm, a tenant or DC that is down)
flags every linked credential with the reason; its report stores a first failure and a
changed one as items, and counts a failure found again exactly as the credential's open flag
already says (``flagged_unchanged``), so a throttled tenant's every run stores a summary, not
a row per credential. A throttled tenant's Retry-After holds the agent's next periodic run of
it back that long (not the backoff's one interval), and a queued push to it likewise. On
SQLite and PostgreSQL, against the Graph simulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import sqlalchemy as sa

from credsync.agent.loop import Agent
from credsync.storage.tables import directories, runs, sync_queue
from credsync.sync.reports import stored_run
from credsync.sync.schedule import MAX_BACKOFF
from credsync.types import SyncMode

from .entra import EntraWorld, strong

THROTTLED = {"method": "GET", "path_prefix": "/v1.0/users", "times": 1000}


def _stored_items(ew: EntraWorld, run_id: str) -> int:
    with ew.vault.db.read() as conn:
        return stored_run(conn, run_id).item_count


def test_a_failed_runs_repeat_is_counted_a_first_or_changed_failure_stored(
    ew_both: EntraWorld,
) -> None:
    ew = ew_both
    creds = [ew.add(ew.add_user()) for _ in range(3)]
    ew.run(full=True)
    ew.tenant.inject_fault(status=429, retry_after=0, **THROTTLED)  # type: ignore[arg-type]
    first = ew.run()
    assert first.state == "failed"
    assert ew.items(first) == {c.id: ("unreachable", "flag") for c in creds}  # first: stored
    assert "flagged_unchanged" not in first.summary
    assert ew.flags() == {c.id: "unreachable" for c in creds}
    [said] = {i.detail for i in first.items}
    assert "HTTP 429" in said

    again = ew.run()  # the same failure, as every credential's open flag says: counted
    assert again.state == "failed"
    assert ew.items(again) == {}
    assert _stored_items(ew, again.id) == 0
    assert again.summary["flagged_unchanged"] == 3
    assert again.summary["statuses"] == {"unreachable": 3}  # the counts keep their meaning
    assert all(ew.still_flagged(again, c.id, "unreachable") for c in creds)
    assert again.flagged_text is not None
    assert again.flagged_text.startswith("3 credentials checked and still flagged")
    assert "HTTP 429" in again.message  # the run's message says what failed

    # The failure changes (the connection now dropped, not throttled): stored for each.
    ew.tenant.inject_fault(status=0, **THROTTLED)  # type: ignore[arg-type]
    changed = ew.run()
    assert changed.state == "failed"
    assert ew.items(changed) == {c.id: ("unreachable", "flag") for c in creds}
    assert all("HTTP 429" not in i.detail for i in changed.items)
    assert "flagged_unchanged" not in changed.summary

    ew.tenant.inject_fault(times=0, method="GET", path_prefix="/v1.0/users")
    recovered = ew.run(full=True)  # reachable again: every flag closes, each stored
    assert recovered.state == "done"
    assert {ew.items(recovered)[c.id][0] for c in creds} == {"in_sync"}
    assert ew.flags() == {}


def _agent_round(ew: EntraWorld, now: dt.datetime) -> float:
    """One round of an agent whose clock says ``now`` (the directory due): the seconds from
    ``now`` to the directory's next periodic run."""
    with ew.vault.db.write() as conn:
        conn.execute(directories.update().values(next_run_at=None))
    asyncio.run(Agent(ew.vault, ew.keys, ew.admin, clock=lambda: now).run(once=True))
    with ew.vault.db.read() as conn:
        at = conn.execute(sa.select(directories.c.next_run_at)).scalar_one()
    return float((at.replace(tzinfo=dt.UTC) - now).total_seconds())


def test_a_throttled_tenants_retry_after_holds_the_next_periodic_run_back(
    ew_both: EntraWorld,
) -> None:
    ew = ew_both
    cred = ew.add(ew.add_user())
    ew.run(full=True)
    interval = float(ew.vault.directories.get(ew.admin, ew.directory).option("interval"))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Unreachable with no word on when to come back: the backoff (one interval at first).
    ew.tenant.inject_fault(status=0, **THROTTLED)  # type: ignore[arg-type]
    assert _agent_round(ew, now) == interval
    # Throttled for 15 minutes: the next run waits that long, and the run says why.
    ew.tenant.inject_fault(status=429, retry_after=900, **THROTTLED)  # type: ignore[arg-type]
    later = now + dt.timedelta(hours=1)
    assert _agent_round(ew, later) == 900
    with ew.vault.db.read() as conn:
        state, summary = conn.execute(
            sa.select(runs.c.state, runs.c.summary).order_by(runs.c.started_at.desc()).limit(1)
        ).one()
    assert (state, json.loads(summary)["retry_after"]) == ("failed", 900)
    assert ew.flags() == {cred.id: "unreachable"}
    # A Retry-After past the longest backoff: the longest backoff (an hour).
    ew.tenant.inject_fault(status=429, retry_after=86400, **THROTTLED)  # type: ignore[arg-type]
    assert _agent_round(ew, later + dt.timedelta(hours=1)) == MAX_BACKOFF


def test_a_queued_push_to_a_throttled_tenant_waits_its_retry_after(ew_both: EntraWorld) -> None:
    ew = ew_both
    cred = ew.add(ew.add_user(), mode=SyncMode.ENFORCE)
    ew.run(full=True)
    ew.confirm()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with ew.vault.db.write() as conn:  # no periodic run due: the push alone
        conn.execute(directories.update().values(next_run_at=now + dt.timedelta(days=1)))
    ew.tenant.inject_fault(method="*", path_prefix="/v1.0/users", status=429, retry_after=900,
                           times=1000)  # fmt: skip
    ew.set_password(cred, strong())
    now += dt.timedelta(seconds=2)  # the queued push is due by the agent's clock
    asyncio.run(Agent(ew.vault, ew.keys, ew.admin, clock=lambda: now).run(once=True))
    with ew.vault.db.read() as conn:
        row = conn.execute(sa.select(sync_queue)).one()
    assert row.attempts == 1
    assert "HTTP 429" in (row.last_error or "")
    waits = (row.not_before.replace(tzinfo=dt.UTC) - now).total_seconds()
    assert waits == 900  # the tenant's word, not the queue's first backoff (1 s)
