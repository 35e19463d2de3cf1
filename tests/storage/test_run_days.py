"""Runs a day (``run_days``, issue 20) kept in step by the runs' owner, on both backends: a
run counts as running from its start, then as the state it ended in (or was swept to); dry
runs count nowhere; an end that comes too late changes nothing; the counts equal a count of
the runs themselves (``recount``), per client when asked, and go with their directory."""

from __future__ import annotations

import datetime as dt

from credsync.storage import run_days, runs
from credsync.types import new_id
from vault.flag_seed import add_ad_directory
from vault.helpers import VaultWorld

TODAY = dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
YESTERDAY = TODAY - dt.timedelta(days=1)


def _start(world: VaultWorld, directory_id: str, client_id: str, at: dt.datetime, *,
           dry_run: bool = False) -> str:  # fmt: skip
    run_id = new_id()
    with world.db.write() as conn:
        runs.insert(
            conn, run_id, directory_id=directory_id, client_id=client_id, kind="full",
            trigger="cli", dry_run=dry_run, actor="test", owner="host:1", now=at,
        )  # fmt: skip
    return run_id


def _end(world: VaultWorld, run_id: str, state: str) -> bool:
    with world.db.write() as conn:
        return runs.end(
            conn, run_id, kind="full", state=state, message="", summary="{}", accounts_read=0,
            accounts_total=None, now=dt.datetime.now(dt.UTC),
        )  # fmt: skip


def _counts(world: VaultWorld, client_ids: list[str] | None = None) -> dict[tuple[str, str], int]:
    with world.db.read() as conn:
        found = run_days.counts_since(conn, YESTERDAY - dt.timedelta(days=1), client_ids)
    return {(r.day.isoformat(), r.state): r.n for r in found}


def test_the_runs_a_day_follow_the_runs(world: VaultWorld) -> None:
    vault, admin, keys = world.vault, world.admin, world.keys
    contoso = vault.clients.add(admin, keys, "Contoso")
    fabrikam = vault.clients.add(admin, keys, "Fabrikam")
    ours, _ = add_ad_directory(world, "Contoso", "contoso-ad")
    theirs, _ = add_ad_directory(world, "Fabrikam", "fabrikam-ad")
    today, yesterday = TODAY.date().isoformat(), YESTERDAY.date().isoformat()

    done = _start(world, ours, contoso.id, YESTERDAY)
    failed = _start(world, ours, contoso.id, TODAY)
    swept = _start(world, ours, contoso.id, TODAY)
    dry = _start(world, ours, contoso.id, TODAY, dry_run=True)
    other = _start(world, theirs, fabrikam.id, TODAY)
    assert _counts(world) == {(yesterday, "running"): 1, (today, "running"): 3}  # not the dry run

    assert _end(world, done, "done")
    assert _end(world, failed, "failed")
    assert _end(world, dry, "done")
    with world.db.write() as conn:
        (row,) = [r for r in runs.running(conn, ours) if r.id == swept]
        assert runs.mark_abandoned(conn, row, message="gone", summary="{}", finished_at=TODAY)
    assert not _end(world, swept, "done")  # swept meanwhile: stays aborted
    assert not _end(world, done, "failed")  # ended once only
    expected = {
        (yesterday, "done"): 1,
        (today, "failed"): 1,
        (today, "aborted"): 1,
        (today, "running"): 1,
    }
    assert _counts(world) == expected
    mine = _counts(world, [contoso.id])
    assert mine == {k: v for k, v in expected.items() if k != (today, "running")}
    assert _counts(world, [fabrikam.id]) == {(today, "running"): 1}

    with world.db.write() as conn:
        run_days.recount(conn)
    assert _counts(world) == expected  # the same as counting the runs themselves

    assert _end(world, other, "done")
    with world.db.write() as conn:
        runs.forget_directory(conn, ours)
    assert _counts(world) == {(today, "done"): 1}
