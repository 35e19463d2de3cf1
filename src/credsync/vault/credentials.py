"""Credentials: metadata in the clear (searchable), password and notes sealed per client.

Every password a credential ever had is kept in ``secret_versions`` (who, when, why, the sealed
value); the credential points at its current ``secret_version``. Each change bumps the
credential's ``version``; a caller that passes ``expected_version`` gets :class:`StaleVersion`
when somebody else changed the record first. Deleting moves a credential to the trash.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence
from typing import Any

from credsync.errors import InvalidInput, NotFound
from credsync.storage import credentials as credential_rows
from credsync.storage import link_reads
from credsync.storage import search as search_index
from credsync.storage import secrets as secret_rows
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault import duplicates, rotation
from credsync.vault import folders as folder_ops
from credsync.vault._time import as_utc, utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import check_version, find_client_row, sees_directory_admin
from credsync.vault.drafts import Draft, insert_drafts, make_draft, parse_type
from credsync.vault.keyring import KeyRing
from credsync.vault.lifecycle import CredentialLifecycle
from credsync.vault.listing import (
    Page,
    credential_models,
    credentials_in_title_order,
    decode_cursor,
    encode_cursor,
)
from credsync.vault.models import Credential, HistoryEntry, RevealedCredential
from credsync.vault.pushes import enqueue_pushes
from credsync.vault.search import credential_terms, query_words
from credsync.vault.secrets import write_secret_version
from credsync.vault.validate import (
    MAX_NOTES_CHARS,
    clean_name,
    clean_secret,
    clean_tags,
    clean_text,
)

__all__ = ["Credentials", "Page"]

MAX_PAGE = 10_000
# Stands in for a password still to be generated while a new credential's fields are checked.
_TO_BE_GENERATED = Secret("to be generated")


def check_limit(limit: int) -> int:
    """A page size of 1 to :data:`MAX_PAGE` (lists and searches)."""
    if limit < 1 or limit > MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    return limit


class Credentials(CredentialLifecycle):
    """The credentials of the vault: finding, listing, searching, adding, revealing, new
    passwords and their history, editing; the sync mode and the trash are
    :class:`~credsync.vault.lifecycle.CredentialLifecycle`'s."""

    def get(self, actor: Actor, ref: str, *, trashed: bool = False) -> Credential:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            row = self._row(conn, actor, ref, trashed=trashed)
            return credential_models(conn, [row])[0]

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
        password_unknown: bool = False,
        overdue: bool = False,
    ) -> Page:
        """A page of a client's credentials by title (see :class:`Page`); with
        ``password_unknown``, only those whose password in one of its directories the vault
        does not know (``Credential.password_unknown_in``); with ``overdue``, only those
        overdue for rotation (:mod:`credsync.vault.rotation`)."""
        actor.require(Permission.VAULT_READ)
        limit = check_limit(limit)
        with self._db.read() as conn:
            client = find_client_row(conn, client_ref, actor)
            also = link_reads.password_unknown() if password_unknown else None
            if overdue:
                also = rotation.overdue_filter(client, utcnow(), also)
            rows = credential_rows.page(
                conn,
                client.id,
                include_directory_admin=sees_directory_admin(actor),
                trash=trash,
                fetch=limit + 1,
                folder_id=folder_ops.find_folder(conn, client.id, folder).id if folder else None,
                tag=tag,
                after=decode_cursor(cursor) if cursor else None,
                also=also,
            )
            more = len(rows) > limit
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1].title_key, rows[-1].id) if more else None
            return Page(credential_models(conn, rows), next_cursor)

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
        ``text`` (see :mod:`credsync.storage.search`), sorted by title; archived clients are left
        out. At most ``limit`` are returned: when more match, which ones is not defined (the
        search stops as soon as it has enough), so ask for ``limit + 1`` to learn whether the
        query should be narrowed."""
        actor.require(Permission.VAULT_READ)
        limit = check_limit(limit)
        words = query_words(text)
        with self._db.lookup() as conn:
            client_id = None
            if client_ref:
                client = find_client_row(conn, client_ref, actor)
                if client.archived_at is not None:
                    return []
                client_id = client.id
            ids = search_index.find(
                conn,
                words,
                client_id=client_id,
                include_directory_admin=sees_directory_admin(actor),
                tag=tag,
                limit=limit,
                client_ids=actor.clients,
            )
            if not ids:
                return []
            return credentials_in_title_order(conn, ids)

    def password_unknown_counts(
        self, actor: Actor, client_ref: str | None = None
    ) -> dict[str, int]:
        """Per client name (of one client when given), how many of its credentials have a
        directory password the vault does not know (clients with none left out)."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return link_reads.password_unknown_counts(
                conn,
                include_directory_admin=sees_directory_admin(actor),
                client_id=find_client_row(conn, client_ref, actor).id if client_ref else None,
                client_ids=actor.clients,
            )

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
        allow_duplicate: bool = False,
    ) -> Credential:
        """Add a credential whose password is given or generated by a named policy (see
        :meth:`Policies.new_password`): what ``cred add``, the API and the dashboard's form
        do. Every field is checked before a password is generated. One with the folder,
        title and username of a credential the client has is refused
        (:class:`DuplicateCredential`, as an import refuses it) unless ``allow_duplicate``."""
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
            refuse_duplicate=not allow_duplicate,
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
        refuse_duplicate: bool = False,
    ) -> Credential:
        actor.require(Permission.VAULT_WRITE)
        if draft.type is CredentialType.DIRECTORY_ADMIN:
            actor.require(Permission.DIRECTORY_ADMIN_USE)
        if draft.sync_mode is not None and draft.sync_mode.pushes:
            actor.require(Permission.DIRECTORY_SETUP)
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref, actor)
            if client.archived_at is not None:
                raise InvalidInput(f"client {client.name!r} is archived: unarchive it first")
            key = keys.data_key(conn, client.id)
            folder_id = (
                folder_ops.ensure_folder(conn, client.id, draft.folder_path)[0]
                if draft.folder_path
                else None
            )
            if refuse_duplicate:
                duplicates.refuse(conn, actor, client.id, folder_id, draft.title, draft.username)
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
            return credential_models(conn, [self._row(conn, actor, cred_id)])[0]

    # -- secrets -----------------------------------------------------------------------------
    def reveal(self, actor: Actor, keys: KeyRing, ref: str) -> RevealedCredential:
        actor.require(Permission.VAULT_READ, Permission.SECRET_REVEAL)
        with self._recording_tampering(actor, ref), self._db.write() as conn:
            row = self._row(conn, actor, ref)
            key = keys.data_key(conn, row.client_id)
            ciphertext = secret_rows.ciphertext(conn, row.id, row.secret_version)
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
            return RevealedCredential(credential_models(conn, [row])[0], password, notes)

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
            return credential_models(conn, [self._row(conn, actor, row.id)])[0]

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
        self,
        actor: Actor,
        keys: KeyRing | None,
        ref: str,
        *,
        reveal: bool = False,
        version: int | None = None,
    ) -> builtins.list[HistoryEntry]:
        """Every password the credential has had, newest first, or only ``version`` (revealed
        only when asked: audited as ``credential.history_reveal`` with the versions shown)."""
        actor.require(Permission.VAULT_READ)
        if reveal:
            actor.require(Permission.SECRET_REVEAL)
        with (
            self._recording_tampering(actor, ref),
            self._db.write() if reveal else self._db.read() as conn,
        ):
            row = self._row(conn, actor, ref, trashed=True)
            versions = secret_rows.history(conn, row.id)
            if version is not None:
                versions = [v for v in versions if v.version == version]
                if not versions:
                    raise NotFound(f"credential {row.id} has no password version {version}")
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
        allow_duplicate: bool = False,
    ) -> Credential:
        """Change metadata; ``None`` leaves a field alone, ``folder=""`` moves to no folder.
        A new folder, title or username that makes it the same as another credential of the
        client is refused (:class:`DuplicateCredential`) unless ``allow_duplicate``."""
        actor.require(Permission.VAULT_WRITE)
        values: dict[str, Any] = {}
        if title is not None:
            values["title"] = clean_name(title, "title", 255, field="title")
            values["title_key"] = credential_rows.title_key(values["title"])
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
            new_identity = (
                values.get("folder_id", row.folder_id),
                values.get("title", row.title),
                values.get("username", row.username),
            )
            if not allow_duplicate and duplicates.identity(*new_identity) != duplicates.identity(
                row.folder_id, row.title, row.username
            ):
                duplicates.refuse(conn, actor, row.client_id, *new_identity, besides=row.id)
            if new_tags is not None:
                credential_rows.set_tags(conn, row.id, new_tags)
            self._bump(conn, row, actor, utcnow(), **values)
            current = self._row(conn, actor, row.id)
            tags_now = new_tags if new_tags is not None else credential_rows.tags_of(conn, row.id)
            terms = credential_terms(current.title, current.username, current.url, tags_now)
            search_index.reindex(conn, row.id, row.client_id, terms)
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
            return credential_models(conn, [current])[0]
