"""The overview's read model (credsync.sync.overview) over a real run on the Graph simulator,
on SQLite and PostgreSQL: checks by status, open flags, the last completed run, runs and flags
a day, password ages; in a fixed number of statements whatever the vault's size."""

from __future__ import annotations

import datetime as dt

from credsync.sync.overview import AGE_EDGES_DAYS, Overview, overview
from credsync.vault._time import utcnow

from .entra import EntraWorld, strong
from .test_read_models import statements


def _of(ew: EntraWorld, now: dt.datetime | None = None, actor: object = None) -> Overview:
    """The overview as the page reads it: the directories' names read with its figures."""
    who = actor or ew.admin
    return overview(
        ew.vault.db,
        who,  # type: ignore[arg-type]
        ew.vault.clients.list(who),  # type: ignore[arg-type]
        now=now,
    )


def test_the_overview_counts_checks_flags_runs_and_ages(ew_both: EntraWorld) -> None:
    ew = ew_both
    for _ in range(3):
        ew.add(ew.add_user())
    reset = ew.add_user()
    ew.add(reset)
    ew.run(full=True)
    ew.later()
    ew.tenant.set_password(reset.id, strong())  # a portal reset: the vault's is stale
    ew.run(dry_run=True)  # dry runs count nowhere
    report = ew.run(full=True)
    found = _of(ew)

    (health,) = found.directories
    assert health.directory.name == ew.directory
    assert health.in_sync == 3
    assert health.linked == 4
    assert health.statuses == {"in_sync": 3, "changed_in_directory": 1}
    assert health.open_flags == found.open_flags == 1
    assert health.last_run is not None
    assert health.last_run.id == report.id
    assert health.last_done_at == report.finished_at

    assert len(found.runs_by_day) == 30
    assert found.runs_by_day[-1].day == utcnow().date()
    assert found.runs_by_day[-1].counts == {"done": 2}
    assert sum(d.total for d in found.runs_by_day) == 2
    assert found.flags_by_day[-1].counts == {"opened": 1, "resolved": 0, "open": 1}
    assert found.flags_by_day[0].counts == {"opened": 0, "resolved": 0, "open": 0}

    (ages,) = [a for a in found.ages if a.client == ew.client]
    assert ages.bands[0].count == ages.total >= 4  # all changed today (and the bind secret)
    later = _of(ew, now=utcnow() + dt.timedelta(days=AGE_EDGES_DAYS[-1] + 1))
    (aged,) = [a for a in later.ages if a.client == ew.client]
    assert aged.over_a_year == aged.total == ages.total
    assert [b.count for b in aged.bands[:-1]] == [0] * (len(AGE_EDGES_DAYS))


def test_the_overview_reads_a_fixed_number_of_statements(ew: EntraWorld) -> None:
    ew.add(ew.add_user())
    ew.run(full=True)
    counts = []
    for more in (0, 8):
        users = [ew.add_user() for _ in range(more)]
        for user in users:
            ew.add(user)
        ew.run(full=True)
        ew.later()
        for user in users[::2]:
            ew.tenant.set_password(user.id, strong())
        ew.run(full=True)
        clients = ew.vault.clients.list(ew.admin)
        with statements(ew) as seen:
            overview(ew.vault.db, ew.admin, clients)
        counts.append(len(seen))
    assert counts[0] == counts[1] <= 16  # the directories' names among them


def test_a_technician_s_overview_counts_their_directories_as_a_plain_count(
    ew_both: EntraWorld,
) -> None:
    """The overview reads a technician's directories alone (status counts, open flags, newest
    runs): the figures are a plain count of their directory's links and flags, and another
    client's directory is neither read nor shown."""
    import uuid

    import sqlalchemy as sa

    from credsync.storage.tables import flags, links
    from credsync.types import Secret

    from .entra import build_entra_world

    ew = ew_both
    users = [ew.add_user() for _ in range(3)]
    for user in users:
        ew.add(user)
    ew.run(full=True)
    ew.later()
    ew.tenant.set_password(users[0].id, strong())
    report = ew.run(full=True)
    other = build_entra_world(ew.vault_world, ew.sim)  # another client, not the technician's
    other.add(other.add_user())
    other.run(full=True)
    name = f"tech-{uuid.uuid4().hex[:8]}"
    ew.vault.operators.add(ew.admin, name, Secret("tech-password-1234"), "technician", [ew.client])
    tech = ew.vault.access.login_password(name, Secret("tech-password-1234"))

    found = _of(ew, actor=tech)
    (health,) = found.directories
    assert health.directory.name == ew.directory
    with ew.vault.db.read() as conn:
        plain = dict(
            conn.execute(
                sa.select(links.c.status, sa.func.count())
                .where(links.c.directory_id == health.directory.id)
                .group_by(links.c.status)
            ).all()
        )
        open_flags = conn.execute(
            sa.select(sa.func.count()).where(
                flags.c.directory_id == health.directory.id, flags.c.resolved_at.is_(None)
            )
        ).scalar_one()
    assert health.statuses == plain == {"in_sync": 2, "changed_in_directory": 1}
    assert health.open_flags == found.open_flags == open_flags == 1
    assert health.last_run is not None
    assert health.last_run.id == report.id
    assert other.client not in {a.client for a in found.ages}


def test_the_directories_named_by_the_overview_are_those_the_service_lists(
    ew_both: EntraWorld,
) -> None:
    """Read without their settings, the overview's directories are the ones (ids, names,
    clients) ``Directories.list`` gives the same operator, with the same figures."""
    from .entra import build_entra_world

    ew = ew_both
    ew.add(ew.add_user())
    ew.run(full=True)
    other = build_entra_world(ew.vault_world, ew.sim)
    other.add(other.add_user())
    other.run(full=True)
    clients = ew.vault.clients.list(ew.admin)
    listed = ew.vault.directories.list(ew.admin)
    named = overview(ew.vault.db, ew.admin, clients)
    given = overview(ew.vault.db, ew.admin, clients, listed, now=named.generated_at)
    assert {(d.id, d.client_id, d.client_name, d.name) for d in listed} == {
        (h.directory.id, h.directory.client_id, h.directory.client_name, h.directory.name)
        for h in named.directories
    }
    assert len(named.directories) >= 2
    assert named.directories == given.directories
    assert named.open_flags == given.open_flags
