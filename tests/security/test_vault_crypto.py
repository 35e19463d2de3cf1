"""Encryption as the vault uses it, on SQLite and PostgreSQL: ciphertexts and wrapped data keys
moved between rows fail to open, tampering is detected, a wrong passphrase is refused, and key
rotation re-wraps data keys without touching a single ciphertext."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from credsync.cli.exits import exit_code_of
from credsync.errors import (
    AuthenticationFailed,
    Conflict,
    IntegrityError,
    InvalidInput,
    PermissionDenied,
    WrongPassphrase,
)
from credsync.storage import Database
from credsync.storage.tables import cli_sessions, clients, credentials, secret_versions, vault_meta
from credsync.types import Secret
from credsync.vault import KeyRing, Vault
from credsync.vault.drafts import make_draft

from ._safe import check_absent, check_secret, check_secrets
from ._top import PASSPHRASE, VaultWorld, fast_kdf

NEW_PASSPHRASE = "a brand new master passphrase for rotation"


def _fresh_keys(world: VaultWorld, passphrase: str = PASSPHRASE) -> KeyRing:
    """A key ring with no cached data keys, so every data key is unwrapped from the database."""
    return KeyRing.of(world.vault.unlock(Secret(passphrase)))


def _add(
    world: VaultWorld, client: str, title: str, password: str, notes: str | None = None
) -> str:
    draft = make_draft(
        title=title, password=Secret(password), username=f"{title}-user", notes=notes
    )
    return world.vault.credentials.add(world.admin, world.keys, client, draft).id


def _ciphertext(world: VaultWorld, cred_id: str, version: int) -> bytes:
    with world.db.engine.connect() as conn:
        value: bytes = conn.execute(
            sa.select(secret_versions.c.ciphertext).where(
                secret_versions.c.credential_id == cred_id, secret_versions.c.version == version
            )
        ).scalar_one()
    return bytes(value)


def _set_ciphertext(world: VaultWorld, cred_id: str, version: int, blob: bytes) -> None:
    with world.db.engine.begin() as conn:
        result = conn.execute(
            secret_versions.update()
            .where(secret_versions.c.credential_id == cred_id, secret_versions.c.version == version)
            .values(ciphertext=blob)
        )
        assert result.rowcount == 1


def _reveal(world: VaultWorld, cred_id: str, keys: KeyRing | None = None) -> str:
    revealed = world.vault.credentials.reveal(world.admin, keys or _fresh_keys(world), cred_id)
    return revealed.password.reveal()


def _audit_count(world: VaultWorld) -> int:
    return world.vault.audit.verify(world.admin).entries


def _assert_refused(world: VaultWorld, cred_id: str, *secrets: str) -> IntegrityError:
    before = _audit_count(world)
    with pytest.raises(IntegrityError) as caught:
        _reveal(world, cred_id)
    text = f"{caught.value} {caught.value!r}"
    check_absent({f"secret {i}": s for i, s in enumerate(secrets)}, text, "the error")
    report = world.vault.audit.verify(world.admin)
    assert report.ok
    # The reveal itself rolled back; only the detected tampering was recorded.
    assert report.entries == before + 1
    last = world.vault.audit.list(world.admin, limit=1)[0]
    assert (last.action, last.target_id) == ("integrity.failure", cred_id)
    check_absent({f"secret {i}": s for i, s in enumerate(secrets)}, str(last.details), "audit")
    return caught.value


@pytest.fixture
def two_clients(world: VaultWorld) -> dict[str, Any]:
    world.vault.clients.add(world.admin, world.keys, "Contoso")
    world.vault.clients.add(world.admin, world.keys, "Fabrikam")
    secrets = {
        "c1": "sec-contoso-one-Q1!",
        "c2": "sec-contoso-two-Q2!",
        "f1": "sec-fabrikam-one-Q3!",
    }
    ids = {
        "c1": _add(world, "Contoso", "c1", secrets["c1"], notes="notes-contoso-one"),
        "c2": _add(world, "Contoso", "c2", secrets["c2"], notes="notes-contoso-two"),
        "f1": _add(world, "Fabrikam", "f1", secrets["f1"]),
    }
    return {"ids": ids, "secrets": secrets}


def test_ciphertext_moved_onto_another_row_fails(
    world: VaultWorld, two_clients: dict[str, Any]
) -> None:
    ids, secrets = two_clients["ids"], two_clients["secrets"]
    world.vault.credentials.set_password(world.admin, world.keys, ids["c1"], Secret("sec-v2-R7"))
    secrets_all = [*secrets.values(), "sec-v2-R7"]
    moves = [
        # (onto credential, version) <- (from credential, version)
        ((ids["c2"], 1), (ids["c1"], 1)),  # another credential of the same client
        ((ids["c1"], 2), (ids["f1"], 1)),  # a credential of another client
        ((ids["c1"], 2), (ids["c1"], 1)),  # an older version of the same credential (rollback)
        ((ids["c2"], 1), (ids["c1"], 2)),  # same version number, another credential
    ]
    for (target, version), (source, source_version) in moves:
        original = _ciphertext(world, target, version)
        _set_ciphertext(world, target, version, _ciphertext(world, source, source_version))
        err = _assert_refused(world, target, *secrets_all)
        assert target in str(err)
        assert f"version {version}" in str(err)
        assert "tampered, moved or wrong key" in str(err)
        with pytest.raises(IntegrityError):
            world.vault.credentials.history(world.admin, _fresh_keys(world), target, reveal=True)
        # the source row is untouched and still opens; putting the original back heals the target
        _set_ciphertext(world, target, version, original)
        expected = "sec-v2-R7" if target == ids["c1"] else secrets["c2"]
        check_secret(_reveal(world, target), expected, "after the original was put back")
    assert world.vault.audit.verify(world.admin).ok


def test_notes_moved_onto_another_credential_fail(
    world: VaultWorld, two_clients: dict[str, Any]
) -> None:
    ids = two_clients["ids"]
    with world.db.engine.begin() as conn:
        notes = conn.execute(
            sa.select(credentials.c.notes_ct).where(credentials.c.id == ids["c1"])
        ).scalar_one()
        conn.execute(
            credentials.update().where(credentials.c.id == ids["c2"]).values(notes_ct=notes)
        )
    err = _assert_refused(world, ids["c2"], "notes-contoso-one", "notes-contoso-two")
    assert str(err).startswith(f"notes of {ids['c2']}")


def test_wrapped_data_key_moved_or_tampered_fails(
    world: VaultWorld, two_clients: dict[str, Any]
) -> None:
    ids, secrets = two_clients["ids"], two_clients["secrets"]
    with world.db.engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(sa.select(clients))}
    contoso, fabrikam = rows["Contoso"], rows["Fabrikam"]
    tampered = bytearray(contoso.wrapped_data_key)
    tampered[-3] ^= 0x10
    for wrapped in (fabrikam.wrapped_data_key, bytes(tampered)):
        with world.db.engine.begin() as conn:
            conn.execute(
                clients.update().where(clients.c.id == contoso.id).values(wrapped_data_key=wrapped)
            )
        err = _assert_refused(world, ids["c1"], secrets["c1"], secrets["f1"])
        assert f"data key of {contoso.id}" in str(err)
        # Fabrikam's own credential still opens with its own key
        check_secret(_reveal(world, ids["f1"]), secrets["f1"], "the other client")
    with world.db.engine.begin() as conn:
        conn.execute(
            clients.update()
            .where(clients.c.id == contoso.id)
            .values(wrapped_data_key=contoso.wrapped_data_key)
        )
    check_secret(_reveal(world, ids["c1"]), secrets["c1"], "after the original was put back")


def test_tampered_or_truncated_ciphertext_is_detected(
    world: VaultWorld, two_clients: dict[str, Any]
) -> None:
    ids, secrets = two_clients["ids"], two_clients["secrets"]
    original = _ciphertext(world, ids["c1"], 1)
    variants: dict[str, bytes] = {}
    for where, index in {"format": 0, "nonce": 5, "body": 16, "tag": len(original) - 1}.items():
        flipped = bytearray(original)
        flipped[index] ^= 0x01
        variants[f"flip {where}"] = bytes(flipped)
    variants["drop last byte"] = original[:-1]
    variants["extra byte"] = original + b"\x00"
    variants["header only"] = original[:13]
    variants["empty"] = b""
    for name, blob in variants.items():
        _set_ciphertext(world, ids["c1"], 1, blob)
        err = _assert_refused(world, ids["c1"], secrets["c1"])
        assert ids["c1"] in str(err), name
    _set_ciphertext(world, ids["c1"], 1, original)
    check_secret(_reveal(world, ids["c1"]), secrets["c1"], "after the original was put back")


def test_export_refuses_a_moved_ciphertext(world: VaultWorld, two_clients: dict[str, Any]) -> None:
    import io

    ids, secrets = two_clients["ids"], two_clients["secrets"]
    _set_ciphertext(world, ids["c2"], 1, _ciphertext(world, ids["c1"], 1))
    out = io.StringIO()
    with pytest.raises(IntegrityError) as caught:
        world.vault.csv.export_csv(world.admin, _fresh_keys(world), "Contoso", out)
    check_absent(secrets, str(caught.value), "the error")
    check_absent({"c2": secrets["c2"]}, out.getvalue(), "the partial export")


# -- the master passphrase --------------------------------------------------------------------


def test_wrong_passphrase_fails_clearly(world: VaultWorld) -> None:
    world.vault.clients.add(world.admin, world.keys, "Contoso")
    cred = _add(world, "Contoso", "c1", "sec-wrong-pass-W1")
    before = _audit_count(world)
    for wrong in (PASSPHRASE + " ", PASSPHRASE.upper(), "a different passphrase entirely", ""):
        with pytest.raises(WrongPassphrase) as caught:
            world.vault.unlock(Secret(wrong))
        message = str(caught.value)
        assert message == "the master passphrase does not open this vault"
        assert exit_code_of(caught.value) == 3
        # the key ring defers to unlock, so a reveal stops before anything is read or written
        locked = KeyRing(lambda wrong=wrong: world.vault.unlock(Secret(wrong)))
        with pytest.raises(WrongPassphrase):
            world.vault.credentials.reveal(world.admin, locked, cred)
    assert _audit_count(world) == before
    check_secret(_reveal(world, cred), "sec-wrong-pass-W1", "with the right passphrase")


def test_tampered_key_check_refuses_the_right_passphrase(world: VaultWorld) -> None:
    with world.db.engine.begin() as conn:
        check = bytearray(conn.execute(sa.select(vault_meta.c.kek_check)).scalar_one())
        check[-1] ^= 0x01
        conn.execute(vault_meta.update().values(kek_check=bytes(check)))
    with pytest.raises(WrongPassphrase):
        world.vault.unlock(Secret(PASSPHRASE))


# -- key rotation -----------------------------------------------------------------------------


def _snapshot(world: VaultWorld) -> dict[str, Any]:
    with world.db.engine.connect() as conn:
        return {
            "secrets": {
                (r.credential_id, r.version): bytes(r.ciphertext)
                for r in conn.execute(sa.select(secret_versions))
            },
            "notes": {
                r.id: bytes(r.notes_ct) if r.notes_ct is not None else None
                for r in conn.execute(sa.select(credentials.c.id, credentials.c.notes_ct))
            },
            "wrapped": {
                r.id: bytes(r.wrapped_data_key)
                for r in conn.execute(sa.select(clients.c.id, clients.c.wrapped_data_key))
            },
            "meta": conn.execute(sa.select(vault_meta)).one(),
            "sessions": conn.execute(sa.select(sa.func.count()).select_from(cli_sessions)).scalar(),
        }


def test_key_rotation_rewraps_without_reencrypting(world: VaultWorld) -> None:
    world.vault.clients.add(world.admin, world.keys, "Contoso")
    world.vault.clients.add(world.admin, world.keys, "Fabrikam")
    written: dict[str, list[str]] = {}
    notes: dict[str, str] = {}
    for client in ("Contoso", "Fabrikam"):
        for n in range(2):
            first = f"rot-{client}-{n}-v1"
            notes_value = f"rot-notes-{client}-{n}"
            cred = _add(world, client, f"{client}-{n}", first, notes=notes_value)
            written[cred], notes[cred] = [first], notes_value
            for version in (2, 3):
                value = f"rot-{client}-{n}-v{version}"
                world.vault.credentials.set_password(world.admin, world.keys, cred, Secret(value))
                written[cred].append(value)
    tech = world.operator("tina", "technician")
    kek = world.keys.kek()
    admin_session = world.vault.access.create_session(world.admin, kek, dt.timedelta(hours=1))
    tech_session = world.vault.access.create_session(tech, kek, dt.timedelta(hours=1))
    before = _snapshot(world)
    assert before["sessions"] == 2

    with pytest.raises(PermissionDenied):
        world.vault.rotate_key(tech, world.keys, Secret(NEW_PASSPHRASE), kdf=fast_kdf())
    with pytest.raises(InvalidInput, match="at least") as caught:
        world.vault.rotate_key(world.admin, world.keys, Secret("short"), kdf=fast_kdf())
    assert "short" not in str(caught.value)
    unchanged = _snapshot(world)
    assert unchanged["wrapped"] == before["wrapped"]
    assert unchanged["meta"] == before["meta"]
    assert unchanged["sessions"] == 2

    rewrapped = world.vault.rotate_key(
        world.admin, world.keys, Secret(NEW_PASSPHRASE), kdf=fast_kdf()
    )
    assert rewrapped == 2
    assert not world.keys.unlocked  # the old key is dropped from this process
    after = _snapshot(world)

    # every ciphertext is byte-for-byte what it was: nothing was re-encrypted
    assert after["secrets"] == before["secrets"]
    assert len(after["secrets"]) == 4 * 3
    assert after["notes"] == before["notes"]
    # every data key is wrapped anew, under a new salt, with a new check and generation
    assert after["wrapped"].keys() == before["wrapped"].keys()
    for client_id, wrapped in after["wrapped"].items():
        assert wrapped != before["wrapped"][client_id]
    assert after["meta"].kdf_salt != before["meta"].kdf_salt
    assert after["meta"].kek_check != before["meta"].kek_check
    assert after["meta"].key_generation == before["meta"].key_generation + 1
    assert after["meta"].rotated_at is not None

    # the old passphrase no longer opens the vault; the new one does
    with pytest.raises(WrongPassphrase):
        world.vault.unlock(Secret(PASSPHRASE))
    keys = _fresh_keys(world, NEW_PASSPHRASE)
    for cred, values in written.items():
        check_secret(_reveal(world, cred, keys), values[-1], "after rotation")
        history = world.vault.credentials.history(world.admin, keys, cred, reveal=True)
        check_secrets([h.password for h in history], values[::-1], "history after rotation")
        revealed = world.vault.credentials.reveal(world.admin, keys, cred)
        assert revealed.notes is not None
        check_secret(revealed.notes, notes[cred], "notes after rotation")

    # the old key can neither unwrap the new data keys nor rotate again
    with pytest.raises(IntegrityError):
        KeyRing.of(kek).data_key(world.db.engine.connect(), next(iter(after["wrapped"])))
    with pytest.raises(Conflict):
        world.vault.rotate_key(world.admin, KeyRing.of(kek), Secret("yet another passphrase"))

    # every session ended
    assert after["sessions"] == 0
    for session in (admin_session, tech_session):
        with pytest.raises(AuthenticationFailed, match="ended"):
            world.vault.access.open_session(session.token)

    # audited, and the chain holds
    [entry] = world.vault.audit.list(world.admin, action="key.rotate")
    assert entry.actor == "alice"
    assert entry.details["data_keys"] == 2
    assert entry.details["sessions_ended"] == 2
    assert entry.details["key_generation"] == after["meta"].key_generation
    text = repr(entry) + str(entry.details)
    check_absent({"new": NEW_PASSPHRASE, "old": PASSPHRASE}, text, "the audit entry")
    assert world.vault.audit.verify(world.admin).ok


def test_default_vault_kdf_is_the_product_default(tmp_path: Path) -> None:
    """A vault created without explicit KDF settings stores Argon2id t=3, m=64 MiB, p=4."""
    db = Database(f"sqlite:///{tmp_path / 'vault.db'}")
    try:
        Vault.initialise(
            db,
            passphrase=Secret(PASSPHRASE),
            admin_name="alice",
            admin_password=Secret("admin-password-1234"),
        )
        with db.engine.connect() as conn:
            meta = conn.execute(sa.select(vault_meta)).one()
        assert (meta.kdf_time_cost, meta.kdf_memory_kib, meta.kdf_parallelism) == (3, 65536, 4)
        assert len(meta.kdf_salt) == 16
    finally:
        db.dispose()
