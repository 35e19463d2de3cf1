"""CSV import and export of a client's credentials.

Columns (header row required, names case-insensitive, any order):

==============  ========  ===============================================================
column          required  meaning
==============  ========  ===============================================================
``title``       yes       the credential's title
``username``              login name (``DOMAIN\\name``, UPN, ...)
``password``    yes*      the secret (*may be empty with ``--generate-missing``)
``url``                   where it is used
``notes``                 free text, kept encrypted
``tags``                  tags separated by ``;``
``folder``                folder path inside the client (``Servers/DCs``); created if missing
``type``                  ``login`` (default), ``directory_admin``, ``service_account``, ...
``sync_mode``             ``off``, ``report``, ``enforce``, ``two_way``; empty: the client's
==============  ========  ===============================================================

Import checks every row; rows that fail are reported with their line number and reason and
nothing of them is written. The rows that pass are written in one transaction, so an import
is never half-applied. A row whose folder, title and username match an existing credential (or
an earlier row) is a duplicate and is rejected unless duplicates are allowed; a credential the
importing operator may not know of (a ``directory_admin`` one, without directory_admin.use)
does not count: such a row is imported as a new credential. With ``strict`` nothing is written
when any row is rejected.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.errors import CredsyncError, InvalidInput
from credsync.storage import Database, credential_export, duplicates
from credsync.storage import clients as client_rows
from credsync.types import CredentialType, Secret
from credsync.vault import folders as folder_ops
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import find_client_row, sees_directory_admin
from credsync.vault.drafts import Draft, insert_drafts, make_draft
from credsync.vault.generator import PasswordPolicy
from credsync.vault.keyring import KeyRing
from credsync.vault.policies import Policies, generated_for
from credsync.vault.validate import name_key, parse_sync_mode

__all__ = [
    "COLUMNS",
    "MAX_IMPORT_BYTES",
    "CsvIO",
    "ImportRejected",
    "ImportReport",
    "ImportReportJson",
    "Rejection",
    "RejectionJson",
]

COLUMNS = ("title", "username", "password", "url", "notes", "tags", "folder", "type", "sync_mode")
_ALIASES = {"name": "title", "login": "username", "uri": "url", "note": "notes", "group": "folder"}
# The largest CSV a server takes in one import (the API's body, the dashboard's upload):
# about 150,000 typical rows; split a larger file. A local import reads any size.
MAX_IMPORT_BYTES = 32 * 1024 * 1024
_BATCH = 5000
_MAX_REJECTIONS_KEPT = 10_000


class RejectionJson(TypedDict):
    line: int
    """The row's line in the file (the header is line 1)."""
    title: str
    reason: str


@dataclass(frozen=True)
class Rejection:
    line: int
    title: str
    reason: str

    def to_json(self) -> RejectionJson:
        return RejectionJson(line=self.line, title=self.title, reason=self.reason)


class ImportReportJson(TypedDict):
    """What an import did (or, with ``dry_run``, would do); the rejected rows with reasons."""

    client: str
    rows: int
    imported: int
    rejected_count: int
    rejected: list[RejectionJson]
    """The first 10,000 rejected rows."""
    folders_created: list[str]
    sha256: str
    """The SHA-256 of the file imported."""
    dry_run: bool


@dataclass
class ImportReport:
    client: str
    rows: int = 0
    imported: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rejected_count: int = 0
    folders_created: list[str] = field(default_factory=list)
    sha256: str = ""
    dry_run: bool = False

    def reject(self, line: int, title: str, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < _MAX_REJECTIONS_KEPT:
            self.rejected.append(Rejection(line, title[:80], reason))

    def to_json(self) -> ImportReportJson:
        return ImportReportJson(
            client=self.client,
            rows=self.rows,
            imported=self.imported,
            rejected_count=self.rejected_count,
            rejected=[r.to_json() for r in self.rejected],
            folders_created=self.folders_created,
            sha256=self.sha256,
            dry_run=self.dry_run,
        )


class ImportRejected(InvalidInput):
    """``strict`` import with rejected rows: nothing was written (``report`` says which rows
    and why; it lists no folder created: they were rolled back with the rest)."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            f"{report.rejected_count} of {report.rows} rows were rejected; "
            "strict import wrote nothing"
        )
        self.report = report


class _HashingReader(io.RawIOBase):
    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        self.digest.update(data)
        buffer[: len(data)] = data
        return len(data)


def _header(raw: list[str]) -> list[str]:
    names = []
    for cell in raw:
        name = cell.strip().lower().replace(" ", "_")
        name = _ALIASES.get(name, name)
        if name not in COLUMNS and name not in ("id", "client"):
            raise InvalidInput(f"line 1: unknown column {cell!r}; columns are {', '.join(COLUMNS)}")
        if name in names:
            raise InvalidInput(f"line 1: column {name!r} appears twice")
        names.append(name)
    if "title" not in names:
        raise InvalidInput("line 1: the header has no 'title' column")
    if "password" not in names:
        raise InvalidInput("line 1: the header has no 'password' column")
    return names


def _records(stream: io.RawIOBase) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """(line, cells, problem) for each record; a malformed file raises InvalidInput."""
    text = io.TextIOWrapper(
        io.BufferedReader(stream),
        encoding="utf-8-sig",
        errors="surrogateescape",
        newline="",
    )
    # csv's own field limit (128 KiB, process-wide) stays as it is: a field that long is a
    # malformed file for us, since no column may hold more than 20,000 characters.
    reader = csv.reader(text, strict=True)
    try:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise InvalidInput(
                    f"line {reader.line_num}: malformed CSV ({err}); nothing was imported"
                ) from None
            bad = next((i for i, c in enumerate(cells) if _has_surrogate(c)), None)
            yield reader.line_num, cells, (None if bad is None else f"column {bad + 1}")
    finally:
        text.detach()


_SURROGATE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


def _has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


class CsvIO:
    def __init__(self, db: Database, audit: AuditLog, policies: Policies) -> None:
        self._db = db
        self._audit = audit
        self._policies = policies

    def import_csv(
        self,
        actor: Actor,
        keys: KeyRing,
        client_ref: str,
        stream: IO[bytes],
        *,
        source_name: str = "<stdin>",
        strict: bool = False,
        allow_duplicates: bool = False,
        generate_missing: bool = False,
        policy: str | PasswordPolicy | None = None,
        dry_run: bool = False,
    ) -> ImportReport:
        """Import the CSV in ``stream`` (see the module's doc): the one import of ``credsync
        import``, local or through a server, and of ``POST /clients/{c}/import``. ``policy``
        (a name, or a policy) generates the empty passwords with ``generate_missing``.
        Needs vault.write."""
        actor.require(Permission.VAULT_WRITE)
        if not isinstance(policy, PasswordPolicy):
            policy = self._policies.get(policy)
        hashing = _HashingReader(stream)
        records = _records(hashing)
        first = next(records, None)
        if first is None:
            raise InvalidInput(f"{source_name} is empty: a header row is required")
        if first[2] is not None or first[1] is None:
            raise InvalidInput("line 1: the header is not valid UTF-8")
        columns = _header(first[1])
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref, actor)
            if client.archived_at is not None:
                raise InvalidInput(f"client {client.name!r} is archived: unarchive it first")
            report = ImportReport(client=client.name, dry_run=dry_run)
            key = keys.data_key(conn, client.id)
            # A credential the operator may not know of (a directory_admin one, without
            # directory_admin.use) is no duplicate: a row like it is imported as a new
            # credential, as if it were not there, so that neither a dry run nor an import
            # tells of it, and no row is lost.
            seen = (
                set()
                if allow_duplicates
                else self._existing_identities(conn, client.id, sees_directory_admin(actor))
            )
            folder_ids: dict[str, str] = {}
            batch: list[tuple[Draft, str | None]] = []
            now = utcnow()

            def flush() -> None:
                if batch and not dry_run:
                    insert_drafts(
                        conn,
                        client_id=client.id,
                        key=key,
                        drafts=batch,
                        actor_name=actor.name,
                        source="imported",
                        reason=f"imported from {source_name}",
                        now=now,
                    )
                report.imported += len(batch)
                batch.clear()

            for line, cells, problem in records:
                if cells is None or not any(c.strip() for c in cells):
                    continue  # blank line
                report.rows += 1
                values = dict(zip(columns, cells, strict=False))
                title = values.get("title", "")
                if problem:
                    report.reject(line, "", f"{problem} is not valid UTF-8")
                    continue
                if len(cells) != len(columns):
                    report.reject(
                        line, title, f"row has {len(cells)} fields, the header has {len(columns)}"
                    )
                    continue
                try:
                    draft = self._draft(actor, values, generate_missing, policy)
                except CredsyncError as err:
                    report.reject(line, title, str(err))
                    continue
                if not allow_duplicates:
                    if draft.identity in seen:
                        report.reject(
                            line,
                            draft.title,
                            "duplicate of an existing credential (same folder, title and username)",
                        )
                        continue
                    seen.add(draft.identity)
                folder_id = None
                if draft.folder_path:
                    fkey = name_key(draft.folder_path)
                    if fkey not in folder_ids:
                        if dry_run:  # report only the folders a real import would create
                            folder_id = None
                            created = client_rows.find_folder_id(conn, client.id, fkey) is None
                        else:
                            folder_id, created = folder_ops.ensure_folder(
                                conn, client.id, draft.folder_path
                            )
                        folder_ids[fkey] = folder_id or ""
                        if created:
                            report.folders_created.append(draft.folder_path)
                    folder_id = folder_ids[fkey] or None
                batch.append((draft, folder_id))
                if len(batch) >= _BATCH:
                    flush()
            flush()
            report.sha256 = hashing.digest.hexdigest()
            if report.rejected_count and strict:
                report.imported = 0
                report.folders_created.clear()  # rolled back with the rest
                raise ImportRejected(report)
            if not dry_run:
                self._audit.append(
                    conn,
                    actor,
                    "import",
                    target_type="client",
                    target_id=client.id,
                    client_id=client.id,
                    details={
                        "source": source_name,
                        "sha256": report.sha256,
                        "rows": report.rows,
                        "imported": report.imported,
                        "rejected": report.rejected_count,
                    },
                )
            return report

    @staticmethod
    def _existing_identities(
        conn: Connection, client_id: str, include_directory_admin: bool
    ) -> set[tuple[str, str, str]]:
        found = duplicates.identities(
            conn, client_id, include_directory_admin=include_directory_admin
        )
        return {
            (path_key or "", title.casefold(), username.casefold())
            for path_key, title, username in found
        }

    @staticmethod
    def _draft(
        actor: Actor,
        values: dict[str, str],
        generate_missing: bool,
        policy: PasswordPolicy,
    ) -> Draft:
        password = values.get("password", "")
        if not password:
            if not generate_missing:
                raise InvalidInput(
                    "password is empty (--generate-missing, or generate_missing in the API, "
                    "generates one)"
                )
            secret = generated_for(policy, values.get("username", ""))
        else:
            secret = Secret(password)
        mode_text = values.get("sync_mode", "").strip()
        mode = parse_sync_mode(mode_text, allow_inherit=True) if mode_text else None
        if mode is not None and mode.pushes and not actor.can(Permission.DIRECTORY_SETUP):
            raise InvalidInput(
                f"sync_mode {mode.spelled} needs permission directory.setup", field="sync_mode"
            )
        draft = make_draft(
            title=values.get("title", ""),
            password=secret,
            username=values.get("username"),
            url=values.get("url"),
            notes=values.get("notes"),
            type_=values.get("type") or None,
            tags=[t for t in values.get("tags", "").split(";")],
            sync_mode=mode,
            folder_path=values.get("folder") or None,
        )
        if draft.type is CredentialType.DIRECTORY_ADMIN and not actor.can(
            Permission.DIRECTORY_ADMIN_USE
        ):
            raise InvalidInput("type directory_admin needs permission directory_admin.use")
        return draft

    # -- export ------------------------------------------------------------------------------
    def export_csv(
        self,
        actor: Actor,
        keys: KeyRing,
        client_ref: str,
        out: IO[str],
        *,
        destination: str = "<stdout>",
    ) -> int:
        """Write every credential of the client with its current password.

        The audit entry is committed *before* any secret is written out, so an export can fail
        half-way but can never go unrecorded.
        """
        actor.require(Permission.VAULT_READ, Permission.SECRET_REVEAL, Permission.VAULT_EXPORT)
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref, actor)
            key = keys.data_key(conn, client.id)
            include_admin = sees_directory_admin(actor)
            expected = credential_export.export_count(
                conn, client.id, include_directory_admin=include_admin
            )
            self._audit.append(
                conn,
                actor,
                "export",
                target_type="client",
                target_id=client.id,
                client_id=client.id,
                details={"destination": destination, "credentials": expected},
            )
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        count = 0
        with self._db.read() as conn:
            tags = credential_export.tags_in_client(conn, client.id)
            rows = credential_export.export_rows(
                conn, client.id, include_directory_admin=include_admin
            )
            for row in rows:
                password = key.open_text(row.id, row.secret_version, "password", row.ciphertext)
                notes = key.open_text(row.id, 0, "notes", row.notes_ct) if row.notes_ct else None
                writer.writerow(
                    [
                        row.title,
                        row.username,
                        password.reveal(),
                        row.url,
                        notes.reveal() if notes else "",
                        ";".join(tags.get(row.id, ())),
                        row.folder_path or "",
                        row.type,
                        row.sync_mode or "",
                    ]
                )
                count += 1
        return count
