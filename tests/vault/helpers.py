"""Small helpers for the vault service tests (see conftest.py)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credsync.storage import Database
from credsync.storage.tables import credentials
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault import Actor, KeyRing, Vault
from credsync.vault._time import utcnow
from credsync.vault.drafts import make_draft
from credsync.vault.models import AuditEntry, Client, Credential

DEFAULT_PASSWORD = "Initial-Pa55!"


def _load_top_conftest() -> Any:
    """tests/conftest.py, loaded by path: ``tests/`` is no package and other test folders have
    a ``conftest.py`` too, so ``import conftest`` may give another folder's module."""
    path = Path(__file__).resolve().parent.parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("_credsync_tests_top_conftest", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_top = _load_top_conftest()
PASSPHRASE: str = _top.PASSPHRASE
ADMIN_PASSWORD: str = _top.ADMIN_PASSWORD
VaultWorld = _top.VaultWorld
fast_kdf = _top.fast_kdf
make_world = _top.make_world


def add_cred(
    world: Any,
    client_ref: str,
    title: str,
    password: str = DEFAULT_PASSWORD,
    *,
    actor: Actor | None = None,
    **fields: Any,
) -> Credential:
    """Add a credential through the service; ``fields`` are make_draft's keyword arguments."""
    draft = make_draft(title=title, password=Secret(password), **fields)
    return world.vault.credentials.add(actor or world.admin, world.keys, client_ref, draft)


def audit_of(world: Any, action: str, target_id: str | None = None) -> list[AuditEntry]:
    """The audit entries of one action (optionally about one target), newest first."""
    return world.vault.audit.list(world.admin, action=action, target_id=target_id, limit=1000)


def audit_head(world: Any) -> int:
    """The sequence number of the newest audit entry."""
    [newest] = world.vault.audit.list(world.admin, limit=1)
    return newest.seq


class RoleActors:
    """Signed-in operators (one per role, or named), created on first use, kept for the module."""

    def __init__(self, world: Any) -> None:
        self._world = world
        self._actors: dict[str, Actor] = {}

    def __call__(self, role: str, name: str | None = None) -> Actor:
        name = name or f"{role}-op"
        if name not in self._actors:
            self._actors[name] = self._world.operator(name, role)
        return self._actors[name]


@dataclass
class Ctx:
    """A shared vault plus a client that belongs to one test."""

    world: Any
    client: Client
    as_role: RoleActors

    @classmethod
    def new(cls, world: Any, as_role: RoleActors) -> Ctx:
        name = f"Client {uuid.uuid4().hex[:10]}"
        return cls(world, world.vault.clients.add(world.admin, world.keys, name), as_role)

    @property
    def vault(self) -> Vault:
        return self.world.vault

    @property
    def admin(self) -> Actor:
        return self.world.admin

    @property
    def keys(self) -> KeyRing:
        return self.world.keys

    @property
    def name(self) -> str:
        return self.client.name

    def add(self, title: str, password: str = DEFAULT_PASSWORD, **fields: Any) -> Credential:
        return add_cred(self.world, self.client.id, title, password, **fields)

    def audit(self, action: str, target_id: str | None = None) -> list[AuditEntry]:
        return audit_of(self.world, action, target_id)

    def other_client(self, prefix: str = "Other") -> Client:
        name = f"{prefix} {uuid.uuid4().hex[:10]}"
        return self.vault.clients.add(self.admin, self.keys, name)


def age_password(db: Database, cred_id: str, days: float) -> None:
    """Make the credential's password ``days`` old (as if changed then)."""
    with db.write() as conn:
        conn.execute(
            credentials.update()
            .where(credentials.c.id == cred_id)
            .values(password_changed_at=utcnow() - dt.timedelta(days=days))
        )


def add_bind_credential(world: Any, client_ref: str) -> Credential:
    """The client's directory_admin credential ("Domain admin", sync off) a directory binds
    with."""
    return world.vault.credentials.add(
        world.admin,
        world.keys,
        client_ref,
        make_draft(
            title="Domain admin",
            username="admin",
            password=Secret("Bind-password-1!"),
            type_=CredentialType.DIRECTORY_ADMIN,
            sync_mode=SyncMode.OFF,
        ),
    )


def down_and_up_again(world: VaultWorld, below: str, tables: set[str]) -> None:
    """Downgrade ``world``'s schema to revision ``below`` (``tables`` must be gone), then
    upgrade it to the head again (``tables`` must be back): a revision's round trip, on the
    backend of ``world``."""
    import sqlalchemy as sa
    from alembic import command

    from credsync.storage.database import SCHEMA_REVISION
    from credsync.storage.migrate import alembic_config

    with world.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), below)
        assert not tables & set(sa.inspect(conn).get_table_names())
    assert world.db.schema_revision() == below
    world.db.upgrade()
    assert world.db.schema_revision() == SCHEMA_REVISION
    with world.db.engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) >= tables
