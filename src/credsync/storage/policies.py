"""Named password policies (``password_policies``), each stored as its JSON spec."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage.tables import password_policies

__all__ = ["add", "all_specs", "delete", "exists", "spec"]


def spec(conn: Connection, name: str) -> str | None:
    query = sa.select(password_policies.c.spec).where(password_policies.c.name == name)
    return conn.execute(query).scalar()


def all_specs(conn: Connection) -> list[tuple[str, str]]:
    """(name, spec) of every stored policy, by name."""
    query = sa.select(password_policies.c.name, password_policies.c.spec)
    return [(r.name, r.spec) for r in conn.execute(query.order_by(password_policies.c.name))]


def exists(conn: Connection, name: str) -> bool:
    query = sa.select(password_policies.c.name).where(password_policies.c.name == name)
    return conn.execute(query).first() is not None


def add(conn: Connection, name: str, spec: str, now: dt.datetime) -> None:
    conn.execute(password_policies.insert().values(name=name, spec=spec, created_at=now))


def delete(conn: Connection, name: str) -> bool:
    """Whether there was such a policy."""
    result = conn.execute(password_policies.delete().where(password_policies.c.name == name))
    return bool(result.rowcount)
