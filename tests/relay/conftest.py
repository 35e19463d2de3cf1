"""The relay's world: a client with its Active Directory (this test's own OU of the real Samba
AD DC, with the capture key and the API over the vault, as the intake tests have it) and its
Office 365 (a tenant of the Graph simulator with a federated domain), and a relay between them
whose suffix map sends the DC's realm to the tenant's domain."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from ldap3 import MODIFY_REPLACE

from credsync.sync.relay import RelayReport, RelayRunner
from credsync.testing.samba import OuWorld, TestUser
from credsync.types import Secret, SyncMode
from credsync.vault.models import Credential
from intake.conftest import CaptureWorld, build_capture_world
from sync.entra import add_entra_directory
from sync.helpers import update_directory
from vault.helpers import VaultWorld

FEDERATED = "fed.example"


@dataclass
class RelayWorld:
    cw: CaptureWorld
    sim: Any
    tenant: Any
    entra: str  # the Entra directory's name
    relay: str

    @property
    def sw(self) -> Any:
        return self.cw.sw

    @property
    def ad(self) -> OuWorld:
        return self.cw.sw.ad

    @property
    def realm(self) -> str:
        return self.ad.facts.realm.lower()

    def ad_user(
        self,
        *,
        password: str | None = None,
        with_credential: bool = True,
        mode: SyncMode | None = SyncMode.TWO_WAY,
        **attributes: str | list[str],
    ) -> tuple[TestUser, Credential | None]:
        """An AD user in the test's OU (its attributes set as given), with a credential in
        the vault linked to it (a run of the AD directory links it by name) unless told."""
        user = self.ad.create_user(password=password)
        if attributes:
            changes = {
                name: [(MODIFY_REPLACE, value if isinstance(value, list) else [value])]
                for name, value in attributes.items()
            }
            assert self.ad.admin.conn.modify(user.dn, changes), self.ad.admin.conn.result
        cred = self.sw.add(user, mode=mode) if with_credential else None
        return user, cred

    def link_ad(self) -> None:
        """A run of the AD directory: links the credentials to their AD users by name."""
        report = self.sw.run()
        assert report.state == "done", report.message
        self.sw.confirm()

    def cloud_user(self, name: str, domain: str | None = None, **extra: Any) -> Any:
        user = self.tenant.create_user(
            upn=f"{name}@{domain or self.tenant.domain}",
            password=f"Cloud-{uuid.uuid4().hex[:8]}-7!",
        )
        if extra:
            self.tenant.update_user(user.id, **extra)
        return user

    def runner(self, actor: Any = None) -> RelayRunner:
        return RelayRunner(self.sw.vault, self.sw.keys, actor or self.sw.admin)

    def plan(self, actor: Any = None) -> RelayReport:
        return asyncio.run(self.runner(actor).plan(self.relay))

    def run(self, *, apply: bool = False, actor: Any = None) -> RelayReport:
        return asyncio.run(self.runner(actor).run(self.relay, apply=apply))

    def writes(self) -> int:
        return int(self.tenant.stats.get("password_writes", 0))

    def set(self, **settings: Any) -> None:
        self.sw.vault.relays.update(self.sw.admin, self.relay, settings)

    def by_account(self, report: RelayReport) -> dict[str, Any]:
        return {i.match.source.account.id: i for i in report.items}

    def reveal(self, cred: Credential) -> Secret:
        return self.sw.vault.credentials.reveal(self.sw.admin, self.sw.keys, cred.id).password


def build_relay_world(vault_world: VaultWorld, ad: OuWorld, sim: Any) -> RelayWorld:
    cw = build_capture_world(vault_world, ad)
    # Relay tests capture several changes of a dozen accounts within minutes: over the
    # inbound threshold's 20% a capture would be held in quarantine (tests/intake's
    # test_capture_hold.py), which is not what these test.
    update_directory(vault_world.vault, vault_world.admin, cw.sw.directory,
                     options={"inbound_cap_percent": 0})  # fmt: skip
    tenant = sim.add_tenant(users=0, groups=0, federated_domain=FEDERATED)
    entra, _ = add_entra_directory(vault_world, cw.sw.client, sim, tenant)
    relay = f"relay-{uuid.uuid4().hex[:6]}"
    realm = ad.facts.realm.lower()
    vault_world.vault.relays.add(
        vault_world.admin,
        cw.sw.client,
        relay,
        source=cw.sw.directory,
        target=entra,
        settings={"suffix_map": [f"{realm}={tenant.domain}"]},
    )
    return RelayWorld(cw, sim, tenant, entra, relay)


@pytest.fixture
def graph_sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=15) as sim:
        yield sim


@pytest.fixture
def rw(sqlite_world: VaultWorld, ad_ou: OuWorld, graph_sim: Any) -> RelayWorld:
    return build_relay_world(sqlite_world, ad_ou, graph_sim)


@pytest.fixture
def rw_both(world: VaultWorld, ad_ou: OuWorld, graph_sim: Any) -> RelayWorld:
    """The same on SQLite and on PostgreSQL."""
    return build_relay_world(world, ad_ou, graph_sim)
