"""Issue 20: bounded database growth. A run stores a report item only for what is worth one
(the rest counted in its summary), and the retention prunes run items after ``items_days``
and runs after ``runs_days``, keeping each directory's newest run and the runs an open flag
names (:mod:`credsync.sync.retention`); on SQLite and PostgreSQL, against the Graph
simulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable

import pytest

from credsync.agent.loop import Agent
from credsync.config import Retention
from credsync.errors import ConfigError, PermissionDenied, RunInProgress
from credsync.storage import runs as run_rows
from credsync.sync.compaction import audited
from credsync.sync.reports import load_run, stored_run
from credsync.sync.resolve import Resolver
from credsync.sync.retention import prune, prune_for
from credsync.types import Secret

from .entra import EntraWorld, strong

DAY = dt.timedelta(days=1)


def _item_count(ew: EntraWorld, run_id: str) -> int:
    with ew.vault.db.read() as conn:
        return stored_run(conn, run_id).item_count


def _exists(ew: EntraWorld, run_id: str) -> bool:
    with ew.vault.db.read() as conn:
        return run_rows.exists(conn, run_id)


def _pruned_entries(ew: EntraWorld) -> list[dict[str, object]]:
    return [dict(e.details) for e in ew.vault.audit.list(ew.admin, action="runs.pruned")]


def test_a_run_stores_only_what_changed_and_counts_the_rest(ew_both: EntraWorld) -> None:
    ew = ew_both
    users = [ew.add_user() for _ in range(3)]
    creds = [ew.add(u) for u in users]
    first = ew.run(full=True)  # a first result is stored for each: the baseline
    assert {ew.items(first)[c.id] for c in creds} == {("in_sync", "confirm")}
    assert "in_sync_unchanged" not in first.summary
    again = ew.run(full=True)
    assert (again.items, again.summary["in_sync_unchanged"]) == ((), 3)
    assert again.summary["statuses"] == {"in_sync": 3}  # the existing keys keep their meaning
    assert again.in_step_text is not None
    assert again.in_step_text.startswith("3 credentials checked and still in step")
    assert ew.in_step(again, *(c.id for c in creds))
    # One changes in the directory: that one is stored (a status change), the rest counted.
    ew.later()
    ew.tenant.set_password(users[0].id, strong())
    changed = ew.run(full=True)
    assert ew.items(changed) == {creds[0].id: ("changed_in_directory", "flag")}
    assert changed.summary["statuses"] == {"changed_in_directory": 1, "in_sync": 2}
    assert ew.in_step(changed, creds[1].id, creds[2].id)
    # Still changed, exactly as its flag says: counted, not stored (the open flag tells it).
    still = ew.run(full=True)
    assert ew.items(still) == {}
    assert still.summary["flagged_unchanged"] == 1
    assert still.summary["statuses"] == {"changed_in_directory": 1, "in_sync": 2}
    assert ew.still_flagged(still, creds[0].id, "changed_in_directory")
    assert still.flagged_text is not None
    assert still.flagged_text.startswith("1 credentials checked and still flagged")
    with ew.vault.db.read() as conn:
        assert stored_run(conn, still.id).item_count == 0
    # The problem changes (the directory's password changed again): stored again.
    ew.later()
    ew.tenant.set_password(users[0].id, strong())
    moved = ew.run(full=True)
    assert ew.items(moved) == {creds[0].id: ("changed_in_directory", "flag")}


def test_the_retention_prunes_items_then_runs_and_keeps_the_newest_and_flagged(
    ew_both: EntraWorld,
) -> None:
    ew = ew_both
    users = [ew.add_user() for _ in range(3)]
    creds = [ew.add(u) for u in users]
    first = ew.run(full=True)  # 3 items
    ew.later()
    password = strong()
    ew.tenant.set_password(users[0].id, password)
    flagged = ew.run(full=True)  # opens the flag: 1 item
    assert ew.flags() == {creds[0].id: "changed_in_directory"}
    middle = ew.run(full=True)  # no item: as its flag says (still named by `flagged`)
    newest = ew.run(full=True)  # no item
    now = dt.datetime.now(dt.UTC)
    keep = Retention(items_days=90, runs_days=400)
    # Nothing is old yet.
    nothing = prune(ew.vault.db, ew.vault.audit, ew.admin, keep, now)
    assert (nothing["run_items"], nothing["runs"]) == (0, 0)
    assert _pruned_entries(ew) == []  # the agent's prune that deleted nothing is not audited
    # 91 days on: the items of the runs not kept go, a batch of 1 per transaction.
    later = now + 91 * DAY
    counted = prune(ew.vault.db, ew.vault.audit, ew.admin, keep, later, dry_run=True)
    assert (counted["run_items"], counted["runs"]) == (3, 0)
    assert _item_count(ew, first.id) == 3  # a dry run deletes nothing
    done = prune(ew.vault.db, ew.vault.audit, ew.admin, keep, later, batch=1)
    assert (done["run_items"], done["runs"], done["dry_run"]) == (3, 0, False)
    assert [_item_count(ew, r.id) for r in (first, flagged, middle, newest)] == [0, 1, 0, 0]
    with ew.vault.db.read() as conn:
        report = load_run(conn, first.id)
    assert report.summary["statuses"] == {"in_sync": 3}  # the counts stay
    assert report.pruned_text is not None
    assert report.pruned_text.startswith("deleted by the retention on")
    [entry] = _pruned_entries(ew)
    assert (entry["run_items"], entry["runs"]) == (3, 0)
    # 401 days on: the runs go too, but for the newest and the one the open flag names.
    much_later = now + 401 * DAY
    counted = prune(ew.vault.db, ew.vault.audit, ew.admin, keep, much_later, dry_run=True)
    assert (counted["run_items"], counted["runs"]) == (0, 2)
    done = prune(ew.vault.db, ew.vault.audit, ew.admin, keep, much_later, batch=1)
    assert (done["run_items"], done["runs"]) == (0, 2)
    assert [_exists(ew, r.id) for r in (first, flagged, middle, newest)] == [
        False,
        True,
        False,
        True,
    ]
    # The flag resolved (the directory's password accepted), its run is no longer kept.
    [flag] = ew.vault.flags.list(ew.admin, ew.client)
    asyncio.run(Resolver(ew.vault, ew.engine(), ew.admin).accept(flag.id, Secret(password)))
    assert ew.flags() == {}
    prune(ew.vault.db, ew.vault.audit, ew.admin, keep, much_later)
    assert not _exists(ew, flagged.id)
    assert len(_pruned_entries(ew)) == 3


def test_an_operator_prune_needs_admin_and_is_audited(ew_both: EntraWorld) -> None:
    ew = ew_both
    ew.add(ew.add_user())
    ew.run(full=True)
    keep = Retention()
    manager = ew.vault_world.operator("dm", "directory_manager")
    with pytest.raises(PermissionDenied):
        prune_for(ew.vault.db, ew.vault.audit, manager, keep, dry_run=True)
    done = prune_for(ew.vault.db, ew.vault.audit, ew.admin, keep, dry_run=False)
    assert (done["run_items"], done["runs"]) == (0, 0)
    [entry] = _pruned_entries(ew)  # asked for: audited even when nothing went
    assert entry["items_days"] == 90


async def _until(done: Callable[[], bool], what: str) -> None:
    """Wait (the agent's loop going round meanwhile) until ``done()``; a minute at most."""
    for _ in range(1200):
        if await asyncio.to_thread(done):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def test_the_agent_prunes_at_most_once_an_hour_by_its_clock(ew: EntraWorld) -> None:
    ew.add(ew.add_user())
    first = ew.run(full=True)  # 1 item: the baseline
    ew.run(full=True)  # newer: `first` is not kept
    at = [dt.datetime.now(dt.UTC) + 100 * DAY]  # the agent's clock: every item is old
    rounds = [0]

    def went_round() -> None:
        rounds[0] += 1

    keep = Retention(items_days=90, runs_days=400)
    agent = Agent(ew.vault, ew.keys, ew.admin, poll_seconds=0.01, clock=lambda: at[0],
                  on_round=went_round, retention=keep)  # fmt: skip

    def run_now() -> str:  # a run of the test's own (the agent may hold the lease a moment:
        for _ in range(1200):  # under load, its runs take seconds)
            try:
                return ew.run(full=True).id
            except RunInProgress:
                time.sleep(0.05)
        raise AssertionError("the directory stayed busy")

    async def drive() -> None:
        loop = asyncio.create_task(agent.run())
        try:
            await _until(lambda: len(_pruned_entries(ew)) == 1, "the first round's prune")
            assert _item_count(ew, first.id) == 0
            # A new credential's first result: an item older than the retention by the
            # agent's clock, stored after its prune.
            ew.add(ew.add_user())
            late = await asyncio.to_thread(run_now)
            assert _item_count(ew, late) == 1
            # A newer whole run of the test's own: `late` is no longer the directory's newest
            # whole run (kept whatever its age), so only the prune's hour keeps its item now.
            # (The agent's own runs may be incremental: under load, the agent's full pass can
            # come before `late`, and then nothing newer would be whole.)
            await asyncio.to_thread(run_now)
            at[0] += dt.timedelta(minutes=30)  # not due yet: left as it is
            seen = rounds[0]
            await _until(lambda: rounds[0] >= seen + 3, "three rounds")
            assert (_item_count(ew, late), len(_pruned_entries(ew))) == (1, 1)
            at[0] += dt.timedelta(minutes=31)  # an hour and a minute after the first
            await _until(lambda: len(_pruned_entries(ew)) == 2, "the next hour's prune")
            assert _item_count(ew, late) == 0
            assert _exists(ew, late)  # the run itself is within runs_days
        finally:
            agent.stop()
            await loop

    asyncio.run(drive())


def test_bad_retention_settings_are_refused_with_the_variable_named() -> None:
    assert Retention.from_env({}) == Retention(90, 400)
    assert Retention.from_env({"CREDSYNC_RUN_ITEMS_DAYS": "30"}).items_days == 30
    with pytest.raises(ConfigError, match="CREDSYNC_RUN_ITEMS_DAYS must be a whole number"):
        Retention.from_env({"CREDSYNC_RUN_ITEMS_DAYS": "ninety"})
    with pytest.raises(ConfigError, match="CREDSYNC_RUNS_DAYS must be a whole number"):
        Retention.from_env({"CREDSYNC_RUNS_DAYS": "0"})
    with pytest.raises(ConfigError, match="must be at least CREDSYNC_RUN_ITEMS_DAYS"):
        Retention.from_env({"CREDSYNC_RUN_ITEMS_DAYS": "500", "CREDSYNC_RUNS_DAYS": "400"})


def _audited_runs(ew: EntraWorld) -> list[object]:
    entries = ew.vault.audit.list(ew.admin, action="sync.run")
    return [e.details["run_id"] for e in entries]


def test_a_quiet_run_of_the_agent_has_no_audit_entry_and_any_other_run_has_one(
    ew_both: EntraWorld,
) -> None:
    ew = ew_both
    users = [ew.add_user() for _ in range(2)]
    creds = [ew.add(u) for u in users]
    first = ew.run(full=True, trigger="agent")  # first results stored: audited
    quiet = ew.run(full=True, trigger="agent")  # nothing changed, nothing stored
    assert (quiet.state, quiet.items, quiet.summary["in_sync_unchanged"]) == ("done", (), 2)
    by_hand = ew.run(full=True)  # as quiet, but an operator's (`credsync sync run`)
    assert by_hand.items == ()
    incremental = ew.run(trigger="agent")  # the agent's periodic run: no change since
    assert incremental.items == ()
    # A change found by the agent's run is stored, so audited.
    ew.later()
    ew.tenant.set_password(users[0].id, strong())
    changed = ew.run(trigger="agent")
    assert ew.items(changed) == {creds[0].id: ("changed_in_directory", "flag")}
    # Still changed as its flag says: quiet again (the open flag tells it).
    still = ew.run(full=True, trigger="agent")
    assert (still.items, still.summary["flagged_unchanged"]) == ((), 1)
    audited = _audited_runs(ew)
    assert sorted(audited) == sorted([first.id, by_hand.id, changed.id])  # type: ignore[type-var]
    # Every run has its row, with its counts, audited or not.
    with ew.vault.db.read() as conn:
        rows = {r.id: r for r in run_rows.newest(conn, client_id=None, directory_id=None, limit=50)}
    for run in (quiet, incremental, still):
        assert rows[run.id].state == "done"
    assert load_run_summary(ew, still.id)["flagged_unchanged"] == 1


def load_run_summary(ew: EntraWorld, run_id: str) -> dict[str, object]:
    with ew.vault.db.read() as conn:
        return dict(load_run(conn, run_id).summary)


def test_a_failed_run_of_the_agent_is_audited(ew: EntraWorld) -> None:
    ew.add(ew.add_user())
    ew.run(full=True, trigger="agent")
    ew.tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=0, times=50)
    failed = ew.run(trigger="agent")  # the tenant does not answer
    assert failed.state == "failed"
    assert failed.id in _audited_runs(ew)


@pytest.mark.parametrize(
    ("state", "trigger", "stored", "expected"),
    [
        ("done", "agent", 0, False),  # the quiet run: its row is the record
        ("done", "agent", 1, True),
        ("done", "cli", 0, True),
        ("done", "api", 0, True),
        ("done", "web", 0, True),
        ("done", "quarantine", 0, True),
        ("failed", "agent", 0, True),
        ("aborted", "agent", 0, True),
    ],
)
def test_which_runs_are_audited(state: str, trigger: str, stored: int, expected: bool) -> None:
    assert audited(state=state, trigger=trigger, items_stored=stored) is expected
