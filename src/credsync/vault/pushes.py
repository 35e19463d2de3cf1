"""The push queue's rules (its rows are :mod:`credsync.storage.push_queue`'s): a secret that
changes under enforce or two-way is queued for every directory of its client, and a push the
agent gives up is audited."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from credsync.storage import directories as directory_rows
from credsync.storage import push_queue, sync_credentials
from credsync.types import SyncMode
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor

__all__ = ["enqueue_pushes", "record_given_up"]

log = logging.getLogger("credsync.agent")


def enqueue_pushes(
    conn: Connection,
    credential_id: str,
    secret_version: int,
    *,
    except_directory: str | None = None,
) -> int:
    """Queue an immediate push of the credential's new secret to every directory of its
    client, when its effective mode pushes (enforce, two-way) and the client's directory sync
    is on (a push of it given up before is replaced). ``except_directory``: not to this one
    (the directory a captured password came from: it has it already). Called inside the
    transaction that changed the secret; returns how many were queued."""
    target = sync_credentials.push_target(conn, credential_id)
    if target is None or not SyncMode(target[1]).pushes:
        return 0
    targets = [d for d in directory_rows.ids_of_client(conn, target[0]) if d != except_directory]
    push_queue.enqueue(conn, credential_id, targets, secret_version, dt.datetime.now(dt.UTC))
    return len(targets)


def record_given_up(
    conn: Connection, audit: AuditLog, actor: Actor, given_up: Sequence[push_queue.GivenUp]
) -> None:
    """Pushes given up (in the transaction that gave them up): each is logged and audited
    (``credential.push_given_up``: the directory, the secret version, the attempts, why)."""
    for push in given_up:
        log.warning(
            "queued push of credential %s to directory %s given up: %s",
            push.credential_id,
            push.directory_name,
            push.dead_reason,
        )
        audit.append(
            conn,
            actor,
            "credential.push_given_up",
            target_type="credential",
            target_id=push.credential_id,
            client_id=push.client_id,
            details={
                "directory": push.directory_name,
                "directory_id": push.directory_id,
                "secret_version": push.secret_version,
                "attempts": push.attempts,
                "reason": push.dead_reason,
            },
        )
