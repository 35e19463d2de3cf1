"""Read models the dashboard and the API show: the checks of a page of credentials (their
links' last statuses, with open flags on top), a run's progress, the newest run per
directory, queued and given-up pushes, credential titles. Read-only, a fixed number of
statements per page (never one per row), and nothing decided here.

Credential ids passed in come from a service call that already checked the actor may see
them (``vault.credentials.list/get``); each function checks ``vault.read`` itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from typing_extensions import TypedDict

from credsync.storage import Database, link_reads, push_queue, run_reads
from credsync.storage import flags as flag_rows
from credsync.storage import sync_credentials as credential_rows
from credsync.sync import lease
from credsync.sync.reports import RunReport, report_from_row
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import sees_directory_admin
from credsync.vault.flags import side_of
from credsync.vault.relays import Relay

__all__ = [
    "Check",
    "GivenUpPush",
    "LastRun",
    "Progress",
    "ProgressJson",
    "QueuedPush",
    "checks_of",
    "credential_titles",
    "given_up_pushes",
    "last_relay_runs",
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
            for r in link_reads.checks(conn, chunk):
                found[(r.credential_id, r.directory_id)] = Check(
                    r.credential_id,
                    r.directory_id,
                    r.directory_name,
                    side_of(r.directory_kind),
                    r.account_id,
                    r.status or "pending",
                    r.detail or "",
                    as_utc_opt(r.checked_at),
                )
            for f in flag_rows.open_checks(conn, chunk):
                found[(f.credential_id, f.directory_id)] = Check(
                    f.credential_id,
                    f.directory_id,
                    f.directory_name,
                    side_of(f.directory_kind),
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
        found = run_reads.progress(conn, run_id, actor.clients)
    if found is None:
        return None
    row, count = found
    if lease.abandoned(row, utcnow()):
        return Progress("aborted", count, lease.abandoned_message(row))
    return Progress(row.state, count, row.message)


@dataclass(frozen=True)
class LastRun:
    id: str
    state: str
    started_at: dt.datetime
    finished_at: dt.datetime | None


def last_runs(
    db: Database, actor: Actor, directory_ids: Collection[str] | None = None
) -> dict[str, LastRun]:
    """directory id -> its newest run (one statement; of ``directory_ids`` when given, None:
    every directory); a run whose process stopped shows as aborted."""
    actor.require(Permission.VAULT_READ)
    now = utcnow()
    with db.read() as conn:
        return {
            r.directory_id: last_run(r, now)
            for r in run_reads.newest_per_directory(conn, directory_ids)
        }


def last_run(row: run_reads.LastRunRow, now: dt.datetime) -> LastRun:
    """The newest run of a stored row; a run whose process stopped (as of ``now``) shows as
    aborted."""
    return LastRun(
        row.id,
        "aborted" if lease.abandoned(row, now) else row.state,
        as_utc(row.started_at),
        as_utc_opt(row.finished_at),
    )


def last_relay_runs(db: Database, actor: Actor, relays: Sequence[Relay]) -> dict[str, RunReport]:
    """relay id -> its newest run (a plan stores none; a run, dry or applied, is stored on
    the relay's target directory as ``relay:NAME``'s), for relays ``actor`` was shown; a
    statement per target directory."""
    actor.require(Permission.VAULT_READ)
    by_target: dict[str, dict[str, str]] = {}
    for relay in relays:
        by_target.setdefault(relay.target.id, {})[f"relay:{relay.name}"] = relay.id
    found: dict[str, RunReport] = {}
    with db.read() as conn:
        for directory_id, owners in by_target.items():
            for row in run_reads.newest_of_owners(conn, directory_id, owners):
                if row.owner is not None and actor.sees(row.client_id):
                    found[owners[row.owner]] = report_from_row(row)
    return found


@dataclass(frozen=True)
class QueuedPush:
    directory: str
    attempts: int
    last_error: str | None


def queued_pushes(db: Database, actor: Actor, credential_id: str) -> list[QueuedPush]:
    """Pushes of the credential's new password waiting for the agent (enforce, two-way)."""
    actor.require(Permission.VAULT_READ)
    with db.read() as conn:
        rows = push_queue.of_credential(conn, credential_id)
    return [QueuedPush(r.directory_name, r.attempts, r.last_error) for r in rows if not r.dead_at]


@dataclass(frozen=True)
class GivenUpPush:
    """A push of the credential's password the agent gave up: no longer tried (the periodic
    runs still push in enforce mode; a newer change of the password is queued afresh)."""

    directory: str
    attempts: int
    at: dt.datetime
    reason: str


def given_up_pushes(db: Database, actor: Actor, credential_id: str) -> list[GivenUpPush]:
    """Pushes of the credential's password the agent gave up, the oldest first."""
    actor.require(Permission.VAULT_READ)
    with db.read() as conn:
        rows = push_queue.of_credential(conn, credential_id)
    return [
        GivenUpPush(r.directory_name, r.attempts, as_utc(r.dead_at), r.dead_reason or "")
        for r in rows
        if r.dead_at is not None
    ]


def credential_titles(db: Database, actor: Actor, ids: Sequence[str]) -> dict[str, str]:
    """credential id -> title, for the ids the actor may see (run reports name credentials
    by id)."""
    actor.require(Permission.VAULT_READ)
    wanted = [i for i in dict.fromkeys(ids) if i]
    with db.read() as conn:
        return credential_rows.titles(
            conn, wanted, include_directory_admin=sees_directory_admin(actor)
        )
