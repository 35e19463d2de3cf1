"""Remote agents (``remote_agents``, ``remote_agent_directories``): the only code that touches
their tables. See docs/remote-agent.md.

- :func:`add`: a new agent with its one-time enrolment token's hash and the directories it
  serves; :func:`register` consumes the token and stores the agent's two public keys;
  :func:`reenrol` (rotation) gives it a new token and forgets its keys until it registers
  again; :func:`revoke` ends it.
- :func:`served_directories`: the directories some live agent serves (the local agents leave
  their work to it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, records
from credsync.storage.tables import directories, remote_agent_directories, remote_agents

__all__ = [
    "AgentRow",
    "add",
    "agent",
    "agents",
    "by_name",
    "by_names",
    "by_token",
    "directories_of",
    "reenrol",
    "register",
    "revoke",
    "seen",
    "served_directories",
]

_A = remote_agents
_D = remote_agent_directories


class AgentRow(NamedTuple):
    id: str
    name: str
    token_hash: str | None
    token_expires_at: dt.datetime | None
    sign_key: bytes | None
    box_key: bytes | None
    created_at: dt.datetime
    created_by: str
    registered_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def __repr__(self) -> str:
        return f"AgentRow(id={self.id!r}, name={self.name!r})"


_SELECT = sa.select(*columns_for(AgentRow, _A))


def add(
    conn: Connection,
    *,
    agent_id: str,
    name: str,
    token_hash: str,
    expires_at: dt.datetime,
    directory_ids: Sequence[str],
    by: str,
    now: dt.datetime,
) -> None:
    conn.execute(
        _A.insert().values(
            id=agent_id,
            name=name,
            token_hash=token_hash,
            token_expires_at=expires_at,
            created_at=now,
            created_by=by,
        )
    )
    for directory_id in dict.fromkeys(directory_ids):
        conn.execute(_D.insert().values(agent_id=agent_id, directory_id=directory_id))


def agent(conn: Connection, agent_id: str) -> AgentRow | None:
    found = records(AgentRow, conn.execute(_SELECT.where(_A.c.id == agent_id)))
    return found[0] if found else None


def by_name(conn: Connection, name: str) -> AgentRow | None:
    found = records(AgentRow, conn.execute(_SELECT.where(_A.c.name == name)))
    return found[0] if found else None


def by_token(conn: Connection, token_hash: str) -> AgentRow | None:
    found = records(AgentRow, conn.execute(_SELECT.where(_A.c.token_hash == token_hash)))
    return found[0] if found else None


def agents(conn: Connection) -> list[AgentRow]:
    return records(AgentRow, conn.execute(_SELECT.order_by(_A.c.name)))


def by_names(conn: Connection, names: Sequence[str]) -> list[AgentRow]:
    """The agents of these names (one query: what ``/readyz`` asks each time)."""
    if not names:
        return []
    return records(AgentRow, conn.execute(_SELECT.where(_A.c.name.in_(sorted(set(names))))))


def directories_of(conn: Connection, agent_id: str) -> list[tuple[str, str, str]]:
    """(directory id, name, client id) of each directory the agent serves, by name."""
    query = (
        sa.select(directories.c.id, directories.c.name, directories.c.client_id)
        .join(_D, _D.c.directory_id == directories.c.id)
        .where(_D.c.agent_id == agent_id)
        .order_by(directories.c.name)
    )
    return [(r.id, r.name, r.client_id) for r in conn.execute(query)]


def register(
    conn: Connection, agent_id: str, *, sign_key: bytes, box_key: bytes, now: dt.datetime
) -> None:
    """The token is used: it goes, the public keys stay."""
    conn.execute(
        _A.update()
        .where(_A.c.id == agent_id)
        .values(
            sign_key=sign_key,
            box_key=box_key,
            token_hash=None,
            token_expires_at=None,
            registered_at=now,
            last_seen_at=now,
        )
    )


def reenrol(conn: Connection, agent_id: str, *, token_hash: str, expires_at: dt.datetime) -> None:
    """A new enrolment token; the old keys stop working at once."""
    conn.execute(
        _A.update()
        .where(_A.c.id == agent_id)
        .values(
            token_hash=token_hash,
            token_expires_at=expires_at,
            sign_key=None,
            box_key=None,
            registered_at=None,
        )
    )


def revoke(conn: Connection, agent_id: str, *, by: str, now: dt.datetime) -> bool:
    """False when it already was."""
    done = conn.execute(
        _A.update()
        .where(_A.c.id == agent_id, _A.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=by, token_hash=None, token_expires_at=None)
    )
    return bool(done.rowcount)


def seen(conn: Connection, agent_id: str, now: dt.datetime) -> None:
    conn.execute(_A.update().where(_A.c.id == agent_id).values(last_seen_at=now))


def served_directories(conn: Connection, *, seen_since: dt.datetime) -> set[str]:
    """The directories served by an agent that is registered, not revoked, and was seen since
    ``seen_since``."""
    query = (
        sa.select(_D.c.directory_id)
        .join(_A, _A.c.id == _D.c.agent_id)
        .where(
            _A.c.revoked_at.is_(None),
            _A.c.sign_key.is_not(None),
            _A.c.last_seen_at >= seen_since,
        )
    )
    return set(conn.execute(query).scalars())
