"""Clients: the customer organisations the vault is divided into (the unit of tenancy)."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from credsync.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaleVersion,
)
from credsync.storage import Database
from credsync.storage import clients as client_rows
from credsync.storage import credentials as credential_rows
from credsync.storage.clients import ClientRow
from credsync.types import SyncMode, new_id
from credsync.vault import folders as folder_ops
from credsync.vault import rotation
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.keyring import KeyRing
from credsync.vault.models import Client, Folder
from credsync.vault.validate import clean_name, name_key

__all__ = [
    "ClientPage",
    "Clients",
    "client_model",
    "find_client_row",
    "reached",
    "require_all_clients",
    "sees_directory_admin",
]


def client_model(row: ClientRow, count: int | None = None, overdue: int | None = None) -> Client:
    """``overdue``: how many of its credentials are overdue for rotation, known with
    ``count``."""
    return Client(
        id=row.id,
        name=row.name,
        directory_sync=bool(row.directory_sync),
        default_sync_mode=SyncMode(row.default_sync_mode),
        version=row.version,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        archived_at=as_utc_opt(row.archived_at),
        credential_count=count,
        rotate_every_days=row.rotate_every_days,
        overdue_count=overdue,
    )


def find_client_row(conn: Connection, ref: str, actor: Actor, *, lock: bool = False) -> ClientRow:
    """A client by exact id or by name (case-insensitive) that ``actor`` may reach: a client
    outside their client access is NotFound as a client that does not exist is."""
    row = client_rows.find(conn, ref, name_key(ref), lock=lock)
    if row is None or not actor.sees(row.id):
        raise NotFound(f"no client named {ref!r}")
    return row


def require_all_clients(actor: Actor, what: str) -> None:
    """PermissionDenied unless the actor reaches every client (``what`` needs it)."""
    if actor.limited:
        raise PermissionDenied(
            f"{what} needs access to every client: operator {actor.name!r} reaches only some",
            operator=actor.name,
        )


def reached(actor: Actor, of: Collection[str] | None) -> frozenset[str] | None:
    """The clients (ids) of ``of`` that ``actor`` reaches; ``of`` None: all they reach (None:
    every client)."""
    if of is None:
        return None if actor.clients is None else frozenset(actor.clients)
    return frozenset(c for c in of if actor.sees(c))


@dataclass(frozen=True)
class ClientPage:
    """A page of clients by name: ``total`` match in all; ``after`` is the cursor of the
    next page (None: this is the last)."""

    clients: builtins.list[Client]
    total: int
    after: str | None


def sees_directory_admin(actor: Actor) -> bool:
    """Whether the actor may know of directory_admin credentials (directory_admin.use)."""
    return actor.can(Permission.DIRECTORY_ADMIN_USE)


def check_version(kind: str, ident: str, current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise StaleVersion(
            f"{kind} {ident} was changed since you read it (now version {current}, "
            f"you had version {expected}): reload and retry"
        )


def configuration(
    directory_sync: bool | None, default_sync_mode: SyncMode | None
) -> dict[str, Any]:
    """What a configure of a client changes: the settings given; none at all is refused."""
    values: dict[str, Any] = {}
    if directory_sync is not None:
        values["directory_sync"] = directory_sync
    if default_sync_mode is not None:
        values["default_sync_mode"] = default_sync_mode.value
    if not values:
        raise InvalidInput(
            "nothing to change: give directory sync or a default sync mode",
            field=("directory_sync", "default_sync_mode"),
        )
    return values


class Clients:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def add(
        self,
        actor: Actor,
        keys: KeyRing,
        name: str,
        *,
        directory_sync: bool = False,
        default_sync_mode: SyncMode = SyncMode.REPORT,
        rotate_every_days: int | None = None,
    ) -> Client:
        """``rotate_every_days``: see :mod:`credsync.vault.rotation` (0 or None: never)."""
        actor.require(Permission.VAULT_WRITE)
        if directory_sync or default_sync_mode.pushes:
            actor.require(Permission.DIRECTORY_SETUP)
        # One limited to some clients could not see the client they made.
        require_all_clients(actor, "adding a client")
        name = clean_name(name, "client name", 200)
        rotate_every_days = rotation.check_rotate_every(rotate_every_days)
        client_id = new_id()
        kek = keys.kek()
        with self._db.write() as conn:
            if client_rows.id_by_key(conn, name_key(name)) is not None:
                raise AlreadyExists(f"a client named {name!r} already exists")
            _, wrapped = kek.new_data_key(client_id)
            client_rows.add(
                conn,
                client_id=client_id,
                name=name,
                key=name_key(name),
                directory_sync=directory_sync,
                default_sync_mode=default_sync_mode.value,
                wrapped_data_key=wrapped,
                now=utcnow(),
                rotate_every_days=rotate_every_days,
            )
            self._audit.append(
                conn,
                actor,
                "client.add",
                target_type="client",
                target_id=client_id,
                client_id=client_id,
                details={
                    "name": name,
                    "directory_sync": directory_sync,
                    "default_sync_mode": default_sync_mode.value,
                    **(
                        {}
                        if rotate_every_days is None
                        else {"rotate_every_days": rotate_every_days}
                    ),
                },
            )
            return client_model(find_client_row(conn, client_id, actor), 0, 0)

    def list(self, actor: Actor, *, include_archived: bool = False) -> list[Client]:
        actor.require(Permission.VAULT_READ)
        admin = sees_directory_admin(actor)
        with self._db.read() as conn:
            rows = client_rows.list_with_counts(
                conn,
                include_archived=include_archived,
                include_directory_admin=admin,
                client_ids=actor.clients,
            )
            overdue = rotation.overdue_counts(
                conn, [row for row, _ in rows], utcnow(), include_directory_admin=admin
            )
            return [client_model(row, count, overdue.get(row.id, 0)) for row, count in rows]

    def page(
        self,
        actor: Actor,
        *,
        archived: bool = False,
        contains: str = "",
        after: str | None = None,
        limit: int = 50,
    ) -> ClientPage:
        """Up to ``limit`` of the clients the actor reaches, by name, after the cursor
        ``after`` (a page's ``after``), archived or not, whose name contains ``contains``
        (any case); with their counts (credentials, overdue ones), read for them alone."""
        actor.require(Permission.VAULT_READ)
        if not 1 <= limit <= 500:
            raise InvalidInput(f"limit {limit} is not from 1 to 500", field="limit")
        admin = sees_directory_admin(actor)
        key, scope = name_key(contains.strip()), actor.clients
        with self._db.read() as conn:
            rows = client_rows.page(
                conn,
                archived=archived,
                client_ids=scope,
                contains=key,
                after=after,
                limit=limit + 1,
            )
            more, rows = len(rows) > limit, rows[:limit]
            total = client_rows.matching(conn, archived=archived, client_ids=scope, contains=key)
            ids = [row.id for row in rows]
            counts = client_rows.live_counts(conn, ids, include_directory_admin=admin)
            overdue = rotation.overdue_counts(conn, rows, utcnow(), include_directory_admin=admin)
        return ClientPage(
            [client_model(r, counts.get(r.id, 0), overdue.get(r.id, 0)) for r in rows],
            total,
            name_key(rows[-1].name) if more else None,
        )

    def get(self, actor: Actor, ref: str) -> Client:
        actor.require(Permission.VAULT_READ)
        admin = sees_directory_admin(actor)
        with self._db.read() as conn:
            row = find_client_row(conn, ref, actor)
            count = credential_rows.live_count(conn, row.id, include_directory_admin=admin)
            overdue = rotation.overdue_counts(conn, [row], utcnow(), include_directory_admin=admin)
            return client_model(row, count, overdue.get(row.id, 0))

    def _update(
        self,
        actor: Actor,
        ref: str,
        action: str,
        values: dict[str, Any],
        details: dict[str, Any],
        expected_version: int | None,
    ) -> Client:
        with self._db.write() as conn:
            row = find_client_row(conn, ref, actor, lock=True)
            check_version("client", row.name, row.version, expected_version)
            client_rows.update(conn, row.id, {**values, "version": row.version + 1}, utcnow())
            self._audit.append(
                conn,
                actor,
                action,
                target_type="client",
                target_id=row.id,
                client_id=row.id,
                details={"name": row.name, **details},
            )
            return client_model(find_client_row(conn, row.id, actor))

    def rename(
        self, actor: Actor, ref: str, new_name: str, *, expected_version: int | None = None
    ) -> Client:
        actor.require(Permission.VAULT_WRITE)
        new_name = clean_name(new_name, "client name", 200)
        with self._db.read() as conn:
            clash = client_rows.id_by_key(conn, name_key(new_name))
            current = find_client_row(conn, ref, actor)
        if clash is not None and clash != current.id:
            raise AlreadyExists(f"a client named {new_name!r} already exists")
        return self._update(
            actor,
            ref,
            "client.rename",
            {"name": new_name, "name_key": name_key(new_name)},
            {"new_name": new_name},
            expected_version,
        )

    def set_archived(
        self, actor: Actor, ref: str, archived: bool, *, expected_version: int | None = None
    ) -> Client:
        actor.require(Permission.VAULT_WRITE)
        with self._db.read() as conn:
            current = find_client_row(conn, ref, actor)
        if (current.archived_at is not None) == archived and expected_version in (
            None,
            current.version,
        ):
            return client_model(current)  # already so: nothing to change, nothing to audit
        return self._update(
            actor,
            ref,
            "client.archive" if archived else "client.unarchive",
            {"archived_at": utcnow() if archived else None},
            {},
            expected_version,
        )

    def configure(
        self,
        actor: Actor,
        ref: str,
        *,
        directory_sync: bool | None = None,
        default_sync_mode: SyncMode | None = None,
        expected_version: int | None = None,
    ) -> Client:
        """Change the directory-sync switch and the default sync mode (directory.setup)."""
        actor.require(Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)
        values = configuration(directory_sync, default_sync_mode)
        return self._update(actor, ref, "client.configure", values, values, expected_version)

    def set_rotation(
        self,
        actor: Actor,
        ref: str,
        rotate_every_days: int | None,
        *,
        expected_version: int | None = None,
    ) -> Client:
        """Set the client's rotation interval in days (0 or None: never; vault.write;
        audited as ``client.rotation``). The same interval again changes nothing."""
        actor.require(Permission.VAULT_WRITE)
        days = rotation.check_rotate_every(rotate_every_days)
        with self._db.read() as conn:
            current = find_client_row(conn, ref, actor)
        if current.rotate_every_days == days and expected_version in (None, current.version):
            return client_model(current)  # already so: nothing to change, nothing to audit
        values = {"rotate_every_days": days}
        return self._update(actor, ref, "client.rotation", values, values, expected_version)

    # -- folders -----------------------------------------------------------------------------
    def add_folder(self, actor: Actor, client_ref: str, path: str) -> Folder:
        actor.require(Permission.VAULT_WRITE)
        with self._db.write() as conn:
            row = find_client_row(conn, client_ref, actor)
            if row.archived_at is not None:
                raise InvalidInput(f"client {row.name!r} is archived: unarchive it first")
            folder_id, created = folder_ops.ensure_folder(conn, row.id, path)
            if not created:
                raise AlreadyExists(f"client {row.name!r} already has folder {path!r}")
            self._audit.append(
                conn,
                actor,
                "folder.add",
                target_type="folder",
                target_id=folder_id,
                client_id=row.id,
                details={"path": folder_ops.clean_path(path)},
            )
            return next(f for f in folder_ops.list_folders(conn, row.id) if f.id == folder_id)

    def folders(self, actor: Actor, client_ref: str) -> builtins.list[Folder]:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return folder_ops.list_folders(conn, find_client_row(conn, client_ref, actor).id)

    def delete_folder(self, actor: Actor, client_ref: str, path: str) -> Folder:
        actor.require(Permission.VAULT_WRITE)
        with self._db.write() as conn:
            row = find_client_row(conn, client_ref, actor)
            folder = folder_ops.delete_folder(conn, row.id, path)
            self._audit.append(
                conn,
                actor,
                "folder.delete",
                target_type="folder",
                target_id=folder.id,
                client_id=row.id,
                details={"path": folder.path},
            )
            return folder
