"""Operators (people and scripts that use the vault) and the roles that grant permissions."""

from __future__ import annotations

import builtins

from sqlalchemy.engine import Connection

from credsync.crypto.hashing import hash_password
from credsync.errors import AlreadyExists, InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage import operators as store
from credsync.storage.operators import OperatorRow, RoleRow
from credsync.types import Secret, new_id
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import ALL_PERMISSIONS, BUILTIN_ROLES, Actor, Permission
from credsync.vault.models import Operator, Role
from credsync.vault.validate import clean_name, clean_text, name_key

__all__ = ["MIN_OPERATOR_PASSWORD", "Operators"]

MIN_OPERATOR_PASSWORD = 12


def check_operator_name(name: str) -> str:
    """An operator's name as it is stored: trimmed, 1 to 64 printable characters."""
    return clean_name(name, "operator name", 64)


def check_operator_password(password: Secret) -> None:
    raw = password.reveal()
    if len(raw) < MIN_OPERATOR_PASSWORD:
        raise InvalidInput(f"operator passwords need at least {MIN_OPERATOR_PASSWORD} characters")
    if len(raw) > 1024:
        raise InvalidInput("operator password is too long (at most 1024 characters)")


def seed_roles(conn: Connection) -> None:
    now = utcnow()
    for name, (description, perms) in BUILTIN_ROLES.items():
        store.add_role(
            conn,
            name=name,
            description=description,
            permissions=[p.value for p in perms],
            builtin=True,
            now=now,
        )


def _operator(row: OperatorRow) -> Operator:
    return Operator(
        id=row.id,
        name=row.name,
        role=row.role,
        created_at=as_utc(row.created_at),
        disabled_at=as_utc_opt(row.disabled_at),
        last_login_at=as_utc_opt(row.last_login_at),
    )


def _role(row: RoleRow) -> Role:
    return Role(row.name, row.description, row.permissions, row.builtin)


class Operators:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    # -- reading -----------------------------------------------------------------------------
    def find_row(self, conn: Connection, ref: str, *, lock: bool = False) -> OperatorRow:
        row = store.find(conn, ref, name_key(ref), lock=lock)
        if row is None:
            raise NotFound(f"no operator named {ref!r}")
        return row

    def actor_for(self, conn: Connection, row: OperatorRow, via: str) -> Actor:
        perms = store.permissions_of(conn, row.role)
        return Actor(row.id, row.name, row.role, frozenset(perms), via)

    def list(self, actor: Actor) -> list[Operator]:
        actor.require(Permission.ADMIN)
        with self._db.read() as conn:
            return [_operator(r) for r in store.list_all(conn)]

    def get(self, actor: Actor, ref: str) -> Operator:
        if ref not in (actor.name, actor.operator_id):
            actor.require(Permission.ADMIN)
        with self._db.read() as conn:
            return _operator(self.find_row(conn, ref))

    # -- changing ----------------------------------------------------------------------------
    def add(self, actor: Actor, name: str, password: Secret, role: str) -> Operator:
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            return self.add_in(conn, actor, name, password, role)

    def add_in(
        self, conn: Connection, actor: Actor, name: str, password: Secret, role: str
    ) -> Operator:
        name = check_operator_name(name)
        check_operator_password(password)
        role = role.strip().lower()
        self._require_role(conn, role)
        key = name_key(name)
        if store.key_taken(conn, key):
            raise AlreadyExists(f"an operator named {name!r} already exists")
        now = utcnow()
        op_id = new_id()
        store.add(
            conn,
            operator_id=op_id,
            name=name,
            key=key,
            password_hash=hash_password(password),
            role=role,
            now=now,
        )
        self._audit.append(
            conn,
            actor,
            "operator.add",
            target_type="operator",
            target_id=op_id,
            details={"name": name, "role": role},
        )
        return _operator(store.get(conn, op_id))

    def set_role(self, actor: Actor, ref: str, role: str) -> Operator:
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            row = self.find_row(conn, ref, lock=True)
            role = role.strip().lower()
            self._require_role(conn, role)
            if row.role == "admin" and role != "admin":
                self._require_other_admin(conn, row.id)
            store.set_role(conn, row.id, role, utcnow())
            self._audit.append(
                conn,
                actor,
                "operator.role",
                target_type="operator",
                target_id=row.id,
                details={"name": row.name, "from": row.role, "to": role},
            )
            return _operator(self.find_row(conn, row.id))

    def set_disabled(self, actor: Actor, ref: str, disabled: bool) -> Operator:
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            row = self.find_row(conn, ref, lock=True)
            if disabled and row.role == "admin":
                self._require_other_admin(conn, row.id)
            now = utcnow()
            store.set_disabled(conn, row.id, now if disabled else None, now)
            self._audit.append(
                conn,
                actor,
                "operator.disable" if disabled else "operator.enable",
                target_type="operator",
                target_id=row.id,
                details={"name": row.name},
            )
            return _operator(self.find_row(conn, row.id))

    def set_password(self, actor: Actor, ref: str, password: Secret) -> None:
        with self._db.write() as conn:
            row = self.find_row(conn, ref, lock=True)
            if row.id != actor.operator_id:
                actor.require(Permission.ADMIN)
            check_operator_password(password)
            store.set_password_hash(conn, row.id, hash_password(password), utcnow())
            self._audit.append(
                conn,
                actor,
                "operator.password",
                target_type="operator",
                target_id=row.id,
                details={"name": row.name},
            )

    def _require_other_admin(self, conn: Connection, operator_id: str) -> None:
        if not store.enabled_with_role(conn, "admin", besides=operator_id):
            raise InvalidInput("this is the last active admin: add another admin first")

    # -- roles -------------------------------------------------------------------------------
    def _require_role(self, conn: Connection, role: str) -> None:
        if store.role(conn, role) is None:
            names = store.role_names(conn)
            raise NotFound(f"no role named {role!r} (roles: {', '.join(names)})")

    def roles(self, actor: Actor) -> builtins.list[Role]:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return [_role(r) for r in store.roles_all(conn)]

    def add_role(
        self, actor: Actor, name: str, permissions: builtins.list[str], description: str = ""
    ) -> Role:
        actor.require(Permission.ADMIN)
        name = clean_name(name, "role name", 64).lower()
        description = clean_text(description, "role description", 500)
        unknown = sorted(set(permissions) - set(ALL_PERMISSIONS))
        if unknown:
            raise InvalidInput(
                f"unknown permission {', '.join(unknown)} (known: {', '.join(ALL_PERMISSIONS)})"
            )
        if not permissions:
            raise InvalidInput("a role needs at least one permission")
        perms = sorted(set(permissions))
        with self._db.write() as conn:
            if store.role(conn, name) is not None:
                raise AlreadyExists(f"a role named {name!r} already exists")
            store.add_role(
                conn,
                name=name,
                description=description,
                permissions=perms,
                builtin=False,
                now=utcnow(),
            )
            self._audit.append(
                conn,
                actor,
                "role.add",
                target_type="role",
                target_id=name,
                details={"permissions": perms},
            )
        return Role(name, description, tuple(perms), False)

    def delete_role(self, actor: Actor, name: str) -> None:
        actor.require(Permission.ADMIN)
        name = name.strip().lower()
        with self._db.write() as conn:
            row = store.role(conn, name)
            if row is None:
                raise NotFound(f"no role named {name!r}")
            if row.builtin:
                raise InvalidInput(f"role {name!r} is built in and cannot be deleted")
            users = store.holders_of(conn, name)
            if users:
                raise InvalidInput(
                    f"role {name!r} is held by {', '.join(users)}: give them another role first"
                )
            store.delete_role(conn, name)
            self._audit.append(conn, actor, "role.delete", target_type="role", target_id=name)
