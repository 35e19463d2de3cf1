"""Credentials: metadata in the clear (searchable), password and notes sealed per client.

Every password a credential ever had is kept in ``secret_versions`` (who, when, why, the sealed
value); the credential points at its current ``secret_version``. Each change bumps the
credential's ``version``; a caller that passes ``expected_version`` gets :class:`StaleVersion`
when somebody else changed the record first. Deleting moves a credential to the trash.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import dataclasses
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.errors import IntegrityError, InvalidInput, NotFound, PermissionDenied, StaleVersion
from credsync.storage import Database
from credsync.storage.tables import (
    clients,
    credential_tags,
    credentials,
    folders,
    search_terms,
    secret_versions,
)
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault import folders as folder_ops
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import check_version, find_client_row, visible_to
from credsync.vault.directories import check_not_binding, forget_credential
from credsync.vault.drafts import Draft, insert_drafts, make_draft, parse_type
from credsync.vault.ids import one_by_id_prefix
from credsync.vault.keyring import KeyRing
from credsync.vault.models import Credential, HistoryEntry, RevealedCredential
from credsync.vault.policies import Policies
from credsync.vault.search import query_words, search_ids, terms_for
from credsync.vault.secrets import enqueue_pushes, write_secret_version
from credsync.vault.validate import (
    MAX_NOTES_CHARS,
    clean_name,
    clean_secret,
    clean_tags,
    clean_text,
)

__all__ = ["Credentials", "Page"]

MIN_ID_PREFIX = 6
MAX_PAGE = 10_000
# Stands in for a password still to be generated while a new credential's fields are checked.
_TO_BE_GENERATED = Secret("to be generated")

_BASE = (
    sa.select(
        credentials,
        clients.c.name.label("client_name"),
        clients.c.default_sync_mode.label("client_default_sync_mode"),
        folders.c.path.label("folder_path"),
    )
    .join(clients, clients.c.id == credentials.c.client_id)
    .outerjoin(folders, folders.c.id == credentials.c.folder_id)
)


class Page:
    """One page of credentials and the cursor of the next page (None at the end)."""

    def __init__(self, items: list[Credential], next_cursor: str | None) -> None:
        self.items = items
        self.next_cursor = next_cursor


def _encode_cursor(title_key: str, cred_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([title_key, cred_id]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        title_key, cred_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(title_key), str(cred_id)
    except (ValueError, TypeError):
        raise InvalidInput(
            "the page cursor is not valid (use the one the last page gave)"
        ) from None


def _tags_by_id(conn: Connection, ids: list[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            sa.select(credential_tags).where(credential_tags.c.credential_id.in_(chunk))
        )
        for row in rows:
            found.setdefault(row.credential_id, []).append(row.tag)
    return {cid: tuple(sorted(tags)) for cid, tags in found.items()}


def _models(conn: Connection, rows: Iterable[Any]) -> list[Credential]:
    rows = list(rows)
    tags = _tags_by_id(conn, [r.id for r in rows])
    return [_model(r, tags.get(r.id, ())) for r in rows]


def _model(row: Any, tags: tuple[str, ...]) -> Credential:
    own = SyncMode(row.sync_mode) if row.sync_mode else None
    return Credential(
        id=row.id,
        client_id=row.client_id,
        client_name=row.client_name,
        folder=row.folder_path,
        title=row.title,
        username=row.username,
        url=row.url,
        type=row.type,
        tags=tags,
        sync_mode=own,
        effective_sync_mode=own or SyncMode(row.client_default_sync_mode),
        has_notes=row.notes_ct is not None,
        secret_version=row.secret_version,
        version=row.version,
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
        updated_at=as_utc(row.updated_at),
        updated_by=row.updated_by,
        password_changed_at=as_utc(row.password_changed_at),
        deleted_at=as_utc_opt(row.deleted_at),
        deleted_by=row.deleted_by,
    )


def _tagged(tag: str) -> sa.ColumnElement[bool]:
    # EXISTS rather than IN: SQLite then walks the page in title order and probes the tag's
    # primary key per row, instead of fetching every credential with the tag and sorting them.
    return sa.exists().where(
        credential_tags.c.credential_id == credentials.c.id,
        credential_tags.c.tag == tag.strip().lower(),
    )


def check_limit(limit: int) -> int:
    """A page size of 1 to :data:`MAX_PAGE` (lists and searches)."""
    if limit < 1 or limit > MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    return limit


class Credentials:
    def __init__(self, db: Database, audit: AuditLog, policies: Policies) -> None:
        self._db = db
        self._audit = audit
        self._policies = policies

    # -- finding -----------------------------------------------------------------------------
    def _row(
        self, conn: Connection, actor: Actor, ref: str, *, lock: bool = False, trashed: bool = False
    ) -> Any:
        row = one_by_id_prefix(
            conn, _BASE, credentials.c.id, ref, "credential", min_chars=MIN_ID_PREFIX
        )
        if row.type == CredentialType.DIRECTORY_ADMIN.value and not actor.can(
            Permission.DIRECTORY_ADMIN_USE
        ):
            raise PermissionDenied(
                f"credential {row.id} is a directory_admin credential: "
                "it needs permission directory_admin.use"
            )
        if row.deleted_at is not None and not trashed:
            raise NotFound(f"credential {row.id} is in the trash (`credsync cred restore` it)")
        if lock:
            # Lock, then read again: on PostgreSQL the first read may predate a concurrent commit.
            conn.execute(
                sa.select(credentials.c.id).where(credentials.c.id == row.id).with_for_update()
            )
            row = conn.execute(_BASE.where(credentials.c.id == row.id)).one()
        return row

    def get(self, actor: Actor, ref: str, *, trashed: bool = False) -> Credential:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            row = self._row(conn, actor, ref, trashed=trashed)
            return _models(conn, [row])[0]

    def list(
        self,
        actor: Actor,
        client_ref: str,
        *,
        folder: str | None = None,
        tag: str | None = None,
        trash: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        actor.require(Permission.VAULT_READ)
        limit = self._check_limit(limit)
        with self._db.read() as conn:
            client = find_client_row(conn, client_ref)
            query = (
                _BASE.where(credentials.c.client_id == client.id, visible_to(actor))
                .where(
                    credentials.c.deleted_at.is_not(None)
                    if trash
                    else credentials.c.deleted_at.is_(None)
                )
                .order_by(credentials.c.title_key, credentials.c.id)
                .limit(limit + 1)
            )
            if folder:
                query = query.where(
                    credentials.c.folder_id == folder_ops.find_folder(conn, client.id, folder).id
                )
            if tag:
                query = query.where(_tagged(tag))
            if cursor:
                title_key, cred_id = _decode_cursor(cursor)
                query = query.where(
                    sa.tuple_(credentials.c.title_key, credentials.c.id) > (title_key, cred_id)
                )
            rows = conn.execute(query).all()
            more = len(rows) > limit
            rows = rows[:limit]
            next_cursor = _encode_cursor(rows[-1].title_key, rows[-1].id) if more else None
            return Page(_models(conn, rows), next_cursor)

    def search(
        self,
        actor: Actor,
        text: str,
        *,
        client_ref: str | None = None,
        tag: str | None = None,
        limit: int = 100,
    ) -> builtins.list[Credential]:
        """Credentials whose title, username, url or tags hold words starting with each word of
        ``text`` (see :mod:`credsync.vault.search`), sorted by title; archived clients are left
        out. At most ``limit`` are returned: when more match, which ones is not defined (the
        search stops as soon as it has enough), so ask for ``limit + 1`` to learn whether the
        query should be narrowed."""
        actor.require(Permission.VAULT_READ)
        limit = self._check_limit(limit)
        words = query_words(text)
        conditions = [credentials.c.deleted_at.is_(None), visible_to(actor)]
        with self._db.read() as conn:
            client_id = None
            if client_ref:
                client = find_client_row(conn, client_ref)
                if client.archived_at is not None:
                    return []
                client_id = client.id
            ids = search_ids(conn, words, client_id, conditions, limit, tag=tag)
            if not ids:
                return []
            rows = conn.execute(
                _BASE.where(credentials.c.id.in_(ids)).order_by(
                    credentials.c.title_key, credentials.c.id
                )
            )
            return _models(conn, rows)

    @staticmethod
    def _check_limit(limit: int) -> int:
        return check_limit(limit)

    # -- creating ----------------------------------------------------------------------------
    def create(
        self,
        actor: Actor,
        keys: KeyRing,
        client_ref: str,
        *,
        title: str,
        password: Secret | None = None,
        generate: bool = False,
        policy: str | None = None,
        username: str | None = None,
        url: str | None = None,
        notes: str | None = None,
        type_: str | None = None,
        tags: Sequence[str] | None = None,
        sync_mode: SyncMode | None = None,
        folder: str | None = None,
    ) -> Credential:
        """Add a credential whose password is given or generated by a named policy (see
        :meth:`Policies.new_password`): what ``cred add``, the API and the dashboard's form
        do. Every field is checked before a password is generated."""
        draft = make_draft(
            title=title,
            password=password if password is not None else _TO_BE_GENERATED,
            username=username,
            url=url,
            notes=notes,
            type_=type_,
            tags=tags,
            sync_mode=sync_mode,
            folder_path=folder or None,
        )
        secret, source = self._policies.new_password(
            password, generate=generate, policy=policy, username=draft.username
        )
        return self.add(
            actor,
            keys,
            client_ref,
            dataclasses.replace(draft, password=secret),
            source="created",
            reason=f"created ({source})",
        )

    def add(
        self,
        actor: Actor,
        keys: KeyRing,
        client_ref: str,
        draft: Draft,
        *,
        source: str = "created",
        reason: str = "created",
    ) -> Credential:
        actor.require(Permission.VAULT_WRITE)
        if draft.type is CredentialType.DIRECTORY_ADMIN:
            actor.require(Permission.DIRECTORY_ADMIN_USE)
        if draft.sync_mode is SyncMode.ENFORCE:
            actor.require(Permission.DIRECTORY_SETUP)
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref)
            if client.archived_at is not None:
                raise InvalidInput(f"client {client.name!r} is archived: unarchive it first")
            key = keys.data_key(conn, client.id)
            folder_id = (
                folder_ops.ensure_folder(conn, client.id, draft.folder_path)[0]
                if draft.folder_path
                else None
            )
            [cred_id] = insert_drafts(
                conn,
                client_id=client.id,
                key=key,
                drafts=[(draft, folder_id)],
                actor_name=actor.name,
                source=source,
                reason=reason,
                now=utcnow(),
            )
            self._audit.append(
                conn,
                actor,
                "credential.add",
                target_type="credential",
                target_id=cred_id,
                client_id=client.id,
                details={
                    "title": draft.title,
                    "username": draft.username,
                    "type": draft.type.value,
                },
            )
            return _models(conn, [self._row(conn, actor, cred_id)])[0]

    # -- secrets -----------------------------------------------------------------------------
    def reveal(self, actor: Actor, keys: KeyRing, ref: str) -> RevealedCredential:
        actor.require(Permission.VAULT_READ, Permission.SECRET_REVEAL)
        with self._recording_tampering(actor, ref), self._db.write() as conn:
            row = self._row(conn, actor, ref)
            key = keys.data_key(conn, row.client_id)
            ciphertext = conn.execute(
                sa.select(secret_versions.c.ciphertext).where(
                    secret_versions.c.credential_id == row.id,
                    secret_versions.c.version == row.secret_version,
                )
            ).scalar_one()
            password = key.open_text(row.id, row.secret_version, "password", ciphertext)
            notes = key.open_text(row.id, 0, "notes", row.notes_ct) if row.notes_ct else None
            self._audit.append(
                conn,
                actor,
                "credential.reveal",
                target_type="credential",
                target_id=row.id,
                client_id=row.client_id,
                details={"secret_version": row.secret_version},
            )
            return RevealedCredential(_models(conn, [row])[0], password, notes)

    def set_password(
        self,
        actor: Actor,
        keys: KeyRing,
        ref: str,
        password: Secret,
        *,
        reason: str = "",
        source: str = "set",
        expected_version: int | None = None,
    ) -> Credential:
        actor.require(Permission.VAULT_WRITE)
        clean_secret(password)
        reason = clean_text(reason, "reason", 500) or source
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, lock=True)
            check_version("credential", row.id, row.version, expected_version)
            version = write_secret_version(
                conn, self._audit, actor, keys, row.id, password, source=source, reason=reason
            )
            enqueue_pushes(conn, row.id, version)
            return _models(conn, [self._row(conn, actor, row.id)])[0]

    def change_password(
        self,
        actor: Actor,
        keys: KeyRing,
        ref: str,
        password: Secret | None = None,
        *,
        generate: bool = False,
        policy: str | None = None,
        reason: str = "",
        expected_version: int | None = None,
    ) -> Credential:
        """A new password, given or generated by a named policy for the credential's account
        (see :meth:`Policies.new_password`); the old one stays in the history."""
        current = self.get(actor, ref)
        secret, source = self._policies.new_password(
            password, generate=generate, policy=policy, username=current.username
        )
        return self.set_password(
            actor,
            keys,
            current.id,
            secret,
            reason=reason,
            source=source,
            expected_version=expected_version,
        )

    def history(
        self, actor: Actor, keys: KeyRing | None, ref: str, *, reveal: bool = False
    ) -> builtins.list[HistoryEntry]:
        """Every password the credential has had, newest first (revealed only when asked)."""
        actor.require(Permission.VAULT_READ)
        if reveal:
            actor.require(Permission.SECRET_REVEAL)
        with (
            self._recording_tampering(actor, ref),
            self._db.write() if reveal else self._db.read() as conn,
        ):
            row = self._row(conn, actor, ref, trashed=True)
            versions = conn.execute(
                sa.select(secret_versions)
                .where(secret_versions.c.credential_id == row.id)
                .order_by(secret_versions.c.version.desc())
            ).all()
            key = keys.data_key(conn, row.client_id) if reveal and keys else None
            if reveal and key is None:
                raise InvalidInput("revealing history needs the vault key")
            out = [
                HistoryEntry(
                    credential_id=row.id,
                    version=v.version,
                    source=v.source,
                    reason=v.reason,
                    created_at=as_utc(v.created_at),
                    created_by=v.created_by,
                    current=v.version == row.secret_version,
                    password=key.open_text(row.id, v.version, "password", v.ciphertext)
                    if key
                    else None,
                )
                for v in versions
            ]
            if reveal:
                self._audit.append(
                    conn,
                    actor,
                    "credential.history_reveal",
                    target_type="credential",
                    target_id=row.id,
                    client_id=row.client_id,
                    details={"versions": [v.version for v in versions]},
                )
            return out

    # -- metadata ----------------------------------------------------------------------------
    def edit(
        self,
        actor: Actor,
        keys: KeyRing,
        ref: str,
        *,
        title: str | None = None,
        username: str | None = None,
        url: str | None = None,
        notes: str | None = None,
        type_: str | None = None,
        tags: builtins.list[str] | None = None,
        folder: str | None = None,
        expected_version: int | None = None,
    ) -> Credential:
        """Change metadata; ``None`` leaves a field alone, ``folder=""`` moves to no folder."""
        actor.require(Permission.VAULT_WRITE)
        values: dict[str, Any] = {}
        if title is not None:
            values["title"] = clean_name(title, "title", 255, field="title")
            values["title_key"] = values["title"].casefold()[:255]
        if username is not None:
            values["username"] = clean_text(username, "username", 512, field="username")
        if url is not None:
            values["url"] = clean_text(url, "url", 2048, field="url")
        if type_ is not None:
            values["type"] = parse_type(type_).value
            if values["type"] == CredentialType.DIRECTORY_ADMIN.value:
                actor.require(Permission.DIRECTORY_ADMIN_USE)
        new_tags = clean_tags(tags) if tags is not None else None
        if notes is not None:
            notes = clean_text(notes, "notes", MAX_NOTES_CHARS, multiline=True, field="notes")
        if not values and new_tags is None and notes is None and folder is None:
            raise InvalidInput("nothing to change")
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, lock=True)
            check_version("credential", row.id, row.version, expected_version)
            if notes is not None:
                key = keys.data_key(conn, row.client_id)
                values["notes_ct"] = key.seal_text(row.id, 0, "notes", notes) if notes else None
            if folder is not None:
                values["folder_id"] = (
                    folder_ops.ensure_folder(conn, row.client_id, folder)[0] if folder else None
                )
            if new_tags is not None:
                conn.execute(
                    credential_tags.delete().where(credential_tags.c.credential_id == row.id)
                )
                if new_tags:
                    conn.execute(
                        credential_tags.insert(),
                        [{"credential_id": row.id, "tag": t} for t in new_tags],
                    )
            self._bump(conn, row, actor, utcnow(), **values)
            current = self._row(conn, actor, row.id)
            self._reindex(conn, current, new_tags)
            changed = sorted(
                {k for k in values if k not in ("title_key", "notes_ct", "folder_id")}
                | ({"notes"} if notes is not None else set())
                | ({"folder"} if folder is not None else set())
                | ({"tags"} if new_tags is not None else set())
            )
            self._audit.append(
                conn,
                actor,
                "credential.edit",
                target_type="credential",
                target_id=row.id,
                client_id=row.client_id,
                details={"changed": changed},
            )
            return _models(conn, [current])[0]

    def becomes_enforced(self, cred: Credential, mode: SyncMode | None) -> bool:
        """Whether setting ``mode`` (None: the client's default) makes ``cred`` enforced when
        it is not now: the change that overwrites directory passwords, to be confirmed."""
        if cred.effective_sync_mode is SyncMode.ENFORCE:
            return False
        if mode is None:
            with self._db.read() as conn:
                default = find_client_row(conn, cred.client_id).default_sync_mode
            return SyncMode(default) is SyncMode.ENFORCE
        return mode is SyncMode.ENFORCE

    def set_sync_mode(
        self,
        actor: Actor,
        ref: str,
        mode: SyncMode | None,
        *,
        expected_version: int | None = None,
    ) -> Credential:
        """``None`` means: follow the client's default sync mode. Making a credential enforced
        needs directory.setup, whether by ``enforce`` or by following a default of enforce
        (which would undo an exemption a directory manager made)."""
        actor.require(Permission.VAULT_WRITE)
        if mode is SyncMode.ENFORCE:
            actor.require(Permission.DIRECTORY_SETUP)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, lock=True)
            check_version("credential", row.id, row.version, expected_version)
            enforced_now = (row.sync_mode or row.client_default_sync_mode) == SyncMode.ENFORCE.value
            inherits_enforce = row.client_default_sync_mode == SyncMode.ENFORCE.value
            if mode is None and inherits_enforce and not enforced_now:
                actor.require(Permission.DIRECTORY_SETUP)
            self._bump(conn, row, actor, utcnow(), sync_mode=mode.value if mode else None)
            self._audit.append(
                conn,
                actor,
                "credential.sync_mode",
                target_type="credential",
                target_id=row.id,
                client_id=row.client_id,
                details={
                    "from": row.sync_mode or "inherit",
                    "to": mode.value if mode else "inherit",
                },
            )
            return _models(conn, [self._row(conn, actor, row.id)])[0]

    # -- trash -------------------------------------------------------------------------------
    def delete(self, actor: Actor, ref: str, *, expected_version: int | None = None) -> Credential:
        actor.require(Permission.VAULT_WRITE)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, lock=True)
            check_version("credential", row.id, row.version, expected_version)
            check_not_binding(conn, row.id)
            now = utcnow()
            self._bump(conn, row, actor, now, deleted_at=now, deleted_by=actor.name)
            self._audit.append(
                conn,
                actor,
                "credential.delete",
                target_type="credential",
                target_id=row.id,
                client_id=row.client_id,
                details={"title": row.title},
            )
            return _models(conn, [self._row(conn, actor, row.id, trashed=True)])[0]

    def restore(self, actor: Actor, ref: str) -> Credential:
        actor.require(Permission.VAULT_WRITE)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, lock=True, trashed=True)
            if row.deleted_at is None:
                raise InvalidInput(f"credential {row.id} is not in the trash")
            self._bump(conn, row, actor, utcnow(), deleted_at=None, deleted_by=None)
            self._audit.append(
                conn,
                actor,
                "credential.restore",
                target_type="credential",
                target_id=row.id,
                client_id=row.client_id,
                details={"title": row.title},
            )
            return _models(conn, [self._row(conn, actor, row.id)])[0]

    def purge(self, actor: Actor, ref: str) -> str:
        """Destroy a trashed credential and its whole history (admin only)."""
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, lock=True, trashed=True)
            if row.deleted_at is None:
                raise InvalidInput(f"credential {row.id} is not in the trash: delete it first")
            forget_credential(conn, row.id)
            for table in (search_terms, credential_tags, secret_versions):
                conn.execute(table.delete().where(table.c.credential_id == row.id))
            conn.execute(credentials.delete().where(credentials.c.id == row.id))
            self._audit.append(
                conn,
                actor,
                "credential.purge",
                target_type="credential",
                target_id=row.id,
                client_id=row.client_id,
                details={"title": row.title},
            )
            return str(row.id)

    # -- helpers -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _recording_tampering(self, actor: Actor, ref: str) -> Iterator[None]:
        """A ciphertext that fails authentication rolls its transaction back; the failure is
        then recorded in the audit log in a transaction of its own, and re-raised."""
        try:
            yield
        except IntegrityError as err:
            with self._db.write() as conn:
                self._audit.append(
                    conn,
                    actor,
                    "integrity.failure",
                    target_type="credential",
                    target_id=ref[:64],
                    details={"error": str(err)},
                )
            raise

    @staticmethod
    def _bump(conn: Connection, row: Any, actor: Actor, now: Any, **values: Any) -> None:
        result = conn.execute(
            credentials.update()
            .where(credentials.c.id == row.id, credentials.c.version == row.version)
            .values(version=row.version + 1, updated_at=now, updated_by=actor.name, **values)
        )
        if result.rowcount != 1:
            raise StaleVersion(
                f"credential {row.id} was changed by someone else at the same time: retry"
            )

    @staticmethod
    def _reindex(conn: Connection, row: Any, tags: tuple[str, ...] | None) -> None:
        if tags is None:
            tags = tuple(
                conn.execute(
                    sa.select(credential_tags.c.tag).where(
                        credential_tags.c.credential_id == row.id
                    )
                ).scalars()
            )
        conn.execute(search_terms.delete().where(search_terms.c.credential_id == row.id))
        terms = terms_for(row.title, row.username, row.url, tags)
        if terms:
            conn.execute(
                search_terms.insert(),
                [{"term": t, "credential_id": row.id, "client_id": row.client_id} for t in terms],
            )
