"""A signing-certificate rollover without a failed sign-in: a person of a domain federated with
``federation enable`` signs in to the simulated Office 365 through the vault's identity
provider (Entra's request from the simulator's realm hop, the vault's signed answer posted to
its login.srf, over httpx) before the rotation, after ``rotate`` (the next certificate
published, the vault still signing with the current one), and after ``rotate --finish`` (the
vault signing with the new key, which Graph now has as the signing certificate); and a sign-in
signed with the retired key afterwards fails with Microsoft's error."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from credsync.testing.graphsim import post_to_login_srf, start_federated_sign_in
from credsync.vault.identity_provider import PersonProof
from vault.helpers import VaultWorld

from .federation_world import FedWorld, build


@pytest.fixture
def fw(sqlite_world: VaultWorld, graph_sim: Any) -> FedWorld:
    world = build(sqlite_world, graph_sim)
    world.ew.vault.idp_keys.attach(world.ew.keys)
    return world


def answer_for(fw: FedWorld, given: str) -> dict[str, str]:
    """The vault's signed answer to the sign-in the simulator starts for ``given``."""
    ew = fw.ew
    hop = start_federated_sign_in(ew.sim, fw.users[given])
    idp = ew.vault.identity_provider
    pending = idp.begin(fw.domain, hop.fields, redirect=hop.method == "GET")
    client_id = ew.vault.clients.get(ew.admin, ew.client).id
    proof = PersonProof(fw.people[given], client_id, given, dt.datetime.now(dt.UTC), True)
    return idp.complete(fw.domain, pending.key, proof).fields


def signed_in(fw: FedWorld, given: str) -> Any:
    return post_to_login_srf(fw.ew.sim, answer_for(fw, given))


def test_rollover_without_a_failed_sign_in(fw: FedWorld) -> None:
    fw.enable()
    first = signed_in(fw, "ann")
    assert first.ok, first
    assert first.upn == fw.users["ann"]

    fw.rotate("begin")
    during = signed_in(fw, "bob")
    assert during.ok, during

    before_finish = answer_for(fw, "ann")  # signed with the key about to be retired
    fw.rotate("finish")
    after = signed_in(fw, "ann")
    assert after.ok, after
    assert signed_in(fw, "bob").ok
    stale = post_to_login_srf(fw.ew.sim, before_finish)
    assert not stale.ok  # the retired key's certificate is no longer the domain's
    assert stale.code == 5000811  # "the signing key identifier does not match any valid
    # registered keys": the simulator checks the signature against signingCertificate and
    # nextSigningCertificate only
