"""The agent's round asks storage only for the directories whose periodic run is due
(``directories.due``: ids and versions, never-scheduled ones first, then the earliest), not for
every directory's row; on both backends."""

from __future__ import annotations

import datetime as dt
import uuid

from credsync.storage import directories as directory_rows
from credsync.vault.directories import DirectoryInput
from vault.helpers import VaultWorld, add_bind_credential

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def _directories(world: VaultWorld, count: int, *, sync: bool) -> list[str]:
    client = f"Client {uuid.uuid4().hex[:8]}"
    world.vault.clients.add(world.admin, world.keys, client, directory_sync=sync)
    bind = add_bind_credential(world, client)
    settings = {"url": "ldaps://127.0.0.1:1", "base_dn": "DC=example,DC=test",
                "bind_credential": bind.id}  # fmt: skip
    return [
        world.vault.directories.add(
            world.admin, client, f"dc{n}-{uuid.uuid4().hex[:6]}", "active-directory",
            DirectoryInput.of(settings),
        ).id
        for n in range(count)
    ]  # fmt: skip


def test_only_due_directories_of_syncing_clients_come_back_never_scheduled_first(
    world: VaultWorld,
) -> None:
    late, early, never, later = _directories(world, 4, sync=True)
    [off] = _directories(world, 1, sync=False)
    with world.db.write() as conn:
        directory_rows.schedule(conn, late, NOW - dt.timedelta(seconds=1))
        directory_rows.schedule(conn, early, NOW - dt.timedelta(seconds=30))
        directory_rows.schedule(conn, later, NOW + dt.timedelta(seconds=1))
        directory_rows.schedule(conn, off, NOW - dt.timedelta(seconds=60))
        directory_rows.update(conn, late, {"version": 7})
    with world.db.read() as conn:
        due = directory_rows.due(conn, NOW)
        at_now = directory_rows.due(conn, NOW - dt.timedelta(seconds=1))
    assert [d for d, _ in due] == [never, early, late]
    assert dict(due)[late] == 7
    assert [d for d, _ in at_now] == [never, early, late]  # due at its very time
    with world.db.read() as conn:
        assert {d for d, _ in directory_rows.due(conn, NOW + dt.timedelta(hours=1))} == {
            never, early, late, later
        }  # fmt: skip
