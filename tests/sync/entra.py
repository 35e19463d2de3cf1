"""A vault with a client whose Entra directory is a fresh tenant of the Graph simulator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault.drafts import make_draft
from credsync.vault.models import Credential
from vault.helpers import VaultWorld

from .helpers import SyncWorld, add_directory


@dataclass
class EntraWorld(SyncWorld):
    sim: Any = None
    tenant: Any = None

    def add_user(self, password: str | None = None, **extra: Any) -> Any:
        """A cloud user made in the tenant as an admin would (the portal)."""
        return self.tenant.create_user(password=password or strong(), **extra)

    def add(  # type: ignore[override]
        self,
        user: Any,
        password: str | None = None,
        *,
        username: str | None = None,
        mode: SyncMode | None = None,
        title: str | None = None,
    ) -> Credential:
        draft = make_draft(
            title=title or f"cred {uuid.uuid4().hex[:6]}",
            username=username if username is not None else user.upn,
            password=Secret(password or user.password),
            sync_mode=mode,
        )
        return self.vault.credentials.add(self.admin, self.keys, self.client, draft)

    def later(self, seconds: float = 60) -> None:
        """The simulator's clock moves on (Graph's timestamps have whole seconds)."""
        self.sim.advance_clock(seconds)


def strong() -> str:
    return f"Cs-{uuid.uuid4().hex[:12]}-Q7!"


def add_entra_directory(
    vault_world: VaultWorld,
    client: str,
    sim: Any,
    tenant: Any,
    app: Any = None,
    *,
    certificate: bool = False,
    name: str | None = None,
    **options: Any,
) -> tuple[str, str]:
    """An Entra directory for ``tenant`` in ``client`` (its app credential added first):
    (directory name, bind credential id)."""
    vault, admin, keys = vault_world.vault, vault_world.admin, vault_world.keys
    app = app or tenant.default_app
    secret = app.certificate_pem + app.private_key_pem if certificate else app.client_secret
    bind = vault.credentials.add(
        admin,
        keys,
        client,
        make_draft(
            title="Graph app",
            username="credsync-app",
            password=Secret(secret),
            type_=CredentialType.DIRECTORY_ADMIN,
            sync_mode=SyncMode.OFF,
        ),
    )
    name = name or f"entra-{uuid.uuid4().hex[:8]}"
    add_directory(
        vault,
        admin,
        client,
        name,
        kind="entra",
        url=sim.graph_url,
        base_dn=None,
        bind_credential=bind.id,
        tenant_id=tenant.id,
        app_id=app.client_id,
        authority=sim.url,
        bind_kind="certificate" if certificate else "secret",
        ca_pem=sim.ca_pem,
        **options,
    )
    return name, bind.id


def build_entra_world(vault_world: VaultWorld, sim: Any, **options: Any) -> EntraWorld:
    vault, admin, keys = vault_world.vault, vault_world.admin, vault_world.keys
    client = f"Client {uuid.uuid4().hex[:8]}"
    vault.clients.add(admin, keys, client, directory_sync=True)
    tenant = sim.add_tenant(users=0, groups=0)
    name, bind_id = add_entra_directory(vault_world, client, sim, tenant, **options)
    return EntraWorld(vault_world, None, client, name, bind_id, sim=sim, tenant=tenant)  # type: ignore[arg-type]
