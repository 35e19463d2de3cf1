"""credsync backup and restore, in the vault: a vault with rows in every kind of table is
backed up on SQLite and on PostgreSQL and restored into both; the restored vault opens with
the original passphrase, every version of every secret opens to what it was, every table
holds what it held, and the audit chain verifies. Damaged, truncated, foreign and newer
archives, and non-empty targets, are refused and nothing is written."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from credsync.crypto import derive_kek
from credsync.errors import (
    AlreadyExists,
    IntegrityError,
    InvalidInput,
    PermissionDenied,
    WrongPassphrase,
)
from credsync.storage import Database, link_counts
from credsync.storage import clients as client_rows
from credsync.storage.tables import credentials, links
from credsync.types import Secret
from credsync.vault import KeyRing, Vault
from credsync.vault.auth import SYSTEM
from credsync.vault.backup import restore
from credsync.vault.backup_archive import ArchiveReader, ArchiveWriter, read_header

from .backup_world import secrets_of, seed, tables, unique
from .helpers import PASSPHRASE, VaultWorld, add_cred, audit_of

TABLES_WITH_ROWS = {
    "vault_meta", "audit_log", "roles", "operators", "api_tokens", "cli_sessions",
    "operator_mfa", "mfa_recovery_codes", "clients", "folders", "credentials",
    "credential_tags", "secret_versions", "search_terms", "directories", "links", "runs",
    "run_items", "flags", "people", "groups", "group_members", "people_terms", "group_terms",
    "idp_signing_keys", "federated_domains", "federation_identities",
}  # fmt: skip


def _credential_counts_are_the_credentials(db: Database) -> bool:
    """The credentials' kept counts (not in the archive either) equal a plain count."""
    with db.read() as conn:
        plain = conn.execute(
            sa.select(credentials.c.client_id, sa.func.count())
            .where(credentials.c.deleted_at.is_(None))
            .group_by(credentials.c.client_id)
        )
        expected = {c: int(n) for c, n in plain}
        kept = {
            row.id: n
            for row, n in client_rows.list_with_counts(
                conn, include_archived=True, include_directory_admin=True
            )
            if n
        }
    return bool(expected) and kept == expected


def _link_counts_are_the_links(db: Database) -> bool:
    """The links' kept counts (not in the archive: the triggers make them as the links are
    loaded) equal a plain count of the links."""
    with db.read() as conn:
        plain = conn.execute(
            sa.select(links.c.directory_id, links.c.status, sa.func.count()).group_by(
                links.c.directory_id, links.c.status
            )
        )
        return bool(link_counts.sums(conn)) and link_counts.sums(conn) == {
            (d, st): int(n) for d, st, n in plain
        }


def _targets(tmp_path: Path, pg_server: Any) -> list[tuple[str, Database]]:
    name = unique("restore")
    return [
        ("sqlite", Database(f"sqlite:///{tmp_path / 'restored' / 'vault.db'}")),
        ("postgresql", Database(pg_server.create_database(name))),
    ]


def _chain_ok(db: Database) -> bool:
    return Vault.open(db).audit.verify(SYSTEM).ok


def test_a_full_vault_restores_into_sqlite_and_postgresql(
    world: VaultWorld, tmp_path: Path, pg_server: Any
) -> None:
    seeded = seed(world)
    expected = secrets_of(world.db)
    assert seeded.secrets.items() <= expected.items()
    before = tables(world.db)
    assert {name for name, rows in before.items() if rows} >= TABLES_WITH_ROWS
    archive = tmp_path / "vault.backup"
    summary = world.vault.backups.create(world.admin, world.keys, archive)
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    assert summary.rows == sum(len(rows) for rows in before.values())
    assert summary.size_bytes == archive.stat().st_size
    [entry] = audit_of(world, "vault.backup")
    assert entry.details["rows"] == summary.rows
    raw = archive.read_bytes()
    for plain in ("Second-0-Pa55!", "Contoso", "Servers", "erik", "alice", "vault.init"):
        assert plain.encode() not in raw  # names, metadata and the audit log are sealed too

    for kind, target in _targets(tmp_path, pg_server):
        try:
            restored = restore(target, archive, Secret(PASSPHRASE))
            assert restored.audit_chain_ok, kind
            assert restored.rows == summary.rows
            after = tables(target)
            for name, rows in before.items():
                if name == "audit_log":
                    assert after[name][:-1] == rows, kind
                elif name != "vault_meta":
                    assert after[name] == rows, f"{kind}: {name}"
            assert after["audit_log"][-1][3] == "vault.restore"
            assert _link_counts_are_the_links(target), kind  # made again, not copied
            assert _credential_counts_are_the_credentials(target), kind  # the same
            assert _chain_ok(target)
            assert secrets_of(target) == expected
            assert _chain_ok(target)  # the reveals were appended to the chain
        finally:
            target.dispose()


def test_a_backup_is_admin_only(world: VaultWorld, tmp_path: Path) -> None:
    for role in ("technician", "auditor"):
        actor = world.operator(f"{role}-b", role)
        with pytest.raises(PermissionDenied, match="admin"):
            world.vault.backups.create(actor, world.keys, tmp_path / f"{role}.backup")
        assert not (tmp_path / f"{role}.backup").exists()
    assert audit_of(world, "vault.backup") == []


def test_a_backup_never_overwrites_a_file(sqlite_world: VaultWorld, tmp_path: Path) -> None:
    existing = tmp_path / "taken.backup"
    existing.write_bytes(b"keep me")
    with pytest.raises(InvalidInput, match="new file") as caught:
        sqlite_world.vault.backups.create(sqlite_world.admin, sqlite_world.keys, existing)
    assert caught.value.field == "path"
    assert existing.read_bytes() == b"keep me"


@pytest.fixture
def archive(sqlite_world: VaultWorld, tmp_path: Path) -> Path:
    sqlite_world.vault.clients.add(sqlite_world.admin, sqlite_world.keys, "Contoso")
    add_cred(sqlite_world, "Contoso", "Router", "Router-Pa55-1!")
    path = tmp_path / "vault.backup"
    sqlite_world.vault.backups.create(sqlite_world.admin, sqlite_world.keys, path)
    return path


def _refused(path: Path, tmp_path: Path, error: type[Exception], match: str, **kw: Any) -> None:
    target_path = tmp_path / "target" / "vault.db"
    target = Database(f"sqlite:///{target_path}")
    try:
        with pytest.raises(error, match=match):
            restore(target, path, Secret(kw.get("passphrase", PASSPHRASE)))
        assert not target_path.exists(), "a refused restore wrote nothing"
    finally:
        target.dispose()


def test_a_wrong_passphrase_is_refused(archive: Path, tmp_path: Path) -> None:
    _refused(
        archive, tmp_path, WrongPassphrase, "passphrase the vault had", passphrase="not it at all"
    )


@pytest.mark.parametrize("keep", [0.5, 0.99, -1, 40])
def test_a_truncated_archive_is_refused(archive: Path, tmp_path: Path, keep: float) -> None:
    data = archive.read_bytes()
    size = int(len(data) * keep) if 0 < keep < 1 else (len(data) + keep if keep < 0 else keep)
    cut = tmp_path / "cut.backup"
    cut.write_bytes(data[: int(size)])
    _refused(cut, tmp_path, IntegrityError, "truncated|damaged")


@pytest.mark.parametrize("where", [0.3, 0.6, 0.95])
def test_a_changed_byte_is_refused(archive: Path, tmp_path: Path, where: float) -> None:
    data = bytearray(archive.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    bad = tmp_path / "bad.backup"
    bad.write_bytes(bytes(data))
    _refused(bad, tmp_path, IntegrityError, "damaged|authentication|truncated")


def test_what_is_no_backup_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_bytes(b"just some notes\n" * 10)
    _refused(other, tmp_path, InvalidInput, "not a credsync backup")


def _rewritten(archive: Path, tmp_path: Path, change: Any) -> Path:
    """The archive with its manifest changed by ``change`` and sealed again with its key
    (as a newer credsync would have written it)."""
    with archive.open("rb") as src:
        header = read_header(src)
        kek = derive_kek(Secret(PASSPHRASE), header.kdf)
        lines = list(ArchiveReader(src, header, kek).lines())
    change(lines[0])
    out = io.BytesIO()
    writer = ArchiveWriter(out, header, kek)
    for line in lines:
        writer.line(line)
    writer.close()
    path = tmp_path / "changed.backup"
    path.write_bytes(out.getvalue())
    return path


def test_a_backup_of_a_newer_schema_is_refused(archive: Path, tmp_path: Path) -> None:
    newer = _rewritten(archive, tmp_path, lambda m: m.update(schema_revision="0099"))
    _refused(newer, tmp_path, InvalidInput, "0099, newer than this credsync's")


def test_counts_that_do_not_match_are_refused(archive: Path, tmp_path: Path) -> None:
    def more(manifest: dict[str, Any]) -> None:
        manifest["tables"][0]["rows"] += 1

    _refused(_rewritten(archive, tmp_path, more), tmp_path, IntegrityError, "counts")


def test_a_non_empty_target_is_refused_and_left_alone(world: VaultWorld, tmp_path: Path) -> None:
    archive = tmp_path / "vault.backup"
    world.vault.backups.create(world.admin, world.keys, archive)
    before = tables(world.db)
    with pytest.raises(AlreadyExists, match="not empty"):
        restore(world.db, archive, Secret(PASSPHRASE))
    assert tables(world.db) == before


def test_a_backup_taken_while_others_write_is_consistent(world: VaultWorld, tmp_path: Path) -> None:
    vault, admin, keys = world.vault, world.admin, world.keys
    vault.clients.add(admin, keys, "Busy")
    stop = threading.Event()
    written: list[str] = []
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            n = 0
            while not stop.is_set():
                cred = add_cred(world, "Busy", f"Cred {n}", f"Busy-Pa55-{n}!")
                vault.credentials.set_password(admin, keys, cred.id, Secret(f"Busy-Pa55-{n}b!"))
                written.append(cred.id)
                n += 1
        except BaseException as err:
            failures.append(err)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5:
            stop.wait(0.01)
        archives = []
        for n in range(3):
            path = tmp_path / f"online-{n}.backup"
            vault.backups.create(admin, keys, path)
            archives.append(path)
    finally:
        stop.set()
        thread.join()
    assert failures == []
    for n, path in enumerate(archives):
        target = Database(f"sqlite:///{tmp_path / f'online-{n}' / 'vault.db'}")
        try:
            assert restore(target, path, Secret(PASSPHRASE)).audit_chain_ok
            with target.read() as conn:
                dangling = conn.execute(
                    sa.text(
                        "SELECT COUNT(*) FROM credentials c WHERE NOT EXISTS (SELECT 1 FROM "
                        "secret_versions s WHERE s.credential_id = c.id "
                        "AND s.version = c.secret_version)"
                    )
                ).scalar_one()
            assert dangling == 0
            found = secrets_of(target)
            for versions in found.values():
                first = versions[1]
                assert first.startswith("Busy-Pa55-")
                if 2 in versions:
                    assert versions[2] == first.removesuffix("!") + "b!"
            assert _chain_ok(target)
        finally:
            target.dispose()
    assert os.path.getsize(archives[0]) > 0
    assert KeyRing  # the restored vaults open with the original passphrase (secrets_of)


def test_a_backup_of_an_older_schema_is_upgraded(sqlite_world: VaultWorld, tmp_path: Path) -> None:
    from alembic import command

    from credsync.storage.database import SCHEMA_REVISION
    from credsync.storage.migrate import alembic_config

    world = sqlite_world
    world.vault.clients.add(world.admin, world.keys, "Contoso")
    cred = add_cred(world, "Contoso", "Router", "Router-Pa55-1!")
    with world.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0030")
    path = tmp_path / "old.backup"
    world.vault.backups.create(world.admin, world.keys, path)
    target = Database(f"sqlite:///{tmp_path / 'restored' / 'vault.db'}")
    try:
        restored = restore(target, path, Secret(PASSPHRASE))
        assert (restored.backup_revision, restored.schema_revision) == ("0030", SCHEMA_REVISION)
        assert target.schema_revision() == SCHEMA_REVISION
        assert secrets_of(target)[cred.id] == {1: "Router-Pa55-1!"}
        assert _chain_ok(target)
    finally:
        target.dispose()
