"""The people's password rules without directories: the built-in people rule, a client's
chosen named policy (and the vault's ``people`` policy as the default), who may choose, and
refusals that name the rule and never the password."""

from __future__ import annotations

import pytest

from credsync.errors import NotFound, PermissionDenied
from credsync.types import Secret
from credsync.vault.generator import PasswordPolicy
from credsync.vault.person_passwords import PasswordRefused
from vault.helpers import VaultWorld, audit_of


def _person(world: VaultWorld, client: str) -> str:
    return world.vault.people.add(world.admin, client, {"username": f"p.{client.lower()}"}).id


def _refusals(world: VaultWorld, person_id: str, password: str) -> list[str]:
    found = world.vault.person_passwords.refusals(person_id, Secret(password))
    return [f"{r.rule}|{r.code}" for r in found]


def test_the_rule_is_the_clients_choice_else_people_else_built_in(world: VaultWorld) -> None:
    """On SQLite and PostgreSQL."""
    vault, admin, keys = world.vault, world.admin, world.keys
    vault.clients.add(admin, keys, "Contoso")
    person = _person(world, "Contoso")
    assert _refusals(world, person, "Short1a") == ["password policy 'people (built in)'|too_short"]
    assert _refusals(world, person, "longenoughbutlower1") == [
        "password policy 'people (built in)'|classes"
    ]
    assert _refusals(world, person, "Long-Enough-Pa55") == []
    vault.policies.add(admin, "people", PasswordPolicy(length=16))
    assert _refusals(world, person, "Long-Enough-Pa5") == ["password policy 'people'|too_short"]
    vault.policies.add(admin, "strict", PasswordPolicy(length=8, symbols=2, exclude="#"))
    assert vault.person_passwords.set_policy(admin, "Contoso", "strict") == "strict"
    assert _refusals(world, person, "OnlyOne-Pa55word") == ["password policy 'strict'|classes"]
    assert _refusals(world, person, "Two-Sym#ols-Pa55") == ["password policy 'strict'|excluded"]
    assert _refusals(world, person, "Two-Sym@ols-Pa55") == []
    assert audit_of(world, "client.people_policy")[0].details == {"policy": "strict"}
    with pytest.raises(NotFound):
        vault.person_passwords.set_policy(admin, "Contoso", "no-such-policy")
    assert vault.person_passwords.set_policy(admin, "Contoso", None) == "people"


def test_only_vault_writers_choose_and_refusals_never_quote_the_password(
    sqlite_world: VaultWorld,
) -> None:
    world = sqlite_world
    world.vault.clients.add(world.admin, world.keys, "Contoso")
    person = _person(world, "Contoso")
    viewer = world.operator("vic", "viewer")
    with pytest.raises(PermissionDenied):
        world.vault.person_passwords.set_policy(viewer, "Contoso", "default")
    with pytest.raises(PasswordRefused) as caught:
        world.vault.person_passwords.check(person, Secret("secretword"))
    assert "secretword" not in str(caught.value)
    assert caught.value.field == "password"
    assert [r.code for r in caught.value.refusals] == ["too_short"]
