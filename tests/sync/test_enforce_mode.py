"""Enforce mode against the real Samba AD DC: pushes, policy rejections that lose nothing,
safety rails, and resolving flags by pushing."""

from __future__ import annotations

import asyncio

import pytest
from ldap3 import Connection, Server

from credsync.sync.resolve import Resolver
from credsync.types import SyncMode

from .helpers import SyncWorld, update_directory


def binds(sw: SyncWorld, dn: str, password: str) -> bool:
    """Whether ``password`` works in AD for ``dn`` (a real simple bind over LDAPS)."""
    from credsync.connectors._tls import ContextTls, make_context

    facts = sw.ad.facts
    server = Server(
        facts.host,
        port=636,
        use_ssl=True,
        tls=ContextTls(make_context(facts.directory_config()), facts.tls_server_name),
        get_info="NO_INFO",
    )
    conn = Connection(server, dn, password)
    try:
        return bool(conn.bind())
    finally:
        conn.unbind()


def test_a_vault_change_is_pushed_and_then_works_in_ad(sw_both: SyncWorld) -> None:
    sw = sw_both
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.ENFORCE)
    assert sw.items(sw.run())[cred.id] == ("in_sync", "verify")
    assert sw.flags() == {cred.id: "awaiting_confirmation"}
    assert [f.resolution for f in sw.confirm()] == ["confirmed"]
    sw.set_password(cred, "Pushed-By-Vault-1!")
    report = sw.run()
    assert sw.items(report)[cred.id] == ("in_sync", "push")
    assert report.summary["pushes"] == 1
    assert binds(sw, user.dn, "Pushed-By-Vault-1!")
    again = sw.run()
    assert sw.in_step(again, cred.id)
    pushed = sw.vault.audit.list(sw.admin, action="credential.pushed", target_id=cred.id)
    assert len(pushed) == 1


def test_drift_in_the_directory_is_overwritten(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.ENFORCE)
    sw.run()
    sw.confirm()
    sw.ad.admin.reset_password(user.dn, "Drifted-In-AD-1!")
    report = sw.run()
    assert sw.items(report)[cred.id] == ("in_sync", "push")
    assert binds(sw, user.dn, user.password)
    assert sw.flags() == {}


def test_an_unknown_password_is_pushed_once_the_link_is_confirmed(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user, "Vault-Knows-Better-1!", mode=SyncMode.ENFORCE)
    first = sw.run()
    assert sw.items(first)[cred.id] == ("mismatch", "verify")
    assert binds(sw, user.dn, user.password)  # a new link pushes nothing
    sw.confirm()
    report = sw.run()
    assert sw.items(report)[cred.id] == ("in_sync", "push")  # the failed bind not repeated
    assert binds(sw, user.dn, "Vault-Knows-Better-1!")


def test_a_rejected_push_is_verbatim_and_the_vault_keeps_the_working_password(
    sw: SyncWorld,
) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.ENFORCE)
    sw.run()
    sw.confirm()
    sw.set_password(cred, "simple")
    report = sw.run()
    status, action = sw.items(report)[cred.id]
    assert (status, action) == ("policy_rejected", "push")
    detail = next(i.detail for i in report.items if i.credential_id == cred.id)
    assert "0000052D" in detail.upper()
    assert sw.flags() == {cred.id: "policy_rejected"}
    # Nothing lost: the vault's current password is again the one AD has, and the history
    # shows the attempt.
    assert sw.reveal(cred) == user.password
    assert binds(sw, user.dn, user.password)
    history = sw.vault.credentials.history(sw.admin, sw.keys, cred.id, reveal=True)
    assert [h.password.reveal() for h in history[:3]] == [user.password, "simple", user.password]
    assert "refused version 2" in history[0].reason
    # The next run is quiet: the vault and AD agree again.
    assert sw.items(sw.run())[cred.id] == ("in_sync", "none")


def test_push_cap_stops_a_run_before_it_pushes(sw: SyncWorld) -> None:
    users = [sw.ad.create_user() for _ in range(3)]
    creds = [sw.add(u, mode=SyncMode.ENFORCE) for u in users]
    sw.run()
    sw.confirm()
    update_directory(sw.vault, sw.admin, sw.directory, options={"push_cap": 2})
    for cred in creds:
        sw.set_password(cred, f"Capped-{cred.id[:6]}-1!")
    report = sw.run()
    assert report.state == "aborted"
    assert "cap of 2" in report.message
    assert all(binds(sw, u.dn, u.password) for u in users)


def test_a_run_that_reads_no_accounts_acts_on_nothing(sw: SyncWorld) -> None:
    cred = sw.add(None, username="whoever", mode=SyncMode.ENFORCE)
    report = sw.run()
    assert report.state == "aborted"
    assert "no accounts" in report.message
    assert sw.items(report)[cred.id] == ("skipped", "skip")


def test_a_run_reading_far_fewer_accounts_than_last_time_acts_on_nothing(sw: SyncWorld) -> None:
    users = [sw.ad.create_user() for _ in range(12)]
    creds = [sw.add(u, mode=SyncMode.ENFORCE) for u in users[:2]]
    sw.run()
    for user in users[2:]:
        sw.ad.admin.delete(user.dn)
    sw.set_password(creds[0], "Not-Pushed-Yet-1!")
    report = sw.run(full=True)
    assert report.state == "aborted"
    assert "far fewer" in report.message
    assert binds(sw, users[0].dn, users[0].password)


def test_resolving_a_flag_by_pushing(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user, "Vault-Version-1!")
    sw.run()
    flag = sw.vault.flags.list(sw.admin, sw.client)[0]
    result = asyncio.run(Resolver(sw.vault, sw.engine(), sw.admin).push(flag.id))
    assert result.outcome == "pushed"
    assert result.run is not None
    assert result.run.trigger == "resolve"
    assert binds(sw, user.dn, "Vault-Version-1!")
    assert sw.vault.flags.get(sw.admin, flag.id).resolution == "pushed"
    assert sw.in_step(sw.run(), cred.id)


def test_a_bind_credential_without_reset_rights_is_denied(sw: SyncWorld) -> None:
    helpdesk = sw.ad.create_user()
    target = sw.ad.create_user()
    from credsync.types import CredentialType, Secret
    from credsync.vault.drafts import make_draft

    weak = sw.vault.credentials.add(
        sw.admin,
        sw.keys,
        sw.client,
        make_draft(
            title="weak bind",
            username=helpdesk.upn,
            password=Secret(helpdesk.password),
            type_=CredentialType.DIRECTORY_ADMIN,
            sync_mode=SyncMode.OFF,
        ),
    )
    update_directory(sw.vault, sw.admin, sw.directory, bind_credential=weak.id)
    cred = sw.add(target, mode=SyncMode.ENFORCE)
    sw.run()
    sw.confirm()
    sw.set_password(cred, "Denied-Push-1!")
    report = sw.run()
    assert sw.items(report)[cred.id][0] == "denied"
    assert sw.flags()[cred.id] == "denied"


@pytest.mark.parametrize("mode", [SyncMode.REPORT, SyncMode.ENFORCE])
def test_off_credentials_and_clients_with_sync_off_are_left_alone(
    sw: SyncWorld, mode: SyncMode
) -> None:
    user = sw.ad.create_user()
    off = sw.add(user, "Whatever-1!", mode=SyncMode.OFF)
    on = sw.add(sw.ad.create_user(), mode=mode)
    report = sw.run()
    assert off.id not in sw.items(report)
    assert on.id in sw.items(report)
    sw.vault.clients.configure(sw.admin, sw.client, directory_sync=False)
    assert sw.run(full=True).items == ()
