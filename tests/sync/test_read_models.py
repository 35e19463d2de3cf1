"""What the API and the dashboard read of runs and checks (sync.reports' paged loaders and
sync.views), on both backends: pages that join up to the whole, cursors refused as
invalid input, and a fixed number of statements per page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from credsync.errors import InvalidInput, NotFound
from credsync.sync.overview import overview
from credsync.sync.reports import items_page, list_runs, load_run, runs_page, stored_run
from credsync.sync.views import checks_of, last_runs, run_progress

from .entra import EntraWorld


@contextmanager
def statements(ew: EntraWorld) -> Iterator[list[str]]:
    """The SQL statements run on the vault's database inside the block."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    engine = ew.vault.db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_pages_join_up_and_bad_cursors_are_invalid_input(ew_both: EntraWorld) -> None:
    ew = ew_both
    creds = [ew.add(ew.add_user()) for _ in range(5)]
    # Three runs of 5 items each: a plan, the first results, a plan again (a run that found
    # them in step as before would list none: counted, not stored).
    reports = [ew.run(dry_run=True), ew.run(full=True), ew.run(dry_run=True, full=True)]
    with ew.vault.db.read() as conn:
        whole = list_runs(conn, client_ref=ew.client)
        paged, cursor = runs_page(conn, client_ref=ew.client, directory_ref=ew.directory, limit=1)
        while cursor is not None:
            more, cursor = runs_page(conn, client_ref=ew.client, cursor=cursor, limit=1)
            paged += more
        assert [s.report.to_json() for s in paged] == [r.to_json() for r in whole]
        assert {r.id for r in whole} == {r.id for r in reports}
        assert [s.item_count for s in paged] == [len(creds)] * 3

        run = load_run(conn, reports[-1].id)
        first = stored_run(conn, run.id[:8], items_limit=2)
        assert (first.item_count, first.report.items) == (5, run.items[:2])
        items, cursor = list(first.report.items), first.next_items_cursor
        while cursor is not None:
            more_items, cursor = items_page(conn, run.id, cursor, 2)
            items += more_items
        assert tuple(items) == run.items == reports[-1].items
        assert stored_run(conn, run.id).report.items == ()

        # not ASCII digits (superscript two, fullwidth one), or more than a 64-bit column holds
        for bad in ("x", "-1", "\u00b2", "\uff11", "9" * 20):
            with pytest.raises(InvalidInput, match="not a cursor of this list") as err:
                items_page(conn, run.id, bad, 10)
            assert err.value.code == "invalid_input"
        with pytest.raises(InvalidInput, match="not a cursor of this list"):
            runs_page(conn, cursor="not-a-run-id")
        with pytest.raises(NotFound):  # the client is named before the cursor is read
            runs_page(conn, client_ref="no such client", cursor="not-a-run-id")
        with pytest.raises(NotFound):
            items_page(conn, "0" * 36, None, 10)


def test_the_dashboard_reads_a_page_in_a_fixed_number_of_statements(ew: EntraWorld) -> None:
    one = [ew.add(ew.add_user())]
    many = one + [ew.add(ew.add_user()) for _ in range(6)]
    report = ew.run(full=True)
    actor, db = ew.admin, ew.vault.db
    counts = []
    for ids in ([c.id for c in one], [c.id for c in many]):
        with statements(ew) as seen:
            checks = checks_of(db, actor, ids)
        counts.append(len(seen))
        assert {c.status for found in checks.values() for c in found} == {"in_sync"}
    assert counts[0] == counts[1]
    assert last_runs(db, actor)[report.directory_id].id == report.id
    progress = run_progress(db, actor, report.id)
    assert progress is not None
    assert (progress.state, progress.items) == ("done", len(many))


def test_a_run_whose_process_stopped_shows_as_aborted(ew: EntraWorld) -> None:
    """A run left `running` with a heartbeat older than the stale limit: the dashboard's
    progress and last-run badges show it aborted, as its report does."""
    import datetime as dt

    from credsync.storage.tables import runs
    from credsync.sync import lease

    report = ew.run(full=True)
    old = dt.datetime.now(dt.UTC) - lease.STALE_AFTER - dt.timedelta(seconds=5)
    with ew.vault.db.write() as conn:
        conn.execute(
            runs.update()
            .where(runs.c.id == report.id)
            .values(state="running", finished_at=None, heartbeat_at=old)
        )
    progress = run_progress(ew.vault.db, ew.admin, report.id)
    assert progress is not None
    assert progress.state == "aborted"
    assert progress.message.startswith("abandoned: no sign of life since")
    assert last_runs(ew.vault.db, ew.admin)[report.directory_id].state == "aborted"
    found = overview(
        ew.vault.db,
        ew.admin,
        ew.vault.clients.list(ew.admin),
        ew.vault.directories.list(ew.admin),
    )
    (health,) = [h for h in found.directories if h.directory.id == report.directory_id]
    assert health.last_run is not None
    assert (health.last_run.id, health.last_run.state) == (report.id, "aborted")
    assert health.last_done_at is None  # its only run is no longer done
    with ew.vault.db.read() as conn:
        assert load_run(conn, report.id).state == "aborted"
