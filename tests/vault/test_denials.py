"""Refusals are audited as ``permission.denied`` (issue 13, finding 7), rate-limited so that a
flood can't grow the append-only log without bound: one entry per refusal a minute, at most
PER_OPERATOR per operator and CEILING in all; every refusal is logged, the ones not audited
saying so; the chain still verifies. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest

from credsync.errors import PermissionDenied
from credsync.vault.denials import ACTION, CEILING, PER_OPERATOR, kind_of

from .helpers import VaultWorld, audit_of


def _refused(operator: str = "bob", permission: str = "secret.reveal") -> PermissionDenied:
    return PermissionDenied(
        f"operator {operator!r} (role viewer) lacks permission {permission}",
        operator=operator,
        permissions=(permission,),
    )


def _record(world: VaultWorld, denied: PermissionDenied, target: str = "3f2a9c1e") -> bool:
    return world.vault.denials.record(
        denied,
        via="cli",
        operation="cred show",
        target_kind="credential",
        target_id=target,
    )


def test_a_refusal_is_one_entry_with_operator_permission_and_target(
    world: VaultWorld, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="credsync"):
        assert _record(world, _refused()) is True
    [entry] = audit_of(world, ACTION)
    assert (entry.actor, entry.target_type, entry.target_id) == ("bob", "credential", "3f2a9c1e")
    assert entry.details == {
        "permissions": ["secret.reveal"],
        "operation": "cred show",
        "via": "cli",
        "reason": "operator 'bob' (role viewer) lacks permission secret.reveal",
    }
    [line] = [r.getMessage() for r in caplog.records if r.name == "credsync.audit"]
    assert line.startswith("permission denied (cli): cred show: operator 'bob'")
    assert "[credential 3f2a9c1e]" in line
    assert world.vault.audit.verify(world.admin).ok


def test_the_same_refusal_again_is_logged_not_audited(
    world: VaultWorld, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="credsync"):
        assert [_record(world, _refused()) for _ in range(25)] == [True] + [False] * 24
    assert len(audit_of(world, ACTION)) == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "credsync.audit"]
    assert len(lines) == 25
    assert lines[-1].endswith("not audited: the same refusal was audited less than a minute ago")
    # Another permission, target or operation is another refusal.
    assert _record(world, _refused(permission="vault.write")) is True
    assert _record(world, _refused(), target="5d1e0a7c") is True
    assert len(audit_of(world, ACTION)) == 3


def test_a_flood_leaves_a_bounded_number_of_entries(world: VaultWorld) -> None:
    """One operator probing many targets: PER_OPERATOR entries. Many operators: CEILING in
    all. The chain verifies afterwards."""
    before = world.vault.audit.verify(world.admin).entries
    one = [_record(world, _refused("mallory"), target=f"t{n}") for n in range(PER_OPERATOR + 30)]
    assert one.count(True) == PER_OPERATOR
    assert len(audit_of(world, ACTION)) == PER_OPERATOR
    for n in range(CEILING + 50):  # every operator under its own limit
        _record(world, _refused(f"op{n % (CEILING // PER_OPERATOR + 2)}"), target=f"x{n}")
    assert len(audit_of(world, ACTION)) == CEILING
    report = world.vault.audit.verify(world.admin)
    assert report.ok, report.problem
    assert report.entries == before + CEILING


def test_the_refusals_of_a_real_permission_check(world: VaultWorld) -> None:
    viewer = world.operator("val", "viewer")
    with pytest.raises(PermissionDenied) as refused:
        world.vault.clients.add(viewer, world.keys, "Contoso")
    assert (refused.value.operator, refused.value.permissions) == ("val", ("vault.write",))
    _record(world, refused.value, target="")
    [entry] = audit_of(world, ACTION)
    assert (entry.actor, entry.details["permissions"]) == ("val", ["vault.write"])


def test_kinds_of_collections() -> None:
    assert [kind_of(c) for c in ("clients", "directories", "policies", "audit", "flags")] == [
        "client",
        "directory",
        "policy",
        "audit",
        "flag",
    ]
