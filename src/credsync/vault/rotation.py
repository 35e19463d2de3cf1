"""Password rotation: a client's interval (``rotate_every_days``: whole days, None: never) and
which of its credentials are overdue.

A credential is overdue when it is outside the trash and its password was last changed
(``password_changed_at``: its newest password version, set, generated, imported or taken
from a directory) more than the interval ago;
directory_admin credentials count too (for readers who may see them), being the ones whose
rotation matters most. The counts and the ``overdue`` filter of a client's list read one range
of ``ix_credentials_client_changed`` per client (:mod:`credsync.storage.rotation`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.errors import InvalidInput
from credsync.storage import rotation as rotation_rows
from credsync.storage.clients import ClientRow

__all__ = [
    "FIELD",
    "MAX_DAYS",
    "check_rotate_every",
    "cutoff",
    "overdue_counts",
    "overdue_filter",
    "parse_rotate_every",
]

FIELD = "rotate_every_days"
MAX_DAYS = 3650  # ten years
NEVER = "never"
_RULE = f"a whole number of days from 1 to {MAX_DAYS}, or 0 or {NEVER!r} for no rotation"


def check_rotate_every(days: int | None) -> int | None:
    """The interval to store: ``days`` (1 to :data:`MAX_DAYS`), None for 0 or None."""
    if days is None or days == 0:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"rotation interval {days!r} is not {_RULE}", field=FIELD)
    return days


def parse_rotate_every(text: str) -> int | None:
    """The interval typed as text (a flag's value, a form field): digits, or ``never``;
    empty, ``0`` and ``never`` are None."""
    value = text.strip()
    if value.casefold() in ("", NEVER):
        return None
    if not value.isascii() or not value.isdigit():
        raise InvalidInput(f"rotation interval {value!r} is not {_RULE}", field=FIELD)
    return check_rotate_every(int(value))


def cutoff(days: int, now: dt.datetime) -> dt.datetime:
    """Passwords last changed before this are overdue."""
    return now - dt.timedelta(days=days)


def overdue_counts(
    conn: Connection,
    clients: Iterable[ClientRow],
    now: dt.datetime,
    *,
    include_directory_admin: bool,
) -> dict[str, int]:
    """client id -> its overdue credentials, for the clients with an interval (those with
    none overdue left out)."""
    cutoffs = {
        c.id: cutoff(c.rotate_every_days, now) for c in clients if c.rotate_every_days is not None
    }
    return rotation_rows.overdue_counts(
        conn, cutoffs, include_directory_admin=include_directory_admin
    )


def overdue_filter(
    client: ClientRow, now: dt.datetime, also: sa.ColumnElement[bool] | None = None
) -> sa.ColumnElement[bool]:
    """The condition of a list of ``client``'s credentials for the overdue ones (none
    without an interval), and ``also``."""
    days = client.rotate_every_days
    return rotation_rows.changed_before(None if days is None else cutoff(days, now), also)
