"""Switching to two-way (credsync.sync.enforce) against the real Samba DC: directory.setup
first, confirmed like enforce, the preview naming the accounts the next run overwrites and
those it leaves alone for their capture; enforce to two-way is not asked."""

from __future__ import annotations

import pytest

from credsync.errors import PermissionDenied
from credsync.sync.enforce import EnforcePreview, EnforceSwitches, EnforceUnconfirmed
from credsync.types import SyncMode

from .helpers import SyncWorld


def test_a_credential_switched_to_two_way_names_what_it_overwrites(sw: SyncWorld) -> None:
    in_step, vault_side, ad_side = (sw.ad.create_user() for _ in range(3))
    creds = {
        "in_step": sw.add(in_step, title="In step"),
        "vault": sw.add(vault_side, title="Vault side"),
        "ad": sw.add(ad_side, title="AD side"),
    }
    sw.run()  # report mode: every link checked and in sync
    sw.set_password(creds["vault"], "Changed-In-Vault-1!")
    sw.ad.admin.reset_password(ad_side.dn, "Changed-In-AD-1!")
    sw.run()  # report: both flagged
    switches = EnforceSwitches(sw.vault)
    previews = {}
    for key, cred in creds.items():
        with pytest.raises(EnforceUnconfirmed) as refused:
            switches.set_credential_mode(sw.admin, cred.id, SyncMode.TWO_WAY)
        previews[key] = refused.value.preview
    assert {k: p.mode for k, p in previews.items()} == dict.fromkeys(creds, SyncMode.TWO_WAY)
    assert [(i.account, i.overwrite_now) for i in previews["in_step"].impact] == [
        (in_step.name, False)
    ]
    assert [(i.account, i.overwrite_now) for i in previews["vault"].impact] == [
        (vault_side.name, True)
    ]
    ad = previews["ad"]
    assert [(i.account, i.overwrite_now, i.waits_for_capture) for i in ad.impact] == [
        (ad_side.name, False, True)
    ]
    assert f"the next run overwrites the directory's password of {sw.directory}:" in (
        previews["vault"].summary
    )
    assert "no password is overwritten now" in ad.summary
    assert f"Not overwritten: {sw.directory}:{ad_side.name}" in ad.summary
    assert "waits for its capture" in ad.summary
    assert EnforcePreview.from_json(ad.to_json()) == ad
    for cred in creds.values():  # nothing changed yet
        assert sw.vault.credentials.get(sw.admin, cred.id).sync_mode is None

    technician = sw.vault_world.operator("tech-two-way", "technician")
    with pytest.raises(PermissionDenied, match=r"directory\.setup"):
        switches.set_credential_mode(technician, creds["ad"].id, SyncMode.TWO_WAY)
    with pytest.raises(PermissionDenied, match=r"directory\.setup"):
        switches.set_credential_mode(technician, creds["ad"].id, SyncMode.TWO_WAY, confirmed=True)

    done = switches.set_credential_mode(sw.admin, creds["ad"].id, SyncMode.TWO_WAY, confirmed=True)
    assert done.effective_sync_mode is SyncMode.TWO_WAY
    confirmed = sw.vault.audit.list(sw.admin, action="link.confirmed", target_id=creds["ad"].id)
    assert [e.details["how"] for e in confirmed] == ["switched to two-way"]
    # The next run leaves the AD side alone: its change waits for its capture.
    items = sw.items(sw.run())
    assert items[creds["ad"].id] == ("changed_in_directory", "flag")


def test_enforce_to_two_way_is_not_asked_and_two_way_to_enforce_is(sw: SyncWorld) -> None:
    cred = sw.add(sw.ad.create_user(), mode=SyncMode.ENFORCE)
    switches = EnforceSwitches(sw.vault)
    two_way = switches.set_credential_mode(sw.admin, cred.id, SyncMode.TWO_WAY)
    assert two_way.sync_mode is SyncMode.TWO_WAY
    with pytest.raises(EnforceUnconfirmed) as refused:
        switches.set_credential_mode(sw.admin, cred.id, SyncMode.ENFORCE)
    assert refused.value.preview.mode is SyncMode.ENFORCE


def test_a_client_default_switched_to_two_way_waits_for_its_confirmation(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    follows = sw.add(user, title="Follows")
    sw.add(sw.ad.create_user(), mode=SyncMode.OFF, title="Exempt")
    sw.run()
    switches = EnforceSwitches(sw.vault)
    technician = sw.vault_world.operator("tech-client-two-way", "technician")
    with pytest.raises(PermissionDenied, match=r"directory\.setup"):
        switches.configure_client(technician, sw.client, default_sync_mode=SyncMode.TWO_WAY)
    with pytest.raises(EnforceUnconfirmed) as refused:
        switches.configure_client(sw.admin, sw.client, default_sync_mode=SyncMode.TWO_WAY)
    preview = refused.value.preview
    assert preview.mode is SyncMode.TWO_WAY
    assert [(i.credential_id, i.account) for i in preview.impact] == [(follows.id, user.name)]
    assert sw.vault.clients.get(sw.admin, sw.client).default_sync_mode is SyncMode.REPORT
    done = switches.configure_client(
        sw.admin, sw.client, default_sync_mode=SyncMode.TWO_WAY, confirmed=True
    )
    assert done.default_sync_mode is SyncMode.TWO_WAY
    assert sw.vault.credentials.get(sw.admin, follows.id).effective_sync_mode is SyncMode.TWO_WAY


def test_confirming_a_two_way_link_names_what_waits_for_its_capture(sw: SyncWorld) -> None:
    from credsync.sync.confirm import LinkConfirmations

    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.TWO_WAY)
    assert sw.items(sw.run())[cred.id] == ("in_sync", "verify")  # the link waits
    sw.ad.admin.reset_password(user.dn, "Changed-Before-Confirm-1!")
    sw.run()
    confirmations = LinkConfirmations(sw.vault)
    (flag,) = confirmations.waiting(sw.admin, sw.client)
    preview = confirmations.preview(sw.admin, [flag])
    assert preview.mode is SyncMode.TWO_WAY
    assert [(i.account, i.overwrite_now, i.waits_for_capture) for i in preview.impact] == [
        (user.name, False, True)
    ]
    assert "waits for its capture" in preview.summary
    confirmations.confirm(sw.admin, [flag.id], confirmed=True)
    assert sw.items(sw.run())[cred.id] == ("changed_in_directory", "flag")
