"""Revision 0036 (mail and self-service) goes down and up again on both backends: its tables
go and come back, and a vault upgraded to it keeps mail settings."""

from __future__ import annotations

from vault.helpers import VaultWorld, down_and_up_again

TABLES = {"mail_settings", "person_links", "self_service_settings"}


def test_0036_downgrades_and_upgrades_again(world: VaultWorld) -> None:
    down_and_up_again(world, "0033", TABLES)
    world.vault.mail.set(
        world.admin,
        world.keys,
        {"host": "127.0.0.1", "security": "none", "from_address": "vault@msp.test",
         "public_url": "https://vault.msp.test"},
    )  # fmt: skip
    assert world.vault.mail.show(world.admin)["port"] == 25
