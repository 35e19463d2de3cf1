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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.engine import Connection

from credsync.errors import AlreadyExists, InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage import credentials as credential_rows
from credsync.storage import groups as group_rows
from credsync.storage import people as rows
from credsync.storage import person_mfa as person_mfa_rows
from credsync.storage import person_sessions as person_session_rows
from credsync.storage.words import identity_terms
from credsync.types import new_id
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import find_client_row, sees_directory_admin
from credsync.vault.directories import find_directory_row
from credsync.vault.identities import (
    PERSON_ATTRIBUTES,
    clean_person_field,
    join_sourced,
    reach,
)
from credsync.vault.identity_service import IdentityService, Kind, check_object_id
from credsync.vault.people_records import (
    MIN_ID_PREFIX,
    Person,
    find_person_row,
    person_models,
)
from credsync.vault.validate import name_key

__all__ = ["People", "Upserted", "person_row", "person_terms"]
Outcome = Literal["created", "updated", "unchanged", "linked"]


@dataclass(frozen=True)
class Upserted:
    """What :meth:`People.upsert_from_directory` did: ``created``, ``updated``,
    ``unchanged``, or ``linked`` (the account was linked to a person whose attributes another
    directory is the source of truth of: they were left as they are)."""

    person: Person
    outcome: Outcome
    changed: tuple[str, ...]


def person_terms(values: Mapping[str, Any]) -> set[str]:
    """A person's search terms (of their row's values)."""
    texts = [values[f] for f in ("given_name", "surname", "display_name", "username", "email")]
    return identity_terms(texts)


def person_row(
    actor: Actor,
    client_id: str,
    values: Mapping[str, Any],
    credential: str | None,
    source: str | None,
    sourced: frozenset[str],
) -> rows.PersonRow:
    """A new person's row, of clean ``values`` (``username`` required): a display name made
    from the names when there is none."""
    given, surname = values.get("given_name", ""), values.get("surname", "")
    display = values.get("display_name") or f"{given} {surname}".strip() or values["username"]
    now = utcnow()
    return rows.PersonRow(
        new_id(), client_id, given, surname, display, name_key(display),
        values["username"], name_key(values["username"]), values.get("email", ""),
        values.get("usage_location", ""), values.get("department", ""),
        values.get("job_title", ""), values.get("enabled", True), credential, source,
        join_sourced(sourced, PERSON_ATTRIBUTES), 1, now, actor.name, now, actor.name,
        None, None,
    )  # fmt: skip


_KIND: Kind[rows.PersonRow, Person] = Kind(
    type="person",
    name_field="username",
    pronoun="them",
    attributes=PERSON_ATTRIBUTES,
    store=rows,
    find_row=find_person_row,
    models=person_models,
    in_order=rows.in_display_order,
    order_key="display_key",
    keys={"display_name": "display_key", "username": "username_key"},
    terms=person_terms,
    term_fields=frozenset({"given_name", "surname", "display_name", "username", "email"}),
)


class People(IdentityService[rows.PersonRow, Person]):
    def __init__(self, db: Database, audit: AuditLog) -> None:
        super().__init__(db, audit, _KIND)

    # -- reading -----------------------------------------------------------------------------
    def get(
        self, actor: Actor, ref: str, *, client_ref: str | None = None, trashed: bool = True
    ) -> Person:
        return self._get(actor, ref, client_ref, trashed)

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

    def _check_unique(self, conn: Connection, row: rows.PersonRow, diff: Mapping[str, Any]) -> None:
        if "username" in diff:
            self._check_username(conn, row.client_id, diff["username"], row.id)

    def add(self, actor: Actor, client_ref: str, fields: Mapping[str, Any]) -> Person:
        """A new person (vault.write): ``username`` is required; the other fields of
        :data:`~credsync.vault.identities.PERSON_ATTRIBUTES` and ``credential`` optional."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        values = self._clean(fields, required=True)
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref, actor)
            credential = self._credential(conn, actor, fields.get("credential"), client.id)
            row = self._insert(conn, actor, client.id, values, credential, None, frozenset())
            details = {"username": row.username, "display_name": row.display_name}
            self._record(conn, actor, "add", row, details)
            return self._model(conn, row)

    def _clean(self, fields: Mapping[str, Any], *, required: bool) -> dict[str, Any]:
        unknown = set(fields) - set(PERSON_ATTRIBUTES) - {"credential"}
        if unknown:
            field = sorted(unknown)[0]
            raise InvalidInput(f"a person has no field {field!r}", field=field)
        if required and not fields.get("username"):
            raise InvalidInput("a person needs a username", field="username")
        return {k: clean_person_field(k, v) for k, v in fields.items() if k != "credential"}

    def _clean_update(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self._clean(fields, required=False)

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
        row = person_row(actor, client_id, values, credential, source, sourced)
        rows.insert(conn, row)
        self._index(conn, row)
        return row

    def _prepare(
        self,
        conn: Connection,
        actor: Actor,
        row: rows.PersonRow,
        fields: Mapping[str, Any],
        values: dict[str, Any],
    ) -> None:
        if "credential" in fields:
            values["credential_id"] = self._credential(
                conn, actor, fields["credential"], row.client_id
            )
        self._check_unique(conn, row, values)

    def _update_action(self, changed: Mapping[str, Any]) -> str:
        if set(changed) == {"enabled"}:
            return "enable" if changed["enabled"] else "disable"
        return "update"

    def set_enabled(
        self, actor: Actor, ref: str, enabled: bool, *, client_ref: str | None = None
    ) -> Person:
        return self.update(actor, ref, {"enabled": enabled}, client_ref=client_ref)

    # -- trash -------------------------------------------------------------------------------
    def _forget(self, conn: Connection, row: rows.PersonRow) -> None:
        group_rows.forget_member(conn, row.id)
        person_mfa_rows.forget_person(conn, row.id)
        person_session_rows.forget_person(conn, row.id)

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
        object_id = check_object_id(object_id)
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
                row, diff = self._refresh(conn, actor, row, values, directory.id)
                outcome = "updated" if diff else "unchanged"
                changed = tuple(a for a in PERSON_ATTRIBUTES if a in diff)
            linked = rows.accounts_of(conn, [row.id])[row.id]
            if not any(a.directory_id == directory.id and a.object_id == object_id for a in linked):
                rows.link_account(
                    conn, rows.AccountRow(row.id, directory.id, object_id, utcnow(), actor.name)
                )
                outcome = "linked" if outcome == "unchanged" else outcome
            if outcome != "unchanged":
                details: dict[str, Any] = {"directory": directory.name, "object_id": object_id}
                details |= {"outcome": outcome, "changed": list(changed)}
                self._record(conn, actor, "import", row, details)
            return Upserted(self._model(conn, row), outcome, changed)
