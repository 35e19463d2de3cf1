"""The sync engine over an Entra directory (the Graph simulator): timestamp-only report mode,
enforce pushes, on-premises-synced users, failures and the agent."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from credsync.agent.loop import Agent
from credsync.storage.tables import sync_queue
from credsync.sync.confirm import LinkConfirmations
from credsync.sync.resolve import Resolver
from credsync.types import Secret, SyncMode
from credsync.vault.drafts import make_draft

from .entra import EntraWorld, add_entra_directory, build_entra_world, strong
from .helpers import build_sync_world, update_directory


def test_first_run_takes_a_baseline_without_writing_anything(ew: EntraWorld) -> None:
    user = ew.add_user()
    cred = ew.add(user)
    report = ew.run()
    assert ew.items(report)[cred.id] == ("in_sync", "confirm")
    assert "baseline" in next(i.detail for i in report.items if i.credential_id == cred.id)
    assert ew.tenant.stats["password_writes"] == 0
    assert ew.flags() == {}
    # The next run is in step with no call beyond the read: an incremental one leaves the
    # credential out (neither side changed, the link keeps its check), a full pass says so.
    quiet = ew.run()
    assert (quiet.kind, ew.items(quiet), quiet.summary["unchanged"]) == ("incremental", {}, 1)
    assert ew.links() == {cred.id: "in_sync"}
    assert ew.in_step(ew.run(full=True), cred.id)


def test_a_portal_reset_is_changed_in_directory_on_the_entra_side(ew: EntraWorld) -> None:
    user = ew.add_user()
    cred = ew.add(user)
    ew.run()
    ew.later()
    ew.tenant.set_password(user.id, strong())
    report = ew.run()
    assert ew.items(report)[cred.id] == ("changed_in_directory", "flag")
    assert report.side == "Entra ID"
    [flag] = ew.vault.flags.list(ew.admin, ew.client)
    assert flag.to_json()["side"] == "Entra ID"
    assert flag.directory == ew.directory
    # Accepting the directory's state (report mode) keeps it quiet until it changes again.
    result = asyncio.run(Resolver(ew.vault, ew.engine(), ew.admin).accept(flag.id, None))
    assert result.outcome == "accepted"
    assert ew.items(ew.run())[cred.id] == ("password_unknown", "none")
    assert ew.flags() == {}
    ew.later()
    ew.tenant.set_password(user.id, strong())
    assert ew.items(ew.run())[cred.id] == ("changed_in_directory", "flag")


def test_a_password_changed_in_the_directory_after_the_vault_stored_it(ew: EntraWorld) -> None:
    user = ew.add_user()
    cred = ew.add(user)
    ew.later(3600)  # an hour after the vault stored it, someone resets it in the portal
    ew.tenant.set_password(user.id, strong())
    assert ew.items(ew.run())[cred.id] == ("changed_in_directory", "flag")


def test_a_vault_change_in_report_mode_is_a_mismatch_and_push_resolves_it(
    ew: EntraWorld,
) -> None:
    user = ew.add_user()
    cred = ew.add(user)
    ew.run()
    ew.set_password(cred, "Vault-Newer-Passw0rd!")
    report = ew.run()
    assert ew.items(report)[cred.id] == ("mismatch", "flag")
    assert ew.tenant.check_password(user.id, user.password)
    [flag] = ew.vault.flags.list(ew.admin, ew.client)
    result = asyncio.run(Resolver(ew.vault, ew.engine(), ew.admin).push(flag.id))
    assert result.outcome == "pushed"
    assert ew.tenant.check_password(user.id, "Vault-Newer-Passw0rd!")
    assert ew.flags() == {}
    assert ew.in_step(ew.run(), cred.id)


def test_accepting_with_a_password_stores_it_on_the_operators_word(ew: EntraWorld) -> None:
    user = ew.add_user()
    cred = ew.add(user)
    ew.run()
    ew.later()
    ew.tenant.set_password(user.id, "Portal-Chosen-Passw0rd!")
    ew.run()
    [flag] = ew.vault.flags.list(ew.admin, ew.client)
    resolver = Resolver(ew.vault, ew.engine(), ew.admin)
    result = asyncio.run(resolver.accept(flag.id, Secret("Portal-Chosen-Passw0rd!")))
    assert result.outcome == "accepted_password"
    assert "operator's word" in result.detail
    assert ew.reveal(cred) == "Portal-Chosen-Passw0rd!"
    assert ew.in_step(ew.run(), cred.id)


def test_enforce_pushes_new_links_vault_changes_and_drift(ew_both: EntraWorld) -> None:
    ew = ew_both
    user = ew.add_user()
    cred = ew.add(user, "Vault-Own-Passw0rd-1!", mode=SyncMode.ENFORCE)
    first = ew.run()  # a new link: no baseline, and no push until it is confirmed
    assert ew.items(first)[cred.id] == ("awaiting_confirmation", "flag")
    assert ew.tenant.stats["password_writes"] == 0
    assert ew.flags() == {cred.id: "awaiting_confirmation"}
    ew.confirm()
    report = ew.run()
    assert ew.items(report)[cred.id] == ("in_sync", "push")
    assert ew.tenant.check_password(user.id, "Vault-Own-Passw0rd-1!")
    ew.set_password(cred, "Vault-Own-Passw0rd-2!")
    assert ew.items(ew.run())[cred.id] == ("in_sync", "push")
    assert ew.tenant.check_password(user.id, "Vault-Own-Passw0rd-2!")
    ew.later()
    ew.tenant.set_password(user.id, strong())
    assert ew.items(ew.run())[cred.id] == ("in_sync", "push")
    assert ew.tenant.check_password(user.id, "Vault-Own-Passw0rd-2!")
    stored = ew.tenant.get_user(user.id)
    assert stored["passwordProfile"]["forceChangePasswordNextSignIn"] is False
    assert "DisablePasswordExpiration" not in (stored.get("passwordPolicies") or "")


def test_push_options_force_change_and_never_expires(ew: EntraWorld) -> None:
    update_directory(
        ew.vault, ew.admin, ew.directory, options={"force_change": 1, "never_expires": 1}
    )
    user = ew.add_user()
    cred = ew.add(user, "Onboarding-Passw0rd-1!", mode=SyncMode.ENFORCE)
    ew.run()
    ew.confirm()
    assert ew.items(ew.run())[cred.id] == ("in_sync", "push")
    stored = ew.tenant.get_user(user.id)
    assert stored["passwordProfile"]["forceChangePasswordNextSignIn"] is True
    assert "DisablePasswordExpiration" in stored["passwordPolicies"]
    # The must-change state the push left is expected: in step until the user signs in.
    assert ew.in_step(ew.run(), cred.id)


def test_a_complexity_refusal_is_verbatim_and_the_vault_keeps_the_working_password(
    ew: EntraWorld,
) -> None:
    user = ew.add_user()
    cred = ew.add(user, mode=SyncMode.ENFORCE)
    ew.run()
    ew.confirm()
    assert ew.items(ew.run())[cred.id] == ("in_sync", "push")
    ew.set_password(cred, "alllowercaseletters")
    report = ew.run()
    assert ew.items(report)[cred.id] == ("policy_rejected", "push")
    detail = next(i.detail for i in report.items if i.credential_id == cred.id)
    assert "does not comply with password complexity requirements" in detail
    assert "alllowercaseletters" not in detail
    assert ew.reveal(cred) == user.password
    assert ew.tenant.check_password(user.id, user.password)
    assert ew.items(ew.run())[cred.id] == ("in_sync", "none")


def test_on_premises_synced_users_are_not_pushed_here(ew: EntraWorld) -> None:
    user = ew.add_user(on_premises_sync=True)
    cred = ew.add(user, "Vault-Passw0rd-Synced!", mode=SyncMode.ENFORCE)
    report = ew.run()
    assert ew.items(report)[cred.id] == ("denied", "flag")
    detail = next(i.detail for i in report.items if i.credential_id == cred.id)
    assert "on-premises" in detail
    assert "Manage it through the client's on-premises directory" in detail
    assert ew.tenant.stats["password_writes"] == 0


def test_an_admin_the_app_may_not_reset_is_denied(ew: EntraWorld) -> None:
    weak_app = ew.tenant.add_app(
        permissions=("User.Read.All", "User-PasswordProfile.ReadWrite.All"),
        directory_role="User Administrator",
    )
    client = f"Client {ew.client}-ua"
    ew.vault.clients.add(ew.admin, ew.keys, client, directory_sync=True)
    name, _ = add_entra_directory(ew.vault_world, client, ew.sim, ew.tenant, weak_app)
    admin_user = ew.add_user(admin_role="Global Administrator")
    plain_user = ew.add_user()
    creds = {
        user.id: ew.vault.credentials.add(
            ew.admin,
            ew.keys,
            client,
            make_draft(
                title=user.upn,
                username=user.upn,
                password=Secret(strong()),
                sync_mode=SyncMode.ENFORCE,
            ),
        )
        for user in (admin_user, plain_user)
    }
    asyncio.run(ew.engine().run(name))
    LinkConfirmations(ew.vault).confirm(ew.admin, client_ref=client, confirmed=True)
    report = asyncio.run(ew.engine().run(name))
    statuses = {i.credential_id: (i.status, i.action) for i in report.items}
    assert statuses[creds[plain_user.id].id] == ("in_sync", "push")
    assert statuses[creds[admin_user.id].id] == ("denied", "push")
    detail = next(i.detail for i in report.items if i.credential_id == creds[admin_user.id].id)
    assert "Insufficient privileges" in detail


def test_an_unreachable_tenant_fails_the_run_and_recovers(ew: EntraWorld) -> None:
    user = ew.add_user()
    cred = ew.add(user)
    ew.run()
    ew.tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=0, times=50)
    report = ew.run()
    assert report.state == "failed"
    assert ew.flags() == {cred.id: "unreachable"}
    ew.tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=0, times=0)
    assert ew.items(ew.run(full=True))[cred.id][0] == "in_sync"
    assert ew.flags() == {}


def test_incremental_runs_follow_delta(ew: EntraWorld) -> None:
    users = [ew.add_user() for _ in range(3)]
    creds = [ew.add(u) for u in users]
    first = ew.run()
    assert first.kind == "full"
    quiet = ew.run()
    assert quiet.kind == "incremental"
    assert quiet.accounts_read == 0
    ew.later()
    ew.tenant.set_password(users[0].id, strong())
    ew.tenant.soft_delete(users[1].id)
    report = ew.run()
    assert report.kind == "incremental"
    items = ew.items(report)
    assert items[creds[0].id] == ("changed_in_directory", "flag")
    assert items[creds[1].id] == ("account_missing", "flag")
    # The third changed on neither side: not re-checked, counted, its link as it was.
    assert creds[2].id not in items
    assert report.summary["unchanged"] == 1
    assert ew.links()[creds[2].id] == "in_sync"
    assert ew.in_step(ew.run(full=True), creds[2].id)


def test_the_agent_pushes_a_vault_change_at_once(ew: EntraWorld) -> None:
    user = ew.add_user()
    cred = ew.add(user, mode=SyncMode.ENFORCE)
    ew.run()
    ew.confirm()
    ew.set_password(cred, "Queued-For-Entra-1!")
    assert not ew.tenant.check_password(user.id, "Queued-For-Entra-1!")
    asyncio.run(Agent(ew.vault, ew.keys, ew.admin, poll_seconds=0.05).run(once=True))
    assert ew.tenant.check_password(user.id, "Queued-For-Entra-1!")
    with ew.vault.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sync_queue)).scalar() == 0


def test_a_certificate_credential_signs_in(sqlite_world, graph_sim) -> None:
    ew = build_entra_world(sqlite_world, graph_sim, certificate=True)
    user = ew.add_user()
    cred = ew.add(user, mode=SyncMode.ENFORCE)
    assert ew.items(ew.run())[cred.id] == ("awaiting_confirmation", "flag")
    ew.confirm()
    assert ew.items(ew.run())[cred.id] == ("in_sync", "push")


@pytest.mark.samba
def test_one_client_with_active_directory_and_entra(sqlite_world, graph_sim, ad_ou) -> None:
    """A hybrid client: the credential links to one account in each directory, each status
    says its side, and an on-premises-synced cloud user is left to its AD."""
    sw = build_sync_world(sqlite_world, ad_ou)  # the client and its AD directory
    tenant = graph_sim.add_tenant(users=0, groups=0, domain=ad_ou.facts.realm.lower())
    entra_name, _ = add_entra_directory(sqlite_world, sw.client, graph_sim, tenant)
    ad_user = ad_ou.create_user()
    cloud_user = tenant.create_user(
        upn=ad_user.upn, password=ad_user.password, on_premises_sync=True
    )
    cred = sw.add(ad_user, username=ad_user.upn, mode=SyncMode.ENFORCE)
    ad_report = sw.run()
    assert ad_report.side == "Active Directory"
    assert sw.items(ad_report)[cred.id] == ("in_sync", "verify")
    entra_report = asyncio.run(sw.engine().run(entra_name))
    assert entra_report.side == "Entra ID"
    item = next(i for i in entra_report.items if i.credential_id == cred.id)
    assert item.account_id == cloud_user.id
    assert (item.status, item.action) == ("skipped", "none")
    assert repr(sw.directory) in item.detail
    assert tenant.stats["password_writes"] == 0
    # A vault change is pushed to AD (where password hash sync would carry it to the cloud),
    # once the new links are confirmed.
    assert sw.flags() == {cred.id: "awaiting_confirmation"}
    assert len(sw.confirm()) == 1  # the AD link (the Entra side, skipped, links nothing)
    sw.set_password(cred, "Hybrid-Vault-Passw0rd-2!")
    assert sw.items(sw.run())[cred.id] == ("in_sync", "push")
    assert sw.flags() == {}
