"""The storage modules' own promises, on both backends: the rows they hand out never show a
sealed value or a hash in their repr, a versioned write refuses a stale version, and the
generic updates refuse columns they don't own."""

from __future__ import annotations

import datetime as dt

import pytest

from credsync.storage import clients, credential_export, credentials, operators, secrets, sessions
from credsync.storage.tables import credentials as credentials_table
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.drafts import make_draft


@pytest.fixture
def stored(world):
    """A client with one credential (notes and a second secret version) and a CLI session."""
    vault, admin, keys = world.vault, world.admin, world.keys
    client = vault.clients.add(admin, keys, "Contoso")
    draft = make_draft(title="Domain admin", password=Secret("First-Pa55!"), notes="the notes")
    cred = vault.credentials.add(admin, keys, client.name, draft)
    vault.credentials.set_password(admin, keys, cred.id, Secret("Second-Pa55!"))
    session = vault.access.create_session(admin, keys.kek(), dt.timedelta(hours=1))
    return world, client, cred, session.id


def test_rows_keep_sealed_values_and_hashes_out_of_their_repr(stored) -> None:
    world, client, cred, session_id = stored
    with world.db.read() as conn:
        row = credentials.get(conn, cred.id)
        history = secrets.history(conn, cred.id)
        sealed = list(secrets.sealed_secrets(conn, {cred.id: 2}))
        rows = credential_export.export_rows(conn, client.id, include_directory_admin=True)
        exported = list(rows)
        operator = operators.by_key(conn, "alice")
        session = sessions.cli_session(conn, session_id)
    assert row.notes_ct is not None
    assert operator is not None
    assert session is not None
    for record, hidden in [
        (row, row.notes_ct),
        (history[0], history[0].ciphertext),
        (sealed[0], sealed[0].ciphertext),
        (exported[0], exported[0].ciphertext),
        (session, session.sealed_kek),
    ]:
        shown = repr(record)
        assert repr(hidden) not in shown
        assert hidden.hex() not in shown
    assert "ciphertext" not in repr(history[0])
    assert operator.password_hash not in repr(operator)
    assert "password_hash" not in repr(operator)
    assert [v.version for v in history] == [2, 1]


def test_a_versioned_write_refuses_a_stale_version(stored) -> None:
    world, _, cred, _ = stored
    with world.db.write() as conn:
        current = credentials.get(conn, cred.id)
        assert not credentials.bump(
            conn, cred.id, current.version - 1, by="x", now=utcnow(), changes={"url": "u"}
        )
        assert credentials.bump(
            conn, cred.id, current.version, by="bob", now=utcnow(), changes={"url": "u"}
        )
        after = credentials.get(conn, cred.id)
    assert (after.version, after.url, after.updated_by) == (current.version + 1, "u", "bob")


def test_generic_updates_refuse_columns_they_do_not_change(stored) -> None:
    world, client, cred, _ = stored
    with world.db.write() as conn:
        with pytest.raises(KeyError, match="wrapped_data_key"):
            clients.update(conn, client.id, {"wrapped_data_key": b"x"}, utcnow())
        with pytest.raises(KeyError, match="client_id, secret_version"):
            credentials.bump(
                conn,
                cred.id,
                cred.version,
                by="x",
                now=utcnow(),
                changes={"secret_version": 9, "client_id": "y"},
            )
    with world.db.read() as conn:
        assert credentials.get(conn, cred.id).secret_version == 2
        assert (
            conn.execute(credentials_table.select().where(credentials_table.c.id == cred.id))
            .one()
            .client_id
            == client.id
        )
