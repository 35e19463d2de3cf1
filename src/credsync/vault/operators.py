"""Operators (people and scripts that use the vault) and the roles that grant permissions."""

from __future__ import annotations

import builtins
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.crypto.hashing import hash_password
from credsync.errors import AlreadyExists, InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage.tables import operators, roles
from credsync.types import Secret, new_id
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import ALL_PERMISSIONS, BUILTIN_ROLES, Actor, Permission
from credsync.vault.models import Operator, Role
from credsync.vault.validate import clean_name, clean_text, name_key

__all__ = ["MIN_OPERATOR_PASSWORD", "Operators"]

MIN_OPERATOR_PASSWORD = 12


def check_operator_password(password: Secret) -> None:
    raw = password.reveal()
    if len(raw) < MIN_OPERATOR_PASSWORD:
        raise InvalidInput(f"operator passwords need at least {MIN_OPERATOR_PASSWORD} characters")
    if len(raw) > 1024:
        raise InvalidInput("operator password is too long (at most 1024 characters)")


def seed_roles(conn: Connection) -> None:
    now = utcnow()
    for name, (description, perms) in BUILTIN_ROLES.items():
        conn.execute(
            roles.insert().values(
                name=name,
                description=description,
                permissions=json.dumps([p.value for p in perms]),
                builtin=True,
                created_at=now,
            )
        )


def _operator(row: Any) -> Operator:
    return Operator(
        id=row.id,
        name=row.name,
        role=row.role,
        created_at=as_utc(row.created_at),
        disabled_at=as_utc_opt(row.disabled_at),
        last_login_at=as_utc_opt(row.last_login_at),
    )


def _role(row: Any) -> Role:
    return Role(row.name, row.description, tuple(json.loads(row.permissions)), bool(row.builtin))


class Operators:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    # -- reading -----------------------------------------------------------------------------
    def find_row(self, conn: Connection, ref: str, *, lock: bool = False) -> Any:
        query = sa.select(operators).where(
            sa.or_(operators.c.name_key == name_key(ref), operators.c.id == ref)
        )
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no operator named {ref!r}")
        return row

    def actor_for(self, conn: Connection, row: Any, via: str) -> Actor:
        perms = conn.execute(
            sa.select(roles.c.permissions).where(roles.c.name == row.role)
        ).scalar()
        return Actor(row.id, row.name, row.role, frozenset(json.loads(perms or "[]")), via)

    def list(self, actor: Actor) -> list[Operator]:
        actor.require(Permission.ADMIN)
        with self._db.read() as conn:
            rows = conn.execute(sa.select(operators).order_by(operators.c.name_key))
            return [_operator(r) for r in rows]

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
        name = clean_name(name, "operator name", 64)
        check_operator_password(password)
        role = role.strip().lower()
        self._require_role(conn, role)
        key = name_key(name)
        if conn.execute(sa.select(operators.c.id).where(operators.c.name_key == key)).first():
            raise AlreadyExists(f"an operator named {name!r} already exists")
        now = utcnow()
        op_id = new_id()
        conn.execute(
            operators.insert().values(
                id=op_id,
                name=name,
                name_key=key,
                password_hash=hash_password(password),
                role=role,
                created_at=now,
                updated_at=now,
            )
        )
        self._audit.append(
            conn,
            actor,
            "operator.add",
            target_type="operator",
            target_id=op_id,
            details={"name": name, "role": role},
        )
        return _operator(conn.execute(sa.select(operators).where(operators.c.id == op_id)).one())

    def set_role(self, actor: Actor, ref: str, role: str) -> Operator:
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            row = self.find_row(conn, ref, lock=True)
            role = role.strip().lower()
            self._require_role(conn, role)
            if row.role == "admin" and role != "admin":
                self._require_other_admin(conn, row.id)
            conn.execute(
                operators.update()
                .where(operators.c.id == row.id)
                .values(role=role, updated_at=utcnow())
            )
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
            conn.execute(
                operators.update()
                .where(operators.c.id == row.id)
                .values(disabled_at=now if disabled else None, updated_at=now)
            )
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
            conn.execute(
                operators.update()
                .where(operators.c.id == row.id)
                .values(password_hash=hash_password(password), updated_at=utcnow())
            )
            self._audit.append(
                conn,
                actor,
                "operator.password",
                target_type="operator",
                target_id=row.id,
                details={"name": row.name},
            )

    def _require_other_admin(self, conn: Connection, operator_id: str) -> None:
        others = conn.execute(
            sa.select(sa.func.count())
            .select_from(operators)
            .where(
                operators.c.role == "admin",
                operators.c.disabled_at.is_(None),
                operators.c.id != operator_id,
            )
        ).scalar_one()
        if not others:
            raise InvalidInput("this is the last active admin: add another admin first")

    # -- roles -------------------------------------------------------------------------------
    def _require_role(self, conn: Connection, role: str) -> None:
        if not conn.execute(sa.select(roles.c.name).where(roles.c.name == role)).first():
            names = conn.execute(sa.select(roles.c.name).order_by(roles.c.name)).scalars()
            raise NotFound(f"no role named {role!r} (roles: {', '.join(names)})")

    def roles(self, actor: Actor) -> builtins.list[Role]:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return [_role(r) for r in conn.execute(sa.select(roles).order_by(roles.c.name))]

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
            if conn.execute(sa.select(roles.c.name).where(roles.c.name == name)).first():
                raise AlreadyExists(f"a role named {name!r} already exists")
            conn.execute(
                roles.insert().values(
                    name=name,
                    description=description,
                    permissions=json.dumps(perms),
                    builtin=False,
                    created_at=utcnow(),
                )
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
            row = conn.execute(sa.select(roles).where(roles.c.name == name)).first()
            if row is None:
                raise NotFound(f"no role named {name!r}")
            if row.builtin:
                raise InvalidInput(f"role {name!r} is built in and cannot be deleted")
            users = (
                conn.execute(sa.select(operators.c.name).where(operators.c.role == name))
                .scalars()
                .all()
            )
            if users:
                raise InvalidInput(
                    f"role {name!r} is held by {', '.join(users)}: give them another role first"
                )
            conn.execute(roles.delete().where(roles.c.name == name))
            self._audit.append(conn, actor, "role.delete", target_type="role", target_id=name)
