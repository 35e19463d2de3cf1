"""The overview's password ages and overdue counts take off the credentials set apart (in
the trash; directory_admin ones for readers who may not see them), read since revision 0049
from their covering partial index alone: on both backends the ages per client and the
overdue counts equal a plain count of the live credentials, for a reader who sees
directory_admin credentials and for one who does not; and across the revision's round trip."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import sqlalchemy as sa

from credsync.storage import overview as rows
from credsync.storage.tables import credentials
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.clients import sees_directory_admin
from credsync.vault.rotation import check_rotate_every
from vault.helpers import VaultWorld, add_bind_credential, add_cred, age_password, down_and_up_again

EDGES = (30, 90, 365)
CLIENTS = ["Apart North", "Apart South"]
PASSWORD = "tom-password-1234"


def _plain(world: VaultWorld, now: dt.datetime, admin: bool) -> Counter[tuple[str, int]]:
    """(client id, bucket) -> live credentials, from every row."""
    found: Counter[tuple[str, int]] = Counter()
    with world.db.read() as conn:
        for client_id, kind, deleted, changed in conn.execute(
            sa.select(
                credentials.c.client_id,
                credentials.c.type,
                credentials.c.deleted_at,
                credentials.c.password_changed_at,
            )
        ):
            if deleted is not None or (kind == "directory_admin" and not admin):
                continue
            changed = changed if changed.tzinfo else changed.replace(tzinfo=dt.UTC)
            age = now - changed
            bucket = next(
                (i for i, d in enumerate(EDGES) if age < dt.timedelta(days=d)), len(EDGES)
            )
            found[client_id, bucket] += 1
    return found


def _ages(world: VaultWorld, now: dt.datetime, admin: bool, ids: list[str]) -> Counter[Any]:
    with world.db.read() as conn:
        got = rows.age_buckets(conn, now, EDGES, ids, include_directory_admin=admin)
    return Counter({(r.client_id, r.bucket): r.n for r in got})


def _seed(world: VaultWorld) -> list[str]:
    """Two clients with passwords of every age, some in the trash, a directory_admin one
    each; rotation every 60 days on both. Their ids."""
    vault, admin, keys = world.vault, world.admin, world.keys
    ids = []
    for name, count in zip(CLIENTS, (8, 5), strict=True):
        client = vault.clients.add(admin, keys, name, rotate_every_days=check_rotate_every(60))
        ids.append(client.id)
        made = [add_cred(world, name, f"Apart {n}", f"Apart-Pa55-{n}!") for n in range(count)]
        for n, cred in enumerate(made):
            age_password(world.db, cred.id, (5, 45, 100, 400)[n % 4])
        vault.credentials.delete(admin, made[2].id)  # 100 days: overdue, but in the trash
        vault.credentials.delete(admin, made[0].id)  # 5 days
        bind = add_bind_credential(world, name)
        age_password(world.db, bind.id, 500)  # overdue; only some readers count it
    return ids


def test_ages_and_overdue_counts_leave_out_the_set_apart_as_a_plain_count(
    world: VaultWorld,
) -> None:
    ids = _seed(world)
    now = utcnow()
    world.vault.operators.add(world.admin, "tom", Secret(PASSWORD), "technician", CLIENTS)
    tech = world.vault.access.login_password("tom", Secret(PASSWORD))
    for actor in (world.admin, tech):
        admin = sees_directory_admin(actor)
        plain = _plain(world, now, admin)
        assert _ages(world, now, admin, ids) == plain
        overdue = {c.id: c.overdue_count for c in world.vault.clients.list(actor)}
        # older than 60 days: the 100, 400 and (admin) 500 days old ones outside the trash
        expected: Counter[str] = Counter()
        for (client_id, bucket), n in plain.items():
            if bucket >= 2:
                expected[client_id] += n
        assert {c: overdue[c] for c in ids} == {c: expected[c] for c in ids}
    assert _ages(world, now, True, ids) != _ages(world, now, False, ids)  # the bind ones


def test_the_revision_keeps_the_counts_and_goes_down_cleanly(world: VaultWorld) -> None:
    ids = _seed(world)
    now = utcnow()
    before = _ages(world, now, False, ids)
    down_and_up_again(world, "0048", set())  # the index of ids alone, then the covering one
    assert _ages(world, now, False, ids) == before == _plain(world, now, False)
    with world.db.engine.connect() as conn:
        (index,) = [
            i
            for i in sa.inspect(conn).get_indexes("credentials")
            if i["name"] == "ix_credentials_set_apart"
        ]
    assert index["column_names"] == ["id", "deleted_at", "type", "client_id", "password_changed_at"]
