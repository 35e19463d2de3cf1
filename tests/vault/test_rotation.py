"""Password rotation: a client's interval (set, cleared, checked, audited, who may set it) and
its overdue credentials (counted per client, listed; trash and directory_admin rules), on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from credsync.errors import InvalidInput, PermissionDenied, StaleVersion
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.rotation import parse_rotate_every

from .helpers import Ctx, add_cred, age_password


def _overdue_titles(ctx: Ctx, actor: object = None) -> list[str]:
    page = ctx.vault.credentials.list(actor or ctx.admin, ctx.client.id, overdue=True)
    return [c.title for c in page.items]


def test_an_interval_is_set_cleared_and_audited(ctx: Ctx) -> None:
    assert ctx.vault.clients.get(ctx.admin, ctx.name).rotate_every_days is None

    set_ = ctx.vault.clients.set_rotation(ctx.admin, ctx.name, 90)
    assert set_.rotate_every_days == 90
    assert set_.version == 2
    assert set_.to_json()["rotate_every_days"] == 90
    same = ctx.vault.clients.set_rotation(ctx.admin, ctx.name, 90)
    assert same.version == 2  # nothing changed, nothing audited
    cleared = ctx.vault.clients.set_rotation(ctx.admin, ctx.name, 0)
    assert cleared.rotate_every_days is None
    assert ctx.vault.clients.get(ctx.admin, ctx.name).overdue_count == 0

    details = [e.details for e in reversed(ctx.audit("client.rotation", ctx.client.id))]
    assert details == [
        {"name": ctx.name, "rotate_every_days": 90},
        {"name": ctx.name, "rotate_every_days": None},
    ]
    with pytest.raises(StaleVersion):
        ctx.vault.clients.set_rotation(ctx.admin, ctx.name, 30, expected_version=1)


def test_a_new_client_can_start_with_an_interval(ctx: Ctx) -> None:
    other = ctx.vault.clients.add(ctx.admin, ctx.keys, f"{ctx.name} b", rotate_every_days=30)
    assert other.rotate_every_days == 30
    [entry] = ctx.audit("client.add", other.id)
    assert entry.details["rotate_every_days"] == 30


@pytest.mark.parametrize("bad", [-1, 3651, 10**9, True])
def test_a_bad_interval_is_refused_naming_the_field_and_nothing_changes(ctx: Ctx, bad: int) -> None:
    with pytest.raises(InvalidInput, match="whole number of days from 1 to 3650") as refused:
        ctx.vault.clients.set_rotation(ctx.admin, ctx.name, bad)
    assert refused.value.field == "rotate_every_days"
    with pytest.raises(InvalidInput):
        ctx.vault.clients.add(ctx.admin, ctx.keys, f"{ctx.name} bad", rotate_every_days=bad)
    assert ctx.vault.clients.get(ctx.admin, ctx.name).version == 1
    assert ctx.audit("client.rotation", ctx.client.id) == []


def test_the_interval_as_typed_text() -> None:
    assert parse_rotate_every(" 90 ") == 90
    assert parse_rotate_every("3650") == 3650
    for never in ("", "0", "never", "Never"):
        assert parse_rotate_every(never) is None
    for bad in ("-5", "1.5", "90d", "3651", "٣", "ninety"):
        with pytest.raises(InvalidInput) as refused:
            parse_rotate_every(bad)
        assert refused.value.field == "rotate_every_days"


@pytest.mark.parametrize("role", ["viewer", "auditor"])
def test_only_writers_may_set_an_interval(ctx: Ctx, role: str) -> None:
    with pytest.raises(PermissionDenied):
        ctx.vault.clients.set_rotation(ctx.as_role(role), ctx.name, 30)
    assert ctx.vault.clients.get(ctx.admin, ctx.name).rotate_every_days is None
    changed = ctx.vault.clients.set_rotation(ctx.as_role("technician"), ctx.name, 30)
    assert changed.rotate_every_days == 30


def test_overdue_credentials_are_counted_and_listed(ctx: Ctx) -> None:
    fresh = ctx.add("fresh")
    old = ctx.add("old")
    older = ctx.add("older")
    trashed = ctx.add("trashed")
    bind = ctx.add("bind", "Bind-Pa55!", type_="directory_admin")
    age_password(ctx.world.db, fresh.id, 29)
    for cred in (old, older, trashed, bind):
        age_password(ctx.world.db, cred.id, 31)
    age_password(ctx.world.db, older.id, 400)
    ctx.vault.credentials.delete(ctx.admin, trashed.id)

    # no interval: nothing is overdue
    assert ctx.vault.clients.get(ctx.admin, ctx.name).overdue_count == 0
    assert _overdue_titles(ctx) == []

    ctx.vault.clients.set_rotation(ctx.admin, ctx.name, 30)
    # the trash is left out; directory_admin ones count for those who may see them
    assert ctx.vault.clients.get(ctx.admin, ctx.name).overdue_count == 3
    assert _overdue_titles(ctx) == ["bind", "old", "older"]
    viewer = ctx.as_role("viewer")
    assert ctx.vault.clients.get(viewer, ctx.name).overdue_count == 2
    assert _overdue_titles(ctx, viewer) == ["old", "older"]
    listed = {c.id: c for c in ctx.vault.clients.list(ctx.admin)}
    assert listed[ctx.client.id].overdue_count == 3

    ctx.vault.clients.set_rotation(ctx.admin, ctx.name, 365)
    assert _overdue_titles(ctx) == ["older"]

    # a new password is no longer overdue
    ctx.vault.credentials.set_password(ctx.admin, ctx.keys, older.id, Secret("N3w-Pa55word!"))
    assert _overdue_titles(ctx) == []
    assert ctx.vault.clients.get(ctx.admin, ctx.name).overdue_count == 0


def test_each_client_is_counted_against_its_own_interval(ctx: Ctx) -> None:
    other = ctx.other_client()
    mine = ctx.add("mine")
    theirs = add_cred(ctx.world, other.id, "theirs")
    age_password(ctx.world.db, mine.id, 50)
    age_password(ctx.world.db, theirs.id, 50)
    ctx.vault.clients.set_rotation(ctx.admin, ctx.name, 40)
    ctx.vault.clients.set_rotation(ctx.admin, other.id, 60)

    counts = {c.id: c.overdue_count for c in ctx.vault.clients.list(ctx.admin)}
    assert counts[ctx.client.id] == 1
    assert counts[other.id] == 0
    assert ctx.vault.credentials.list(ctx.admin, other.id, overdue=True).items == []


@pytest.mark.parametrize("shared_world", ["sqlite"], indirect=True)  # the plan is SQLite's
def test_the_overdue_count_reads_the_index_alone(ctx: Ctx) -> None:
    """One range of ix_credentials_client_changed per client, no table rows, nothing sorted;
    the few set apart from their partial index (SQLite's plan; PostgreSQL's planner chooses
    by its statistics)."""
    assert ctx.world.db.engine.dialect.name == "sqlite"
    from credsync.storage.rotation import overdue_counts

    captured: list[str] = []

    def plan(conn: sa.Connection, cursor, statement, parameters, context, many) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            captured.append(" | ".join(str(r[-1]) for r in rows))

    engine = ctx.world.db.engine
    sa.event.listen(engine, "before_cursor_execute", plan)
    try:
        with ctx.world.db.read() as conn:
            overdue_counts(
                conn,
                {ctx.client.id: utcnow(), "other": utcnow()},
                include_directory_admin=False,
            )
    finally:
        sa.event.remove(engine, "before_cursor_execute", plan)
    every, apart = captured
    assert "ix_credentials_set_apart" in apart
    assert "ix_credentials_client_changed" in every
    assert "COVERING INDEX" in every
    assert "SCAN credentials" not in every
    assert "TEMP B-TREE" not in every  # counted range by range, nothing sorted


def test_many_clients_are_counted_a_few_hundred_a_statement(ctx: Ctx) -> None:
    """SQLite takes at most 500 parts in one compound statement."""
    from credsync.storage.rotation import overdue_counts

    old = ctx.add("old")
    age_password(ctx.world.db, old.id, 10)
    cutoffs = {f"no-such-client-{n:04d}": utcnow() for n in range(1100)}
    cutoffs[ctx.client.id] = utcnow() - dt.timedelta(days=5)
    with ctx.world.db.read() as conn:
        found = overdue_counts(conn, cutoffs, include_directory_admin=True)
    assert found == {ctx.client.id: 1}


def test_password_ages_fall_in_their_bands_less_the_trash(ctx: Ctx) -> None:
    """The overview's password ages (storage.overview.age_buckets): each credential in the
    band of its age, the trash left out, directory_admin ones only for those who may see
    them, and only the clients asked for."""
    from credsync.storage.overview import age_buckets

    ages = {"a": 1, "b": 29, "c": 31, "d": 100, "e": 200, "f": 364, "g": 366, "h": 900}
    made = {title: ctx.add(title) for title in ages}
    bind = ctx.add("bind", "Bind-Pa55!", type_="directory_admin")
    for title, days in ages.items():
        age_password(ctx.world.db, made[title].id, days)
    age_password(ctx.world.db, bind.id, 100)
    trashed = ctx.add("trashed")
    age_password(ctx.world.db, trashed.id, 366)
    ctx.vault.credentials.delete(ctx.admin, trashed.id)
    other = ctx.vault.clients.add(ctx.admin, ctx.keys, f"{ctx.name} other")

    def bands(admin: bool, clients: list[str]) -> dict[tuple[str, int], int]:
        with ctx.world.db.read() as conn:
            found = age_buckets(
                conn, utcnow(), (30, 90, 180, 365), clients, include_directory_admin=admin
            )
        return {(row.client_id, row.bucket): row.n for row in found}

    mine = ctx.client.id
    assert bands(True, [mine]) == {
        (mine, 0): 2,
        (mine, 1): 1,
        (mine, 2): 2,
        (mine, 3): 2,
        (mine, 4): 2,
    }
    assert bands(False, [mine])[mine, 2] == 1  # the bind credential left out
    assert bands(True, [other.id]) == {}  # no credentials: no bands
    assert bands(True, []) == {}


def test_overdue_counts_and_password_ages_equal_a_plain_count(ctx: Ctx) -> None:
    """Over several clients with mixed ages, the trash and a directory_admin credential, the
    counts (one statement over the index on PostgreSQL, ranges side by side on SQLite) are
    those a plain count of the rows gives."""
    import random

    from credsync.storage.overview import age_buckets
    from credsync.storage.rotation import overdue_counts
    from credsync.storage.tables import credentials

    rng = random.Random(20)
    clients = [ctx.client] + [ctx.other_client(f"Count{n}") for n in range(4)]
    for n, client in enumerate(clients):
        for k in range(6 + n):
            cred = add_cred(ctx.world, client.id, f"c{k}")
            age_password(ctx.world.db, cred.id, rng.choice([1, 29, 31, 95, 200, 400, 800]))
            if k == 0:
                ctx.vault.credentials.delete(ctx.admin, cred.id)
        bind = add_cred(ctx.world, client.id, "bind", "Bind-Pa55!", type_="directory_admin")
        age_password(ctx.world.db, bind.id, 500)
    now = utcnow()
    cutoffs = {c.id: now - dt.timedelta(days=30 + 40 * n) for n, c in enumerate(clients)}
    edges = (30, 90, 180, 365)
    ids = [c.id for c in clients]
    with ctx.world.db.read() as conn:
        rows = conn.execute(
            sa.select(
                credentials.c.client_id,
                credentials.c.password_changed_at,
                credentials.c.deleted_at,
                credentials.c.type,
            ).where(credentials.c.client_id.in_(ids))
        ).all()
        for admin in (True, False):
            plain_overdue: dict[str, int] = {}
            plain_ages: dict[tuple[str, int], int] = {}
            for client_id, changed, deleted, type_ in rows:
                if deleted is not None or (type_ == "directory_admin" and not admin):
                    continue
                changed = changed if changed.tzinfo else changed.replace(tzinfo=dt.UTC)
                if changed < cutoffs[client_id]:
                    plain_overdue[client_id] = plain_overdue.get(client_id, 0) + 1
                age = now - changed
                band = next(
                    (i for i, d in enumerate(edges) if age < dt.timedelta(days=d)), len(edges)
                )
                plain_ages[client_id, band] = plain_ages.get((client_id, band), 0) + 1
            assert overdue_counts(conn, cutoffs, include_directory_admin=admin) == plain_overdue
            found = age_buckets(conn, now, edges, ids, include_directory_admin=admin)
            assert {(r.client_id, r.bucket): r.n for r in found} == plain_ages
