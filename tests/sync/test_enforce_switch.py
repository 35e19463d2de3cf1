"""Switching to enforce (credsync.sync.enforce), the one rule behind ``cred sync-mode``,
``client set``, their API routes and the dashboard: directory.setup first, then nothing
changes until the switch is confirmed, and the refusal names what it would overwrite."""

from __future__ import annotations

import pytest

from credsync.errors import PermissionDenied
from credsync.sync.enforce import EnforcePreview, EnforceSwitches, EnforceUnconfirmed
from credsync.types import SyncMode

from .entra import EntraWorld


def test_a_credential_switched_to_enforce_waits_for_its_confirmation(ew: EntraWorld) -> None:
    user = ew.add_user()
    cred = ew.add(user, mode=SyncMode.REPORT, title="Alice")
    switches = EnforceSwitches(ew.vault)
    with pytest.raises(EnforceUnconfirmed) as refused:
        switches.set_credential_mode(ew.admin, cred.id, SyncMode.ENFORCE)
    preview = refused.value.preview
    assert preview.what == f"'Alice' ({user.upn})"
    assert [(i.credential_id, i.directory, i.overwrite_now) for i in preview.impact] == [
        (cred.id, ew.directory, True)  # not linked yet: the run that links it overwrites
    ]
    assert preview.overwritten == list(preview.impact)
    assert str(refused.value) == preview.summary
    assert "In enforce mode the vault's password wins for 'Alice'" in preview.summary
    assert EnforcePreview.from_json(preview.to_json()) == preview
    assert ew.vault.credentials.get(ew.admin, cred.id).version == cred.version

    technician = ew.vault_world.operator("tech-enforce", "technician")
    with pytest.raises(PermissionDenied, match=r"directory\.setup"):
        switches.set_credential_mode(technician, cred.id, SyncMode.ENFORCE)  # before asking

    done = switches.set_credential_mode(
        ew.admin, cred.id, SyncMode.ENFORCE, confirmed=True, expected_version=cred.version
    )
    assert (done.sync_mode, done.version) == (SyncMode.ENFORCE, cred.version + 1)
    again = switches.set_credential_mode(ew.admin, cred.id, SyncMode.ENFORCE)  # no switch
    assert again.sync_mode is SyncMode.ENFORCE
    off = switches.set_credential_mode(technician, cred.id, SyncMode.OFF)  # no switch either
    assert off.effective_sync_mode is SyncMode.OFF


def test_a_client_default_switched_to_enforce_waits_for_its_confirmation(
    ew: EntraWorld,
) -> None:
    follows = ew.add(ew.add_user(), title="Follows the default")
    exempt = ew.add(ew.add_user(), mode=SyncMode.OFF, title="Exempt")
    switches = EnforceSwitches(ew.vault)
    with pytest.raises(EnforceUnconfirmed) as refused:
        switches.configure_client(ew.admin, ew.client, default_sync_mode=SyncMode.ENFORCE)
    preview = refused.value.preview
    assert preview.what == f"every credential of {ew.client!r} that follows the client default"
    assert [i.credential_id for i in preview.impact] == [follows.id]
    assert ew.vault.clients.get(ew.admin, ew.client).default_sync_mode is SyncMode.REPORT

    technician = ew.vault_world.operator("tech-client", "technician")
    with pytest.raises(PermissionDenied, match=r"directory\.setup"):
        switches.configure_client(technician, ew.client, default_sync_mode=SyncMode.ENFORCE)

    done = switches.configure_client(
        ew.admin, ew.client, default_sync_mode=SyncMode.ENFORCE, confirmed=True
    )
    assert done.default_sync_mode is SyncMode.ENFORCE
    same = switches.configure_client(ew.admin, ew.client, default_sync_mode=SyncMode.ENFORCE)
    assert same.version == done.version + 1  # no switch: nothing to confirm
    # Following a default of enforce again (the exempt one) is a switch of its own.
    with pytest.raises(EnforceUnconfirmed):
        switches.set_credential_mode(ew.admin, exempt.id, None)
    inherited = switches.set_credential_mode(ew.admin, exempt.id, None, confirmed=True)
    assert inherited.effective_sync_mode is SyncMode.ENFORCE
