"""The audit list names what its entries are about (a credential's title, a client's, a
directory's or an operator's name, a folder's path), as far as the reader may see it, and by
id once it is gone; and it filters by a window of days or times."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from credsync.errors import InvalidInput
from credsync.types import CredentialType, SyncMode
from credsync.vault.audit import time_window
from credsync.vault.directories import DirectoryInput

from .helpers import Ctx


def _by_action(ctx: Ctx, actor=None) -> dict[str, list]:
    entries = ctx.vault.audit.list(actor or ctx.admin, client_id=ctx.client.id, limit=1000)
    found: dict[str, list] = {}
    for e in entries:
        found.setdefault(e.action, []).append(e)
    return found


def test_entries_name_their_targets_and_clients_then_fall_back_to_ids(ctx: Ctx) -> None:
    vault, admin = ctx.vault, ctx.admin
    cafe = ctx.add("Café admin")
    gone = ctx.add("Short-lived")
    vault.credentials.delete(admin, gone.id)
    vault.credentials.purge(admin, gone.id)
    folder = vault.clients.add_folder(admin, ctx.name, "Servers/Été")
    bind = ctx.add(
        "LDAP bind", type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF, username="cn=x"
    )
    settings = {"url": "ldaps://127.0.0.1:1", "base_dn": "dc=x", "bind_credential": bind.id}
    name, removed = (f"dir-{uuid.uuid4().hex[:8]}" for _ in range(2))
    directory, other = (
        vault.directories.add(admin, ctx.name, n, "ldap", DirectoryInput.of(settings))
        for n in (name, removed)
    )
    vault.directories.remove(admin, other.id)

    found = _by_action(ctx)
    [added_cafe] = [e for e in found["credential.add"] if e.target_id == cafe.id]
    assert (added_cafe.target_name, added_cafe.client_name) == ("Café admin", ctx.name)
    assert added_cafe.to_json()["target_name"] == "Café admin"
    [purged] = found["credential.purge"]
    assert (purged.target_id, purged.target_name, purged.client_name) == (gone.id, None, ctx.name)
    [folder_added] = found["folder.add"]
    assert (folder_added.target_id, folder_added.target_name) == (folder.id, "Servers/Été")
    added = {e.target_id: e.target_name for e in found["directory.add"]}
    assert added == {directory.id: name, other.id: None}  # the removed one: its id alone
    [bind_added] = [e for e in found["credential.add"] if e.target_id == bind.id]
    assert bind_added.target_name == "LDAP bind"

    # An auditor reads names too, but not a directory_admin credential's title.
    auditor = ctx.as_role("auditor")
    seen = {e.target_id: e.target_name for e in _by_action(ctx, auditor)["credential.add"]}
    assert seen[cafe.id] == "Café admin"
    assert seen[bind.id] is None


def test_operator_targets_are_named_for_any_audit_reader(world) -> None:
    bob = world.operator("bob", "viewer")
    world.vault.operators.set_role(world.admin, "bob", "technician")
    entries = world.vault.audit.list(world.admin, action="operator.*")
    assert {(e.action, e.target_id, e.target_name) for e in entries} >= {
        ("operator.add", bob.operator_id, "bob"),
        ("operator.role", bob.operator_id, "bob"),
    }


def test_the_window_is_days_or_times(ctx: Ctx) -> None:
    cred = ctx.add("Windowed")
    [entry] = ctx.vault.audit.list(ctx.admin, action="credential.add", target_id=cred.id)
    day = entry.at.date().isoformat()

    def listed(since=None, until=None) -> list[int]:
        start, end = time_window(since, until)
        got = ctx.vault.audit.list(
            ctx.admin, target_id=cred.id, action="credential.add", since=start, until=end
        )
        return [e.seq for e in got]

    assert listed(day, day) == [entry.seq]  # a day until includes the day
    assert listed(since=day) == [entry.seq]
    assert listed(until=day) == [entry.seq]
    just_after = (entry.at + dt.timedelta(seconds=1)).isoformat()
    assert listed(until=just_after) == [entry.seq]
    assert listed(until=entry.at.isoformat()) == []  # a time until is left out
    assert listed(since=entry.at.isoformat()) == [entry.seq]
    assert listed(since=just_after) == []
    naive = entry.at.replace(tzinfo=None) + dt.timedelta(seconds=1)
    assert listed(until=naive.isoformat()) == [entry.seq]  # no zone: UTC
    later = (entry.at + dt.timedelta(days=1)).date().isoformat()
    assert listed(since=later) == []


@pytest.mark.parametrize(
    ("since", "until", "fields"),
    [
        ("yesterday", None, ("since",)),
        (None, "2026-13-01", ("until",)),
        ("2026-03-02", "2026-03-01", ("since", "until")),
        ("2026-03-01T12:00:00Z", "2026-03-01T12:00:00Z", ("since", "until")),
    ],
)
def test_a_window_that_is_not_one_is_refused_naming_its_fields(since, until, fields) -> None:
    with pytest.raises(InvalidInput) as refused:
        time_window(since, until)
    assert refused.value.fields == fields
