"""Queueing a push when a secret changes under enforce.

Its SQL on ``directories`` and ``sync_queue`` (the sync area's tables) stays here until the
push queue has its own storage module; the credential's side is
:func:`credsync.storage.credentials.push_target`."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage import credentials as credential_rows
from credsync.storage.tables import directories, sync_queue
from credsync.types import SyncMode

__all__ = ["enqueue_pushes"]


def enqueue_pushes(conn: Connection, credential_id: str, secret_version: int) -> int:
    """Queue an immediate push of the credential's new secret to every directory of its
    client, when its effective mode is enforce and the client's directory sync is on.
    Called inside the transaction that changed the secret; returns how many were queued."""
    target = credential_rows.push_target(conn, credential_id)
    if target is None or target[1] != SyncMode.ENFORCE.value:
        return 0
    client_id = target[0]
    targets = (
        conn.execute(sa.select(directories.c.id).where(directories.c.client_id == client_id))
        .scalars()
        .all()
    )
    now = dt.datetime.now(dt.UTC)
    for directory_id in targets:
        conn.execute(
            sync_queue.insert().values(
                credential_id=credential_id,
                directory_id=directory_id,
                secret_version=secret_version,
                enqueued_at=now,
                not_before=now,
                attempts=0,
            )
        )
    return len(targets)
