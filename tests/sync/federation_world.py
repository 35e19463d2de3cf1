"""A vault client whose Entra directory's app may federate, and three people (two with a
password, one without) provisioned into a domain of their own of the Graph simulator's tenant:
what the federation tests (service, API, dashboard) start from."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from credsync.sync.federation import DomainFederationService
from credsync.sync.federation_view import FederationShow
from credsync.sync.provision_people import PeopleProvision
from credsync.testing.graphsim import DEFAULT_PERMISSIONS
from credsync.types import Secret
from credsync.vault.drafts import make_draft
from vault.helpers import VaultWorld

from .entra import EntraWorld, add_entra_directory

__all__ = ["BASE", "FedWorld", "build"]

BASE = "https://vault.example"
FEDERATE = (*DEFAULT_PERMISSIONS, "Domain-InternalFederation.ReadWrite.All", "AuditLog.Read.All")


@dataclass
class FedWorld:
    ew: EntraWorld
    domain: str
    people: dict[str, str]  # given name -> person id
    passwords: dict[str, str | None]
    users: dict[str, str]  # given name -> UPN

    def service(self, actor: Any = None) -> DomainFederationService:
        return DomainFederationService(self.ew.vault, self.ew.keys, actor or self.ew.admin)

    def enable(self, domain: str | None = None, actor: Any = None, **options: Any) -> Any:
        service = self.service(actor)
        return asyncio.run(
            service.enable(self.ew.client, domain or self.domain, base_url=BASE, **options)
        )

    def show(self, actor: Any = None) -> Any:
        service = FederationShow(self.ew.vault, self.ew.keys, actor or self.ew.admin)
        return asyncio.run(service.show(self.ew.client))

    def rotate(self, step: str = "begin", actor: Any = None) -> Any:
        return asyncio.run(self.service(actor).rotate(self.ew.client, step))

    def disable(self, actor: Any = None) -> Any:
        return asyncio.run(self.service(actor).disable(self.ew.client, self.domain))

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.ew.tenant.federation[self.domain])


def build(vault_world: VaultWorld, sim: Any, role: str | None = "Global Administrator") -> FedWorld:
    vault, admin, keys = vault_world.vault, vault_world.admin, vault_world.keys
    client = f"Client {uuid.uuid4().hex[:8]}"
    vault.clients.add(admin, keys, client, directory_sync=True)
    tenant = sim.add_tenant(users=0, groups=0)
    app = tenant.add_app(FEDERATE, role, "credsync federation")
    name, bind_id = add_entra_directory(vault_world, client, sim, tenant, app)
    ew = EntraWorld(vault_world, None, client, name, bind_id, sim=sim, tenant=tenant)  # type: ignore[arg-type]
    domain = sim.add_domain(tenant, f"fed{uuid.uuid4().hex[:6]}.test")
    settings = {"username_template": "{given}.{surname}", "upn_suffix": domain}
    vault.provisioning.update(admin, name, settings)
    passwords: dict[str, str | None] = {
        "ann": f"Ann-{uuid.uuid4().hex[:8]}-7!",
        "bob": f"Bob-{uuid.uuid4().hex[:8]}-7!",
        "cid": None,
    }
    people: dict[str, str] = {}
    for given, password in passwords.items():
        fields: dict[str, Any] = {"username": given, "given_name": given, "surname": "Fed"}
        if password is not None:
            cred = vault.credentials.add(admin, keys, client, make_draft(
                title=f"{given} login", username=given, password=Secret(password)))  # fmt: skip
            fields["credential"] = cred.id
        people[given] = str(vault.people.add(admin, client, fields).id)
    applied = asyncio.run(PeopleProvision(vault, keys, admin).apply(client, name))
    users = {p.username.split(".")[0]: p.username for p in applied.people}
    assert all(p.outcome == "created" for p in applied.people), applied.people
    return FedWorld(ew, domain, people, passwords, users)
