"""Remote agents: enrolment, registration, authentication, rotation and revocation (see
docs/remote-agent.md).

- :meth:`RemoteAgents.enroll` (``directory.setup`` and ``directory_admin.use``, every
  directory within the operator's client access): a new agent bound to its directories and
  a one-time enrolment token (``cra1.<agent id>.<random>``, shown once; the vault keeps its
  SHA-256, valid :data:`TOKEN_HOURS`).
- :meth:`RemoteAgents.register`: the agent, on its own host, made its two key pairs; it sends
  the public keys with the token, which is then used up. The vault never sees a private key.
- :meth:`RemoteAgents.authenticate`: each request of the agent is signed (Ed25519, with the
  time: at most :data:`MAX_SKEW` seconds off); an unknown, revoked or unregistered agent, or a
  bad signature, is refused with :class:`~credsync.errors.AgentUnauthenticated` (the reason
  is logged, not told).
- :meth:`RemoteAgents.rotate`: a new enrolment token; the agent's keys stop working at once,
  and it registers again with new ones. :meth:`RemoteAgents.revoke`: refused from then on.

Every change is audited (``remote_agent.enrolled``, ``.registered``, ``.rotated``,
``.revoked``), never with a token or a key.
"""

from __future__ import annotations

import builtins
import datetime as dt
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.crypto.agent_keys import public_key_bytes
from credsync.crypto.hashing import token_digest
from credsync.errors import AgentUnauthenticated, InvalidInput, NotFound
from credsync.storage import capture as capture_rows
from credsync.storage import remote_agents as rows
from credsync.types import Secret, new_id
from credsync.vault._time import as_utc, as_utc_opt, iso, utcnow
from credsync.vault.agent_auth import MAX_SKEW, check_agent_request, is_uuid
from credsync.vault.auth import Actor, Permission
from credsync.vault.directories import find_directory_row
from credsync.vault.service import Vault
from credsync.vault.validate import clean_name

__all__ = [
    "MAX_SKEW",
    "TOKEN_HOURS",
    "AgentCapturesJson",
    "AgentEnrolmentJson",
    "AgentIdentity",
    "Enrolment",
    "Liveness",
    "RemoteAgent",
    "RemoteAgentJson",
    "RemoteAgents",
    "agent_actor",
]

log = logging.getLogger("credsync.agent")

TOKEN_PREFIX = "cra1"  # noqa: S105 - the token format's name
TOKEN_HOURS = 24


class AgentCapturesJson(TypedDict):
    directory: str
    forwarder_id: str
    """The capture row holding the agent's state for this directory (``capture list``)."""
    last_seq: int
    """The sequence number of the last batch accepted (0: none yet)."""
    last_seen_at: str | None
    """When the last batch was accepted."""
    revoked_at: str | None


class RemoteAgentJson(TypedDict):
    id: str
    name: str
    directories: list[str]
    state: str  # enrolled (waiting to register) | active | revoked
    created_at: str
    created_by: str
    registered_at: str | None
    last_seen_at: str | None
    captures: list[AgentCapturesJson]
    """What the agent delivered of its directories' captures, per directory (none yet: [])."""


@dataclass(frozen=True)
class RemoteAgent:
    id: str
    name: str
    directories: tuple[str, ...]
    state: str
    created_at: dt.datetime
    created_by: str
    registered_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    captures: tuple[AgentCapturesJson, ...] = ()

    def to_json(self) -> RemoteAgentJson:
        return RemoteAgentJson(
            id=self.id,
            name=self.name,
            directories=list(self.directories),
            state=self.state,
            created_at=iso(self.created_at),
            created_by=self.created_by,
            registered_at=iso(self.registered_at) if self.registered_at else None,
            last_seen_at=iso(self.last_seen_at) if self.last_seen_at else None,
            captures=list(self.captures),
        )


class AgentEnrolmentJson(TypedDict):
    agent: RemoteAgentJson
    token: str
    expires_at: str


@dataclass(frozen=True)
class Enrolment:
    agent: RemoteAgent
    token: Secret
    expires_at: dt.datetime

    def to_json(self) -> AgentEnrolmentJson:
        return AgentEnrolmentJson(
            agent=self.agent.to_json(), token=self.token.reveal(), expires_at=iso(self.expires_at)
        )


@dataclass(frozen=True)
class AgentIdentity:
    """An authenticated agent: what its work may touch, and the key to seal to."""

    id: str
    name: str
    box_key: bytes
    directory_ids: frozenset[str]

    def __repr__(self) -> str:
        return f"AgentIdentity(id={self.id!r}, name={self.name!r})"


@dataclass(frozen=True)
class Liveness:
    """An agent's state (enrolled, active, revoked) and when it last polled."""

    name: str
    state: str
    last_seen_at: dt.datetime | None


def agent_actor(name: str) -> Actor:
    """Who the server's runs for an agent act as: the directories' admin credentials and the
    vault's secrets, only through the runs of the agent's directories' queued pushes."""
    return Actor(
        operator_id=None,
        name=f"agent:{name}"[:64],
        role="remote_agent",
        permissions=frozenset(
            {Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_ADMIN_USE}
        ),
        via="agent",
    )


def _iso_opt(when: dt.datetime | None) -> str | None:
    return iso(as_utc_opt(when))


def _state(row: rows.AgentRow) -> str:
    if row.revoked_at is not None:
        return "revoked"
    return "active" if row.sign_key is not None else "enrolled"


def _new_token(agent_id: str) -> Secret:
    return Secret(f"{TOKEN_PREFIX}.{agent_id}.{secrets.token_urlsafe(32)}")


class RemoteAgents:
    def __init__(self, vault: Vault) -> None:
        self._db = vault.db
        self._audit = vault.audit

    # -- operators ---------------------------------------------------------------------------
    def _model(self, conn: Connection, row: rows.AgentRow) -> RemoteAgent:
        served = rows.directories_of(conn, row.id)
        return RemoteAgent(
            row.id,
            row.name,
            tuple(name for _, name, _ in served),
            _state(row),
            as_utc(row.created_at),
            row.created_by,
            as_utc_opt(row.registered_at),
            as_utc_opt(row.last_seen_at),
            tuple(
                AgentCapturesJson(
                    directory=f.directory_name,
                    forwarder_id=f.id,
                    last_seq=int(f.last_seq),
                    last_seen_at=_iso_opt(f.last_seen_at),
                    revoked_at=_iso_opt(f.revoked_at),
                )
                for f in capture_rows.agent_forwarders(conn, row.id)
            ),
        )

    def enroll(self, actor: Actor, name: str, directory_refs: Sequence[str]) -> Enrolment:
        """A new agent serving ``directory_refs``, and its one-time enrolment token."""
        actor.require(Permission.DIRECTORY_SETUP, Permission.DIRECTORY_ADMIN_USE)
        label = clean_name(name, "agent name", 100, field="name")
        if not directory_refs:
            raise InvalidInput("an agent serves at least one directory", field="directories")
        agent_id = new_id()
        token = _new_token(agent_id)
        now = utcnow()
        expires = now + dt.timedelta(hours=TOKEN_HOURS)
        with self._db.write() as conn:
            found = [find_directory_row(conn, ref, actor) for ref in directory_refs]
            if rows.by_name(conn, label) is not None:
                raise InvalidInput(f"there is already an agent named {label!r}", field="name")
            rows.add(
                conn,
                agent_id=agent_id,
                name=label,
                token_hash=token_digest(token),
                expires_at=expires,
                directory_ids=[d.id for d in found],
                by=actor.name,
                now=now,
            )
            self._audit.append(
                conn,
                actor,
                "remote_agent.enrolled",
                target_type="remote_agent",
                target_id=agent_id,
                details={"name": label, "directories": sorted({d.name for d in found})},
            )
            model = self._model(conn, rows.agent(conn, agent_id))  # type: ignore[arg-type]
        return Enrolment(model, token, expires)

    def list(self, actor: Actor) -> builtins.list[RemoteAgent]:
        """Every agent (revoked ones too) whose directories are all within the operator's
        client access."""
        actor.require(Permission.DIRECTORY_SETUP)
        with self._db.read() as conn:
            out = []
            for row in rows.agents(conn):
                if all(actor.sees(c) for _, _, c in rows.directories_of(conn, row.id)):
                    out.append(self._model(conn, row))
        return out

    def _find(self, conn: Connection, actor: Actor, ref: str) -> rows.AgentRow:
        ref = ref.strip()
        row = rows.agent(conn, ref) if is_uuid(ref) else rows.by_name(conn, ref)
        if row is None or not all(actor.sees(c) for _, _, c in rows.directories_of(conn, row.id)):
            raise NotFound(f"no remote agent named {ref!r} (see `credsync remote-agent list`)")
        return row

    def revoke(self, actor: Actor, ref: str) -> RemoteAgent:
        """Its next request is refused; what it had claimed goes back when the claims expire."""
        actor.require(Permission.DIRECTORY_SETUP)
        with self._db.write() as conn:
            row = self._find(conn, actor, ref)
            now = utcnow()
            if rows.revoke(conn, row.id, by=actor.name, now=now):
                capture_rows.revoke_agent_forwarders(conn, row.id, by=actor.name, now=now)
                self._audit.append(
                    conn,
                    actor,
                    "remote_agent.revoked",
                    target_type="remote_agent",
                    target_id=row.id,
                    details={"name": row.name},
                )
            return self._model(conn, rows.agent(conn, row.id))  # type: ignore[arg-type]

    def rotate(self, actor: Actor, ref: str) -> Enrolment:
        """A new enrolment token: the agent's current keys stop working at once; it
        registers again (new keys) with this token."""
        actor.require(Permission.DIRECTORY_SETUP, Permission.DIRECTORY_ADMIN_USE)
        now = utcnow()
        expires = now + dt.timedelta(hours=TOKEN_HOURS)
        with self._db.write() as conn:
            row = self._find(conn, actor, ref)
            if row.revoked_at is not None:
                raise InvalidInput(f"the agent {row.name!r} is revoked: enrol a new one")
            token = _new_token(row.id)
            rows.reenrol(conn, row.id, token_hash=token_digest(token), expires_at=expires)
            self._audit.append(
                conn,
                actor,
                "remote_agent.rotated",
                target_type="remote_agent",
                target_id=row.id,
                details={"name": row.name},
            )
            model = self._model(conn, rows.agent(conn, row.id))  # type: ignore[arg-type]
        return Enrolment(model, token, expires)

    # -- the agent itself ----------------------------------------------------------------------
    def register(self, token: Secret, sign_key: str, box_key: str) -> RemoteAgent:
        """The agent's public keys, with its enrolment token (then used up)."""
        sign = public_key_bytes(sign_key, "sign_key")
        box = public_key_bytes(box_key, "box_key")
        now = utcnow()
        with self._db.write() as conn:
            row = rows.by_token(conn, token_digest(token))
            expired = row is not None and as_utc(row.token_expires_at or now) < now
            if row is None or row.revoked_at is not None or expired:
                log.warning("remote agent registration refused: unknown, used or expired token")
                raise AgentUnauthenticated(
                    "the enrolment token is unknown, used or expired: ask an operator for a "
                    "new one (`credsync remote-agent rotate`)"
                )
            rows.register(conn, row.id, sign_key=sign, box_key=box, now=now)
            self._audit.append(
                conn,
                Actor(None, f"agent:{row.name}"[:64], "remote_agent", frozenset(), "agent"),
                "remote_agent.registered",
                target_type="remote_agent",
                target_id=row.id,
                details={"name": row.name},
            )
            return self._model(conn, rows.agent(conn, row.id))  # type: ignore[arg-type]

    def authenticate(
        self,
        agent_id: str,
        signature: str | None,
        when: str | None,
        path: str,
        body: bytes,
    ) -> AgentIdentity:
        """The registered, unrevoked agent that signed this request, just now; else
        AgentUnauthenticated (the reason is logged only)."""
        with self._db.read() as conn:
            found = check_agent_request(conn, agent_id, signature, when, path, body)
        row = found.row
        if found.problem is not None or row is None or row.box_key is None:
            log.warning("remote agent request refused (agent %s): %s", agent_id[:40], found.problem)
            raise AgentUnauthenticated(
                "the agent's request is not authenticated: unknown, revoked or unregistered "
                "agent, or a bad or stale signature (see the server's log)"
            )
        return AgentIdentity(
            row.id, row.name, row.box_key, frozenset(d for d, _, _ in found.served)
        )

    def liveness(self, names: Sequence[str]) -> dict[str, Liveness]:
        """For ``/readyz`` (no operator: it says only whether each named agent polls): each
        of ``names`` that is an agent, with when it was last seen."""
        with self._db.read() as conn:
            found = rows.by_names(conn, names)
        return {
            row.name: Liveness(row.name, _state(row), as_utc_opt(row.last_seen_at)) for row in found
        }

    def seen(self, agent_id: str) -> None:
        with self._db.write() as conn:
            rows.seen(conn, agent_id, utcnow())

    def served_directories(self, *, within: dt.timedelta) -> set[str]:
        """Directories a live remote agent serves (seen within ``within``)."""
        with self._db.read() as conn:
            return rows.served_directories(conn, seen_since=utcnow() - within)
