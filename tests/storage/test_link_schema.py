"""Schema revision 0012: links confirmed for pushes, push attempts, and a run's cached
account total. Links that exist when it is applied stay as they were (confirmed: they pushed
before); a downgrade drops the columns and keeps the links. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import command

from credsync.storage.migrate import alembic_config
from credsync.storage.tables import links
from credsync.types import Secret
from credsync.vault.directories import DirectoryInput
from credsync.vault.drafts import make_draft
from vault.helpers import VaultWorld, add_bind_credential

LINKED_AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def _a_link(world: VaultWorld) -> tuple[str, str]:
    """A credential linked in a directory, as a run of an older version left it."""
    vault, admin, keys = world.vault, world.admin, world.keys
    client = f"Client {uuid.uuid4().hex[:8]}"
    vault.clients.add(admin, keys, client, directory_sync=True)
    bind = add_bind_credential(world, client)
    directory = vault.directories.add(
        admin,
        client,
        f"dc-{uuid.uuid4().hex[:6]}",
        "active-directory",
        DirectoryInput.of(
            {"url": "ldaps://127.0.0.1:1", "base_dn": "DC=x", "bind_credential": bind.id}
        ),
    )
    cred = vault.credentials.add(
        admin, keys, client, make_draft(title="Bob", username="bob", password=Secret("Pa55-1!x"))
    )
    with world.db.write() as conn:
        conn.execute(
            links.insert().values(
                credential_id=cred.id,
                directory_id=directory.id,
                account_id="guid-bob",
                linked_at=LINKED_AT,
                linked_by="alice",
                status="in_sync",
            )
        )
    return cred.id, directory.id


def test_revision_0012_keeps_existing_links_confirmed(world: VaultWorld) -> None:
    cred_id, directory_id = _a_link(world)
    with world.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")
        link_columns = {c["name"] for c in sa.inspect(conn).get_columns("links")}
        run_columns = {c["name"] for c in sa.inspect(conn).get_columns("runs")}
        assert not {c for c in link_columns if c.startswith(("link_confirmed", "push_attempt"))}
        assert "accounts_total" not in run_columns
        kept = conn.execute(sa.text("SELECT account_id FROM links")).scalars().all()
    assert kept == ["guid-bob"]  # the link stays, without the new columns
    world.db.upgrade()
    with world.db.read() as conn:
        row = conn.execute(sa.select(links).where(links.c.credential_id == cred_id)).one()
    assert row.directory_id == directory_id
    confirmed_at = row.link_confirmed_at
    if confirmed_at.tzinfo is None:  # SQLite hands back naive UTC
        confirmed_at = confirmed_at.replace(tzinfo=dt.UTC)
    assert (confirmed_at, row.link_confirmed_by) == (LINKED_AT, "schema upgrade")
    assert (row.push_attempt_run, row.push_attempt_version, row.push_attempt_at) == (
        None,
        None,
        None,
    )


def test_new_links_are_stored_with_their_state_in_bulk(world: VaultWorld) -> None:
    """A run's new links (a first run makes thousands) go in one INSERT per set of state
    columns; each keeps its own state, and an existing link is updated, not inserted."""
    from credsync.storage import links as link_rows

    cred_id, directory_id = _a_link(world)
    client_id = world.vault.credentials.get(world.admin, cred_id).client_id
    made = [
        world.vault.credentials.add(
            world.admin, world.keys, client_id,
            make_draft(title=f"U{n}", username=f"u{n}", password=Secret("Pa55-1!x")),
        ).id
        for n in range(3)
    ]  # fmt: skip
    confirmed = {"confirmed_stamp": "s1", "confirmed_secret_version": 1, "confirmed_at": LINKED_AT}
    found = [
        link_rows.LinkCheck(made[0], "guid-0", "in_sync", "ok", confirmed, new=True),
        link_rows.LinkCheck(made[1], "guid-1", "mismatch", "differs", {"failed_stamp": "s2"},
                            new=True),
        link_rows.LinkCheck(made[2], "guid-2", "in_sync", "ok", confirmed, new=True),
        link_rows.LinkCheck(cred_id, "guid-bob", "mismatch", "changed", {}),
    ]  # fmt: skip
    now = LINKED_AT + dt.timedelta(hours=1)
    with world.db.write() as conn:
        link_rows.record(conn, directory_id, found, by="run", now=now)
    with world.db.read() as conn:
        rows = {
            r.credential_id: r
            for r in conn.execute(sa.select(links).where(links.c.directory_id == directory_id))
        }
    assert set(rows) == {cred_id, *made}
    first, second = rows[made[0]], rows[made[1]]
    assert (first.account_id, first.status, first.detail, first.linked_by) == (
        "guid-0", "in_sync", "ok", "run"
    )  # fmt: skip
    assert (first.confirmed_stamp, first.confirmed_secret_version) == ("s1", 1)
    assert first.confirmed_at.replace(tzinfo=dt.UTC) == LINKED_AT
    assert first.linked_at.replace(tzinfo=dt.UTC) == now
    assert (second.failed_stamp, second.confirmed_stamp, second.status) == (
        "s2", None, "mismatch"
    )  # fmt: skip
    assert rows[made[2]].account_id == "guid-2"
    old = rows[cred_id]
    assert (old.status, old.detail, old.linked_by) == ("mismatch", "changed", "alice")
