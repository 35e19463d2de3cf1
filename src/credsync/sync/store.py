"""What the engine reads from and writes to the database: the directory's account cache,
links, runs and their items, flags, and the push queue. Callers own the transactions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.connectors.base import Account
from credsync.storage.tables import (
    clients,
    credentials,
    directories,
    directory_accounts,
    flags,
    links,
    run_items,
)
from credsync.sync.model import PROBLEMS, CredentialState, LinkState, Outcome, Status
from credsync.types import SyncMode, new_id
from credsync.vault._time import as_utc_opt
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor
from credsync.vault.secrets import effective_mode

__all__ = [
    "account_from_row",
    "add_items",
    "audit_run",
    "claimed_elsewhere",
    "load_accounts_for",
    "load_links",
    "record_outcomes",
    "replace_accounts",
    "summary_json",
    "sync_credentials",
]

_ACCOUNT_COLUMNS = (
    "username",
    "upn",
    "domain",
    "display_name",
    "dn",
    "enabled",
    "locked_out",
    "password_expired",
    "must_change_password",
    "password_stamp",
    "password_changed_at",
    "synced_from_on_premises",
    "protected",
)


def sync_credentials(
    conn: Connection,
    client_id: str,
    *,
    include_off: bool = False,
    ids: Sequence[str] | None = None,
) -> list[CredentialState]:
    """The client's credentials that take part in sync (report or enforce), by title. None
    when the client's directory_sync switch is off. ``include_off``: every live credential,
    whatever its mode and the switch (an operator acting on one by hand). ``ids``: only these
    (at most a few hundred)."""
    mode = effective_mode().label("mode")
    modes = [m.value for m in SyncMode] if include_off else [SyncMode.REPORT, SyncMode.ENFORCE]
    rows = conn.execute(
        sa.select(
            credentials.c.id,
            credentials.c.title,
            credentials.c.username,
            credentials.c.secret_version,
            credentials.c.password_changed_at,
            mode,
        )
        .join(clients, clients.c.id == credentials.c.client_id)
        .where(
            credentials.c.client_id == client_id,
            credentials.c.deleted_at.is_(None),
            clients.c.directory_sync.is_(True) if not include_off else sa.true(),
            clients.c.archived_at.is_(None),
            mode.in_([str(m) for m in modes]),
        )
        .order_by(credentials.c.title_key, credentials.c.id)
        .where(credentials.c.id.in_(list(ids)) if ids is not None else sa.true())
    )
    return [
        CredentialState(
            r.id,
            r.title,
            r.username,
            SyncMode(r.mode),
            r.secret_version,
            as_utc_opt(r.password_changed_at),
        )
        for r in rows
    ]


def load_links(
    conn: Connection, directory_id: str, ids: Sequence[str] | None = None
) -> dict[str, LinkState]:
    """The directory's links by credential id (``ids``: only these, at most a few hundred)."""
    query = sa.select(links).where(links.c.directory_id == directory_id)
    if ids is not None:
        query = query.where(links.c.credential_id.in_(list(ids)))
    rows = conn.execute(query)
    return {
        r.credential_id: LinkState(
            r.account_id,
            r.confirmed_stamp,
            r.confirmed_secret_version,
            r.failed_stamp,
            r.failed_secret_version,
            r.accepted_stamp,
            r.status,
        )
        for r in rows
    }


def account_from_row(row: Any) -> Account:
    return Account(
        id=row.account_id,
        **{name: getattr(row, name) for name in _ACCOUNT_COLUMNS if name != "password_changed_at"},
        password_changed_at=as_utc_opt(row.password_changed_at),
    )


_INSERT_ROWS = 5000  # accounts stored per statement: memory stays flat for big directories


def name_keys(username: str) -> set[str]:
    """The cached name keys an account must have for ``username`` to match it (the
    planner's rules: the name as typed, and for ``DOMAIN\\name`` also the name part)."""
    wanted = username.strip().casefold()
    if not wanted:
        return set()
    keys = {wanted}
    if "\\" in wanted:
        keys.add(wanted.split("\\", 1)[1])
    return keys


def load_accounts_for(
    conn: Connection,
    directory_id: str,
    creds: Iterable[CredentialState],
    links: Mapping[str, LinkState],
) -> dict[str, Account]:
    """The cached accounts a plan over ``creds`` can touch: those linked to them, and every
    one an unlinked credential's username may match by name (a superset: the planner
    matches exactly). A directory of 100,000 users with 5,000 credentials reads 5,000 rows."""
    ids: list[str] = []
    keys: set[str] = set()
    for cred in creds:
        link = links.get(cred.id)
        if link is not None:
            ids.append(link.account_id)
        else:
            keys |= name_keys(cred.username)
    table = directory_accounts
    out: dict[str, Account] = {}
    in_directory = table.c.directory_id == directory_id
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            sa.select(table).where(in_directory, table.c.account_id.in_(ids[start : start + 500]))
        )
        out.update((r.account_id, account_from_row(r)) for r in rows)
    wanted = sorted(keys)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = conn.execute(
            sa.select(table).where(
                in_directory, sa.or_(table.c.username_key.in_(chunk), table.c.upn_key.in_(chunk))
            )
        )
        out.update((r.account_id, account_from_row(r)) for r in rows)
    return out


def replace_accounts(
    conn: Connection,
    directory_id: str,
    changed: Sequence[Account],
    removed: Iterable[str],
    now: dt.datetime,
    *,
    full: bool,
) -> None:
    """Store what the directory said: a full read replaces the cache, an incremental one
    replaces the changed accounts and drops the removed ones."""
    table = directory_accounts
    if full:
        conn.execute(table.delete().where(table.c.directory_id == directory_id))
    else:
        gone = [a.id for a in changed] + list(removed)
        for start in range(0, len(gone), 500):
            conn.execute(
                table.delete().where(
                    table.c.directory_id == directory_id,
                    table.c.account_id.in_(gone[start : start + 500]),
                )
            )
    for start in range(0, len(changed), _INSERT_ROWS):  # rows built a slice at a time
        conn.execute(
            table.insert(),
            [
                {
                    "directory_id": directory_id,
                    "account_id": a.id,
                    **{name: getattr(a, name) for name in _ACCOUNT_COLUMNS},
                    "username_key": a.username.casefold(),
                    "upn_key": a.upn.casefold() if a.upn else None,
                    "seen_at": now,
                }
                for a in changed[start : start + _INSERT_ROWS]
            ],
        )


def claimed_elsewhere(
    conn: Connection, directory_id: str, account_ids: Iterable[str]
) -> dict[str, str]:
    """Which of ``account_ids`` are linked through another directory (the same domain added
    twice, or reached by two clients): account id -> that directory's name."""
    out: dict[str, str] = {}
    ids = list(account_ids)
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            sa.select(links.c.account_id, directories.c.name)
            .join(directories, directories.c.id == links.c.directory_id)
            .where(
                links.c.directory_id != directory_id,
                links.c.account_id.in_(ids[start : start + 500]),
            )
        )
        out.update({r.account_id: r.name for r in rows})
    return out


def linked_in_other_directories(
    conn: Connection, directory_id: str, client_id: str, *, kinds: Sequence[str]
) -> dict[str, str]:
    """Credentials of the client linked in another of its directories of one of ``kinds``:
    credential id -> that directory's name (the side an on-premises-synced account is
    managed from)."""
    rows = conn.execute(
        sa.select(links.c.credential_id, directories.c.name)
        .join(directories, directories.c.id == links.c.directory_id)
        .where(
            directories.c.client_id == client_id,
            directories.c.kind.in_(kinds),
            links.c.directory_id != directory_id,
        )
        .order_by(directories.c.name_key)
    )
    out: dict[str, str] = {}
    for row in rows:
        out.setdefault(row.credential_id, row.name)
    return out


def add_items(conn: Connection, run_id: str, start: int, outcomes: Sequence[Outcome]) -> None:
    if not outcomes:
        return
    conn.execute(
        run_items.insert(),
        [
            {
                "run_id": run_id,
                "seq": start + n,
                "credential_id": o.item.credential_id,
                "account_id": o.item.account_id,
                "account_name": o.item.account_name,
                "status": o.status.value,
                "action": o.action.value,
                "detail": o.detail,
                "at": at,
            }
            for n, (o, at) in enumerate((o, dt.datetime.now(dt.UTC)) for o in outcomes)
        ],
    )


_NOT_LINKED = (Status.UNMATCHED, Status.AMBIGUOUS, Status.CONFLICT, Status.SKIPPED)


def record_outcomes(
    conn: Connection,
    *,
    directory_id: str,
    client_id: str,
    run_id: str,
    actor: str,
    outcomes: Sequence[Outcome],
    link_updates: dict[str, dict[str, Any]],
    now: dt.datetime,
) -> None:
    """Links made or changed, and flags opened, updated or resolved, for ``outcomes``.
    ``link_updates``: credential id -> the link columns to write (from the executor).

    The common case of a periodic run, thousands of credentials in step with no bind, costs one
    UPDATE per status and detail and one read of the open flags, not a statement per credential.
    """
    touched: dict[tuple[str, str], list[str]] = {}
    changed: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for outcome in outcomes:
        cid = outcome.item.credential_id
        if cid is None or outcome.item.account_id is None or outcome.status in _NOT_LINKED:
            continue
        values = dict(link_updates.get(cid, {}))
        if outcome.item.new_link:
            conn.execute(
                links.insert().values(
                    credential_id=cid,
                    directory_id=directory_id,
                    account_id=outcome.item.account_id,
                    linked_at=now,
                    linked_by=actor,
                    status=outcome.status.value,
                    detail=outcome.detail,
                    checked_at=now,
                    **values,
                )
            )
        elif values:
            row = {"status": outcome.status.value, "detail": outcome.detail, **values}
            changed.setdefault(tuple(sorted(row)), []).append({"cid": cid, **row})
        else:
            touched.setdefault((outcome.status.value, outcome.detail), []).append(cid)
    for columns, rows in changed.items():  # one executemany per set of columns
        conn.execute(
            links.update()
            .where(
                links.c.directory_id == directory_id,
                links.c.credential_id == sa.bindparam("cid"),
            )
            .values(checked_at=now, **{name: sa.bindparam(name) for name in columns}),
            rows,
        )
    for (status, detail), ids in touched.items():
        for start in range(0, len(ids), 500):
            conn.execute(
                links.update()
                .where(
                    links.c.directory_id == directory_id,
                    links.c.credential_id.in_(ids[start : start + 500]),
                )
                .values(status=status, detail=detail, checked_at=now)
            )
    flagged = [o for o in outcomes if o.item.credential_id and o.status is not Status.SKIPPED]
    open_flags = _open_flags(conn, directory_id, [o.item.credential_id or "" for o in flagged])
    for outcome in flagged:
        _flag(conn, outcome, open_flags.get(outcome.item.credential_id or ""),
              directory_id, client_id, run_id, actor, now)  # fmt: skip


def _open_flags(conn: Connection, directory_id: str, credential_ids: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(credential_ids), 500):
        rows = conn.execute(
            sa.select(flags.c.id, flags.c.credential_id, flags.c.status, flags.c.detail).where(
                flags.c.directory_id == directory_id,
                flags.c.resolved_at.is_(None),
                flags.c.credential_id.in_(credential_ids[start : start + 500]),
            )
        )
        found.update({r.credential_id: r for r in rows})
    return found


def _flag(
    conn: Connection,
    outcome: Outcome,
    open_flag: Any,
    directory_id: str,
    client_id: str,
    run_id: str,
    actor: str,
    now: dt.datetime,
) -> None:
    cid = outcome.item.credential_id
    problem = outcome.status in PROBLEMS and not outcome.item.accepted
    if not problem:
        if open_flag is not None:
            conn.execute(
                flags.update()
                .where(flags.c.id == open_flag.id)
                .values(
                    resolved_at=now,
                    resolved_by=actor,
                    resolution="accepted" if outcome.item.accepted else "in_sync",
                    updated_at=now,
                    run_id=run_id,
                )
            )
        return
    if open_flag is None:
        conn.execute(
            flags.insert().values(
                id=new_id(),
                client_id=client_id,
                credential_id=cid,
                directory_id=directory_id,
                account_id=outcome.item.account_id,
                status=outcome.status.value,
                detail=outcome.detail,
                run_id=run_id,
                opened_at=now,
                updated_at=now,
            )
        )
    elif (open_flag.status, open_flag.detail) != (outcome.status.value, outcome.detail):
        conn.execute(
            flags.update()
            .where(flags.c.id == open_flag.id)
            .values(
                status=outcome.status.value,
                detail=outcome.detail,
                account_id=outcome.item.account_id,
                run_id=run_id,
                updated_at=now,
            )
        )


def audit_run(
    conn: Connection,
    audit: AuditLog,
    actor: Actor,
    where: tuple[str, str],
    details: dict[str, Any],
) -> None:
    """A run's end in the audit log (``sync.run``, on its directory): ``where`` is the
    (directory id, client id); ``details`` the run's id, kind, state and counts (and why,
    when it was swept)."""
    directory_id, client_id = where
    audit.append(
        conn,
        actor,
        "sync.run",
        target_type="directory",
        target_id=directory_id,
        client_id=client_id,
        details=details,
    )


def summary_json(outcomes: Iterable[Outcome], extra: dict[str, Any] | None = None) -> str:
    by_status: dict[str, int] = {}
    by_action: dict[str, int] = {}
    for o in outcomes:
        by_status[o.status.value] = by_status.get(o.status.value, 0) + 1
        by_action[o.action.value] = by_action.get(o.action.value, 0) + 1
    return json.dumps(
        {"statuses": by_status, "actions": by_action, **(extra or {})}, sort_keys=True
    )
