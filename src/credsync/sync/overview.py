"""The overview a technician starts the day with: per client and directory, the credentials'
last checks by status, open flags, the last completed run and the newest run's state; runs
and flags over the last weeks, a day at a time; and the age of the passwords per client, with
its rotation interval and how many are overdue (as the client list counted them, see
:mod:`credsync.vault.rotation`).

Built from a fixed number of grouped statements (see :mod:`credsync.storage.overview`), so
the page costs the same for 100 credentials as for 100,000. Needs vault.read; directory_admin
credentials count only for operators who may see them.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from credsync.storage import Database, run_reads
from credsync.storage import directories as directory_rows
from credsync.storage import overview as rows
from credsync.sync.views import LastRun, last_run
from credsync.vault._time import as_utc_opt, utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import sees_directory_admin
from credsync.vault.directories import Directory
from credsync.vault.models import Client

__all__ = [
    "AGE_EDGES_DAYS",
    "SHOWN",
    "AgeBand",
    "ClientAges",
    "DayCounts",
    "DirectoryHealth",
    "DirectoryName",
    "Overview",
    "overview",
]

AGE_EDGES_DAYS = (30, 90, 180, 365)  # password age bands: under 30 days, 30-89, ..., a year+
DAYS = 30  # days of runs and flags shown
_T = TypeVar("_T")
# Directories, and clients' password ages, shown at most: those that need attention most
# (an MSP's 500 clients would make a page of ~800 KB, most of it rows with nothing to do).
SHOWN = 50


@dataclass(frozen=True)
class AgeBand:
    label: str
    count: int


@dataclass(frozen=True)
class ClientAges:
    client_id: str
    client: str
    total: int
    bands: tuple[AgeBand, ...]
    rotate_every_days: int | None = None
    overdue: int = 0

    @property
    def over_a_year(self) -> int:
        return self.bands[-1].count


@dataclass(frozen=True)
class DirectoryName:
    """What the overview shows of a directory (not its settings: parsing 550 directories'
    settings to show 50 names cost more than any of the overview's statements)."""

    id: str
    client_id: str
    client_name: str
    name: str


@dataclass(frozen=True)
class DirectoryHealth:
    directory: DirectoryName
    statuses: dict[str, int]  # last check status -> links
    open_flags: int
    last_run: LastRun | None
    last_done_at: dt.datetime | None

    @property
    def linked(self) -> int:
        return sum(self.statuses.values())

    @property
    def in_sync(self) -> int:
        return self.statuses.get("in_sync", 0)


@dataclass(frozen=True)
class DayCounts:
    day: dt.date
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Overview:
    generated_at: dt.datetime
    directories: tuple[DirectoryHealth, ...]
    clients_without_directory: tuple[Client, ...]
    ages: tuple[ClientAges, ...]
    runs_by_day: tuple[DayCounts, ...]  # run states per day, oldest first
    flags_by_day: tuple[DayCounts, ...]  # opened, resolved and open (at the day's end)
    open_flags: int
    directories_total: int = 0  # of which ``directories`` are the SHOWN needing most attention
    clients_total: int = 0  # of which ``ages`` are the SHOWN with the most overdue


def _band_labels() -> tuple[str, ...]:
    edges = AGE_EDGES_DAYS
    labels = [f"under {edges[0]} days"]
    labels += [f"{lo}-{hi - 1} days" for lo, hi in itertools.pairwise(edges)]
    return (*labels, f"{edges[-1]} days or more")


def _attention(h: DirectoryHealth) -> tuple[int, int, int]:
    """The more, the sooner a directory needs a look: its newest run failed or aborted, its
    open flags, its checks not in sync."""
    failed = h.last_run is not None and h.last_run.state in ("failed", "aborted")
    return (int(failed), h.open_flags, h.linked - h.in_sync)


def _most(items: list[_T], key: Callable[[_T], Any]) -> list[_T]:
    """The :data:`SHOWN` of ``items`` with the largest ``key``, in their order."""
    if len(items) <= SHOWN:
        return items
    picked = {id(x) for x in sorted(items, key=key, reverse=True)[:SHOWN]}
    return [x for x in items if id(x) in picked]


def _days(today: dt.date) -> list[dt.date]:
    return [today - dt.timedelta(days=n) for n in range(DAYS - 1, -1, -1)]


def _flags_by_day(
    found: list[rows.DayRow], open_now: int, days: list[dt.date]
) -> tuple[DayCounts, ...]:
    """Opened and resolved per day, and the open flags at each day's end: today's count,
    walked back through the days after (undoing what each opened and resolved)."""
    opened: dict[dt.date, int] = defaultdict(int)
    resolved: dict[dt.date, int] = defaultdict(int)
    for r in found:
        (opened if r.what == "opened" else resolved)[r.day] += r.n
    out: list[DayCounts] = []
    still_open = open_now
    for day in reversed(days):
        out.append(
            DayCounts(
                day, {"opened": opened[day], "resolved": resolved[day], "open": max(still_open, 0)}
            )
        )
        still_open += resolved[day] - opened[day]
    return tuple(reversed(out))


def overview(
    db: Database,
    actor: Actor,
    clients: list[Client],
    listed: Sequence[Directory] | None = None,
    *,
    now: dt.datetime | None = None,
) -> Overview:
    """The overview of ``clients`` (as the services listed them for ``actor``) and the
    directories of the clients ``actor`` reaches (their names read here; ``listed``: those
    given instead): of more than :data:`SHOWN`, the directories that need attention most and
    the clients with the most credentials overdue (then the most credentials), their
    password ages read for them alone."""
    actor.require(Permission.VAULT_READ)
    now = now or utcnow()
    admin = sees_directory_admin(actor)
    aged = _most(clients, lambda c: (c.overdue_count or 0, c.credential_count or 0))
    days = _days(now.date())
    since = dt.datetime.combine(days[0], dt.time(), tzinfo=dt.UTC)
    with db.read() as conn:
        if listed is None:
            named = directory_rows.names(conn, actor.clients)
            directories = [DirectoryName(r.id, r.client_id, r.client_name, r.name) for r in named]
        else:
            directories = [DirectoryName(d.id, d.client_id, d.client_name, d.name) for d in listed]
        # An operator reaching some clients: only their directories are read (None: every one).
        scope = None if actor.clients is None else [d.id for d in directories]
        statuses = rows.status_counts(conn, include_directory_admin=admin, directory_ids=scope)
        flags_open = rows.open_flags_per_directory(
            conn, include_directory_admin=admin, directory_ids=scope
        )
        runs = run_reads.newest_and_last_done(conn, scope)
        run_days = rows.runs_per_day(conn, since, actor.clients)
        flag_days = rows.flags_per_day(
            conn, since, include_directory_admin=admin, client_ids=actor.clients
        )
        ages = rows.age_buckets(
            conn, now, AGE_EDGES_DAYS, [c.id for c in aged], include_directory_admin=admin
        )
    at_once = utcnow()  # runs whose process stopped show as aborted (as of the clock)
    newest = {d: last_run(r, at_once) for d, (r, _) in runs.items() if r is not None}
    done_at = {d: at for d, (_, at) in runs.items() if at is not None}
    by_directory: dict[str, dict[str, int]] = defaultdict(dict)
    for s in statuses:
        by_directory[s.directory_id][s.status] = s.n
    health = [
        DirectoryHealth(
            d,
            by_directory.get(d.id, {}),
            flags_open.get(d.id, 0),
            newest.get(d.id),
            as_utc_opt(done_at.get(d.id)),
        )
        for d in sorted(directories, key=lambda d: (d.client_name.casefold(), d.name.casefold()))
    ]
    with_directory = {d.client_id for d in directories}
    # Open flags of the directories listed (those of the clients the actor reaches).
    open_flags = sum(flags_open.get(d.id, 0) for d in directories)
    per_day: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for r in run_days:
        per_day[r.day][r.what] = r.n
    labels = _band_labels()
    age_counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(labels))
    for a in ages:
        age_counts[a.client_id][a.bucket] += a.n
    return Overview(
        generated_at=now,
        directories=tuple(_most(health, _attention)),
        clients_without_directory=tuple(c for c in clients if c.id not in with_directory),
        ages=tuple(
            ClientAges(
                c.id,
                c.name,
                sum(age_counts[c.id]),
                tuple(AgeBand(lbl, n) for lbl, n in zip(labels, age_counts[c.id], strict=True)),
                c.rotate_every_days,
                c.overdue_count or 0,
            )
            for c in aged
        ),
        runs_by_day=tuple(DayCounts(day, per_day.get(day, {})) for day in days),
        flags_by_day=_flags_by_day(flag_days, open_flags, days),
        open_flags=open_flags,
        directories_total=len(directories),
        clients_total=len(clients),
    )
