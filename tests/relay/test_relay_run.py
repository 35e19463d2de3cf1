"""Relay plans and runs against the real Samba DC and the Graph simulator: each matching rule,
a conflict, unmatched users, each refusal, the attribute filter and the nested-group scope, a
dry run writing nothing, an applied run pushing (the password then works in the tenant) and a
second run writing nothing."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from credsync.connectors.registry import open_connector
from credsync.errors import DirectoryUnreachable
from credsync.storage import relays as relay_rows
from credsync.sync import relay as relay_module
from credsync.sync.relay import RelayRunner
from credsync.types import Secret

from .conftest import FEDERATED, RelayWorld


def anchor(guid: str) -> str:
    return base64.b64encode(uuid.UUID(guid).bytes_le).decode()


def test_each_rule_matches_and_an_applied_run_pushes_once(rw_both: RelayWorld) -> None:
    rw = rw_both
    by_anchor, _ = rw.ad_user()
    rw.cloud_user(f"x{uuid.uuid4().hex[:6]}", onPremisesImmutableId=anchor(by_anchor.guid))
    by_upn, upn_cred = rw.ad_user()
    rw.cloud_user(by_upn.name)  # the realm mapped to the tenant's domain
    mail = f"m{uuid.uuid4().hex[:6]}@{rw.tenant.domain}"
    by_mail, _ = rw.ad_user(mail=mail, proxyAddresses=[f"SMTP:{mail}", "smtp:alias@other.example"])
    rw.cloud_user(f"y{uuid.uuid4().hex[:6]}", mail=mail.upper())
    nobody, _ = rw.ad_user()
    rw.link_ad()

    plan = rw.by_account(rw.plan())
    assert (plan[by_anchor.guid].match.status, plan[by_anchor.guid].match.rule) == (
        "matched",
        "immutable_id",
    )
    assert plan[by_upn.guid].match.rule == "upn"
    assert plan[by_mail.guid].match.rule == "mail"
    assert plan[nobody.guid].match.status == "unmatched"

    dry = rw.run()
    assert rw.writes() == 0
    with rw.sw.vault.db.read() as conn:
        relay = rw.sw.vault.relays.get(rw.sw.admin, rw.relay)
        assert relay_rows.pairs_of(conn, relay.id) == {}
    stored = rw.sw.engine().report(dry.run_id)
    assert (stored.kind, stored.dry_run, stored.state) == ("relay", True, "done")

    applied = rw.run(apply=True)
    assert applied.pushed == 3
    assert rw.writes() == 3
    target = rw.by_account(applied)[by_upn.guid].match.target
    assert rw.tenant.check_password(target.account.id, rw.reveal(upn_cred).reveal())
    assert (
        rw.tenant.get_user(target.account.id)["passwordProfile"]["forceChangePasswordNextSignIn"]
        is False
    )
    assert rw.sw.engine().report(applied.run_id).summary["actions"]["push"] == 3

    again = rw.run(apply=True)
    assert again.pushed == 0
    assert rw.writes() == 3
    assert {i.match.rule for i in again.items if i.match.status == "matched"} == {"link"}


def test_refusals_become_flags_and_conflicts_are_never_guessed(rw: RelayWorld) -> None:
    synced, synced_cred = rw.ad_user()
    fed, _ = rw.ad_user()
    twice, _ = rw.ad_user(mail=f"shared@{rw.tenant.domain}")
    s = rw.cloud_user(synced.name)
    rw.tenant.set_on_premises_sync(s.id)
    rw.cloud_user(
        f"f{uuid.uuid4().hex[:6]}", domain=FEDERATED, onPremisesImmutableId=anchor(fed.guid)
    )
    rw.cloud_user(f"p{uuid.uuid4().hex[:6]}", mail=f"shared@{rw.tenant.domain}")
    rw.cloud_user(f"q{uuid.uuid4().hex[:6]}", proxyAddresses=[f"smtp:shared@{rw.tenant.domain}"])
    rw.link_ad()

    report = rw.run(apply=True)
    items = rw.by_account(report)
    assert "Entra Connect" in items[synced.guid].match.reason
    assert "federated" in items[fed.guid].match.reason
    assert items[twice.guid].match.status == "conflict"
    assert "never guessed" in items[twice.guid].match.reason
    assert rw.writes() == 0
    flags = {f.credential_id: f for f in rw.sw.vault.flags.list(rw.sw.admin, rw.sw.client)}
    assert flags[synced_cred.id].status == "conflict"
    assert "is not carried to Office 365" in flags[synced_cred.id].detail
    rw.run(apply=True)  # a flag, not a retry loop: nothing written, no second flag
    assert rw.writes() == 0
    assert len(rw.sw.vault.flags.list(rw.sw.admin, rw.sw.client)) == len(flags)


def test_admins_are_matched_only_when_allowed(rw: RelayWorld) -> None:
    admin, _ = rw.ad_user()
    allowed, _ = rw.ad_user()
    a = rw.cloud_user(admin.name)
    rw.tenant.set_admin_role(a.id, "User Administrator")
    b = rw.cloud_user(allowed.name)
    rw.tenant.set_admin_role(b.id, "User Administrator")
    rw.set(allow_admins=[f"{allowed.name}@{rw.tenant.domain}"])
    rw.link_ad()
    items = rw.by_account(rw.run(apply=True))
    assert items[admin.guid].match.status == "refused"
    assert "admin role" in items[admin.guid].match.reason
    assert items[allowed.guid].match.status == "matched"
    assert rw.writes() == 1  # only the allowed admin


def test_the_attribute_filter_and_nested_groups_select_the_scope(rw: RelayWorld) -> None:
    sales, _ = rw.ad_user(department="Sales", with_credential=False)
    other, _ = rw.ad_user(department="Engineering", with_credential=False)
    rw.set(filters=["department=sales"])
    assert {i.match.source.account.id for i in rw.plan().items} == {sales.guid}
    admin, ou = rw.ad.admin, rw.ad.dn
    outer, inner = admin.create_group(ou), admin.create_group(ou)
    admin.add_member(outer, inner)
    admin.add_member(inner, other.dn)
    rw.set(filters=[], scope_groups=[outer])
    assert {i.match.source.account.id for i in rw.plan().items} == {other.guid}


def test_a_password_entra_refuses_is_flagged_before_the_write(rw: RelayWorld) -> None:
    user, cred = rw.ad_user()
    rw.cloud_user(user.name)
    rw.link_ad()
    rw.sw.set_password(cred, "Pässwörd-42!")  # AD takes it; Office 365 does not
    report = rw.run(apply=True)
    assert rw.writes() == 0
    [item] = report.items
    assert item.action == "flag"
    assert "non_ascii" in item.detail
    stored = rw.sw.engine().report(report.run_id)
    assert "Pässwörd" not in repr(stored.to_json())
    [flag] = [
        f for f in rw.sw.vault.flags.list(rw.sw.admin, rw.sw.client) if f.credential_id == cred.id
    ]
    assert flag.status == "policy_rejected"
    assert "does not work in Office 365" in flag.detail
    assert "Pässwörd" not in flag.detail
    rw.sw.set_password(cred, "Short1!")
    report = rw.run(apply=True)
    assert "too_short" in report.items[0].detail
    rw.sw.set_password(cred, "Fine-Again-42!")
    rw.run(apply=True)
    assert rw.writes() == 1
    assert not [
        f for f in rw.sw.vault.flags.list(rw.sw.admin, rw.sw.client) if f.credential_id == cred.id
    ]


def test_graph_refusing_a_paired_user_later_is_a_flag_not_a_retry(rw: RelayWorld) -> None:
    """Entra Connect took the user over after it was paired: Graph's 400 ("on-premises
    mastered") becomes a conflict flag, the queued push is done with, nothing is retried."""
    from credsync.agent.loop import Agent

    user, cred = rw.ad_user()
    cloud = rw.cloud_user(user.name)
    rw.link_ad()
    rw.run(apply=True)
    rw.tenant.set_on_premises_sync(cloud.id)
    rw.sw.set_password(cred, "After-Takeover-5!")
    agent = Agent(rw.sw.vault, rw.sw.keys, rw.sw.admin)
    asyncio.run(agent.drain_queue())
    assert asyncio.run(agent.drain_queue()) == 0  # nothing left to retry
    asyncio.run(agent.close())
    assert not rw.tenant.check_password(cloud.id, "After-Takeover-5!")
    [flag] = [f for f in rw.sw.vault.flags.list(rw.sw.admin, rw.sw.client)
              if f.credential_id == cred.id and f.directory == rw.entra]  # fmt: skip
    assert flag.status == "conflict"
    assert "does not work in Office 365" in flag.detail
    assert "After-Takeover" not in flag.detail


def test_mirror_disable_disables_and_enables_the_office_365_user(rw: RelayWorld) -> None:
    user, _ = rw.ad_user()
    cloud = rw.cloud_user(user.name)
    rw.link_ad()
    rw.ad.admin.disable(user.dn)
    rw.run(apply=True)
    assert rw.tenant.get_user(cloud.id)["accountEnabled"] is True  # not mirrored: off
    rw.set(mirror_disable=True)
    report = rw.run(apply=True)
    assert "disabled in the target" in report.items[0].detail
    assert rw.tenant.get_user(cloud.id)["accountEnabled"] is False
    rw.ad.admin.enable(user.dn)
    rw.run(apply=True)
    assert rw.tenant.get_user(cloud.id)["accountEnabled"] is True
    rw.set(enabled_only=True)
    rw.ad.admin.disable(user.dn)
    assert rw.run(apply=True).items == []  # out of scope: left alone
    assert rw.tenant.get_user(cloud.id)["accountEnabled"] is True


def test_a_password_graph_refused_is_not_sent_again_by_later_runs(rw: RelayWorld) -> None:
    """Graph refuses a password the local rule passed (Entra's banned-password list, say):
    a policy_rejected flag, and later runs do not send the same password again."""
    user, cred = rw.ad_user()
    cloud = rw.cloud_user(user.name)
    rw.link_ad()
    rw.run(apply=True)
    writes = rw.writes()
    rw.sw.set_password(cred, "Common-Password-1!")
    rw.tenant.inject_fault(
        "PATCH", f"/v1.0/users/{cloud.id}", status=400, code="Request_BadRequest",
        message="The specified password does not comply with password complexity "
        "requirements. Please provide a different password.",
    )  # fmt: skip
    first = rw.run(apply=True)
    assert first.items[0].action == "flag"
    [flag] = [f for f in rw.sw.vault.flags.list(rw.sw.admin, rw.sw.client)
              if f.credential_id == cred.id]  # fmt: skip
    assert flag.status == "policy_rejected"
    again = rw.run(apply=True)
    assert "refused before: not sent again" in again.items[0].detail
    rw.sw.set_password(cred, "A-New-One-Works-6!")
    rw.run(apply=True)
    assert rw.tenant.check_password(cloud.id, "A-New-One-Works-6!")
    assert rw.writes() == writes + 1  # the refused attempt changed nothing


def test_a_plan_of_several_slices_is_stored_and_pushed_slice_by_slice(
    rw: RelayWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay_module, "SLICE", 2)  # five users: three slices
    users = [rw.ad_user() for _ in range(5)]
    for user, _ in users:
        rw.cloud_user(user.name)
    rw.link_ad()

    applied = rw.run(apply=True)
    assert applied.pushed == 5
    assert rw.writes() == 5
    items = rw.by_account(applied)
    for user, cred in users:
        item = items[user.guid]
        assert (item.match.status, item.action) == ("matched", "push")
        assert cred is not None
        assert rw.tenant.check_password(item.match.target.account.id, rw.reveal(cred).reveal())
    vault, admin = rw.sw.vault, rw.sw.admin
    with vault.db.read() as conn:
        relay = vault.relays.get(admin, rw.relay)
        assert len(relay_rows.pairs_of(conn, relay.id)) == 5
    assert len(vault.audit.list(admin, action="credential.relay_pair")) == 5

    # One password changed in the vault: the next run pushes that one; the others are
    # settled as in step from a few reads per slice.
    changed = users[3][1]
    assert changed is not None
    vault.credentials.set_password(admin, rw.sw.keys, changed.id, Secret("Changed-4d1e-7!"))
    again = rw.run(apply=True)
    assert again.pushed == 1
    assert rw.writes() == 6
    details = {i.match.source.account.id: i.detail for i in again.items}
    assert "pushed" in details[users[3][0].guid]
    assert all("in step" in details[u.guid] for u, _ in users if u is not users[3][0])
    target = rw.by_account(again)[users[3][0].guid].match.target
    assert rw.tenant.check_password(target.account.id, "Changed-4d1e-7!")

    third = rw.run(apply=True)
    assert (third.pushed, rw.writes()) == (0, 6)


def test_a_directory_failing_while_both_are_read_stops_the_run_with_its_own_error(
    rw: RelayWorld,
) -> None:
    """Both directories are read at once; the source failing ends the run with its error
    (not an exception group) and nothing written to the tenant."""
    user, _ = rw.ad_user()
    rw.cloud_user(user.name)
    rw.link_ad()
    vault = rw.sw.vault
    opened: list[Any] = []

    class Failing:
        def __init__(self, inner: Any) -> None:
            self._inner = inner
            self.capabilities = inner.capabilities

        async def iter_identities(self, *args: Any, **kw: Any) -> AsyncIterator[Any]:
            raise DirectoryUnreachable("the DC went away")
            yield  # an async generator

        async def close(self) -> None:
            await self._inner.close()

    def factory(config: Any) -> Any:
        connector = open_connector(config)
        opened.append(connector)
        return Failing(connector) if config.name == rw.sw.directory else connector

    runner = RelayRunner(vault, rw.sw.keys, rw.sw.admin, factory=factory)
    with pytest.raises(DirectoryUnreachable, match="the DC went away"):
        asyncio.run(runner.run(rw.relay, apply=True))
    assert rw.writes() == 0
    assert len(opened) == 2  # both were being read
