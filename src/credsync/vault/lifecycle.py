"""What a credential goes through besides its fields: its sync mode (a switch to enforce or
two-way needs directory.setup) and the trash (delete, restore, purge); and what every credential
operation shares (finding one for an operator, bumping its version, recording a ciphertext
that fails authentication). :class:`~credsync.vault.credentials.Credentials` is built on it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Connection

from credsync.errors import IntegrityError, InvalidInput, NotFound, StaleVersion
from credsync.storage import Database
from credsync.storage import credentials as credential_rows
from credsync.storage import search as search_index
from credsync.storage import secrets as secret_rows
from credsync.storage.credentials import CredentialRow
from credsync.types import SyncMode
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import SYSTEM, Actor, Permission
from credsync.vault.clients import check_version, find_client_row, sees_directory_admin
from credsync.vault.directories import check_not_binding, forget_credential
from credsync.vault.listing import credential_models
from credsync.vault.models import Credential
from credsync.vault.policies import Policies

__all__ = ["MIN_ID_PREFIX", "CredentialLifecycle", "overwrites_more"]

MIN_ID_PREFIX = 6


def overwrites_more(before: SyncMode, after: SyncMode) -> bool:
    """Whether switching from ``before`` to ``after`` makes the vault's password overwrite
    directory passwords it did not: any switch into enforce, and into two-way from a mode
    that does not push (enforce to two-way pushes over less: a change made in the directory
    is no longer overwritten)."""
    if not after.pushes or after is before:
        return False
    return not (after is SyncMode.TWO_WAY and before is SyncMode.ENFORCE)


class CredentialLifecycle:
    def __init__(self, db: Database, audit: AuditLog, policies: Policies) -> None:
        self._db = db
        self._audit = audit
        self._policies = policies

    # -- finding -----------------------------------------------------------------------------
    def _row(
        self, conn: Connection, actor: Actor, ref: str, *, lock: bool = False, trashed: bool = False
    ) -> CredentialRow:
        # A directory_admin credential is not there for an operator without
        # directory_admin.use: its id answers as an id of nothing does (not "forbidden", which
        # would say that it exists).
        # So is one of a client outside the actor's client access.
        row = credential_rows.find_by_ref(
            conn,
            ref,
            min_chars=MIN_ID_PREFIX,
            include_directory_admin=sees_directory_admin(actor),
            client_ids=actor.clients,
        )
        if row.deleted_at is not None and not trashed:
            raise NotFound(f"credential {row.id} is in the trash (`credsync cred restore` it)")
        if lock:
            # Lock, then read again: on PostgreSQL the first read may predate a concurrent commit.
            row = credential_rows.lock(conn, row.id)
        return row

    def becomes_enforced(self, cred: Credential, mode: SyncMode | None) -> SyncMode | None:
        """The pushing mode (enforce or two-way) that setting ``mode`` (None: the client's
        default) puts ``cred`` in, when that overwrites more of the directory than its mode
        now: the change to be confirmed. None otherwise (the same mode, a mode that does not
        push, or enforce to two-way, which pushes over less)."""
        if mode is None:
            with self._db.read() as conn:
                default = find_client_row(conn, cred.client_id, SYSTEM).default_sync_mode
            mode = SyncMode(default)
        return mode if overwrites_more(cred.effective_sync_mode, mode) else None

    def set_sync_mode(
        self,
        actor: Actor,
        ref: str,
        mode: SyncMode | None,
        *,
        expected_version: int | None = None,
    ) -> Credential:
        """``None`` means: follow the client's default sync mode. Putting a credential in a
        mode that pushes (enforce, two-way) needs directory.setup, whether by naming it or by
        following a default that is one (which would undo an exemption a directory manager
        made)."""
        actor.require(Permission.VAULT_WRITE)
        if mode is not None and mode.pushes:
            actor.require(Permission.DIRECTORY_SETUP)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, lock=True)
            check_version("credential", row.id, row.version, expected_version)
            now_mode = SyncMode(row.sync_mode or row.client_default_sync_mode)
            inherited = SyncMode(row.client_default_sync_mode)
            if mode is None and inherited.pushes and inherited is not now_mode:
                actor.require(Permission.DIRECTORY_SETUP)
            self._bump(conn, row, actor, utcnow(), sync_mode=mode.value if mode else None)
            self._audit.append(
                conn,
                actor,
                "credential.sync_mode",
                target_type="credential",
                target_id=row.id,
                client_id=row.client_id,
                details={
                    "from": row.sync_mode or "inherit",
                    "to": mode.value if mode else "inherit",
                },
            )
            return credential_models(conn, [self._row(conn, actor, row.id)])[0]

    # -- trash -------------------------------------------------------------------------------
    def delete(self, actor: Actor, ref: str, *, expected_version: int | None = None) -> Credential:
        actor.require(Permission.VAULT_WRITE)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, lock=True)
            check_version("credential", row.id, row.version, expected_version)
            check_not_binding(conn, row.id)
            now = utcnow()
            self._bump(conn, row, actor, now, deleted_at=now, deleted_by=actor.name)
            self._audit.append(
                conn,
                actor,
                "credential.delete",
                target_type="credential",
                target_id=row.id,
                client_id=row.client_id,
                details={"title": row.title},
            )
            return credential_models(conn, [self._row(conn, actor, row.id, trashed=True)])[0]

    def restore(self, actor: Actor, ref: str) -> Credential:
        actor.require(Permission.VAULT_WRITE)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, lock=True, trashed=True)
            if row.deleted_at is None:
                raise InvalidInput(f"credential {row.id} is not in the trash")
            self._bump(conn, row, actor, utcnow(), deleted_at=None, deleted_by=None)
            self._audit.append(
                conn,
                actor,
                "credential.restore",
                target_type="credential",
                target_id=row.id,
                client_id=row.client_id,
                details={"title": row.title},
            )
            return credential_models(conn, [self._row(conn, actor, row.id)])[0]

    def purge(self, actor: Actor, ref: str) -> str:
        """Destroy a trashed credential and its whole history (admin only)."""
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, lock=True, trashed=True)
            if row.deleted_at is None:
                raise InvalidInput(f"credential {row.id} is not in the trash: delete it first")
            forget_credential(conn, row.id)
            search_index.forget(conn, row.id)
            secret_rows.forget(conn, row.id)
            credential_rows.purge(conn, row.id)
            self._audit.append(
                conn,
                actor,
                "credential.purge",
                target_type="credential",
                target_id=row.id,
                client_id=row.client_id,
                details={"title": row.title},
            )
            return str(row.id)

    # -- helpers -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _recording_tampering(self, actor: Actor, ref: str) -> Iterator[None]:
        """A ciphertext that fails authentication rolls its transaction back; the failure is
        then recorded in the audit log in a transaction of its own, and re-raised."""
        try:
            yield
        except IntegrityError as err:
            with self._db.write() as conn:
                self._audit.append(
                    conn,
                    actor,
                    "integrity.failure",
                    target_type="credential",
                    target_id=ref[:64],
                    details={"error": str(err)},
                )
            raise

    @staticmethod
    def _bump(
        conn: Connection, row: CredentialRow, actor: Actor, now: dt.datetime, **values: Any
    ) -> None:
        if not credential_rows.bump(
            conn, row.id, row.version, by=actor.name, now=now, changes=values
        ):
            raise StaleVersion(
                f"credential {row.id} was changed by someone else at the same time: retry"
            )
