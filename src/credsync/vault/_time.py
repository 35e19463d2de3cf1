"""UTC timestamps: every stored time is timezone-aware UTC (SQLite hands back naive values)."""

from __future__ import annotations

import datetime as dt

__all__ = ["as_utc", "as_utc_opt", "utcnow"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def as_utc_opt(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else as_utc(value)
