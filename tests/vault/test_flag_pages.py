"""Flags a page at a time, on both backends, with more than 1,000 of them (made through their
storage owner): every page joins up to the whole with nothing left out or repeated, the
filters (client, directory, status, age) and the count agree, a bad cursor or filter is
refused naming the input, and flags of directory_admin credentials stay out of sight of
operators without directory_admin.use."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from credsync.errors import InvalidInput, NotFound
from credsync.storage import flags as flag_rows
from credsync.types import new_id
from credsync.vault.flags import FlagFilter, parse_moment

from .flag_seed import NOW, STATUSES, Seeded, flag_bind_credential, seed_flags
from .helpers import VaultWorld

COUNT = 1_150


@pytest.fixture(scope="module")
def seeded(shared_world: VaultWorld) -> tuple[VaultWorld, Seeded, Seeded]:
    """Client "Paged" with 1,150 flags in directory paged-ad, and client "Other" with 30 in
    other-ad (once per backend)."""
    world = shared_world
    world.vault.clients.add(world.admin, world.keys, "Paged")
    world.vault.clients.add(world.admin, world.keys, "Other")
    big = seed_flags(world, "Paged", COUNT, directory="paged-ad")
    small = seed_flags(world, "Other", 30, directory="other-ad", title="Other")
    return world, big, small


def _all_pages(world: Any, where: FlagFilter, size: int, actor: Any = None) -> list[Any]:
    seen: list[Any] = []
    cursor = None
    while True:
        found, cursor = world.vault.flags.page(
            actor or world.admin, where, limit=size, cursor=cursor
        )
        assert len(found) <= size
        seen += found
        if cursor is None:
            return seen
        assert len(seen) <= COUNT + 100, "the cursor loops"


def test_pages_join_up_to_every_flag_newest_first(seeded: Any) -> None:
    world, big, _ = seeded
    where = FlagFilter(client="Paged")
    flags = _all_pages(world, where, 100)
    assert len(flags) == COUNT > 1000
    assert len({f.id for f in flags}) == COUNT
    assert {f.credential_id for f in flags} == set(big.credential_ids)
    keys = [(-f.opened_at.timestamp(), f.id) for f in flags]
    assert keys == sorted(keys)  # the most recently opened first, then by id
    assert world.vault.flags.count(world.admin, where) == COUNT
    # Every one, without paging by hand: nothing cut at 1,000 any more.
    assert [f.id for f in world.vault.flags.list(world.admin, "Paged")] == [f.id for f in flags]
    assert len(world.vault.flags.list(world.admin)) == COUNT + 30
    first, cursor = world.vault.flags.page(world.admin, where, limit=1000)
    rest, last = world.vault.flags.page(world.admin, where, limit=1000, cursor=cursor)
    assert (len(first), len(rest), last) == (1000, COUNT - 1000, None)


def test_filters_by_client_directory_status_and_age(seeded: Any) -> None:
    world, big, small = seeded
    vault, admin = world.vault, world.admin

    def ids(**given: Any) -> set[str]:
        return {f.credential_id for f in _all_pages(world, FlagFilter(**given), 500)}

    assert ids(client="Other") == set(small.credential_ids)
    assert ids(directory="other-ad") == set(small.credential_ids)
    assert ids(directory=big.directory_id, client="Other") == set()
    mismatch = {c for n, c in enumerate(big.credential_ids) if STATUSES[n % 3] == "mismatch"}
    assert ids(client="Paged", status="mismatch") == mismatch
    assert ids(client="Paged", status="MISMATCH ") == mismatch
    assert ids(status="no_such_status") == set()
    # Opened 0, 1, ... 11 days (and a few seconds) ago, a hundred a day.
    recent = set(big.credential_ids[:200]) | set(small.credential_ids)
    assert ids(since="2d") == recent
    assert ids(older_than="2d") == set(big.credential_ids[200:])
    assert ids(older_than="2d", since="4d") == set(big.credential_ids[200:400])
    when = (NOW - dt.timedelta(days=5, hours=12)).isoformat()
    assert ids(client="Paged", since=when) == set(big.credential_ids[:600])
    day = (NOW - dt.timedelta(days=3)).date().isoformat()  # midnight UTC of that day
    assert ids(client="Paged", older_than=day) == set(big.credential_ids[400:])
    counted = vault.flags.count(admin, FlagFilter(client="Paged", status="mismatch", since="2d"))
    assert counted == len(mismatch & set(big.credential_ids[:200]))


def test_a_flag_keeps_its_place_while_it_changes(seeded: Any) -> None:
    """Paging goes by when a flag was opened: one updated (or closed) meanwhile neither
    jumps ahead nor comes back."""
    world, big, _ = seeded
    where = FlagFilter(client="Paged")
    first, cursor = world.vault.flags.page(world.admin, where, limit=100)
    later = big.credential_ids[150]  # on the second page
    with world.db.write() as conn:
        flag_rows.record_checks(
            conn,
            directory_id=big.directory_id,
            client_id=big.client_id,
            run_id=new_id(),
            found=[flag_rows.FlagCheck(later, "acct-150", "locked_out", "changed", None)],
            by="test",
            now=NOW + dt.timedelta(minutes=5),
        )
    rest: list[Any] = []
    while cursor is not None:
        found, cursor = world.vault.flags.page(world.admin, where, limit=300, cursor=cursor)
        rest += found
    ids = [f.id for f in first + rest]
    assert len(ids) == len(set(ids)) == COUNT
    assert any(f.credential_id == later and f.status == "locked_out" for f in rest)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "00000000-0000-0000-0000-000000000000"}, "cursor"),
        ({"cursor": "x" * 500}, "cursor"),
        ({"cursor": "é"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"where": FlagFilter(older_than="soon")}, "older_than"),
        ({"where": FlagFilter(since="7 days")}, "since"),
        ({"where": FlagFilter(since="99999999d")}, "since"),
        ({"where": FlagFilter(status="mismatch; drop table")}, "status"),
    ],
)
def test_bad_cursors_and_filters_are_refused_naming_them(
    seeded: Any, given: dict[str, Any], field: str
) -> None:
    world, _, _ = seeded
    with pytest.raises(InvalidInput) as refused:
        world.vault.flags.page(world.admin, **given)
    assert refused.value.fields == (field,)


def test_unknown_client_or_directory_is_not_found(seeded: Any) -> None:
    world, _, _ = seeded
    for where in (FlagFilter(client="Nobody"), FlagFilter(directory="nowhere")):
        with pytest.raises(NotFound):
            world.vault.flags.page(world.admin, where)


def test_ages_and_moments() -> None:
    now = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    assert parse_moment("30m", "since", now) == now - dt.timedelta(minutes=30)
    assert parse_moment("12h", "since", now) == now - dt.timedelta(hours=12)
    assert parse_moment(" 7D ", "since", now) == now - dt.timedelta(days=7)
    assert parse_moment("2w", "since", now) == now - dt.timedelta(weeks=2)
    assert parse_moment("2026-12-01", "since", now) == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    moment = parse_moment("2026-12-01T08:30:00+02:00", "since", now)
    assert moment == dt.datetime(2026, 12, 1, 6, 30, tzinfo=dt.UTC)
    assert parse_moment("2026-12-01T08:30:00Z", "since", now).hour == 8


def test_flags_of_directory_admin_credentials_stay_hidden(seeded: Any, role_actors: Any) -> None:
    world, big, _ = seeded
    hidden = flag_bind_credential(world, big)
    technician = role_actors("technician")
    where = FlagFilter(client="Paged")
    seen = _all_pages(world, where, 500, technician)
    assert hidden not in {f.id for f in seen}
    assert len(seen) == COUNT
    assert world.vault.flags.count(technician, where) == COUNT
    assert world.vault.flags.count(world.admin, where) == COUNT + 1
    with pytest.raises(InvalidInput) as refused:  # not even as a cursor
        world.vault.flags.page(technician, where, cursor=hidden)
    assert refused.value.fields == ("cursor",)
    assert world.vault.flags.of_ids(technician, [hidden, seen[0].id]) == [seen[0]]
    with pytest.raises(NotFound):
        world.vault.flags.get(technician, hidden)
    with world.db.write() as conn:  # as it was, for the other tests
        flag_rows.forget_credential(conn, big.bind_id)
