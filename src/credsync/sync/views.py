"""Read models the dashboard and the API show: the checks of a page of credentials (their
links' last statuses, with open flags on top), a run's progress, the newest run per
directory, queued pushes, credential titles. Read-only, a fixed number of statements per
page (never one per row), and nothing decided here.

Credential ids passed in come from a service call that already checked the actor may see
them (``vault.credentials.list/get``); each function checks ``vault.read`` itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from typing_extensions import TypedDict

from credsync.storage import Database
from credsync.storage.tables import (
    credentials,
    directories,
    flags,
    links,
    run_items,
    runs,
    sync_queue,
)
from credsync.sync import lease
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import visible_to
from credsync.vault.flags import side_of

__all__ = [
    "Check",
    "LastRun",
    "Progress",
    "ProgressJson",
    "QueuedPush",
    "checks_of",
    "credential_titles",
    "last_runs",
    "queued_pushes",
    "run_progress",
]

_CHUNK = 500  # ids per IN (...) list


@dataclass(frozen=True)
class Check:
    """The last known state of one credential in one directory: its link's status, or the
    open flag's when there is one (an unmatched credential has a flag and no link)."""

    credential_id: str
    directory_id: str
    directory: str
    side: str
    account_id: str | None
    status: str
    detail: str
    checked_at: dt.datetime | None
    flag_id: str | None = None


def checks_of(db: Database, actor: Actor, credential_ids: Sequence[str]) -> dict[str, list[Check]]:
    """credential id -> its checks, by directory name (two statements for the whole page)."""
    actor.require(Permission.VAULT_READ)
    ids = list(dict.fromkeys(credential_ids))
    found: dict[tuple[str, str], Check] = {}
    with db.read() as conn:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for r in conn.execute(
                sa.select(
                    links.c.credential_id,
                    links.c.directory_id,
                    links.c.account_id,
                    links.c.status,
                    links.c.detail,
                    links.c.checked_at,
                    directories.c.name,
                    directories.c.kind,
                )
                .join(directories, directories.c.id == links.c.directory_id)
                .where(links.c.credential_id.in_(chunk))
            ):
                found[(r.credential_id, r.directory_id)] = Check(
                    r.credential_id,
                    r.directory_id,
                    r.name,
                    side_of(r.kind),
                    r.account_id,
                    r.status or "pending",
                    r.detail or "",
                    as_utc_opt(r.checked_at),
                )
            for f in conn.execute(
                sa.select(
                    flags.c.id,
                    flags.c.credential_id,
                    flags.c.directory_id,
                    flags.c.account_id,
                    flags.c.status,
                    flags.c.detail,
                    flags.c.updated_at,
                    directories.c.name,
                    directories.c.kind,
                )
                .join(directories, directories.c.id == flags.c.directory_id)
                .where(flags.c.credential_id.in_(chunk), flags.c.resolved_at.is_(None))
            ):
                found[(f.credential_id, f.directory_id)] = Check(
                    f.credential_id,
                    f.directory_id,
                    f.name,
                    side_of(f.kind),
                    f.account_id,
                    f.status,
                    f.detail,
                    as_utc(f.updated_at),
                    flag_id=f.id,
                )
    out: dict[str, list[Check]] = {}
    for check in sorted(found.values(), key=lambda c: (c.directory.casefold(), c.directory_id)):
        out.setdefault(check.credential_id, []).append(check)
    return out


class ProgressJson(TypedDict):
    """What the run page polls while the run is going."""

    state: str
    items: int
    message: str


@dataclass(frozen=True)
class Progress:
    state: str
    items: int
    message: str

    def to_json(self) -> ProgressJson:
        return ProgressJson(state=self.state, items=self.items, message=self.message)


def run_progress(db: Database, actor: Actor, run_id: str) -> Progress | None:
    """How far a run has come: its state and how many report items it has stored (a run
    whose process stopped shows as aborted, as its report does)."""
    actor.require(Permission.VAULT_READ)
    with db.read() as conn:
        row = conn.execute(
            sa.select(runs.c.state, runs.c.message, runs.c.started_at, runs.c.heartbeat_at).where(
                runs.c.id == run_id
            )
        ).first()
        if row is None:
            return None
        count = conn.execute(
            sa.select(sa.func.count()).select_from(run_items).where(run_items.c.run_id == run_id)
        ).scalar_one()
    if lease.abandoned(row, utcnow()):
        return Progress("aborted", int(count), lease.abandoned_message(row))
    return Progress(row.state, int(count), row.message)


@dataclass(frozen=True)
class LastRun:
    id: str
    state: str
    started_at: dt.datetime
    finished_at: dt.datetime | None


def last_runs(db: Database, actor: Actor) -> dict[str, LastRun]:
    """directory id -> its newest run (one statement); a run whose process stopped shows
    as aborted."""
    actor.require(Permission.VAULT_READ)
    newest = (
        sa.select(runs.c.directory_id, sa.func.max(runs.c.started_at).label("at"))
        .group_by(runs.c.directory_id)
        .subquery()
    )
    query = sa.select(
        runs.c.id,
        runs.c.directory_id,
        runs.c.state,
        runs.c.started_at,
        runs.c.finished_at,
        runs.c.heartbeat_at,
    ).join(
        newest,
        sa.and_(newest.c.directory_id == runs.c.directory_id, newest.c.at == runs.c.started_at),
    )
    now = utcnow()
    with db.read() as conn:
        return {
            r.directory_id: LastRun(
                r.id,
                "aborted" if lease.abandoned(r, now) else r.state,
                as_utc(r.started_at),
                as_utc_opt(r.finished_at),
            )
            for r in conn.execute(query)
        }


@dataclass(frozen=True)
class QueuedPush:
    directory: str
    attempts: int
    last_error: str | None


def queued_pushes(db: Database, actor: Actor, credential_id: str) -> list[QueuedPush]:
    """Pushes of the credential's new password waiting for the agent (enforce mode)."""
    actor.require(Permission.VAULT_READ)
    with db.read() as conn:
        rows = conn.execute(
            sa.select(directories.c.name, sync_queue.c.attempts, sync_queue.c.last_error)
            .join(directories, directories.c.id == sync_queue.c.directory_id)
            .where(sync_queue.c.credential_id == credential_id)
            .order_by(sync_queue.c.id)
        )
        return [QueuedPush(r.name, r.attempts, r.last_error) for r in rows]


def credential_titles(db: Database, actor: Actor, ids: Sequence[str]) -> dict[str, str]:
    """credential id -> title, for the ids the actor may see (run reports name credentials
    by id)."""
    actor.require(Permission.VAULT_READ)
    wanted = [i for i in dict.fromkeys(ids) if i]
    out: dict[str, str] = {}
    with db.read() as conn:
        for start in range(0, len(wanted), _CHUNK):
            rows = conn.execute(
                sa.select(credentials.c.id, credentials.c.title).where(
                    credentials.c.id.in_(wanted[start : start + _CHUNK]), visible_to(actor)
                )
            )
            out.update({r.id: r.title for r in rows})
    return out
