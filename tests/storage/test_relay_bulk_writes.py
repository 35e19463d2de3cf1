"""What a relay run writes in bulk, on both backends: links made confirmed with one
executemany (storage.links.add_confirmed_many), and a flag closed when it has any of several
statuses with one UPDATE (storage.flags.close_of)."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from credsync.storage import flags as flag_rows
from credsync.storage import links as link_rows
from credsync.storage.tables import links
from credsync.types import Secret
from credsync.vault.directories import DirectoryInput
from credsync.vault.drafts import make_draft
from vault.helpers import VaultWorld, add_bind_credential

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def setup(world: VaultWorld, creds: int) -> tuple[str, str, list[str]]:
    vault, admin, keys = world.vault, world.admin, world.keys
    client = f"Client {uuid.uuid4().hex[:8]}"
    made = vault.clients.add(admin, keys, client, directory_sync=True)
    bind = add_bind_credential(world, client)
    directory = vault.directories.add(admin, client, f"dc-{uuid.uuid4().hex[:6]}",
        "active-directory", DirectoryInput.of({"url": "ldaps://127.0.0.1:1",
                                               "base_dn": "DC=example,DC=test",
                                               "bind_credential": bind.id}))  # fmt: skip
    ids = [
        vault.credentials.add(admin, keys, client, make_draft(
            title=f"User {n}", username=f"user{n}", password=Secret("Pa55-word-1!"))).id
        for n in range(creds)
    ]  # fmt: skip
    return made.id, directory.id, ids


def test_links_made_in_bulk_are_confirmed_for_pushes(world: VaultWorld) -> None:
    _, directory, creds = setup(world, 3)
    new = [link_rows.NewLink(c, f"account-{n}", f"linked by relay r ({n})")
           for n, c in enumerate(creds)]  # fmt: skip
    with world.db.write() as conn:
        link_rows.add_confirmed_many(conn, directory, new, by="admin", now=NOW, status="pending")
        link_rows.add_confirmed_many(conn, directory, [], by="admin", now=NOW, status="pending")
    with world.db.read() as conn:
        found = {link.credential_id: link for link in link_rows.of_directory(conn, directory)}
        query = sa.select(links.c.credential_id, links.c.detail)
        details = dict(conn.execute(query.where(links.c.directory_id == directory)).all())
    assert sorted(found) == sorted(creds)
    for n, cred in enumerate(creds):
        link = found[cred]
        assert (link.account_id, link.status) == (f"account-{n}", "pending")
        assert details[cred] == f"linked by relay r ({n})"
        assert link.link_confirmed_at is not None
        assert link.confirmed_secret_version is None


def test_a_flag_is_closed_when_it_has_any_of_the_statuses_given(world: VaultWorld) -> None:
    client, directory, creds = setup(world, 2)
    with world.db.write() as conn:
        for cred, status in zip(creds, ("conflict", "mismatch"), strict=True):
            flag_rows.raise_flag(conn, client_id=client, credential_id=cred,
                                 directory_id=directory, account_id=None, status=status,
                                 detail="d", now=NOW)  # fmt: skip
        for cred in creds:
            flag_rows.close_of(conn, cred, directory, status=("policy_rejected", "conflict"),
                               by="admin", resolution="pushed", now=NOW)  # fmt: skip
    with world.db.read() as conn:
        still = flag_rows.open_checks(conn, creds)
    assert [(f.credential_id, f.status) for f in still] == [(creds[1], "mismatch")]
    with world.db.write() as conn:
        flag_rows.close_of(conn, creds[1], directory, status="mismatch", by="admin",
                           resolution="pushed", now=NOW)  # fmt: skip
    with world.db.read() as conn:
        assert flag_rows.open_checks(conn, creds) == []
