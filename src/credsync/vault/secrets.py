"""Secrets as the sync engine needs them: read in bulk for a run (audited once, per run, by
the engine), and a new secret version written inside the engine's own transaction (a
password restored after the directory refused a push, or one accepted from the directory)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Connection

from credsync.errors import IntegrityError, NotFound
from credsync.storage import credentials as credential_rows
from credsync.storage import links as link_rows
from credsync.storage import secrets as secret_rows
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.keyring import KeyRing
from credsync.vault.relay_push import queue_relayed
from credsync.vault.validate import clean_secret

__all__ = ["read_secrets", "write_secret_version"]


def read_secrets(
    conn: Connection, keys: KeyRing, client_id: str, wanted: Mapping[str, int]
) -> dict[str, Secret]:
    """The secrets of ``wanted`` (credential id -> secret version) of one client."""
    out: dict[str, Secret] = {}
    if not wanted:
        return out
    key = keys.data_key(conn, client_id)
    for row in secret_rows.sealed_secrets(conn, wanted):
        if row.client_id != client_id:
            raise IntegrityError(f"credential {row.credential_id} is not in client {client_id}")
        out[row.credential_id] = key.open_text(
            row.credential_id, row.version, "password", row.ciphertext
        )
    missing = [cid for cid in wanted if cid not in out]
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
    unsettled_links: bool = True,
    relay: bool = True,
) -> int:
    """A new current secret version for the credential, in the caller's transaction; returns
    the version. The caller decides whether the change is pushed to the credential's own
    directories (it is not queued here); its relays carry it at once
    (:func:`credsync.vault.relay_push.queue_relayed`; ``relay=False``: not, for a version
    a relay itself writes).
    What operators accepted of the directories' passwords no longer holds: a directory
    password that was unknown to the vault is checked against the new one at the next run
    (``unsettled_links`` false: the caller knows no link holds either, nothing to clear)."""
    actor.require(Permission.VAULT_WRITE)
    clean_secret(password)
    row = credential_rows.lock_secret_state(conn, credential_id)
    key = keys.data_key(conn, row.client_id)
    version = int(row.secret_version) + 1
    now = utcnow()
    secret_rows.add(
        conn,
        row.id,
        version,
        key.seal_text(row.id, version, "password", password.reveal()),
        source=source,
        reason=reason[:500],
        at=now,
        by=actor.name,
    )
    credential_rows.set_current_secret(
        conn, row.id, secret_version=version, version=row.version + 1, by=actor.name, now=now
    )
    if unsettled_links:
        link_rows.clear_accepted(
            conn, row.id, detail=f"a new password (version {version}): the next run checks it"
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
    if relay:

        def kept_in_step(target: str, same: Secret, why: str) -> int:
            return write_secret_version(
                conn, audit, actor, keys, target, same, source="relay", reason=why, relay=False
            )

        queue_relayed(conn, row.id, version, password, kept_in_step)
    return version
