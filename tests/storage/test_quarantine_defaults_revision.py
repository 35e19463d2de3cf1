"""Revision 0040 (the vault-wide quarantine thresholds) goes down and up again on both
backends: its table goes and comes back, and a vault upgraded to it takes new values."""

from __future__ import annotations

from vault.helpers import VaultWorld, down_and_up_again


def test_0040_downgrades_and_upgrades_again(world: VaultWorld) -> None:
    down_and_up_again(world, "0039", {"quarantine_defaults"})
    done = world.vault.quarantine_defaults.set(world.admin, {"inbound_cap": 12})
    assert done["inbound_cap"]["value"] == 12
