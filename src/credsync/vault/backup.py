"""Backups of the whole vault and restores of them (see docs/backup.md).

A backup is taken online: one snapshot transaction (:meth:`Database.snapshot`) reads every
table as of one instant while the server and agents go on writing, so the audit chain, the
secrets and what they refer to agree. The archive (:mod:`.backup_archive`) is sealed with a
key derived from the vault's master key: it opens with the master passphrase the vault had
when the backup was taken, and with nothing else. Taking one needs ``admin``; it is audited
(``vault.backup``) in the vault it was taken from.

A restore reads the archive twice: once to check all of it (every chunk authentic, the
manifest's schema revision one this credsync knows and not newer, every row well formed and
counted), and only then, into an empty database, to load it in one transaction. A schema
older than this credsync's is upgraded at once. The restored vault records the restore
(``vault.restore``, by ``system``: nobody is signed in to a database that was empty).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from credsync import __version__
from credsync.crypto import KeyEncryptionKey, derive_kek
from credsync.crypto.archive import new_archive_salt
from credsync.errors import AlreadyExists, IntegrityError, InvalidInput, StaleVersion, StorageError
from credsync.storage import Database, meta, snapshot
from credsync.storage.database import SCHEMA_REVISION
from credsync.storage.snapshot import TableShape
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import SYSTEM, Actor, Permission
from credsync.vault.backup_archive import FORMAT, ArchiveReader, ArchiveWriter, Header, read_header
from credsync.vault.keyring import KeyRing

__all__ = ["BackupSummary", "Backups", "RestoreSummary", "restore"]


@dataclass(frozen=True)
class BackupSummary:
    path: str
    created_at: dt.datetime
    schema_revision: str
    tables: int
    rows: int
    audit_head_seq: int
    size_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class RestoreSummary:
    database: str
    created_at: str
    created_by: str
    backup_revision: str
    schema_revision: str
    tables: int
    rows: int
    audit_entries: int
    audit_chain_ok: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Backups:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def create(self, actor: Actor, keys: KeyRing, path: Path) -> BackupSummary:
        """Write a backup of the whole vault to ``path``, a new file (0600; never one that
        exists). A file left half-written by a failure is removed."""
        actor.require(Permission.ADMIN)
        kek = keys.kek()
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            raise InvalidInput(
                f"{path} exists: a backup is written to a new file only", field="path"
            ) from None
        except OSError as err:
            raise InvalidInput(f"cannot create {path}: {err.strerror}", field="path") from None
        try:
            with os.fdopen(fd, "wb") as out:
                summary = self._write(out, kek, str(path), actor)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        with self._db.write() as conn:
            self._audit.append(
                conn,
                actor,
                "vault.backup",
                target_type="vault",
                target_id="vault",
                details={
                    "file": path.name,
                    "schema_revision": summary.schema_revision,
                    "rows": summary.rows,
                    "audit_head_seq": summary.audit_head_seq,
                },
            )
        return summary

    def _write(
        self, out: IO[bytes], kek: KeyEncryptionKey, path: str, actor: Actor
    ) -> BackupSummary:
        created_at = utcnow()
        with self._db.snapshot() as conn:
            revision = snapshot.revision(conn)
            state = meta.key_state(conn)
            if not kek.matches_check(state.kek_check):
                raise StaleVersion("the master key was rotated meanwhile: unlock again")
            head = meta.audit_head(conn)
            tables = snapshot.shapes(conn)
            counts = snapshot.counts(conn, tables)
            writer = ArchiveWriter(
                out, Header.new(state.params, state.kek_check, new_archive_salt()), kek
            )
            writer.line(
                {
                    "format": FORMAT,
                    "credsync_version": __version__,
                    "schema_revision": revision,
                    "created_at": created_at.isoformat(),
                    "created_by": actor.name,
                    "database": self._db.dialect,
                    "audit_head": {"seq": head.seq, "hash": head.hash},
                    "tables": [
                        {**t.to_json(), "rows": n} for t, n in zip(tables, counts, strict=True)
                    ],
                }
            )
            for index, table in enumerate(tables):
                for row in snapshot.read_rows(conn, table):
                    writer.line([index, row])
            writer.close()
        return BackupSummary(
            path, created_at, revision, len(tables), sum(counts), head.seq, out.tell()
        )


@dataclass(frozen=True)
class _Manifest:
    revision: str
    created_at: str
    created_by: str
    tables: list[TableShape]
    counts: list[int]


def _manifest(doc: Any) -> _Manifest:
    try:
        tables = [
            TableShape(str(t["name"]), tuple((str(c), str(k)) for c, k in t["columns"]))
            for t in doc["tables"]
        ]
        counts = [int(t["rows"]) for t in doc["tables"]]
        found = _Manifest(
            str(doc["schema_revision"]),
            str(doc["created_at"]),
            str(doc["created_by"]),
            tables,
            counts,
        )
    except (KeyError, TypeError, ValueError):
        raise IntegrityError("backup archive: its manifest is damaged") from None
    _check_revision(found.revision)
    return found


def _check_revision(revision: str) -> None:
    from credsync.storage.migrate import revisions

    if revision in revisions():
        return
    if revision > SCHEMA_REVISION:
        raise InvalidInput(
            f"the backup is of schema revision {revision}, newer than this credsync's "
            f"{SCHEMA_REVISION}: restore it with the credsync version that made it, or a newer one",
            field="archive",
        )
    raise InvalidInput(
        f"the backup is of schema revision {revision}, which this credsync does not know",
        field="archive",
    )


class _Archive:
    """One archive file: its header checked, its key derived once."""

    def __init__(self, path: Path, passphrase: Secret) -> None:
        self.path = path
        with self._open() as src:
            self.header = read_header(src)
        self.kek = derive_kek(passphrase, self.header.kdf)
        if not self.kek.matches_check(self.header.kek_check):
            from credsync.errors import WrongPassphrase

            raise WrongPassphrase(
                "the passphrase does not open this backup: it opens with the master "
                "passphrase the vault had when the backup was taken"
            )

    def _open(self) -> IO[bytes]:
        try:
            return self.path.open("rb")
        except OSError as err:
            raise InvalidInput(
                f"cannot read {self.path}: {err.strerror}", field="archive"
            ) from None

    def lines(self) -> Generator[Any, None, None]:
        with self._open() as src:
            read_header(src)
            yield from ArchiveReader(src, self.header, self.kek).lines()

    def rows(self, found: _Manifest) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every row, decoded and checked against the manifest (in its order, counted)."""
        lines = self.lines()
        next(lines)
        seen = [0] * len(found.tables)
        last = 0
        for line in lines:
            if (
                not isinstance(line, list)
                or len(line) != 2
                or not isinstance(line[0], int)
                or not last <= line[0] < len(found.tables)
            ):
                raise IntegrityError("backup archive: a row is out of place")
            last = line[0]
            shape = found.tables[last]
            seen[last] += 1
            yield shape.name, snapshot.decode_row(shape, line[1])
        if seen != found.counts:
            raise IntegrityError("backup archive: its rows do not match its manifest's counts")

    def manifest(self) -> _Manifest:
        lines = self.lines()
        try:
            first = next(lines)
        except StopIteration:
            raise IntegrityError("backup archive: it holds no manifest") from None
        finally:
            lines.close()
        return _manifest(first)


def restore(db: Database, path: Path, passphrase: Secret) -> RestoreSummary:
    """Restore the backup at ``path`` into the empty database ``db``, opened with the master
    passphrase it was taken under. Nothing is written unless all of the archive checks out."""
    archive = _Archive(path, passphrase)
    found = archive.manifest()
    total = sum(1 for _ in archive.rows(found))  # the whole archive, checked first
    if not db.is_empty():
        raise AlreadyExists(
            f"{db.safe_url} is not empty: a backup is restored into an empty database only "
            "(nothing was changed)"
        )
    with db.first_write() as conn:
        snapshot.load(conn, found.revision, found.tables, archive.rows(found))
    if found.revision != SCHEMA_REVISION:
        db.upgrade()
    audit = AuditLog(db)
    report = audit.verify(SYSTEM)
    with db.write() as conn:
        if not archive.kek.matches_check(meta.key_state(conn).kek_check):  # pragma: no cover
            raise StorageError("the restored vault does not open with the backup's key")
        audit.append(
            conn,
            SYSTEM,
            "vault.restore",
            target_type="vault",
            target_id="vault",
            details={
                "file": path.name,
                "backup_created_at": found.created_at,
                "backup_created_by": found.created_by,
                "backup_revision": found.revision,
                "schema_revision": SCHEMA_REVISION,
                "rows": total,
                "audit_chain_ok": report.ok,
            },
        )
    return RestoreSummary(
        db.safe_url,
        found.created_at,
        found.created_by,
        found.revision,
        SCHEMA_REVISION,
        len(found.tables),
        total,
        report.entries,
        report.ok,
    )
