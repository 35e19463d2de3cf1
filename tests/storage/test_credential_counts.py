"""The credentials' kept counts (``credential_counts``, revision 0049's triggers) on both
backends: after every kind of write to ``credentials`` - an import (one bulk insert), a
credential to the trash and back, one purged, one made directory_admin, one moved to another
client, an edit that touches none of the counted columns - the clients' list counts equal a
plain count of the live credentials per client (with and without directory_admin ones); an
update that moves nothing adds no row; folding keeps the counts; the revision's round trip
makes them from the credentials there are."""

from __future__ import annotations

import io

import sqlalchemy as sa

from credsync.storage import clients as client_rows
from credsync.storage import credential_counts
from credsync.storage.tables import credential_counts as counts_table
from credsync.storage.tables import credentials
from vault.helpers import VaultWorld, add_bind_credential, down_and_up_again

CLIENTS = ("Counted North", "Counted South")


def _plain(world: VaultWorld, admin: bool) -> dict[str, int]:
    with world.db.read() as conn:
        query = (
            sa.select(credentials.c.client_id, sa.func.count())
            .where(credentials.c.deleted_at.is_(None))
            .group_by(credentials.c.client_id)
        )
        if not admin:
            query = query.where(credentials.c.type != "directory_admin")
        return {c: int(n) for c, n in conn.execute(query)}


def _kept(world: VaultWorld, admin: bool) -> dict[str, int]:
    with world.db.read() as conn:
        found = client_rows.list_with_counts(
            conn, include_archived=True, include_directory_admin=admin
        )
    return {row.id: n for row, n in found if n}


def _rows(world: VaultWorld) -> int:
    with world.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(counts_table)).scalar_one())


def _same(world: VaultWorld) -> None:
    for admin in (True, False):
        assert _kept(world, admin) == _plain(world, admin)


def _import(world: VaultWorld, client: str, count: int) -> list[str]:
    vault, admin, keys = world.vault, world.admin, world.keys
    vault.clients.add(admin, keys, client)
    csv = "title,username,password\n" + "".join(
        f"Counted {n:03d},counted{n:03d}@contoso.example,Counted-Pa55-{n}!\n" for n in range(count)
    )
    report = vault.csv.import_csv(admin, keys, client, io.BytesIO(csv.encode()), source_name="t")
    assert report.imported == count
    page = vault.credentials.list(admin, client, limit=1000)
    return sorted(c.id for c in page.items if c.title.startswith("Counted "))


def test_the_kept_counts_follow_every_write_to_the_credentials(world: VaultWorld) -> None:
    north = _import(world, CLIENTS[0], 7)
    _import(world, CLIENTS[1], 3)
    bind = add_bind_credential(world, CLIENTS[0])
    _same(world)
    vault, admin = world.vault, world.admin
    vault.credentials.delete(admin, north[0])  # to the trash
    vault.credentials.delete(admin, north[1])
    _same(world)
    vault.credentials.restore(admin, north[1])  # and back
    _same(world)
    vault.credentials.purge(admin, north[0])  # gone from the trash: counted already
    _same(world)
    before = _rows(world)
    with world.db.write() as conn:  # an edit of nothing counted
        conn.execute(
            credentials.update().where(credentials.c.id == north[2]).values(url="https://x.example")
        )
    assert _rows(world) == before
    south_id = next(iter(set(_plain(world, True)) - {bind.client_id}))
    with world.db.write() as conn:  # moved to another client, made directory_admin
        conn.execute(
            credentials.update().where(credentials.c.id == north[3]).values(client_id=south_id)
        )
        conn.execute(
            credentials.update().where(credentials.c.id == north[4]).values(type="directory_admin")
        )
    _same(world)
    assert _kept(world, True) != _kept(world, False)


def test_folding_keeps_the_counts_in_a_row_a_client_and_kind(world: VaultWorld) -> None:
    north = _import(world, CLIENTS[0], 5)
    add_bind_credential(world, CLIENTS[0])
    for ref in north[:3]:
        world.vault.credentials.delete(world.admin, ref)
    # PostgreSQL adds a row a statement; SQLite adds to a client and kind's row in place
    # (revision 0050)
    assert _rows(world) == 2 if world.db.is_sqlite else _rows(world) > 2
    with world.db.write() as conn:
        before, after = credential_counts.fold(conn)
    assert before >= after == _rows(world) == 2  # North's: plain ones, directory_admin ones
    _same(world)


def test_the_revision_counts_the_credentials_there_are(world: VaultWorld) -> None:
    north = _import(world, CLIENTS[0], 4)
    world.vault.credentials.delete(world.admin, north[0])
    down_and_up_again(world, "0048", {"credential_counts"})
    assert _rows(world) == 1  # made in one statement
    _same(world)
    world.vault.credentials.delete(world.admin, north[1])
    _same(world)  # and kept again
