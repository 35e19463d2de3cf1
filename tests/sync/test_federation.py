"""Federating a client's Office 365 domain to the vault, end to end against the Graph
simulator: enable (settings created, domain Federated, immutable ids written or kept, identities
recorded), the refusals (default and initial domains, an unknown domain, an app without the
role: what it needs), show (both sides and their disagreements), the certificate rotation
(begin, finish, cancel) reaching Graph, defederation leaving every person with a working
cloud password, and who may."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from credsync.errors import InvalidInput, NotFound
from credsync.sync.provision_people import PeopleProvision
from credsync.testing.graphsim import sign_in
from credsync.types import Secret
from credsync.vault.drafts import make_draft
from credsync.vault.provisioning import immutable_id
from vault.helpers import VaultWorld

from .federation_world import BASE, FedWorld, build


@pytest.fixture
def fw(sqlite_world: VaultWorld, graph_sim: Any) -> FedWorld:
    return build(sqlite_world, graph_sim)


def test_enable_creates_the_settings_and_records_identities(fw: FedWorld) -> None:
    ew = fw.ew
    bob = ew.tenant.store.user(fw.users["bob"])
    ew.tenant.set_immutable_id(bob["id"], "ZW50cmEtY29ubmVjdC1ib2I=")  # Entra Connect's anchor
    stranger = ew.tenant.create_user(upn=f"stranger@{fw.domain}")
    report = fw.enable()
    assert report.issuer_uri == f"{BASE}/idp/{fw.domain}"
    assert report.login_url == f"{ew.sim.url}/login.srf"
    assert (report.identities, report.immutable_ids_written) == (3, 2)
    assert report.users_without_person == [stranger.upn]
    assert "2 hours" in report.note
    config = fw.config
    assert config["issuerUri"] == report.issuer_uri
    assert config["passiveSignInUri"] == f"{BASE}/idp/{fw.domain}/sign-in"
    assert config["signOutUri"] == f"{BASE}/idp/{fw.domain}/sign-out"
    assert config["federatedIdpMfaBehavior"] == "enforceMfaByFederatedIdp"
    assert config["preferredAuthenticationProtocol"] == "saml"
    client_id = ew.vault.clients.get(ew.admin, ew.client).id
    current, following = ew.vault.idp_keys.certificates(client_id, keys=ew.keys)
    assert config["signingCertificate"] == current.b64
    assert following is None
    assert ew.tenant.get_user(bob["id"])["onPremisesImmutableId"] == "ZW50cmEtY29ubmVjdC1ib2I="
    ann = ew.tenant.store.user(fw.users["ann"])
    assert ann["onPremisesImmutableId"] == immutable_id(fw.people["ann"])
    identity = ew.vault.federated_domains.identity(fw.domain, fw.people["ann"])
    assert identity is not None
    assert (identity.immutable_id, identity.upn) == (ann["onPremisesImmutableId"], fw.users["ann"])
    record = ew.vault.federated_domains.get(ew.admin, ew.client, fw.domain)
    assert (record.state, record.config_id) == ("federated", config["id"])
    domain = next(d for d in ew.tenant.domains if d["id"] == fw.domain)
    assert domain["authenticationType"] == "Federated"
    again = fw.enable(mfa="accept")  # enabling again updates the settings in place
    assert again.again
    assert fw.config["id"] == config["id"]
    assert fw.config["federatedIdpMfaBehavior"] == "acceptIfMfaDoneByFederatedIdp"


def test_a_person_provisioned_into_a_federated_domain_gets_an_identity(fw: FedWorld) -> None:
    ew = fw.ew
    fw.enable()
    cred = ew.vault.credentials.add(ew.admin, ew.keys, ew.client, make_draft(
        title="dan login", username="dan", password=Secret("Dan-Fed-Pass-77!")))  # fmt: skip
    fields = {"username": "dan", "given_name": "dan", "surname": "Fed", "credential": cred.id}
    dan = str(ew.vault.people.add(ew.admin, ew.client, fields).id)
    applied = asyncio.run(
        PeopleProvision(ew.vault, ew.keys, ew.admin).apply(ew.client, ew.directory)
    )
    [line] = [p for p in applied.people if p.person_id == dan]
    assert line.outcome == "created", line
    identity = ew.vault.federated_domains.identity(fw.domain, dan)
    assert identity is not None
    assert identity.immutable_id == immutable_id(dan)
    assert identity.upn == line.username.lower()
    assert ew.vault.federated_domains.identity(fw.domain, fw.people["ann"]) is not None


@pytest.mark.parametrize("which", ["default", "initial", "unknown"])
def test_default_initial_and_unknown_domains_are_refused(fw: FedWorld, which: str) -> None:
    tenant = fw.ew.tenant
    domain = {"default": tenant.domain, "initial": tenant.initial_domain,
              "unknown": "nowhere.test"}[which]  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        fw.enable(domain)
    assert refused.value.field == "domain"
    assert (which if which != "unknown" else "not a domain of the tenant") in str(refused.value)
    assert tenant.federation == {}
    assert fw.ew.vault.audit.list(fw.ew.admin, action="federation.refused", limit=5)


def test_an_app_without_a_role_that_may_federate_is_refused_with_what_it_needs(
    sqlite_world: VaultWorld, graph_sim: Any
) -> None:
    fw = build(sqlite_world, graph_sim, role="Privileged Authentication Administrator")
    with pytest.raises(InvalidInput) as refused:
        fw.enable()
    text = str(refused.value)
    assert "Hybrid Identity Administrator or Global Administrator" in text
    assert "403 on create and delete" in text
    assert fw.ew.tenant.federation == {}
    with pytest.raises(NotFound):  # nothing recorded
        fw.ew.vault.federated_domains.get(fw.ew.admin, fw.ew.client, fw.domain)


def test_show_both_sides_and_disagreements(fw: FedWorld) -> None:
    stranger = fw.ew.tenant.create_user(upn=f"stranger@{fw.domain}")
    fw.enable()
    view = fw.show()
    [line] = view.domains
    assert (line.vault_state, line.directory_state, line.disagreements) == (
        "federated",
        "federated",
        [],
    )
    assert line.without_identity == [f"{stranger.upn} (no person)"]
    assert [c.state for c in view.certificates] == ["current"]
    fw.ew.tenant.federation[fw.domain]["issuerUri"] = "https://elsewhere.example/adfs"
    [line] = fw.show().domains
    assert any("elsewhere.example" in d for d in line.disagreements)


def test_rotation_publishes_next_then_makes_it_current(fw: FedWorld) -> None:
    fw.enable()
    first = fw.config["signingCertificate"]
    begun = fw.rotate("begin")
    assert begun.domains == {fw.domain: "updated"}
    assert fw.config["nextSigningCertificate"] not in (None, first)
    assert fw.config["signingCertificate"] == first
    assert fw.show().domains[0].disagreements == []
    nxt = fw.config["nextSigningCertificate"]
    finished = fw.rotate("finish")
    assert finished.domains == {fw.domain: "updated"}
    assert (fw.config["signingCertificate"], fw.config["nextSigningCertificate"]) == (nxt, None)
    assert fw.show().domains[0].disagreements == []
    fw.rotate("begin")
    fw.rotate("cancel")
    assert (fw.config["signingCertificate"], fw.config["nextSigningCertificate"]) == (nxt, None)
    actions = {e.action for e in fw.ew.vault.audit.list(fw.ew.admin, limit=50)}
    assert {"federation.rotation_begin", "federation.rotation_finish"} <= actions


def test_defederation_leaves_every_person_with_a_working_cloud_password(fw: FedWorld) -> None:
    fw.enable()
    tenant = fw.ew.tenant
    assert not sign_in(fw.ew.sim, fw.users["ann"], fw.passwords["ann"] or "")  # federated
    report = fw.disable()
    assert report.deleted_config
    assert fw.domain not in tenant.federation
    domain = next(d for d in tenant.domains if d["id"] == fw.domain)
    assert domain["authenticationType"] == "Managed"
    outcomes = {line.username: line.outcome for line in report.push.lines}
    assert outcomes == {
        fw.users["ann"]: "pushed",
        fw.users["bob"]: "pushed",
        fw.users["cid"]: "no_password",
    }
    for given in ("ann", "bob"):
        signed = sign_in(fw.ew.sim, fw.users[given], fw.passwords[given] or "")
        assert signed.ok, signed
    record = fw.ew.vault.federated_domains.get(fw.ew.admin, fw.ew.client, fw.domain)
    assert record.state == "managed"
    assert "2 hours" in report.note


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may(fw: FedWorld, role: str) -> None:
    fw.enable()
    who, expected = fw.ew.refused_operator(role)
    before = dict(fw.config)
    with pytest.raises(expected):
        fw.enable(actor=who)
    with pytest.raises(expected):
        fw.rotate("begin", actor=who)
    with pytest.raises(expected):
        fw.disable(actor=who)
    assert fw.config == before
    if role == "viewer":
        assert fw.show(who).domains[0].vault_state == "federated"
