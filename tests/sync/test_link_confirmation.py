"""A new link never leads to a push until an operator with directory.setup confirmed it
(issue 13, finding 1), against the real Samba AD DC.

The attack: an operator with vault.write but not directory.setup adds a credential named like
an existing AD user to a client whose default mode is enforce (through the service the CLI
uses, a CSV import, or the API: tests/api/test_link_confirmation_api.py; the dashboard:
tests/web/test_link_confirmation_web.py); the next run links it. Before the fix that run bound
once with the attacker's password, failed, and overwrote the user's AD password. Now the link
is stored unconfirmed, the run only checks, and a flag waits for someone with directory.setup.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import pytest

from credsync.errors import InvalidInput, PermissionDenied
from credsync.sync.confirm import LinkConfirmations
from credsync.sync.enforce import EnforceSwitches, EnforceUnconfirmed
from credsync.sync.resolve import Resolver
from credsync.types import Secret, SyncMode
from credsync.vault.drafts import make_draft

from .helpers import SyncWorld
from .test_enforce_mode import binds

ATTACKER_PASSWORD = "Attacker-Chosen-1!"


def _enforce_client(sw: SyncWorld) -> None:
    EnforceSwitches(sw.vault).configure_client(
        sw.admin, sw.client, default_sync_mode=SyncMode.ENFORCE, confirmed=True
    )


def _assert_untouched(sw: SyncWorld, victim: Any) -> None:
    """The victim's AD password is still theirs (a real bind in the Samba world); the
    attacker's does not work, and nothing was pushed."""
    assert binds(sw, victim.dn, victim.password)
    assert not binds(sw, victim.dn, ATTACKER_PASSWORD)
    assert sw.vault.audit.list(sw.admin, action="credential.pushed") == []
    assert sw.vault.audit.list(sw.admin, action="credential.push_attempted") == []


def _technician(sw: SyncWorld) -> Any:
    return sw.vault_world.operator(f"tech-{uuid.uuid4().hex[:6]}", "technician")


def _planted(sw: SyncWorld) -> tuple[Any, Any]:
    """The attack's first half: an enforce client, a credential a technician named like an
    existing AD user, with a password of the technician's choosing."""
    victim = sw.ad.create_user()
    _enforce_client(sw)
    draft = make_draft(
        title="Looks harmless", username=victim.name, password=Secret(ATTACKER_PASSWORD)
    )
    return victim, sw.vault.credentials.add(_technician(sw), sw.keys, sw.client, draft)


def test_a_vault_writer_cannot_take_over_an_unlinked_account(sw_both: SyncWorld) -> None:
    sw = sw_both
    victim, cred = _planted(sw)
    assert cred.effective_sync_mode == "enforce"
    report = sw.run()
    assert report.state == "done"
    _assert_untouched(sw, victim)
    assert sw.items(report)[cred.id] == ("mismatch", "verify")
    assert report.summary["awaiting_confirmation"] == 1
    [flag] = sw.vault.flags.list(sw.admin, sw.client)
    assert (flag.credential_id, flag.status) == (cred.id, "awaiting_confirmation")
    assert victim.name in flag.detail
    assert flag.detail.endswith("the last check found mismatch")
    # Later runs don't push either (and the failed bind is not repeated: lockout safety).
    again = sw.run(full=True)
    assert sw.items(again)[cred.id] == ("mismatch", "flag")
    _assert_untouched(sw, victim)


def test_the_same_through_a_csv_import(sw: SyncWorld) -> None:
    victim = sw.ad.create_user()
    _enforce_client(sw)
    data = f"title,username,password\nImported,{victim.name},{ATTACKER_PASSWORD}\n".encode()
    report = sw.vault.csv.import_csv(
        _technician(sw), sw.keys, sw.client, io.BytesIO(data), source_name="creds.csv"
    )
    assert report.imported == 1
    (cred,) = [
        c for c in sw.vault.credentials.list(sw.admin, sw.client).items if c.title == "Imported"
    ]
    run = sw.run()
    _assert_untouched(sw, victim)
    assert sw.items(run)[cred.id] == ("mismatch", "verify")
    assert sw.flags()[cred.id] == "awaiting_confirmation"


def test_a_username_changed_later_by_a_vault_writer_links_unconfirmed_too(
    sw: SyncWorld,
) -> None:
    """Who made the credential does not count: an admin's credential in enforce mode whose
    username a technician points at someone else's account still waits."""
    victim = sw.ad.create_user()
    cred = sw.add(None, ATTACKER_PASSWORD, username="nobody-here", mode=SyncMode.ENFORCE)
    assert sw.items(sw.run())[cred.id] == ("unmatched", "flag")
    sw.vault.credentials.edit(_technician(sw), sw.keys, cred.id, username=victim.name)
    sw.run()
    _assert_untouched(sw, victim)
    assert sw.flags()[cred.id] == "awaiting_confirmation"


def test_only_directory_setup_confirms_and_then_the_next_run_pushes(sw: SyncWorld) -> None:
    victim, cred = _planted(sw)
    sw.run()
    [flag] = sw.vault.flags.list(sw.admin, sw.client)
    confirmations = LinkConfirmations(sw.vault)
    for who in (_technician(sw), sw.vault_world.operator("viewer-op", "viewer")):
        with pytest.raises(PermissionDenied, match=r"directory\.setup"):
            confirmations.confirm(who, [flag.id], confirmed=True)
    manager = sw.vault_world.operator("manager-op", "directory_manager")
    with pytest.raises(EnforceUnconfirmed) as asked:
        confirmations.confirm(manager, [flag.id[:8]])
    [impact] = asked.value.preview.overwritten
    assert (impact.credential_id, impact.account, impact.last_status) == (
        cred.id,
        victim.name,
        "mismatch",
    )
    assert f"{sw.directory}:{victim.name}" in str(asked.value)
    _assert_untouched(sw, victim)  # asking changed nothing
    [done] = confirmations.confirm(manager, [flag.id[:8]], confirmed=True)
    assert (done.resolution, done.resolved_by) == ("confirmed", "manager-op")
    [audited] = sw.vault.audit.list(sw.admin, action="link.confirmed", target_id=cred.id)
    assert (audited.actor, audited.details["account"], audited.details["how"]) == (
        "manager-op",
        victim.name,
        "confirmed",
    )
    with pytest.raises(InvalidInput, match="not a link awaiting confirmation"):
        confirmations.confirm(manager, [flag.id], confirmed=True)
    report = sw.run()
    assert sw.items(report)[cred.id] == ("in_sync", "push")  # the bind failed already
    assert binds(sw, victim.dn, ATTACKER_PASSWORD)  # what a confirmed enforce link means
    assert sw.flags() == {}


def test_a_client_s_links_are_confirmed_in_bulk(sw: SyncWorld) -> None:
    _enforce_client(sw)
    users = [sw.ad.create_user() for _ in range(3)]
    creds = [sw.add(u) for u in users]
    sw.run()
    assert set(sw.flags().values()) == {"awaiting_confirmation"}
    confirmations = LinkConfirmations(sw.vault)
    with pytest.raises(EnforceUnconfirmed) as asked:
        confirmations.confirm(sw.admin, client_ref=sw.client)
    # In step already (each bind succeeded): confirming overwrites nothing now.
    assert {i.account for i in asked.value.preview.impact} == {u.name for u in users}
    assert asked.value.preview.overwritten == []
    done = confirmations.confirm(sw.admin, client_ref=sw.client, confirmed=True)
    assert sorted(f.credential_id for f in done) == sorted(c.id for c in creds)
    assert sw.flags() == {}
    with pytest.raises(InvalidInput, match="no link of"):
        confirmations.confirm(sw.admin, client_ref=sw.client, confirmed=True)
    sw.set_password(creds[0], "Bulk-Confirmed-1!")
    assert sw.items(sw.run())[creds[0].id] == ("in_sync", "push")
    assert binds(sw, users[0].dn, "Bulk-Confirmed-1!")


def test_switching_to_enforce_confirms_the_accounts_its_preview_named(sw: SyncWorld) -> None:
    """The operator who confirmed a switch to enforce, with the list of the accounts it
    overwrites, confirmed those accounts; a link made after the switch still waits."""
    named = sw.ad.create_user()
    cred = sw.add(named)  # report mode: linked by the run, not confirmed
    sw.run()
    manager = sw.vault_world.operator("manager-op", "directory_manager")
    switches = EnforceSwitches(sw.vault)
    with pytest.raises(EnforceUnconfirmed) as asked:
        switches.set_credential_mode(manager, cred.id, SyncMode.ENFORCE)
    assert [i.account for i in asked.value.preview.impact] == [named.name]
    switches.set_credential_mode(manager, cred.id, SyncMode.ENFORCE, confirmed=True)
    [audited] = sw.vault.audit.list(sw.admin, action="link.confirmed", target_id=cred.id)
    assert (audited.actor, audited.details["how"]) == ("manager-op", "switched to enforce")
    sw.set_password(cred, "Switched-And-Pushed-1!")
    assert sw.items(sw.run())[cred.id] == ("in_sync", "push")
    # A credential unlinked at the switch (its preview named no account) waits.
    later = sw.ad.create_user()
    unlinked = sw.add(None, ATTACKER_PASSWORD, username="not-yet", mode=SyncMode.REPORT)
    switches.set_credential_mode(manager, unlinked.id, SyncMode.ENFORCE, confirmed=True)
    sw.vault.credentials.edit(sw.admin, sw.keys, unlinked.id, username=later.name)
    sw.run()
    assert sw.flags()[unlinked.id] == "awaiting_confirmation"
    assert binds(sw, later.dn, later.password)


def test_pushing_by_hand_through_an_unconfirmed_link_needs_directory_setup(
    sw: SyncWorld,
) -> None:
    """``flags resolve --push`` on a report-mode credential's new link: an operator with
    vault.write and directory_admin.use but not directory.setup may not; one with it may, and
    that confirms the link."""
    victim = sw.ad.create_user()
    cred = sw.add(victim, ATTACKER_PASSWORD)  # report mode
    sw.run()
    [flag] = sw.vault.flags.list(sw.admin, sw.client)
    assert flag.status == "mismatch"
    sw.vault.operators.add_role(
        sw.admin, "pusher", ["vault.read", "vault.write", "directory_admin.use"], "no setup"
    )
    pusher = sw.vault_world.operator("pusher-op", "pusher")
    with pytest.raises(PermissionDenied, match=r"directory\.setup"):
        asyncio.run(Resolver(sw.vault, sw.engine(pusher), pusher).push(flag.id))
    assert binds(sw, victim.dn, victim.password)
    manager = sw.vault_world.operator("manager-op", "directory_manager")
    result = asyncio.run(Resolver(sw.vault, sw.engine(manager), manager).push(flag.id))
    assert result.outcome == "pushed"
    assert binds(sw, victim.dn, ATTACKER_PASSWORD)
    [audited] = sw.vault.audit.list(sw.admin, action="link.confirmed", target_id=cred.id)
    assert audited.details["how"].startswith("pushed by hand")
