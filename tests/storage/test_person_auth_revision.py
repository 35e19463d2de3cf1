"""Revision 0035 (people sign in) goes down and up again on both backends: its tables go and
come back, and a vault upgraded to it signs a person in."""

from __future__ import annotations

from credsync.types import Secret
from credsync.vault.drafts import make_draft
from vault.helpers import VaultWorld, down_and_up_again

TABLES = {
    "person_mfa",
    "person_security_keys",
    "person_key_challenges",
    "person_sign_in_failures",
    "person_sessions",
}


def test_0035_downgrades_and_upgrades_again(world: VaultWorld) -> None:
    down_and_up_again(world, "0033", TABLES)
    vault = world.vault
    client = vault.clients.add(world.admin, world.keys, "Contoso")
    cred = vault.credentials.add(
        world.admin,
        world.keys,
        client.id,
        make_draft(title="Login", username="rev.person", password=Secret("Rev-Pa55word!")),
    )
    vault.people.add(world.admin, client.id, {"username": "rev.person", "credential": cred.id})
    vault.person_auth.use_keys(world.keys)
    signed = vault.person_auth.check_password(
        client.id, "rev.person", Secret("Rev-Pa55word!"), address="192.0.2.1"
    )
    assert signed.username == "rev.person"
