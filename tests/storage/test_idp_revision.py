"""Revision 0034 (the identity provider) goes down and up again on both backends: its tables
go and come back, and a vault upgraded to it makes a client's signing key and records a
federated domain."""

from __future__ import annotations

from vault.flag_seed import add_ad_directory
from vault.helpers import VaultWorld, down_and_up_again

TABLES = {"idp_signing_keys", "federated_domains", "federation_identities", "idp_requests"}


def test_0034_downgrades_and_upgrades_again(world: VaultWorld) -> None:
    down_and_up_again(world, "0033", TABLES)
    client = world.vault.clients.add(world.admin, world.keys, "Fabrikam")
    current, _ = world.vault.idp_keys.certificates(client.id, keys=world.keys)
    directory_id, _ = add_ad_directory(world, client.name, "o365")
    recorded = world.vault.federated_domains.record(
        world.admin,
        client.name,
        "fabrikam.example",
        directory_id=directory_id,
        base_url="https://vault.example.test",
        login_url="https://login.microsoftonline.com/login.srf",
        protocol="wsFed",
        mfa_behavior="enforceMfaByFederatedIdp",
    )
    assert recorded.issuer_uri == "https://vault.example.test/idp/fabrikam.example"
    assert current.state == "current"
