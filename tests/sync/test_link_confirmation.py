"""A new link never leads to a push until an operator with directory.setup confirmed it
(issue 13, finding 1), against the real Samba AD DC.

The attack: an operator with vault.write but not directory.setup adds a credential named like
an existing AD user to a client whose default mode is enforce (through the service the CLI
uses, a CSV import, or the API); the next run links it. Before the fix that run bound once
with the attacker's password, failed, and overwrote the user's AD password. Now the link is
stored unconfirmed, the run only checks, and a flag waits for someone with directory.setup.
"""

from __future__ import annotations

import io
import uuid

from credsync.sync.enforce import EnforceSwitches
from credsync.types import Secret, SyncMode
from credsync.vault.drafts import make_draft

from .helpers import SyncWorld
from .test_enforce_mode import binds

ATTACKER_PASSWORD = "Attacker-Chosen-1!"


def _enforce_client(sw: SyncWorld) -> None:
    EnforceSwitches(sw.vault).configure_client(
        sw.admin, sw.client, default_sync_mode=SyncMode.ENFORCE, confirmed=True
    )


def _assert_untouched(sw: SyncWorld, victim: object) -> None:
    """The victim's AD password is still theirs; the attacker's does not work."""
    assert binds(sw, victim.dn, victim.password)  # type: ignore[attr-defined]
    assert not binds(sw, victim.dn, ATTACKER_PASSWORD)  # type: ignore[attr-defined]
    assert sw.vault.audit.list(sw.admin, action="credential.pushed") == []


def test_a_vault_writer_cannot_take_over_an_unlinked_account(sw_both: SyncWorld) -> None:
    sw = sw_both
    victim = sw.ad.create_user()
    _enforce_client(sw)
    technician = sw.vault_world.operator(f"tech-{uuid.uuid4().hex[:6]}", "technician")
    draft = make_draft(
        title="Looks harmless", username=victim.name, password=Secret(ATTACKER_PASSWORD)
    )
    cred = sw.vault.credentials.add(technician, sw.keys, sw.client, draft)
    assert cred.effective_sync_mode == "enforce"
    report = sw.run()
    assert report.state == "done"
    assert sw.items(report)[cred.id] == ("mismatch", "verify")
    _assert_untouched(sw, victim)
    assert sw.flags() == {cred.id: "awaiting_confirmation"}
    # Later runs don't push either (the failed bind is not repeated: lockout safety).
    again = sw.run(full=True)
    assert sw.items(again)[cred.id] == ("mismatch", "flag")
    _assert_untouched(sw, victim)


def test_the_same_through_a_csv_import(sw: SyncWorld) -> None:
    victim = sw.ad.create_user()
    _enforce_client(sw)
    technician = sw.vault_world.operator(f"tech-{uuid.uuid4().hex[:6]}", "technician")
    data = f"title,username,password\nImported,{victim.name},{ATTACKER_PASSWORD}\n".encode()
    report = sw.vault.csv.import_csv(
        technician, sw.keys, sw.client, io.BytesIO(data), source_name="creds.csv"
    )
    assert report.imported == 1
    (cred,) = [
        c for c in sw.vault.credentials.list(sw.admin, sw.client).items if c.title == "Imported"
    ]
    run = sw.run()
    assert sw.items(run)[cred.id] == ("mismatch", "verify")
    _assert_untouched(sw, victim)
    assert sw.flags()[cred.id] == "awaiting_confirmation"
