"""The vault-wide quarantine thresholds (issue 18): set by an admin (audited, the values),
each value checked and a refusal naming its field, read by anyone with vault.read; a
directory's own option wins over them, and they win over the built-in defaults."""

from __future__ import annotations

import pytest

from credsync.errors import InvalidInput, PermissionDenied
from credsync.vault.quarantine_defaults import BUILT_IN
from sync.helpers import add_directory, update_directory
from vault.helpers import VaultWorld, add_bind_credential, audit_of


def test_set_show_and_unset_on_both_backends(world: VaultWorld) -> None:
    defaults = world.vault.quarantine_defaults
    shown = defaults.show(world.admin)
    assert {k: v["value"] for k, v in shown.items()} == BUILT_IN
    assert all(v["vault"] is None for v in shown.values())

    after = defaults.set(world.admin, {"push_cap": 300, "inbound_cap_percent": 10})
    assert after["push_cap"] == {**after["push_cap"], "value": 300, "vault": 300,
                                 "built_in": 500, "updated_by": "alice"}  # fmt: skip
    assert after["inbound_cap_percent"]["value"] == 10
    assert after["inbound_cap"] == {"value": 100, "vault": None, "built_in": 100,
                                    "updated_at": None, "updated_by": None}  # fmt: skip
    again = defaults.set(world.admin, {"push_cap": None, "inbound_cap": 0})
    assert again["push_cap"]["vault"] is None
    assert again["push_cap"]["value"] == 500
    assert again["inbound_cap"]["value"] == 0  # 0: any change is held
    assert again["inbound_cap_percent"]["value"] == 10  # not given: kept
    entries = audit_of(world, "quarantine.defaults_set")
    assert [e.details for e in entries] == [  # newest first
        {"push_cap": None, "inbound_cap": 0},
        {"push_cap": 300, "inbound_cap_percent": 10},
    ]


@pytest.mark.parametrize(
    ("given", "field", "said"),
    [
        ({"push_cap": 0}, "push_cap", "push_cap must be 1 to 1000000, not 0"),
        ({"inbound_cap": -1}, "inbound_cap", "inbound_cap must be 0 to 1000000, not -1"),
        ({"push_cap_percent": 101}, "push_cap_percent", "push_cap_percent must be 0 to 100"),
        ({"inbound_cap_percent": "5"}, "inbound_cap_percent", "must be a whole number"),
        ({"inbound_cap": True}, "inbound_cap", "must be a whole number"),
        ({"interval": 5}, "interval", "'interval' is not a quarantine threshold"),
        ({}, "push_cap", "nothing to set"),
    ],
)
def test_bad_values_name_their_field(
    sqlite_world: VaultWorld, given: dict[str, object], field: str, said: str
) -> None:
    with pytest.raises(InvalidInput, match=said) as refused:
        sqlite_world.vault.quarantine_defaults.set(sqlite_world.admin, given)
    assert refused.value.field == field
    assert audit_of(sqlite_world, "quarantine.defaults_set") == []


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager", "auditor"])
def test_only_admins_set_them(sqlite_world: VaultWorld, role: str) -> None:
    who = sqlite_world.operator(f"op-{role}", role)
    with pytest.raises(PermissionDenied):
        sqlite_world.vault.quarantine_defaults.set(who, {"push_cap": 10})
    assert (
        sqlite_world.vault.quarantine_defaults.show(sqlite_world.admin)["push_cap"]["vault"] is None
    )
    if role != "auditor":  # vault.read: may see them
        assert sqlite_world.vault.quarantine_defaults.show(who)["push_cap"]["value"] == 500


def test_a_directory_takes_its_own_option_then_the_vault_wide_then_the_built_in(
    sqlite_world: VaultWorld,
) -> None:
    world = sqlite_world
    world.vault.clients.add(world.admin, world.keys, "Contoso", directory_sync=True)
    bind = add_bind_credential(world, "Contoso")
    add_directory(world.vault, world.admin, "Contoso", "contoso-ad", kind="active_directory",
                  url="ldaps://dc.contoso.test", base_dn="DC=contoso,DC=test",
                  bind_credential=bind.id)  # fmt: skip
    world.vault.quarantine_defaults.set(world.admin, {"inbound_cap": 7, "push_cap": 40})
    update_directory(world.vault, world.admin, "contoso-ad", options={"push_cap": 25})
    directory = world.vault.directories.get(world.admin, "contoso-ad")
    assert (directory.option("push_cap"), directory.option_source("push_cap")) == (
        25, "directory")  # fmt: skip
    assert (directory.option("inbound_cap"), directory.option_source("inbound_cap")) == (
        7, "vault")  # fmt: skip
    assert (directory.option("inbound_cap_percent"),
            directory.option_source("inbound_cap_percent")) == (20, "built-in")  # fmt: skip
    shown = directory.to_json()
    assert shown["options"]["inbound_cap"] == 7
    assert {k: shown["options_from"][k] for k in ("push_cap", "inbound_cap", "interval")} == {
        "push_cap": "directory", "inbound_cap": "vault", "interval": "built-in"}  # fmt: skip


def test_the_change_cap_has_a_vault_wide_value_too(sqlite_world: VaultWorld) -> None:
    """Provisioning's and group export's threshold (change_cap) is set like the others, and
    a directory without its own option uses it."""
    world = sqlite_world
    defaults = world.vault.quarantine_defaults
    shown = defaults.set(world.admin, {"change_cap": 40, "change_cap_percent": 25})
    assert (shown["change_cap"]["value"], shown["change_cap"]["built_in"]) == (40, 500)
    assert shown["change_cap_percent"]["vault"] == 25
    with pytest.raises(InvalidInput) as refused:
        defaults.set(world.admin, {"change_cap": 0})
    assert refused.value.field == "change_cap"
    world.vault.clients.add(world.admin, world.keys, "Fabrikam", directory_sync=True)
    bind = add_bind_credential(world, "Fabrikam")
    add_directory(world.vault, world.admin, "Fabrikam", "fabrikam-ad", kind="active_directory",
                  url="ldaps://dc.fabrikam.test", base_dn="DC=fabrikam,DC=test",
                  bind_credential=bind.id)  # fmt: skip
    directory = world.vault.directories.get(world.admin, "fabrikam-ad")
    assert (directory.option("change_cap"), directory.option_source("change_cap")) == (
        40, "vault")  # fmt: skip
