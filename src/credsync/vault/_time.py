"""UTC timestamps: every stored time is timezone-aware UTC (SQLite hands back naive values)."""

from __future__ import annotations

import datetime as dt
from typing import overload

__all__ = ["Timestamp", "as_utc", "as_utc_opt", "iso", "utcnow"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def as_utc_opt(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else as_utc(value)


Timestamp = str  # ISO 8601, UTC, e.g. 2026-12-01T12:00:00Z (see iso)


@overload
def iso(value: dt.datetime) -> Timestamp: ...
@overload
def iso(value: dt.datetime | None) -> Timestamp | None: ...
def iso(value: dt.datetime | None) -> Timestamp | None:
    """A time as a record's JSON shows it."""
    return value.isoformat().replace("+00:00", "Z") if value else None
