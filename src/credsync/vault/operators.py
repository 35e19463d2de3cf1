"""Operators (people and scripts that use the vault) and the roles that grant permissions.

Changing an operator's password, or disabling them, ends every session of theirs for good:
their CLI sessions (``credsync unlock``) are deleted with the master key sealed in them and
their browser sessions are marked ended, in the same transaction, so that neither the old
password's sessions nor (after a re-enable) a disabled operator's come back. API tokens are
named, long-lived credentials of scripts: a password change revokes them only when asked
(``revoke_tokens``), and disabling suspends them (they work again once enabled); revoking them
all is :meth:`credsync.vault.access.Access.revoke_all_tokens`.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from credsync.crypto.hashing import hash_password
from credsync.errors import AlreadyExists, InvalidInput, NotFound
from credsync.storage import Database, sessions
from credsync.storage import mfa as mfa_rows
from credsync.storage import operators as store
from credsync.storage import webauthn as key_rows
from credsync.storage.operators import OperatorRow, RoleRow
from credsync.types import Secret, new_id
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import ALL_PERMISSIONS, BUILTIN_ROLES, Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.models import Operator, PasswordChange, Role
from credsync.vault.validate import clean_name, clean_text, name_key

__all__ = ["MIN_OPERATOR_PASSWORD", "Operators", "end_sessions_of"]

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


def _permissions(permissions: builtins.list[str]) -> builtins.list[str]:
    """A role's permissions, sorted: known ones, at least one."""
    unknown = sorted(set(permissions) - set(ALL_PERMISSIONS))
    if unknown:
        raise InvalidInput(
            f"unknown permission {', '.join(unknown)} (known: {', '.join(ALL_PERMISSIONS)})"
        )
    if not permissions:
        raise InvalidInput("a role needs at least one permission")
    return sorted(set(permissions))


def end_sessions_of(conn: Connection, operator_id: str, now: dt.datetime) -> int:
    """End every session of the operator for good (the CLI's deleted, the browsers' marked
    ended); returns how many were live."""
    sessions.drop_expired_cli(conn, now)
    return sessions.end_cli_of(conn, operator_id) + sessions.end_web_of(conn, operator_id, now)


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


def _operator(conn: Connection, row: OperatorRow) -> Operator:
    return _operators(conn, [row])[0]


def _operators(conn: Connection, rows: builtins.list[OperatorRow]) -> builtins.list[Operator]:
    """The records of ``rows``, with their client access (one statement each for the roles
    that have admin and the clients listed)."""
    listed = store.client_access(conn, rows[0].id if len(rows) == 1 else None)
    admin_roles = {r.name for r in store.roles_all(conn) if Permission.ADMIN.value in r.permissions}
    return [
        Operator(
            id=row.id,
            name=row.name,
            role=row.role,
            created_at=as_utc(row.created_at),
            disabled_at=as_utc_opt(row.disabled_at),
            last_login_at=as_utc_opt(row.last_login_at),
            clients=None if row.all_clients else tuple(listed.get(row.id, ())),
            admin=row.role in admin_roles,
            mfa=_mfa_state(conn, row.id),
        )
        for row in rows
    ]


def _mfa_state(conn: Connection, operator_id: str) -> str:
    """An operator's second factor: on, pending or off (see credsync.vault.mfa); a security
    key makes it on."""
    if key_rows.count(conn, operator_id):
        return "on"
    found = mfa_rows.get(conn, operator_id)
    return "off" if found is None else "pending" if found.confirmed_at is None else "on"


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
        """The actor ``row`` signs in as, with their role's permissions and their client
        access as they are now (an actor is built per request: a change applies from the
        next one). An operator whose role has admin reaches every client."""
        perms = frozenset(store.permissions_of(conn, row.role))
        clients = None
        if not row.all_clients and Permission.ADMIN.value not in perms:
            clients = store.client_ids_of(conn, row.id)
        return Actor(row.id, row.name, row.role, perms, via, clients)

    def reach_of(self, actor: Actor) -> list[tuple[str, str]] | None:
        """The (id, name) of the clients ``actor`` may reach, by name (anyone may read their
        own client access); None: every client."""
        if actor.clients is None or actor.operator_id is None:
            return None
        with self._db.read() as conn:
            listed = store.client_access(conn, actor.operator_id).get(actor.operator_id, [])
        return [(client_id, name) for client_id, name in listed if client_id in actor.clients]

    def list(self, actor: Actor) -> list[Operator]:
        actor.require(Permission.ADMIN)
        with self._db.read() as conn:
            return _operators(conn, store.list_all(conn))

    def get(self, actor: Actor, ref: str) -> Operator:
        if ref not in (actor.name, actor.operator_id):
            actor.require(Permission.ADMIN)
        with self._db.read() as conn:
            return _operator(conn, self.find_row(conn, ref))

    # -- changing ----------------------------------------------------------------------------
    def add(
        self,
        actor: Actor,
        name: str,
        password: Secret,
        role: str,
        clients: Sequence[str] | None = None,
    ) -> Operator:
        """Add an operator with a role (what they may do) and client access (where):
        ``clients`` None, every client; else only those (names or ids)."""
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            return self.add_in(conn, actor, name, password, role, clients)

    def add_in(
        self,
        conn: Connection,
        actor: Actor,
        name: str,
        password: Secret,
        role: str,
        clients: Sequence[str] | None = None,
    ) -> Operator:
        name = check_operator_name(name)
        check_operator_password(password)
        role = role.strip().lower()
        self._require_role(conn, role)
        client_ids = self._client_ids(conn, actor, role, clients)
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
        details: dict[str, object] = {"name": name, "role": role}
        if client_ids is not None:
            store.set_client_access(conn, op_id, client_ids, now)
            details["clients"] = client_ids
        self._audit.append(
            conn,
            actor,
            "operator.add",
            target_type="operator",
            target_id=op_id,
            details=details,
        )
        return _operator(conn, store.get(conn, op_id))

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
            return _operator(conn, self.find_row(conn, row.id))

    def set_clients(self, actor: Actor, ref: str, clients: Sequence[str] | None) -> Operator:
        """Give an operator access to every client (``clients`` None) or only to those listed
        (names or ids; needs admin). It applies from their next request on. An operator
        whose role has admin reaches every client: limiting one is refused."""
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            row = self.find_row(conn, ref, lock=True)
            client_ids = self._client_ids(conn, actor, row.role, clients)
            before = None if row.all_clients else sorted(store.client_ids_of(conn, row.id))
            store.set_client_access(conn, row.id, client_ids, utcnow())
            self._audit.append(
                conn,
                actor,
                "operator.clients",
                target_type="operator",
                target_id=row.id,
                details={"name": row.name, "from": before, "to": client_ids},
            )
            return _operator(conn, self.find_row(conn, row.id))

    def _client_ids(
        self, conn: Connection, actor: Actor, role: str, clients: Sequence[str] | None
    ) -> builtins.list[str] | None:
        """The ids of ``clients`` (None: every client), each one that exists."""
        if clients is None:
            return None
        if Permission.ADMIN.value in store.permissions_of(conn, role):
            raise InvalidInput(
                f"role {role!r} has admin, which reaches every client: an admin's client "
                "access can't be limited",
                field="clients",
            )
        refs = [c.strip() for c in clients if c.strip()]
        if not refs:
            raise InvalidInput("give at least one client, or all clients", field="clients")
        ids: builtins.list[str] = []
        for ref in refs:
            try:
                ids.append(find_client_row(conn, ref, actor).id)
            except NotFound as exc:
                raise InvalidInput(str(exc), field="clients") from None
        return sorted(set(ids))

    def set_disabled(self, actor: Actor, ref: str, disabled: bool) -> Operator:
        """Disable (no sign-in; every session ended for good; API tokens refused until
        enabled) or enable an operator."""
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            row = self.find_row(conn, ref, lock=True)
            if disabled and row.role == "admin":
                self._require_other_admin(conn, row.id)
            now = utcnow()
            store.set_disabled(conn, row.id, now if disabled else None, now)
            details: dict[str, object] = {"name": row.name}
            if disabled:
                details["sessions_ended"] = end_sessions_of(conn, row.id, now)
            self._audit.append(
                conn,
                actor,
                "operator.disable" if disabled else "operator.enable",
                target_type="operator",
                target_id=row.id,
                details=details,
            )
            return _operator(conn, self.find_row(conn, row.id))

    def set_password(
        self, actor: Actor, ref: str, password: Secret, *, revoke_tokens: bool = False
    ) -> PasswordChange:
        """A new password for oneself, or for another operator (admin). Every session of the
        operator ends, the one making the change too; with ``revoke_tokens``, their API tokens
        are revoked as well."""
        with self._db.write() as conn:
            row = self.find_row(conn, ref, lock=True)
            if row.id != actor.operator_id:
                actor.require(Permission.ADMIN)
            check_operator_password(password)
            now = utcnow()
            store.set_password_hash(conn, row.id, hash_password(password), now)
            ended = end_sessions_of(conn, row.id, now)
            revoked = store.revoke_tokens_of(conn, row.id, now) if revoke_tokens else 0
            self._audit.append(
                conn,
                actor,
                "operator.password",
                target_type="operator",
                target_id=row.id,
                details={"name": row.name, "sessions_ended": ended, "tokens_revoked": revoked},
            )
            left = store.live_tokens_of(conn, row.id, now)
        return PasswordChange(row.name, ended, revoked, left)

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
        perms = _permissions(permissions)
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

    def change_role(
        self,
        actor: Actor,
        name: str,
        *,
        permissions: builtins.list[str] | None = None,
        description: str | None = None,
    ) -> Role:
        """Change a custom role's permissions or description (needs admin; built-in roles
        stay as they are). The operators who hold it have the new permissions from their
        next request on."""
        actor.require(Permission.ADMIN)
        if permissions is None and description is None:
            raise InvalidInput(
                "nothing to change: give permissions or a description",
                field=("permissions", "description"),
            )
        name = name.strip().lower()
        perms = None if permissions is None else _permissions(permissions)
        if description is not None:
            description = clean_text(description, "role description", 500)
        with self._db.write() as conn:
            row = store.role(conn, name)
            if row is None:
                raise NotFound(f"no role named {name!r}")
            if row.builtin:
                raise InvalidInput(f"role {name!r} is built in and cannot be changed")
            new_perms = list(row.permissions) if perms is None else perms
            new_description = row.description if description is None else description
            store.change_role(conn, name, description=new_description, permissions=new_perms)
            details: dict[str, object] = {}
            if new_perms != sorted(row.permissions):
                details.update({"from": sorted(row.permissions), "to": new_perms})
            if new_description != row.description:
                details["description"] = new_description
            self._audit.append(
                conn, actor, "role.change", target_type="role", target_id=name, details=details
            )
        return Role(name, new_description, tuple(new_perms), False)

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
