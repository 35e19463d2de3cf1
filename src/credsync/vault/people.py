"""People: a client's end users as identities (issue 16).

A person belongs to one client and has a given name, surname, display name, username (unique
per client regardless of case), e-mail, usage location, department, job title and an enabled
switch; optionally one **primary login credential** (an existing credential of the same
client: the person's password, with its history and sync mode as credentials have them); and
**accounts**: links to their user objects in the client's directories, by stable id (the same
human in AD and in Office 365 is one person with two accounts). Field rules:
:mod:`credsync.vault.identities`.

A person's attributes may come from a directory (:meth:`People.upsert_from_directory`, the
entry point of the directory import): that directory is then their **source of truth** and
those attributes are read-only in the vault (an edit of one is refused naming the attribute
and the directory) until the directory is removed.

Who may do what, as for credentials: vault.read sees people, vault.write adds, edits,
disables, deletes (to the trash) and restores them; purging from the trash is admin's. A
person of a client outside the operator's client access is NotFound, as one that does not
exist is. Every change is audited (``person.*``; no secret is in a person).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.engine import Connection

from credsync.errors import AlreadyExists, InvalidInput, NotFound, StaleVersion
from credsync.storage import Database, identity_search
from credsync.storage import credentials as credential_rows
from credsync.storage import groups as group_rows
from credsync.storage import people as rows
from credsync.storage.words import terms_of
from credsync.types import new_id
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import check_version, find_client_row, sees_directory_admin
from credsync.vault.credentials import check_limit
from credsync.vault.directories import find_directory_row
from credsync.vault.identities import (
    PERSON_ATTRIBUTES,
    clean_person_field,
    join_sourced,
    reach,
    read_only,
    split_sourced,
)
from credsync.vault.identity_names import Names
from credsync.vault.listing import decode_cursor, encode_cursor
from credsync.vault.people_records import (
    MIN_ID_PREFIX,
    Person,
    find_person_row,
    person_models,
)
from credsync.vault.search import query_words
from credsync.vault.validate import name_key

__all__ = ["People", "Upserted"]
Outcome = Literal["created", "updated", "unchanged", "linked"]


@dataclass(frozen=True)
class Upserted:
    """What :meth:`People.upsert_from_directory` did: ``created``, ``updated``,
    ``unchanged``, or ``linked`` (the account was linked to a person whose attributes another
    directory is the source of truth of: they were left as they are)."""

    person: Person
    outcome: Outcome
    changed: tuple[str, ...]


def _terms(values: Mapping[str, Any]) -> set[str]:
    texts = [values[f] for f in ("given_name", "surname", "display_name", "username", "email")]
    return terms_of(texts, whole=[values["username"], values["email"]])


class People:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    # -- reading -----------------------------------------------------------------------------
    def _row(
        self,
        conn: Connection,
        actor: Actor,
        ref: str,
        *,
        client_ref: str | None = None,
        trashed: bool = False,
        lock: bool = False,
    ) -> rows.PersonRow:
        client_id = find_client_row(conn, client_ref, actor).id if client_ref else None
        row = find_person_row(conn, actor, ref, client_id=client_id)
        if row.deleted_at is not None and not trashed:
            raise NotFound(f"person {row.username!r} is in the trash (`credsync person restore`)")
        if lock:
            row = rows.lock(conn, row.id) or row
        return row

    def get(
        self, actor: Actor, ref: str, *, client_ref: str | None = None, trashed: bool = True
    ) -> Person:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, trashed=trashed)
            return person_models(conn, [row])[0]

    def list(
        self,
        actor: Actor,
        client_ref: str,
        *,
        trash: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[builtins.list[Person], str | None]:
        """A page of a client's people by display name, and the next page's cursor."""
        actor.require(Permission.VAULT_READ)
        limit = check_limit(limit)
        with self._db.read() as conn:
            client = find_client_row(conn, client_ref, actor)
            after = decode_cursor(cursor) if cursor else None
            found = rows.page(conn, client.id, trash=trash, fetch=limit + 1, after=after)
            more = len(found) > limit
            found = found[:limit]
            next_cursor = encode_cursor(found[-1].display_key, found[-1].id) if more else None
            return person_models(conn, found), next_cursor

    def search(
        self, actor: Actor, text: str, *, client_ref: str | None = None, limit: int = 100
    ) -> builtins.list[Person]:
        """People outside the trash whose given name, surname, display name, username or
        e-mail hold words starting with each word of ``text`` (archived clients left out),
        by display name; at most ``limit`` (which ones, when more match, is not defined)."""
        actor.require(Permission.VAULT_READ)
        limit = check_limit(limit)
        words = query_words(text)
        with self._db.read() as conn:
            client_id = find_client_row(conn, client_ref, actor).id if client_ref else None
            seen = reach(actor)
            conditions = rows.live(client_id, seen)
            ids = identity_search.search_ids(
                conn, "person", words, client_id, conditions, limit, reach=seen
            )
            return person_models(conn, rows.in_display_order(conn, ids))

    # -- changing ----------------------------------------------------------------------------
    def _credential(
        self, conn: Connection, actor: Actor, ref: str | None, client_id: str
    ) -> str | None:
        if ref is None or ref == "":
            return None
        try:
            cred = credential_rows.find_by_ref(
                conn,
                ref,
                min_chars=MIN_ID_PREFIX,
                include_directory_admin=sees_directory_admin(actor),
                client_ids=reach(actor),
            )
        except (NotFound, InvalidInput):
            raise InvalidInput(f"no credential {ref!r}", field="credential") from None
        if cred.client_id != client_id or cred.deleted_at is not None:
            raise InvalidInput(
                f"credential {cred.title!r} is not a credential of the person's client in use",
                field="credential",
            )
        if cred.type == "directory_admin":
            raise InvalidInput(
                "a directory_admin credential can't be a person's login", field="credential"
            )
        return str(cred.id)

    def _check_username(self, conn: Connection, client_id: str, username: str, own: str) -> None:
        for other in rows.by_username(conn, name_key(username), [client_id]):
            if other.id != own:
                where = " (in the trash)" if other.deleted_at is not None else ""
                raise AlreadyExists(f"username {username!r} is taken by another person{where}")

    def add(self, actor: Actor, client_ref: str, fields: Mapping[str, Any]) -> Person:
        """A new person (vault.write): ``username`` is required; the other fields of
        :data:`~credsync.vault.identities.PERSON_ATTRIBUTES` and ``credential`` optional."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        values = self._clean(fields, required=True)
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref, actor)
            credential = self._credential(conn, actor, fields.get("credential"), client.id)
            row = self._insert(conn, actor, client.id, values, credential, None, frozenset())
            self._audit.append(
                conn,
                actor,
                "person.add",
                target_type="person",
                target_id=row.id,
                client_id=client.id,
                details={"username": row.username, "display_name": row.display_name},
            )
            return person_models(conn, [row])[0]

    def _clean(self, fields: Mapping[str, Any], *, required: bool) -> dict[str, Any]:
        unknown = set(fields) - set(PERSON_ATTRIBUTES) - {"credential"}
        if unknown:
            field = sorted(unknown)[0]
            raise InvalidInput(f"a person has no field {field!r}", field=field)
        if required and not fields.get("username"):
            raise InvalidInput("a person needs a username", field="username")
        return {k: clean_person_field(k, v) for k, v in fields.items() if k != "credential"}

    def _insert(
        self,
        conn: Connection,
        actor: Actor,
        client_id: str,
        values: Mapping[str, Any],
        credential: str | None,
        source: str | None,
        sourced: frozenset[str],
    ) -> rows.PersonRow:
        self._check_username(conn, client_id, values["username"], "")
        given, surname = values.get("given_name", ""), values.get("surname", "")
        display = values.get("display_name") or f"{given} {surname}".strip() or values["username"]
        now = utcnow()
        row = rows.PersonRow(
            new_id(), client_id, given, surname, display, name_key(display),
            values["username"], name_key(values["username"]), values.get("email", ""),
            values.get("usage_location", ""), values.get("department", ""),
            values.get("job_title", ""), values.get("enabled", True), credential, source,
            join_sourced(sourced, PERSON_ATTRIBUTES), 1, now, actor.name, now, actor.name,
            None, None,
        )  # fmt: skip
        rows.insert(conn, row)
        identity_search.reindex(conn, "person", row.id, client_id, _terms(row._asdict()))
        return row

    def _bump(
        self, conn: Connection, actor: Actor, row: rows.PersonRow, **changes: Any
    ) -> rows.PersonRow:
        if "display_name" in changes:
            changes["display_key"] = name_key(changes["display_name"])
        if "username" in changes:
            changes["username_key"] = name_key(changes["username"])
        if not rows.bump(conn, row.id, row.version, by=actor.name, now=utcnow(), changes=changes):
            raise StaleVersion(f"person {row.username!r} was changed by someone else: retry")
        after = rows.get(conn, row.id)
        assert after is not None  # noqa: S101 - just written in this transaction
        if {"given_name", "surname", "display_name", "username", "email"} & set(changes):
            identity_search.reindex(conn, "person", row.id, row.client_id, _terms(after._asdict()))
        return after

    def _source_name(self, conn: Connection, row: rows.PersonRow) -> str | None:
        if row.source_directory_id is None:
            return None
        return Names(conn).directory(row.source_directory_id)

    def update(
        self,
        actor: Actor,
        ref: str,
        fields: Mapping[str, Any],
        *,
        client_ref: str | None = None,
        expected_version: int | None = None,
    ) -> Person:
        """Change the fields given (vault.write); an attribute whose source of truth is a
        directory is refused (InvalidInput naming it and the directory)."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        if not fields:
            raise InvalidInput("nothing to change")
        values = self._clean(fields, required=False)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, lock=True)
            check_version("person", row.id, row.version, expected_version)
            current = row._asdict()
            read_only(
                f"person {row.username!r}",
                values,
                current,
                split_sourced(row.sourced),
                self._source_name(conn, row),
            )
            if "credential" in fields:
                values["credential_id"] = self._credential(
                    conn, actor, fields["credential"], row.client_id
                )
            if "username" in values:
                self._check_username(conn, row.client_id, values["username"], row.id)
            changed = {k: v for k, v in values.items() if current[k] != v}
            if not changed:
                return person_models(conn, [row])[0]
            after = self._bump(conn, actor, row, **changed)
            action = "person.update"
            if set(changed) == {"enabled"}:
                action = "person.enable" if changed["enabled"] else "person.disable"
            self._audit.append(
                conn,
                actor,
                action,
                target_type="person",
                target_id=row.id,
                client_id=row.client_id,
                details={"username": after.username, "changed": changed},
            )
            return person_models(conn, [after])[0]

    def set_enabled(
        self, actor: Actor, ref: str, enabled: bool, *, client_ref: str | None = None
    ) -> Person:
        return self.update(actor, ref, {"enabled": enabled}, client_ref=client_ref)

    # -- trash -------------------------------------------------------------------------------
    def _trash(self, actor: Actor, ref: str, client_ref: str | None, *, delete: bool) -> Person:
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, trashed=True, lock=True)
            if (row.deleted_at is None) != delete:
                state = "in the trash already" if delete else "not in the trash"
                raise InvalidInput(f"person {row.username!r} is {state}", field="person")
            now = utcnow()
            after = self._bump(
                conn,
                actor,
                row,
                deleted_at=now if delete else None,
                deleted_by=actor.name if delete else None,
            )
            self._audit.append(
                conn,
                actor,
                "person.delete" if delete else "person.restore",
                target_type="person",
                target_id=row.id,
                client_id=row.client_id,
                details={"username": row.username},
            )
            return person_models(conn, [after])[0]

    def delete(self, actor: Actor, ref: str, *, client_ref: str | None = None) -> Person:
        """To the trash (vault.write): out of lists and searches; memberships are kept."""
        return self._trash(actor, ref, client_ref, delete=True)

    def restore(self, actor: Actor, ref: str, *, client_ref: str | None = None) -> Person:
        return self._trash(actor, ref, client_ref, delete=False)

    def purge(self, actor: Actor, ref: str, *, client_ref: str | None = None) -> str:
        """Destroy a person in the trash, with their accounts and memberships (admin)."""
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, trashed=True, lock=True)
            if row.deleted_at is None:
                raise InvalidInput(
                    f"person {row.username!r} is not in the trash: delete them first",
                    field="person",
                )
            identity_search.forget(conn, "person", row.id)
            group_rows.forget_member(conn, row.id)
            rows.purge(conn, row.id)
            self._audit.append(
                conn,
                actor,
                "person.purge",
                target_type="person",
                target_id=row.id,
                client_id=row.client_id,
                details={"username": row.username},
            )
            return row.id

    # -- from a directory --------------------------------------------------------------------
    def upsert_from_directory(
        self, actor: Actor, directory_ref: str, object_id: str, attributes: Mapping[str, Any]
    ) -> Upserted:
        """The directory import's entry point (vault.write): the person linked to account
        ``object_id`` of the directory (else the client's person with the same username, who
        gains the link; else a new person) takes ``attributes``, which become read-only in the
        vault with this directory as their source of truth. A person whose attributes another
        directory is the source of truth of only gains the link (``linked``)."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        object_id = object_id.strip()
        if not object_id or len(object_id) > 64:
            raise InvalidInput("an object id is 1 to 64 characters", field="object_id")
        unknown = set(attributes) - set(PERSON_ATTRIBUTES)
        if unknown:
            raise InvalidInput(f"a person has no field {sorted(unknown)[0]!r}", field="attributes")
        values = {k: clean_person_field(k, v) for k, v in attributes.items()}
        with self._db.write() as conn:
            directory = find_directory_row(conn, directory_ref, actor)
            row = rows.by_account(conn, directory.id, object_id)
            if row is None and values.get("username"):
                named = rows.by_username(conn, name_key(values["username"]), [directory.client_id])
                row = named[0] if named else None
            outcome: Outcome
            if row is None:
                if not values.get("username"):
                    raise InvalidInput("a new person needs a username", field="username")
                sourced = frozenset(values)
                row = self._insert(
                    conn, actor, directory.client_id, values, None, directory.id, sourced
                )
                outcome, changed = "created", tuple(a for a in PERSON_ATTRIBUTES if a in values)
            elif row.source_directory_id not in (None, directory.id):
                outcome, changed = "linked", ()
            else:
                current = row._asdict()
                diff = {k: v for k, v in values.items() if current[k] != v}
                if "username" in diff:
                    self._check_username(conn, row.client_id, diff["username"], row.id)
                sourced = split_sourced(row.sourced) | frozenset(values)
                marks = {"source_directory_id": directory.id}
                marks["sourced"] = join_sourced(sourced, PERSON_ATTRIBUTES)
                marks = {k: v for k, v in marks.items() if current[k] != v}
                if diff or marks:
                    row = self._bump(conn, actor, row, **diff, **marks)
                outcome = "updated" if diff else "unchanged"
                changed = tuple(a for a in PERSON_ATTRIBUTES if a in diff)
            linked = rows.accounts_of(conn, [row.id])[row.id]
            if not any(a.directory_id == directory.id and a.object_id == object_id for a in linked):
                rows.link_account(
                    conn, rows.AccountRow(row.id, directory.id, object_id, utcnow(), actor.name)
                )
                outcome = "linked" if outcome == "unchanged" else outcome
            if outcome != "unchanged":
                self._audit.append(
                    conn,
                    actor,
                    "person.import",
                    target_type="person",
                    target_id=row.id,
                    client_id=row.client_id,
                    details={
                        "directory": directory.name,
                        "object_id": object_id,
                        "outcome": outcome,
                        "changed": list(changed),
                    },
                )
            return Upserted(person_models(conn, [row])[0], outcome, changed)
