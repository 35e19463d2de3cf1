"""A remote agent's captures (docs/remote-agent.md, "Captures"): a capture forwarder may sign
with a remote agent's credential instead of a forwarder token of its own.

- Its requests go to ``/api/v1/remote-agents/{agent_id}/directories/{directory}/captures``
  (and ``.../capture-key``), signed with the agent's Ed25519 key as every request of the agent
  is (:mod:`credsync.vault.agent_auth`: over the agent's id, the time, the path and the body,
  so a signature for one route, or for one directory's captures, is no good on another).
  ``{directory}`` is the directory's id or name, as the agent's operator gave it; the path
  signed is the one with the reference as given (not percent-encoded).
- The agent must be registered and not revoked (a rotated agent's old key is refused at once),
  the directory must be one it is bound to: else the refusal is audited
  (``capture.denied``, target ``remote_agent``) and raised (AgentUnauthenticated, 401;
  CaptureForbidden, 403).
- The per-sender state (``last_seq``, the nonces) lives in a ``capture_forwarders`` row owned by
  the agent, one per directory, made on its first batch for it (audited
  ``capture.enrolled``); from there a batch is checked and applied exactly as a forwarder's
  (:class:`credsync.vault.capture_intake.CaptureIntake`).
- Captures do not count as the agent being seen: only its polls say it serves pushes (a
  forwarder on a DC with the agent's credential must not make local agents leave the
  directory alone).
"""

from __future__ import annotations

from credsync.errors import AgentUnauthenticated, CaptureForbidden, NotFound
from credsync.storage import Database
from credsync.storage import capture as capture_rows
from credsync.types import new_id
from credsync.vault.agent_auth import check_agent_request
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor
from credsync.vault.capture import CaptureKeyInfo, add_forwarder, deny

__all__ = ["AgentCaptures", "agent_capture_path", "agent_key_path"]


def agent_capture_path(agent_id: str, directory: str) -> str:
    """The path an agent posts a directory's batches to (what its signature covers)."""
    return f"/api/v1/remote-agents/{agent_id}/directories/{directory}/captures"


def agent_key_path(agent_id: str, directory: str) -> str:
    """The path an agent asks a directory's capture key at (signed over an empty body)."""
    return f"/api/v1/remote-agents/{agent_id}/directories/{directory}/capture-key"


def _agent_actor(name: str) -> Actor:
    return Actor(None, f"agent:{name}"[:64], "remote_agent", frozenset(), "agent")


class AgentCaptures:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def _directory(
        self,
        agent_id: str,
        directory: str,
        signature: str | None,
        when: str | None,
        path: str,
        body: bytes,
    ) -> tuple[str, str, str, str]:
        """(agent name, directory id, name, client id) of an authenticated agent's request for
        one of its directories; else the refusal audited and raised."""
        with self._db.read() as conn:
            found = check_agent_request(conn, agent_id, signature, when, path, body)
        if found.problem is not None or found.row is None:
            deny(
                self._db,
                self._audit,
                agent_id,
                found.check,
                str(found.problem),
                target_type="remote_agent",
            )
            raise AgentUnauthenticated(
                "the agent's capture request is not authenticated: unknown, revoked or "
                "unregistered agent, or a bad or stale signature (see the server's audit log)"
            )
        wanted = directory.strip()
        matches = [d for d in found.served if d[0] == wanted]
        if not matches:
            matches = [d for d in found.served if d[1].casefold() == wanted.casefold()]
        if len(matches) != 1:
            reason = (
                f"directory {wanted[:100]!r} is not one the agent serves"
                if not matches
                else f"{wanted[:100]!r} names more than one of the agent's directories: give its id"
            )
            deny(self._db, self._audit, agent_id, "directory", reason, target_type="remote_agent")
            raise CaptureForbidden(
                f"{reason}: the agent's captures are taken for its own directories only "
                "(see `credsync remote-agent list`)"
            )
        directory_id, name, client_id = matches[0]
        return found.row.name, directory_id, name, client_id

    def forwarder(
        self,
        agent_id: str,
        directory: str,
        signature: str | None,
        when: str | None,
        body: bytes,
    ) -> capture_rows.ForwarderRow:
        """The agent's capture row for the directory (made on first use), once the request
        is the agent's and the directory one of its own."""
        path = agent_capture_path(agent_id, directory)
        agent_name, directory_id, name, client_id = self._directory(
            agent_id, directory, signature, when, path, body
        )
        with self._db.read() as conn:
            row = capture_rows.agent_forwarder(conn, agent_id, directory_id)
        if row is not None:
            return row
        actor = _agent_actor(agent_name)
        # Two first batches at once (PostgreSQL): the second insert breaks the unique key and
        # is answered 409 `conflict`; the forwarder backs off and finds the row next time.
        with self._db.write() as conn:
            row = capture_rows.agent_forwarder(conn, agent_id, directory_id)
            if row is None:
                forwarder_id = new_id()
                add_forwarder(
                    conn,
                    self._audit,
                    actor,
                    forwarder_id=forwarder_id,
                    directory=(directory_id, name, client_id),
                    name=f"agent {agent_name}"[:100],
                    public_key=b"",
                    remote_agent=(agent_id, agent_name),
                )
                row = capture_rows.forwarder(conn, forwarder_id)
        assert row is not None  # noqa: S101 - made above in the same transaction
        return row

    def key(
        self, agent_id: str, directory: str, signature: str | None, when: str | None
    ) -> CaptureKeyInfo:
        """The directory's capture key, for ``capture samba-setup`` with the agent's
        credential; NotFound until an operator made it (``credsync capture key``)."""
        path = agent_key_path(agent_id, directory)
        _, directory_id, name, _ = self._directory(agent_id, directory, signature, when, path, b"")
        with self._db.read() as conn:
            found = capture_rows.key_of(conn, directory_id)
        if found is None:
            raise NotFound(
                f"directory {name!r} has no capture key yet: an operator makes it with "
                f"`credsync capture key {name}`"
            )
        return CaptureKeyInfo(name, found.fingerprint, found.public_key)
