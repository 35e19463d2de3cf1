"""Groups of the MSP's tenant whose members the import of operators makes operators, each
with a role and client access (``operator_group_maps``), and the review marks a sync leaves on
operators it disabled. Admin only; audited ``sign_in.group_map`` / ``sign_in.group_unmap``.
The import itself (reading the tenant): :mod:`credsync.sync.operator_import`."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass

from typing_extensions import TypedDict

from credsync.errors import InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage import operator_sign_in as rows
from credsync.storage import operators as operator_rows
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.operator_sign_in import PROVIDER, clean_guid

__all__ = ["GroupMap", "GroupMapJson", "OperatorGroups"]


class GroupMapJson(TypedDict):
    group_id: str
    group_name: str
    role: str
    clients: list[str] | None  # client ids; None: every client


@dataclass(frozen=True)
class GroupMap:
    group_id: str
    group_name: str
    role: str
    clients: tuple[str, ...] | None

    def to_json(self) -> GroupMapJson:
        return {
            "group_id": self.group_id,
            "group_name": self.group_name,
            "role": self.role,
            "clients": None if self.clients is None else list(self.clients),
        }


def _map(row: rows.GroupMapRow) -> GroupMap:
    clients = None if row.all_clients else tuple(json.loads(row.clients))
    return GroupMap(row.group_id, row.group_name, row.role, clients)


class OperatorGroups:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def put(
        self,
        actor: Actor,
        group_id: str,
        group_name: str,
        role: str,
        clients: builtins.list[str] | None,
    ) -> GroupMap:
        """Map a group to a role and client access (``clients``: names or ids; None: every
        client); replaces the group's mapping."""
        actor.require(Permission.ADMIN)
        gid = clean_guid(group_id, "group_id", "group id")
        role = role.strip().lower()
        with self._db.write() as conn:
            if role not in {r.name for r in operator_rows.roles_all(conn)}:
                raise InvalidInput(f"no role named {role!r}", field="role")
            ids = None
            if clients is not None:
                try:
                    ids = sorted({find_client_row(conn, c, actor).id for c in clients})
                except NotFound as exc:
                    raise InvalidInput(str(exc), field="clients") from None
            row = rows.GroupMapRow(
                PROVIDER, gid, group_name[:256] or gid, role, ids is None,
                json.dumps(ids or []), utcnow(), actor.name,
            )  # fmt: skip
            rows.put_group_map(conn, row)
            self._audit.append(
                conn, actor, "sign_in.group_map", target_type="sign_in", target_id=gid,
                details={"group": row.group_name, "role": role, "clients": ids},
            )  # fmt: skip
        return _map(row)

    def remove(self, actor: Actor, group_id: str) -> None:
        actor.require(Permission.ADMIN)
        gid = clean_guid(group_id, "group_id", "group id")
        with self._db.write() as conn:
            if not rows.delete_group_map(conn, PROVIDER, gid):
                raise NotFound(f"group {gid} is not mapped")
            self._audit.append(
                conn, actor, "sign_in.group_unmap", target_type="sign_in", target_id=gid,
                details={},
            )  # fmt: skip

    def list(self, actor: Actor) -> builtins.list[GroupMap]:
        actor.require(Permission.ADMIN)
        with self._db.read() as conn:
            return [_map(r) for r in rows.group_maps(conn, PROVIDER)]

    def mark_review(self, actor: Actor, operator_id: str, reason: str | None) -> None:
        """Note (or clear) why a sync disabled an operator, for the admins' review."""
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            rows.set_review(conn, operator_id, reason, utcnow() if reason else None)
