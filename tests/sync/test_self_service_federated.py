"""The self-service push and federated domains, against the Graph simulator: a domain the
vault federates (``credsync federation enable``'s service) is skipped before anything is sent,
from the vault's record alone (a domain recorded ``enabling`` while Graph still has it managed
is skipped too, the password left unsent); once the domain is defederated the push goes
through and the cloud takes the new password; a domain federated outside the vault is known
from the tenant's domain list, and, for an app that may not read domains, from Graph's refusal
as the last resort; an AD account whose UPN suffix is federated takes the push (federation is
Office 365's sign-in, not the domain controllers')."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from credsync.sync.self_service import SelfServiceResult, set_person_password
from credsync.testing.graphsim import sign_in
from credsync.types import Secret
from vault.helpers import VaultWorld

from .entra import add_entra_directory, build_entra_world, strong
from .federation_world import BASE, FedWorld, build
from .helpers import SyncWorld
from .selfservice_world import add_person
from .test_enforce_mode import binds


@pytest.fixture
def fw(sqlite_world: VaultWorld, graph_sim: Any) -> FedWorld:
    return build(sqlite_world, graph_sim)


def _change(vault_world: Any, person_id: str, password: str) -> SelfServiceResult:
    return asyncio.run(set_person_password(vault_world.vault, vault_world.keys, person_id,
                                           Secret(password), why="self-service"))  # fmt: skip


def test_a_domain_the_vault_federates_is_skipped_then_pushed_once_defederated(
    fw: FedWorld,
) -> None:
    ew = fw.ew
    fw.enable()
    new = strong()
    result = _change(ew.vault_world, fw.people["ann"], new)
    [push] = result.pushes
    assert (push.account, push.status) == (fw.users["ann"], "skipped")
    assert f"({fw.domain}, federated to the vault)" in push.detail
    assert "sign in through the vault" in push.detail
    assert result.all_done
    assert ew.flags() == {}
    fw.disable()
    newer = strong()
    [push] = _change(ew.vault_world, fw.people["ann"], newer).pushes
    assert push.status == "done", push
    assert sign_in(ew.sim, fw.users["ann"], newer).ok


def test_the_vaults_record_decides_before_graph_is_asked(fw: FedWorld) -> None:
    """Recorded ``enabling`` (the federation command's first step) while Graph still has the
    domain managed: skipped all the same, so nothing was sent (the old password still signs
    in, the new one does not)."""
    ew = fw.ew
    directory = ew.vault.directories.get(ew.admin, ew.directory)
    ew.vault.federated_domains.record(
        ew.admin, ew.client, fw.domain, directory_id=directory.id, base_url=BASE,
        login_url=f"{ew.sim.url}/login.srf", protocol="saml",
        mfa_behavior="enforceMfaByFederatedIdp",
    )  # fmt: skip
    domain = next(d for d in ew.tenant.domains if d["id"] == fw.domain)
    assert domain["authenticationType"] == "Managed"
    new = strong()
    [push] = _change(ew.vault_world, fw.people["bob"], new).pushes
    assert push.status == "skipped"
    assert f"({fw.domain}, enabling to the vault)" in push.detail
    assert not sign_in(ew.sim, fw.users["bob"], new).ok
    assert sign_in(ew.sim, fw.users["bob"], fw.passwords["bob"] or "").ok


@pytest.mark.parametrize("reads_domains", [True, False])
def test_a_domain_federated_outside_the_vault(
    sqlite_world: Any, graph_sim: Any, reads_domains: bool
) -> None:
    """Federated to another identity provider (the simulator's AD FS-like one): the tenant's
    domain list says so before the push; an app that may not read domains pushes, and Graph's
    refusal naming federation is the last resort. Either way skipped, nothing flagged."""
    ew = build_entra_world(sqlite_world, graph_sim)
    tenant = graph_sim.add_tenant(users=0, groups=0, domain="fabrikam.test",
                                  federated_domain="sso.fabrikam.test")  # fmt: skip
    permissions = (
        ("User.ReadWrite.All", "User-PasswordProfile.ReadWrite.All", "Directory.Read.All")
        if reads_domains
        else ("User.ReadWrite.All", "User-PasswordProfile.ReadWrite.All")
    )
    app = tenant.add_app(permissions, "Privileged Authentication Administrator", "self-service")
    name, _ = add_entra_directory(ew.vault_world, ew.client, graph_sim, tenant, app)
    user = tenant.create_user(upn="fed@sso.fabrikam.test", display_name="Fed User")
    fed = add_person(ew.vault_world, ew.client, accounts={name: str(user.id)})
    [push] = _change(ew.vault_world, fed.person_id, strong()).pushes
    assert push.status == "skipped"
    if reads_domains:
        assert "(sso.fabrikam.test, outside the vault)" in push.detail
        assert "its identity provider" in push.detail
    else:  # the directory's own words, quoted
        assert "federated domain" in push.detail
        assert "cannot be set" in push.detail
    assert ew.flags() == {}


def test_an_ad_account_with_a_federated_upn_suffix_is_pushed_all_the_same(
    sw: SyncWorld,
) -> None:
    """Federation is Office 365's sign-in: the Samba account whose UPN suffix the vault
    federates takes the new password (a bind with it works)."""
    old = strong()
    ad_user = sw.ad.create_user(name=f"sskey-{uuid.uuid4().hex[:8]}", password=old,
                                display_name="Ada Lovelace")  # fmt: skip
    domain = ad_user.upn.split("@")[1]
    directory = sw.vault.directories.get(sw.admin, sw.directory)
    sw.vault.federated_domains.record(
        sw.admin, sw.client, domain, directory_id=directory.id, base_url=BASE,
        login_url="https://login.microsoftonline.com/login.srf", protocol="saml",
        mfa_behavior="enforceMfaByFederatedIdp",
    )  # fmt: skip
    ada = add_person(sw.vault_world, sw.client, password=old, accounts={sw.directory: ad_user.guid})
    new = strong()
    [push] = _change(sw.vault_world, ada.person_id, new).pushes
    assert push.status == "done", push
    assert binds(sw, ad_user.dn, new)
