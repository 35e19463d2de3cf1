"""Entra: who changed a password. With AuditLog.Read.All and Directory.Read.All a run reads the
directory audit log and the ``changed_in_directory`` flag names who and how; the vault's own
pushes are never reported; a late entry is picked up by the next run (the overlap) and not
reported twice; without the permission the run says so and judges by the timestamp alone."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from credsync.storage import accounts as account_rows
from credsync.sync.resolve import Resolver
from credsync.testing.graphsim import DEFAULT_PERMISSIONS, DEFAULT_ROLE
from vault.helpers import VaultWorld

from .entra import EntraWorld, add_entra_directory, strong

AUDIT = "AuditLog.Read.All"
NO_ONE = "no audit entry names who, yet: judged by the timestamp alone"


def _world(vault_world: VaultWorld, sim: Any, *, audit: bool = True) -> EntraWorld:
    vault, admin, keys = vault_world.vault, vault_world.admin, vault_world.keys
    client = f"Client {uuid.uuid4().hex[:8]}"
    vault.clients.add(admin, keys, client, directory_sync=True)
    tenant = sim.add_tenant(users=0, groups=0)
    permissions = (*DEFAULT_PERMISSIONS, AUDIT) if audit else DEFAULT_PERMISSIONS
    app = tenant.add_app(permissions, DEFAULT_ROLE, "credsync")
    name, bind_id = add_entra_directory(vault_world, client, sim, tenant, app)
    return EntraWorld(vault_world, None, client, name, bind_id, sim=sim, tenant=tenant)  # type: ignore[arg-type]


@pytest.fixture
def aw(sqlite_world: VaultWorld, graph_sim: Any) -> EntraWorld:
    return _world(sqlite_world, graph_sim)


@pytest.fixture
def aw_both(world: VaultWorld, graph_sim: Any) -> EntraWorld:
    """The same on SQLite and on PostgreSQL (the author is kept in the account cache)."""
    return _world(world, graph_sim)


def _flag_detail(ew: EntraWorld, cred_id: str) -> str:
    [flag] = [f for f in ew.vault.flags.list(ew.admin, ew.client) if f.credential_id == cred_id]
    assert flag.status == "changed_in_directory"
    return str(flag.to_json()["detail"])


def _baseline(ew: EntraWorld) -> tuple[Any, Any]:
    user = ew.add_user()
    cred = ew.add(user)
    ew.run()
    assert ew.flags() == {}
    ew.later()
    return user, cred


def test_an_admin_reset_in_the_portal_is_attributed(aw_both: EntraWorld) -> None:
    aw = aw_both
    user, cred = _baseline(aw)
    aw.tenant.admin_reset(user.id, strong(), by=f"helpdesk@{aw.tenant.domain}")
    report = aw.run()
    assert aw.items(report)[cred.id] == ("changed_in_directory", "flag")
    assert report.message == ""
    detail = _flag_detail(aw, cred.id)
    assert f"reset by helpdesk@{aw.tenant.domain} in the portal" in detail
    assert NO_ONE not in detail
    # The next run (nothing new in the log) keeps saying who: the author is kept with the account.
    aw.run()
    assert f"reset by helpdesk@{aw.tenant.domain} in the portal" in _flag_detail(aw, cred.id)


def test_a_users_own_change_and_a_self_service_reset(aw: EntraWorld) -> None:
    user, cred = _baseline(aw)
    other = aw.add_user()
    other_cred = aw.add(other)
    aw.run()
    aw.later()
    aw.tenant.user_changed_password(user.id, strong())
    aw.tenant.sspr_reset(other.id, strong())
    aw.run()
    assert "changed by the user" in _flag_detail(aw, cred.id)
    assert "self-service reset by the user" in _flag_detail(aw, other_cred.id)


def test_a_change_without_an_entry_stays_timestamp_based_saying_so(aw: EntraWorld) -> None:
    user, cred = _baseline(aw)
    aw.tenant.set_password(user.id, strong())  # no audit entry at all
    report = aw.run()
    assert aw.items(report)[cred.id] == ("changed_in_directory", "flag")
    assert NO_ONE in _flag_detail(aw, cred.id)


def test_the_vaults_own_push_is_never_reported(aw: EntraWorld) -> None:
    user, cred = _baseline(aw)
    aw.tenant.admin_reset(user.id, strong())
    aw.run()
    [flag] = aw.vault.flags.list(aw.admin, aw.client)
    # The operator pushes the vault's password back: an entry initiated by the vault's app.
    result = asyncio.run(Resolver(aw.vault, aw.engine(), aw.admin).push(flag.id))
    assert result.outcome == "pushed"
    entries = aw.tenant.audit_entries()
    assert entries[-1]["initiatedBy"]["app"]["displayName"] == "credsync"
    aw.later()
    report = aw.run()
    assert aw.in_step(report, cred.id)
    assert aw.flags() == {}
    # Its entry names no one: the account keeps no author (the admin's reset was before it).
    directory = aw.vault.directories.get(aw.admin, aw.directory)
    with aw.vault.db.read() as conn:
        assert user.id not in account_rows.authors(conn, directory.id)
    assert all("reset by the app" not in i.detail for i in report.items)


def test_a_late_entry_is_picked_up_by_the_next_run_once(aw: EntraWorld) -> None:
    user, cred = _baseline(aw)
    aw.tenant.audit_delay = 180  # entries show up three minutes late
    aw.tenant.admin_reset(user.id, strong())
    aw.run()
    assert NO_ONE in _flag_detail(aw, cred.id)  # the change is seen, the entry not yet
    aw.later(240)
    report = aw.run()
    assert aw.items(report)[cred.id] == ("changed_in_directory", "flag")
    assert f"reset by admin@{aw.tenant.domain} in the portal" in _flag_detail(aw, cred.id)
    assert report.accounts_read == 1  # the user the entry names, read by id
    # Read again inside the overlap window, the entry is not reported twice.
    aw.later(60)
    again = aw.run()
    assert again.accounts_read == 0
    assert f"reset by admin@{aw.tenant.domain} in the portal" in _flag_detail(aw, cred.id)


def test_without_the_permission_the_run_says_so_and_uses_the_timestamp(
    sqlite_world: VaultWorld, graph_sim: Any
) -> None:
    ew = _world(sqlite_world, graph_sim, audit=False)
    user, cred = _baseline(ew)
    ew.tenant.admin_reset(user.id, strong())
    report = ew.run()
    assert report.state == "done"
    assert "AuditLog.Read.All" in report.message
    assert report.message.count("AuditLog.Read.All") == 1
    assert ew.items(report)[cred.id] == ("changed_in_directory", "flag")
    assert NO_ONE in _flag_detail(ew, cred.id)
