"""The Samba test world itself: the script's facts, and every helper against the real DC."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from ldap3.core.exceptions import LDAPBindError, LDAPInvalidCredentialsResult

from credsync.testing.samba import OuWorld, SambaAdmin, SambaDC, SambaFacts, default_script

pytestmark = pytest.mark.samba


def test_script_status_and_env(samba_dc: SambaFacts) -> None:
    assert subprocess.run([str(default_script()), "status"], check=False).returncode == 0
    env = json.loads(subprocess.run([str(default_script()), "env"], check=True,
                                    capture_output=True, text=True).stdout)  # fmt: skip
    assert env["base_dn"] == "DC=example,DC=test"
    assert env["tls_server_name"] == "DC1.example.test"
    assert samba_dc.ca_file.exists()
    # The DC that answers is the one env names. (Not the session's first pid: the capture tests
    # restart the DC once, with their key, so later tests see another process.)
    os.kill(env["pid"], 0)
    pid_file = Path(env["state_dir"]) / "dc" / "samba.pid"
    assert int(pid_file.read_text()) == env["pid"]
    assert samba_dc.admin_password not in repr(samba_dc)
    assert SambaDC().running()


def _binds(admin: SambaAdmin, dn: str, password: str) -> bool:
    try:
        admin._connect(dn, password).unbind()
    except (LDAPInvalidCredentialsResult, LDAPBindError):
        return False
    return True


def test_users_and_passwords(ad_ou: OuWorld) -> None:
    admin = ad_ou.admin
    user = ad_ou.create_user(display_name="Test User")
    assert user.password not in repr(user)
    assert _binds(admin, user.dn, user.password)
    assert _binds(admin, user.upn, user.password)
    stamp = admin.account_state(user.dn)["pwdLastSet"]
    admin.change_password_as_user(user.dn, user.password, "Changed-By-User-1")
    assert _binds(admin, user.dn, "Changed-By-User-1")
    admin.reset_password(user.dn, "Reset-By-Admin-2")
    assert _binds(admin, user.dn, "Reset-By-Admin-2")
    assert not _binds(admin, user.dn, "Changed-By-User-1")
    assert admin.account_state(user.dn)["pwdLastSet"] > stamp
    admin.disable(user.dn)
    assert admin.account_state(user.dn)["userAccountControl"] & 0x2
    assert not _binds(admin, user.dn, "Reset-By-Admin-2")
    admin.enable(user.dn)
    assert _binds(admin, user.dn, "Reset-By-Admin-2")
    admin.expire_password(user.dn)
    assert admin.account_state(user.dn)["pwdLastSet"] == 0
    admin.unexpire_password(user.dn)
    assert admin.account_state(user.dn)["pwdLastSet"] != 0
    disabled = ad_ou.create_user(enabled=False)
    assert not _binds(admin, disabled.dn, disabled.password)
    admin.delete(user.dn)
    assert admin.users_under(ad_ou.dn) == [disabled.dn]


def test_lock_out_one_user_only(ad_ou: OuWorld) -> None:
    admin = ad_ou.admin
    victim, bystander = ad_ou.create_user(), ad_ou.create_user()
    admin.lock_out(victim.dn, threshold=2)
    state = admin.account_state(victim.dn)
    assert state["lockoutTime"] != 0
    assert state["badPwdCount"] >= 2
    assert not _binds(admin, victim.dn, victim.password)
    admin.bad_binds(bystander.dn, 3)  # no policy for the bystander: never locked
    assert admin.account_state(bystander.dn)["lockoutTime"] == 0
    assert _binds(admin, bystander.dn, bystander.password)
    admin.unlock(victim.dn)
    assert _binds(admin, victim.dn, victim.password)


def test_domain_lockout_policy_round_trip(ad_ou: OuWorld) -> None:
    admin = ad_ou.admin
    try:
        admin.set_domain_lockout_policy(50, duration_s=60, window_s=60)
        raw = admin._read(ad_ou.facts.base_dn, ["lockoutThreshold", "lockoutDuration"])
        assert raw["lockoutThreshold"] == [b"50"]
        assert raw["lockoutDuration"] == [b"-600000000"]
    finally:
        admin.clear_domain_lockout_policy()
    assert admin._read(ad_ou.facts.base_dn, ["lockoutThreshold"])["lockoutThreshold"] == [b"0"]


def test_ou_tree_is_deleted(samba_dc: SambaFacts) -> None:
    world = OuWorld.create(samba_dc, prefix="tree")
    sub = f"OU=sub,{world.dn}"
    world.admin.conn.add(sub, ["organizationalUnit"])
    world.admin.create_user(sub)
    world.create_user()
    admin = SambaAdmin(samba_dc)
    try:
        world.close()
        assert not admin._exists(world.dn)
    finally:
        admin.close()


def test_an_ou_is_deleted_over_a_new_connection_when_the_old_one_was_ended(
    samba_dc: SambaFacts,
) -> None:
    # Samba ends LDAP sessions idle for 15 minutes (MaxConnIdleTime): a session-long fixture
    # cleans up over a connection the DC has dropped. Its socket closed stands for that here.
    ou = OuWorld.create(samba_dc, prefix="ended")
    ou.create_user()
    ou.admin.conn.socket.close()
    ou.close()
    with SambaAdmin(samba_dc) as admin:
        assert not admin._exists(ou.dn)
