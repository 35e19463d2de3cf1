"""The links' kept counts (``link_counts``, revision 0048's triggers) on both backends: after
every kind of write to ``links`` - links made by a run (one bulk insert), checks that change
a status and checks that don't, a confirmation, a credential forgotten, a directory
forgotten - the sums equal a plain count of the links by directory and status; an update that
changes no status adds no row; folding keeps the sums and leaves a row a directory and
status, none for a directory whose links are gone."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import sqlalchemy as sa

from credsync.storage import link_counts
from credsync.storage import links as link_rows
from credsync.storage.tables import link_counts as link_counts_table
from credsync.storage.tables import links
from vault.flag_seed import add_ad_directory
from vault.helpers import VaultWorld, down_and_up_again

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _plain(world: VaultWorld) -> dict[tuple[str, str | None], int]:
    with world.db.read() as conn:
        rows = conn.execute(
            sa.select(links.c.directory_id, links.c.status, sa.func.count()).group_by(
                links.c.directory_id, links.c.status
            )
        )
        return {(d, s): int(n) for d, s, n in rows}


def _kept(
    world: VaultWorld, directory_ids: list[str] | None = None
) -> dict[tuple[str, str | None], int]:
    with world.db.read() as conn:
        return link_counts.sums(conn, directory_ids)


def _rows(world: VaultWorld) -> int:
    with world.db.read() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(link_counts_table)).scalar_one()
        )


def _credentials(world: VaultWorld, client: str, count: int) -> list[str]:
    vault, admin, keys = world.vault, world.admin, world.keys
    vault.clients.add(admin, keys, client)
    csv = "title,username,password\n" + "".join(
        f"Kept {n:03d},kept{n:03d}@contoso.example,Kept-Pa55-{n}!\n" for n in range(count)
    )
    report = vault.csv.import_csv(admin, keys, client, io.BytesIO(csv.encode()), source_name="t")
    assert report.imported == count
    page = vault.credentials.list(admin, client, limit=1000)
    return sorted(c.id for c in page.items if c.title.startswith("Kept "))


def _record(world: VaultWorld, directory_id: str, found: list[link_rows.LinkCheck]) -> None:
    with world.db.write() as conn:
        link_rows.record(conn, directory_id, found, by="test", now=NOW)


def test_the_kept_counts_follow_every_write_to_the_links(world: VaultWorld) -> None:
    ids = _credentials(world, "Contoso", 30)
    ours, _ = add_ad_directory(world, "Contoso", "contoso-ad")
    theirs, _ = add_ad_directory(world, "Contoso", "contoso-ad-2")
    statuses = ("in_sync", "mismatch", "account_disabled")
    made = [
        link_rows.LinkCheck(cid, f"acct-{n}", statuses[n % 3], "", {}, new=True)
        for n, cid in enumerate(ids)
    ]
    _record(world, ours, made)  # one bulk insert per set of columns
    _record(world, theirs, [c._replace(account_id=f"b-{c.account_id}") for c in made[:10]])
    assert _kept(world) == _plain(world)
    assert _kept(world)[ours, "mismatch"] == 10
    assert _kept(world, [theirs]) == {k: n for k, n in _plain(world).items() if k[0] == theirs}

    rows = _rows(world)
    same = [link_rows.LinkCheck(c.credential_id, c.account_id, c.status, "", {}) for c in made]
    _record(world, ours, same)  # every link checked again, no status changed
    assert _rows(world) == rows, "an update that changes no status adds nothing"

    moved = [
        link_rows.LinkCheck(cid, f"acct-{n}", "in_sync", "", {"confirmed_stamp": "s1"})
        for n, cid in enumerate(ids[:12])
    ]
    _record(world, ours, moved)  # an executemany with state columns
    _record(world, ours, [link_rows.LinkCheck(ids[20], "acct-20", "unreachable", "", {})])
    with world.db.write() as conn:
        link_rows.confirm(conn, ids[21], ours, stamp="s2", secret_version=1,
                          status="locked_out", detail="", now=NOW)  # fmt: skip
    assert _kept(world) == _plain(world)
    assert _kept(world)[ours, "in_sync"] == 10 + 8 - 1  # 10 made, 8 moved there, 1 away

    with world.db.write() as conn:
        link_rows.forget_credential(conn, ids[0])  # in both directories
    assert _kept(world) == _plain(world)
    with world.db.write() as conn:
        link_rows.forget_directory(conn, theirs)
    assert _kept(world) == _plain(world)
    assert not _kept(world, [theirs])


def test_folding_keeps_the_sums_in_a_row_a_directory_and_status(world: VaultWorld) -> None:
    ids = _credentials(world, "Fabrikam", 12)
    ours, _ = add_ad_directory(world, "Fabrikam", "fabrikam-ad")
    gone, _ = add_ad_directory(world, "Fabrikam", "fabrikam-ad-2")
    for n, cid in enumerate(ids):  # a statement per link: a row each before the fold
        _record(world, ours, [link_rows.LinkCheck(cid, f"a{n}", "pending_x", "", {}, new=True)])
        _record(world, gone, [link_rows.LinkCheck(cid, f"b{n}", "in_sync", "", {}, new=True)])
    for status in ("mismatch", "in_sync", "mismatch"):
        _record(world, ours, [link_rows.LinkCheck(cid, "", status, "", {}) for cid in ids[:5]])
    with world.db.write() as conn:
        link_rows.forget_directory(conn, gone)
    before = _kept(world)
    assert before == _plain(world)
    with world.db.write() as conn:
        rows_before, rows_after = link_counts.fold(conn)
    assert rows_before > rows_after
    assert _kept(world) == before == _plain(world)
    assert rows_after == _rows(world) == len(_plain(world)) == 2  # no row of the gone directory
    counted = Counter({k[1]: n for k, n in _kept(world).items()})
    assert counted == Counter({"pending_x": 7, "mismatch": 5})


def test_the_revision_counts_the_links_there_are_and_goes_down_cleanly(world: VaultWorld) -> None:
    ids = _credentials(world, "Northwind", 9)
    ours, _ = add_ad_directory(world, "Northwind", "northwind-ad")
    _record(world, ours, [
        link_rows.LinkCheck(cid, f"a{n}", ("in_sync", "mismatch")[n % 2], "", {}, new=True)
        for n, cid in enumerate(ids)
    ])  # fmt: skip
    down_and_up_again(world, "0047", {"link_counts"})  # triggers dropped, then made again
    assert _kept(world) == _plain(world) == {(ours, "in_sync"): 5, (ours, "mismatch"): 4}
    assert _rows(world) == 2  # made from the links in one statement
    _record(world, ours, [link_rows.LinkCheck(ids[1], "a1", "in_sync", "", {})])
    assert _kept(world) == _plain(world)  # and kept again


def test_sqlite_adds_to_a_directory_and_status_s_row_in_place(world: VaultWorld) -> None:
    """SQLite (one writer: nobody waits on a count row) adds to the row of a directory and
    status in place (revision 0050): links made a statement each, moved and forgotten leave a
    row a key, not a row a change; PostgreSQL adds rows (folded hourly). Both sum to a
    plain count."""
    ids = _credentials(world, "Tailspin", 10)
    ours, _ = add_ad_directory(world, "Tailspin", "tailspin-ad")
    for n, cid in enumerate(ids):
        _record(world, ours, [link_rows.LinkCheck(cid, f"a{n}", "in_sync", "", {}, new=True)])
    _record(world, ours, [link_rows.LinkCheck(cid, "", "mismatch", "", {}) for cid in ids[:4]])
    with world.db.write() as conn:
        link_rows.forget_credential(conn, ids[9])
    assert _kept(world) == _plain(world) == {(ours, "in_sync"): 5, (ours, "mismatch"): 4}
    assert _rows(world) == 2 if world.db.is_sqlite else _rows(world) > 2
