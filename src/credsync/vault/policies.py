"""Named password policies stored in the vault (``default`` is built in and always there)."""

from __future__ import annotations

from credsync.errors import AlreadyExists, InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage import policies as store
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.generator import DEFAULT_POLICY, PasswordPolicy
from credsync.vault.validate import clean_name

__all__ = ["Policies"]


class Policies:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def get(self, name: str | None) -> PasswordPolicy:
        if not name or name == "default":
            return DEFAULT_POLICY
        with self._db.read() as conn:
            spec = store.spec(conn, name.lower())
        if spec is None:
            raise NotFound(f"no password policy named {name!r}")
        return PasswordPolicy.loads(spec)

    def list(self, actor: Actor) -> list[tuple[str, PasswordPolicy]]:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return [("default", DEFAULT_POLICY)] + [
                (name, PasswordPolicy.loads(spec)) for name, spec in store.all_specs(conn)
            ]

    def add(self, actor: Actor, name: str, policy: PasswordPolicy) -> None:
        actor.require(Permission.ADMIN)
        name = clean_name(name, "policy name", 64).lower()
        if name == "default":
            raise InvalidInput("'default' is the built-in policy: choose another name")
        with self._db.write() as conn:
            if store.exists(conn, name):
                raise AlreadyExists(f"a password policy named {name!r} already exists")
            store.add(conn, name, policy.dumps(), utcnow())
            self._audit.append(
                conn,
                actor,
                "policy.add",
                target_type="policy",
                target_id=name,
                details=policy.to_json(),
            )

    def delete(self, actor: Actor, name: str) -> None:
        actor.require(Permission.ADMIN)
        name = name.strip().lower()
        with self._db.write() as conn:
            if not store.delete(conn, name):
                raise NotFound(f"no password policy named {name!r}")
            self._audit.append(conn, actor, "policy.delete", target_type="policy", target_id=name)
