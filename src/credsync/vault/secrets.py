"""Secrets as the sync engine needs them: read in bulk for a run (audited once, per run, by
the engine), and a new secret version written inside the engine's own transaction (a
password restored after the directory refused a push, or one accepted from the directory)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.errors import IntegrityError, NotFound
from credsync.storage.tables import clients, credentials, directories, secret_versions, sync_queue
from credsync.types import Secret, SyncMode
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.keyring import KeyRing
from credsync.vault.validate import clean_secret

__all__ = ["effective_mode", "enqueue_pushes", "read_secrets", "write_secret_version"]


def read_secrets(
    conn: Connection, keys: KeyRing, client_id: str, wanted: Mapping[str, int]
) -> dict[str, Secret]:
    """The secrets of ``wanted`` (credential id -> secret version) of one client."""
    out: dict[str, Secret] = {}
    if not wanted:
        return out
    key = keys.data_key(conn, client_id)
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            sa.select(
                secret_versions.c.credential_id,
                secret_versions.c.version,
                secret_versions.c.ciphertext,
                credentials.c.client_id,
            )
            .join(credentials, credentials.c.id == secret_versions.c.credential_id)
            .where(
                secret_versions.c.credential_id.in_(chunk),
                sa.tuple_(secret_versions.c.credential_id, secret_versions.c.version).in_(
                    [(cid, wanted[cid]) for cid in chunk]
                ),
            )
        )
        for row in rows:
            if row.client_id != client_id:
                raise IntegrityError(f"credential {row.credential_id} is not in client {client_id}")
            out[row.credential_id] = key.open_text(
                row.credential_id, row.version, "password", row.ciphertext
            )
    missing = [cid for cid in ids if cid not in out]
    if missing:
        raise NotFound(f"no secret version for credential {missing[0]}")
    return out


def write_secret_version(
    conn: Connection,
    audit: AuditLog,
    actor: Actor,
    keys: KeyRing,
    credential_id: str,
    password: Secret,
    *,
    source: str,
    reason: str,
) -> int:
    """A new current secret version for the credential, in the caller's transaction; returns
    the version. The caller decides whether the change is pushed (it is not queued here)."""
    actor.require(Permission.VAULT_WRITE)
    clean_secret(password)
    row = conn.execute(
        sa.select(
            credentials.c.id,
            credentials.c.client_id,
            credentials.c.secret_version,
            credentials.c.version,
        )
        .where(credentials.c.id == credential_id)
        .with_for_update()
    ).one()
    key = keys.data_key(conn, row.client_id)
    version = int(row.secret_version) + 1
    now = utcnow()
    conn.execute(
        secret_versions.insert().values(
            credential_id=row.id,
            version=version,
            ciphertext=key.seal_text(row.id, version, "password", password.reveal()),
            source=source,
            reason=reason[:500],
            created_at=now,
            created_by=actor.name,
        )
    )
    conn.execute(
        credentials.update()
        .where(credentials.c.id == row.id)
        .values(
            secret_version=version,
            version=row.version + 1,
            updated_at=now,
            updated_by=actor.name,
            password_changed_at=now,
        )
    )
    audit.append(
        conn,
        actor,
        "credential.password_set",
        target_type="credential",
        target_id=row.id,
        client_id=row.client_id,
        details={"secret_version": version, "source": source, "reason": reason[:500]},
    )
    return version


def effective_mode() -> sa.ColumnElement[str]:
    return sa.func.coalesce(credentials.c.sync_mode, clients.c.default_sync_mode)


def enqueue_pushes(conn: Connection, credential_id: str, secret_version: int) -> int:
    """Queue an immediate push of the credential's new secret to every directory of its
    client, when its effective mode is enforce and the client's directory sync is on.
    Called inside the transaction that changed the secret; returns how many were queued."""
    row = conn.execute(
        sa.select(credentials.c.client_id, effective_mode().label("mode"))
        .join(clients, clients.c.id == credentials.c.client_id)
        .where(credentials.c.id == credential_id, clients.c.directory_sync.is_(True))
    ).first()
    if row is None or row.mode != SyncMode.ENFORCE.value:
        return 0
    targets = (
        conn.execute(sa.select(directories.c.id).where(directories.c.client_id == row.client_id))
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
