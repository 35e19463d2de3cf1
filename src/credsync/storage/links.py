"""Links (``links``): credential <-> account in one directory, kept by the account's stable
id, with what the last check or push left (the password stamp and secret version last
confirmed, a failed bind's stamp, an accepted stamp, the status), whether an operator with
directory.setup confirmed the link for pushes, and a push under way. Their owner.

Here: a run's loads and writes (:func:`of_directory`, :func:`record`, :func:`start_attempt`),
confirming links (:func:`confirm_links`; which ones: :mod:`credsync.storage.link_reads`'
:func:`~credsync.storage.link_reads.unconfirmed_of` and ``pair_impact``), and the
status :data:`PASSWORD_UNKNOWN` (which an operator's acceptance of the directory's state
leaves, and a new password clears: :func:`clear_accepted`). The reads across directories and
clients (what other directories link, the checks of a page, what enforce would overwrite,
passwords the vault does not know) are :mod:`credsync.storage.link_reads`'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, records
from credsync.storage.bulk import insert_values
from credsync.storage.tables import links

__all__ = [
    "ATTEMPT",
    "NO_ATTEMPT",
    "PASSWORD_UNKNOWN",
    "STATE",
    "LinkCheck",
    "LinkRow",
    "accept_stamp",
    "add_confirmed",
    "clear_accepted",
    "confirm",
    "confirm_links",
    "end_attempt",
    "fail_bind",
    "forget_credential",
    "forget_directory",
    "get",
    "of_accounts",
    "of_directory",
    "record",
    "refuse_version",
    "start_attempt",
]

_IN_LIST = 500  # ids per IN (...) list
# The status of a link whose directory password the vault does not know (the sync engine's
# Status.PASSWORD_UNKNOWN).
PASSWORD_UNKNOWN = "password_unknown"  # noqa: S105 - a status name

# A push under way: set by :func:`start_attempt`, cleared (all None) with its outcome.
ATTEMPT = ("push_attempt_run", "push_attempt_version", "push_attempt_stamp", "push_attempt_at")
NO_ATTEMPT: Mapping[str, Any] = dict.fromkeys(ATTEMPT)

# What a check may change on a link besides its status (the executor's link updates).
STATE = frozenset(
    {
        "confirmed_stamp",
        "confirmed_secret_version",
        "confirmed_at",
        "failed_stamp",
        "failed_secret_version",
        "accepted_stamp",
        *ATTEMPT,
    }
)


class LinkRow(NamedTuple):
    credential_id: str
    account_id: str
    confirmed_stamp: str | None
    confirmed_secret_version: int | None
    failed_stamp: str | None
    failed_secret_version: int | None
    accepted_stamp: str | None
    status: str | None
    link_confirmed_at: dt.datetime | None
    push_attempt_run: str | None
    push_attempt_version: int | None
    push_attempt_stamp: str | None
    push_attempt_at: dt.datetime | None


_SELECT = sa.select(*columns_for(LinkRow, links))


def of_directory(
    conn: Connection, directory_id: str, ids: Sequence[str] | None = None
) -> list[LinkRow]:
    """The directory's links (``ids``: only these credentials')."""
    query = _SELECT.where(links.c.directory_id == directory_id)
    if ids is None:
        return records(LinkRow, conn.execute(query))
    return _in_lists(conn, query, links.c.credential_id, ids)


def of_accounts(conn: Connection, directory_id: str, account_ids: Sequence[str]) -> list[LinkRow]:
    """The directory's links to these accounts."""
    query = _SELECT.where(links.c.directory_id == directory_id)
    return _in_lists(conn, query, links.c.account_id, account_ids)


def _in_lists(
    conn: Connection, query: sa.Select[Any], column: sa.Column[str], values: Sequence[str]
) -> list[LinkRow]:
    out: list[LinkRow] = []
    wanted = list(values)
    for start in range(0, len(wanted), _IN_LIST):
        chunk = wanted[start : start + _IN_LIST]
        out += records(LinkRow, conn.execute(query.where(column.in_(chunk))))
    return out


def _the_link(credential_id: str, directory_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(links.c.credential_id == credential_id, links.c.directory_id == directory_id)


def get(conn: Connection, credential_id: str, directory_id: str) -> LinkRow | None:
    row = conn.execute(_SELECT.where(_the_link(credential_id, directory_id))).first()
    return None if row is None else LinkRow(*row)


# -- what a run found ----------------------------------------------------------------------------
class LinkCheck(NamedTuple):
    """A check of one linked credential: its status, and the link columns to write (of
    :data:`STATE`). ``new``: the run made the link."""

    credential_id: str
    account_id: str
    status: str
    detail: str
    state: Mapping[str, Any]
    new: bool = False


def record(
    conn: Connection,
    directory_id: str,
    found: Sequence[LinkCheck],
    *,
    by: str,
    now: dt.datetime,
) -> None:
    """Links made and checked: the common case of a periodic run, thousands of credentials
    in step with no bind, costs one UPDATE per status and detail, and links whose state
    changed one executemany per set of columns, not a statement per credential; the links a
    run made (a first run: thousands) one bulk INSERT per set of state columns, as tuples
    (a statement built per link cost a millisecond each)."""
    touched: dict[tuple[str, str], list[str]] = {}
    changed: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    made: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for check in found:
        unknown = set(check.state) - STATE
        if unknown:
            raise KeyError(f"links: {', '.join(sorted(unknown))} is not link state")
        if check.new:
            names = tuple(sorted(check.state))
            made.setdefault(names, []).append(
                (check.credential_id, check.account_id, check.status, check.detail,
                 *(check.state[name] for name in names))
            )  # fmt: skip
        elif check.state:
            row = {"status": check.status, "detail": check.detail, **check.state}
            changed.setdefault(tuple(sorted(row)), []).append({"cid": check.credential_id, **row})
        else:
            touched.setdefault((check.status, check.detail), []).append(check.credential_id)
    for names, values in made.items():
        insert_values(
            conn,
            links,
            ("credential_id", "account_id", "status", "detail", *names,
             "directory_id", "linked_at", "linked_by", "checked_at"),
            [(*row, directory_id, now, by, now) for row in values],
        )  # fmt: skip
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
        for start in range(0, len(ids), _IN_LIST):
            conn.execute(
                links.update()
                .where(
                    links.c.directory_id == directory_id,
                    links.c.credential_id.in_(ids[start : start + _IN_LIST]),
                )
                .values(status=status, detail=detail, checked_at=now)
            )


def _confirmed(
    credential_id: str,
    directory_id: str,
    account_id: str,
    by: str,
    now: dt.datetime,
    status: str,
    detail: str,
) -> dict[str, Any]:
    """The values of a link confirmed for pushes as it is made."""
    return {"credential_id": credential_id, "directory_id": directory_id,
            "account_id": account_id, "linked_at": now, "linked_by": by, "status": status,
            "detail": detail, "checked_at": now, "link_confirmed_at": now,
            "link_confirmed_by": by}  # fmt: skip


def add_confirmed(
    conn: Connection,
    credential_id: str,
    directory_id: str,
    account_id: str,
    *,
    by: str,
    now: dt.datetime,
    status: str,
    detail: str,
    state: Mapping[str, Any],
) -> None:
    """A link made by the directory itself (auto-create: the credential was made from the
    account), so confirmed for pushes as it is made; ``state``: of :data:`STATE`."""
    unknown = set(state) - STATE
    if unknown:
        raise KeyError(f"links: {', '.join(sorted(unknown))} is not link state")
    values = _confirmed(credential_id, directory_id, account_id, by, now, status, detail)
    conn.execute(links.insert().values(**values, **state))


class NewLink(NamedTuple):
    credential_id: str
    account_id: str
    detail: str


def add_confirmed_many(
    conn: Connection,
    directory_id: str,
    new: Sequence[NewLink],
    *,
    by: str,
    now: dt.datetime,
    status: str,
) -> None:
    """Links made confirmed for pushes (a relay applied: its operator confirmed them), one
    executemany; no link state yet."""
    if new:
        conn.execute(
            links.insert(),
            [_confirmed(link.credential_id, directory_id, link.account_id, by, now, status,
                        link.detail) for link in new],
        )  # fmt: skip


def start_attempt(
    conn: Connection,
    directory_id: str,
    credential_id: str,
    *,
    run_id: str,
    secret_version: int,
    stamp: str | None,
    now: dt.datetime,
    state: Mapping[str, Any],
) -> bool:
    """A push of ``secret_version`` is about to be sent (the intent, in the caller's
    transaction), with the link columns its check wrote so far (``state``: a failed bind's
    stamp). False, and nothing written, when the link is gone or not confirmed for pushes:
    then nothing may be pushed through it."""
    unknown = set(state) - STATE
    if unknown:
        raise KeyError(f"links: {', '.join(sorted(unknown))} is not link state")
    done = conn.execute(
        links.update()
        .where(_the_link(credential_id, directory_id), links.c.link_confirmed_at.is_not(None))
        .values(
            **state,
            push_attempt_run=run_id,
            push_attempt_version=secret_version,
            push_attempt_stamp=stamp,
            push_attempt_at=now,
        )
    )
    return bool(done.rowcount == 1)


def end_attempt(conn: Connection, credential_id: str, directory_id: str) -> None:
    """The push under way through the link has its outcome recorded (or none was sent)."""
    conn.execute(links.update().where(_the_link(credential_id, directory_id)).values(**NO_ATTEMPT))


def refuse_version(
    conn: Connection, credential_id: str, directory_id: str, secret_version: int
) -> None:
    """The directory refused this secret version through the link (a relay's push): it is
    not sent again (the push under way is over too)."""
    conn.execute(
        links.update()
        .where(_the_link(credential_id, directory_id))
        .values(failed_secret_version=secret_version, **NO_ATTEMPT)
    )


def fail_bind(conn: Connection, credential_id: str, directory_id: str, stamp: str | None) -> None:
    """A bind with an operator's password failed at this password stamp (never again)."""
    conn.execute(
        links.update().where(_the_link(credential_id, directory_id)).values(failed_stamp=stamp)
    )


def accept_stamp(
    conn: Connection,
    credential_id: str,
    directory_id: str,
    stamp: str,
    *,
    status: str | None = None,
    detail: str | None = None,
) -> None:
    """An operator accepted the directory's password as it is at ``stamp`` (and, when
    given, the link's status is now ``status``)."""
    values: dict[str, Any] = {"accepted_stamp": stamp}
    if status is not None:
        values.update(status=status, detail=detail or "")
    conn.execute(links.update().where(_the_link(credential_id, directory_id)).values(**values))


def clear_accepted(conn: Connection, credential_id: str, *, detail: str) -> None:
    """The credential has a new password: what operators accepted of its directories'
    passwords no longer holds (the next check compares the new one), and a link whose
    password was unknown is unchecked again (status NULL, ``detail``)."""
    unknown = links.c.status == PASSWORD_UNKNOWN
    conn.execute(
        links.update()
        .where(
            links.c.credential_id == credential_id,
            sa.or_(unknown, links.c.accepted_stamp.is_not(None)),
        )
        .values(
            status=sa.case((unknown, sa.null()), else_=links.c.status),
            detail=sa.case((unknown, detail), else_=links.c.detail),
            accepted_stamp=None,
        )
    )


def confirm(
    conn: Connection,
    credential_id: str,
    directory_id: str,
    *,
    stamp: str | None,
    secret_version: int,
    status: str,
    detail: str,
    now: dt.datetime,
) -> None:
    """The directory's password at ``stamp`` is the vault's ``secret_version`` (checked now)."""
    conn.execute(
        _CONFIRM,
        {
            "b_credential": credential_id,
            "b_directory": directory_id,
            "b_stamp": stamp,
            "b_version": secret_version,
            "b_now": now,
            "b_status": status,
            "b_detail": detail,
        },
    )


# Built once (a capture burst confirms a link per event).
_CONFIRM = (
    links.update()
    .where(
        links.c.credential_id == sa.bindparam("b_credential"),
        links.c.directory_id == sa.bindparam("b_directory"),
    )
    .values(
        confirmed_stamp=sa.bindparam("b_stamp"),
        confirmed_secret_version=sa.bindparam("b_version"),
        confirmed_at=sa.bindparam("b_now"),
        failed_stamp=None,
        failed_secret_version=None,
        accepted_stamp=None,
        status=sa.bindparam("b_status"),
        detail=sa.bindparam("b_detail"),
        checked_at=sa.bindparam("b_now"),
    )
)


# -- confirming links for pushes (which ones: link_reads.pair_impact, unconfirmed_of) ------------
def confirm_links(
    conn: Connection, found: Sequence[tuple[str, str, str]], *, by: str, now: dt.datetime
) -> list[tuple[str, str, str]]:
    """Confirm these links for pushes: (credential id, directory id, account id) each, only
    while the link is still to that account and not confirmed yet. Returns those confirmed."""
    done: list[tuple[str, str, str]] = []
    for credential_id, directory_id, account_id in found:
        changed = conn.execute(
            links.update()
            .where(
                _the_link(credential_id, directory_id),
                links.c.account_id == account_id,
                links.c.link_confirmed_at.is_(None),
            )
            .values(link_confirmed_at=now, link_confirmed_by=by)
        )
        if changed.rowcount == 1:
            done.append((credential_id, directory_id, account_id))
    return done


def forget_credential(conn: Connection, credential_id: str) -> None:
    conn.execute(links.delete().where(links.c.credential_id == credential_id))


def forget_directory(conn: Connection, directory_id: str) -> None:
    conn.execute(links.delete().where(links.c.directory_id == directory_id))
