"""Real-time relay: a credential's new password, carried at once to the target users its
relays paired it with.

Called by :func:`credsync.vault.secrets.write_secret_version` in the transaction that wrote
the version, whatever made it (a capture accepted from Active Directory, an operator setting
it, a captured password accepted from a flag): for each relay pair whose source side is the
credential, the target credential (the same one when the person is one credential with two
links; another one the operator keeps apart, which gets the same password as its next
version, source ``relay``) is queued for a push to the target directory (unless its client's
directory sync or its own sync mode is off) in the durable push
queue (:mod:`credsync.storage.push_queue`), which the agent drains
(:mod:`credsync.sync.relay_push`). A restart loses nothing: the row is in the database with the
version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.engine import Connection

from credsync.storage import push_queue, sync_credentials
from credsync.storage import relays as relay_rows
from credsync.types import Secret, SyncMode

__all__ = ["WriteVersion", "queue_relayed", "relayed"]

# Writes a new version of another credential (the kept-apart target), without relaying it
# further: (credential id, password, reason) -> version.
WriteVersion = Callable[[str, Secret, str], int]


def relayed(push_target: tuple[str, str] | None) -> bool:
    """Whether a credential is carried by its relays: its client's directory sync on (None:
    off, nothing of the client touches a directory) and its sync mode not ``off``."""
    return push_target is not None and push_target[1] != SyncMode.OFF.value


def queue_relayed(
    conn: Connection,
    credential_id: str,
    version: int,
    password: Secret,
    write_version: WriteVersion,
) -> int:
    """Queue the relays of the credential's new ``version``; returns how many were queued."""
    queued = 0
    now = dt.datetime.now(dt.UTC)
    pairs = relay_rows.of_source_credential(conn, credential_id)  # mostly none: asked first
    if not pairs or not relayed(sync_credentials.push_target(conn, credential_id)):
        return 0
    for pair, relay in pairs:
        target_credential, target_version = credential_id, version
        if pair.target_credential_id != credential_id:
            target_credential = pair.target_credential_id
            target_version = write_version(
                target_credential,
                password,
                f"kept in step with credential {credential_id} by relay {relay.name}",
            )
        push_queue.enqueue(
            conn, target_credential, [relay.target_directory_id], target_version, now
        )
        queued += 1
    return queued  # the agents are woken once this commits (push_queue.enqueue)
