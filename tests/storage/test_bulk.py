"""Bulk inserts hand the driver values in the same form SQLAlchemy would (on PostgreSQL
through COPY), a unique key's refusal is a Conflict, and PostgreSQL's planner statistics are
refreshed once a bulk-filled table has grown."""

import datetime as dt
import io
import re
import time

import pytest
import sqlalchemy as sa

from credsync.errors import Conflict
from credsync.storage.bulk import STALE_CHANGES, bulk_insert, refresh_statistics
from credsync.storage.tables import credentials, group_terms
from credsync.types import Secret
from credsync.vault.drafts import make_draft


def test_bulk_and_orm_rows_store_times_alike(world) -> None:
    world.vault.clients.add(world.admin, world.keys, "Contoso")
    draft = make_draft(title="One by one", password=Secret("Single-Pa55!"))
    single = world.vault.credentials.add(world.admin, world.keys, "Contoso", draft)
    csv_file = io.BytesIO(b"title,password\r\nIn bulk,Bulk-Pa55!\r\n")
    report = world.vault.csv.import_csv(world.admin, world.keys, "Contoso", csv_file)
    assert report.imported == 1
    with world.db.read() as conn:
        if world.db.is_sqlite:
            raw = conn.exec_driver_sql("SELECT title, created_at FROM credentials").all()
            shapes = {
                title: re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", text)
                for title, text in raw
            }
            assert all(shapes.values()), raw
        rows = conn.execute(
            sa.select(credentials.c.title, credentials.c.created_at).order_by(
                credentials.c.created_at
            )
        ).all()
        # Compared in SQL, the bulk row sorts after the one added before it.
        assert [r.title for r in rows] == ["One by one", "In bulk"]
        later = conn.execute(
            sa.select(sa.func.count())
            .select_from(credentials)
            .where(credentials.c.created_at > single.created_at - dt.timedelta(seconds=1))
        ).scalar_one()
        assert later == 2


def _group_terms(world, count: int) -> tuple[str, str, list[tuple[str, str, str]]]:
    client_id = world.vault.clients.add(world.admin, world.keys, "Contoso").id
    group = world.vault.groups.add(world.admin, "Contoso", {"name": "Bulk"})
    return group.id, client_id, [(client_id, f"term{n:05d}", group.id) for n in range(count)]


def test_a_bulk_insert_a_unique_key_refuses_is_a_conflict_and_keeps_nothing(world) -> None:
    group_id, _, rows = _group_terms(world, 3)
    columns = ("client_id", "term", "group_id")
    with world.db.write() as conn:
        bulk_insert(conn, group_terms, columns, rows)
    with pytest.raises(Conflict), world.db.write() as conn:
        bulk_insert(conn, group_terms, columns, [(rows[0][0], "new", group_id), rows[1]])
    with world.db.read() as conn:
        terms = conn.execute(
            sa.select(group_terms.c.term).where(group_terms.c.group_id == group_id)
        ).scalars()
        assert sorted(terms) == ["bulk", "term00000", "term00001", "term00002"]  # not "new"


def _pg_counts(conn: sa.Connection) -> tuple[int, float]:
    """(changes since the last analysis, rows the planner believes) of group_terms."""
    conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
    changed = conn.exec_driver_sql(
        "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'group_terms' "
        "AND schemaname = current_schema()"
    ).scalar_one()
    believed = conn.exec_driver_sql(
        "SELECT reltuples FROM pg_class WHERE oid = 'group_terms'::regclass"
    ).scalar_one()
    return int(changed), float(believed)


def test_statistics_are_refreshed_once_a_table_has_grown(world) -> None:
    if world.db.is_sqlite:
        with world.db.write() as conn:
            refresh_statistics(conn, [group_terms])  # nothing to do, nothing done
        return
    _, _, rows = _group_terms(world, STALE_CHANGES + 500)
    with world.db.write() as conn:  # this test's own database: autovacuum must not come first
        conn.exec_driver_sql("ALTER TABLE group_terms SET (autovacuum_enabled = false)")
    with world.db.write() as conn:
        refresh_statistics(conn, [group_terms])  # too few changes yet: left alone
        bulk_insert(conn, group_terms, ("client_id", "term", "group_id"), rows)
    # The server counts a backend's changes when it is idle (at most once a second): wait,
    # out of any transaction, for them.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with world.db.read() as conn:
            if _pg_counts(conn)[0] >= len(rows):
                break
        time.sleep(0.5)
    with world.db.write() as conn:
        changed, believed = _pg_counts(conn)
        assert changed >= len(rows)
        assert believed < len(rows)  # never analyzed: the planner does not know them
        refresh_statistics(conn, [group_terms])
    with world.db.read() as conn:
        changed, believed = _pg_counts(conn)
        assert believed >= len(rows)  # and the group's own term
        assert changed == 0
