"""A remote agent's signed request checked (docs/remote-agent.md): the rule both its work
routes (:class:`credsync.vault.remote_agents.RemoteAgents`) and its capture routes
(:mod:`credsync.vault.capture_agent`) apply.

The agent must be known, not revoked and registered (a rotated agent is unregistered until it
registers new keys), the request's time within :data:`MAX_SKEW` seconds of the server's
clock, and its ``Credsync-Agent-Signature`` must verify with the agent's key over
``credsync-agent-v1``, its id, the time, the path and the body: a signature made for one route
(or one directory's captures) is worth nothing on another.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from credsync.crypto.agent_keys import verify_request
from credsync.storage import remote_agents as rows

__all__ = ["MAX_SKEW", "AgentCheck", "check_agent_request", "is_uuid"]

MAX_SKEW = 300  # seconds between the agent's clock and the server's


@dataclass(frozen=True)
class AgentCheck:
    """What checking a request found: the agent's row and directories (id, name, client id)
    when it is known, and what is wrong with the request (None: nothing, it is the agent's)."""

    row: rows.AgentRow | None
    served: tuple[tuple[str, str, str], ...]
    problem: str | None
    check: str  # which check failed (for a capture refusal's audit entry), "" when none


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def check_agent_request(
    conn: Connection,
    agent_id: str,
    signature: str | None,
    when: str | None,
    path: str,
    body: bytes,
) -> AgentCheck:
    row = rows.agent(conn, agent_id) if is_uuid(agent_id) else None
    served = tuple(rows.directories_of(conn, agent_id)) if row is not None else ()
    if row is None:
        return AgentCheck(None, (), "no such agent", "agent")
    if row.revoked_at is not None:
        return AgentCheck(row, served, "the agent is revoked", "revoked")
    if row.sign_key is None or row.box_key is None:
        return AgentCheck(row, served, "the agent has not registered (rotated?)", "registered")
    if not when or not when.isdigit() or abs(int(when) - time.time()) > MAX_SKEW:
        reason = "the request's time is missing or too far from the server's clock"
        return AgentCheck(row, served, reason, "time")
    problem = verify_request(row.sign_key, signature, agent_id, when, path, body)
    return AgentCheck(row, served, problem, "signature" if problem else "")
