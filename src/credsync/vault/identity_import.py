"""The vault side of the directory import of people and groups, many records at a time.

:meth:`People.upsert_from_directory <credsync.vault.people.People.upsert_from_directory>` and
:meth:`Groups.upsert_from_directory <credsync.vault.groups.Groups.upsert_from_directory>`
take one object each, in a transaction of its own: right for a few, too slow for a tenant of
100,000 users (issue 16's target: under a minute). These take a batch in one transaction,
with one read of what the vault already has for the whole batch, one INSERT per table
(rows, directory links, search terms) and the audit entries written together
(:meth:`AuditLog.batched`): the same rows, outcomes and audit entries the one-at-a-time entry
points make, for the two cases a big import is made of:

- an object the vault has never seen (not linked, and for a user, no person of the client
  holds its username, in the trash or not): **created**, its values the directory's;
- an object linked to a record whose values, source of truth and sourced attributes are
  already the directory's: **unchanged**, nothing written.

Every other object of the batch (a value the vault refuses, a change to apply, a username held
by someone else, a record another directory is the source of truth of) is answered ``None``:
the caller hands it to the one-at-a-time entry point, whose rules (updates, links,
refusals) are written once. A batch that loses a race with another writer (a username or
an object taken meanwhile: the database's unique keys refuse it) is answered ``None``
whole, for the same reason.

:meth:`IdentityImport.add_people` adds people to groups likewise (one audited ``member_add``
each, as :meth:`Groups.add_member` audits them); a group or person in the trash, of another
client or out of the operator's reach, or a member already, is left to :meth:`Groups.add_member`
(``None``). :meth:`IdentityImport.add_groups` adds groups to groups the same way, each pair
checked for a cycle (as :meth:`Groups.add_member` checks it) after the pairs before it.

Who may: vault.read and vault.write, as for the one-at-a-time entry points.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from sqlalchemy.engine import Connection

from credsync.errors import Conflict, CredsyncError
from credsync.storage import Database, identity_search
from credsync.storage import groups as group_rows
from credsync.storage import people as people_rows
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.directories import find_directory_row
from credsync.vault.groups import group_row, group_terms
from credsync.vault.identities import (
    GROUP_ATTRIBUTES,
    PERSON_ATTRIBUTES,
    clean_group_field,
    clean_person_field,
    join_sourced,
    reach,
    split_sourced,
)
from credsync.vault.identity_service import check_object_id
from credsync.vault.people import person_row, person_terms
from credsync.vault.validate import name_key

__all__ = ["Done", "IdentityImport", "Result"]


@dataclass(frozen=True)
class Done:
    """What happened to one object: ``created`` or ``unchanged``, the record's id, and (for
    a person created) the attributes it took."""

    outcome: Literal["created", "unchanged"]
    vault_id: str
    changed: tuple[str, ...] = ()


# Done, or None: the object is for the one-at-a-time entry point.
Result = Done | None


class _Clean(NamedTuple):
    at: int
    object_id: str
    values: dict[str, Any]


def _in_step(current: Mapping[str, Any], values: Mapping[str, Any], directory_id: str,
             order: tuple[str, ...]) -> bool:  # fmt: skip
    """Whether a record linked to the directory's object already has its values, with this
    directory as the source of truth of them (what the one-at-a-time path finds unchanged)."""
    if current["source_directory_id"] != directory_id:
        return False
    if any(current[k] != v for k, v in values.items()):
        return False
    sourced = str(current["sourced"])
    return join_sourced(split_sourced(sourced) | frozenset(values), order) == sourced


class IdentityImport:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def _clean(
        self,
        items: Sequence[tuple[str, Mapping[str, Any]]],
        attributes: tuple[str, ...],
        clean: Callable[[str, Any], Any],
    ) -> list[_Clean]:
        cleaned: list[_Clean] = []
        for index, (object_id, given) in enumerate(items):
            if set(given) - set(attributes):
                continue
            try:
                oid = check_object_id(object_id)
                values = {k: clean(k, v) for k, v in given.items()}
            except CredsyncError:
                continue  # the one-at-a-time path refuses it, naming the field
            cleaned.append(_Clean(index, oid, values))
        return cleaned

    def _batch(
        self,
        actor: Actor,
        directory_ref: str,
        count: int,
        cleaned: list[_Clean],
        write: Callable[[Connection, Actor, Any, list[_Clean]], dict[int, Done]],
    ) -> list[Result]:
        """One transaction for a batch of ``count`` objects: ``write`` creates those it can in
        the directory and answers them by their index; the others are ``None``."""
        results: list[Result] = [None] * count
        if not cleaned:
            return results
        try:
            with self._db.write() as conn, self._audit.batched(conn):
                directory = find_directory_row(conn, directory_ref, actor)
                done = write(conn, actor, directory, cleaned)
        except Conflict:
            return results  # a race with another writer: every object one at a time
        for index, result in done.items():
            results[index] = result
        return results

    def people(
        self, actor: Actor, directory_ref: str, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[Result]:
        """Users of the directory (object id, person fields), as
        :meth:`People.upsert_from_directory` takes them: one result each, in order."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        cleaned = self._clean(items, PERSON_ATTRIBUTES, clean_person_field)
        cleaned = [c for c in cleaned if c.values.get("username")]
        return self._batch(actor, directory_ref, len(items), cleaned, self._new_people)

    def _new_people(
        self, conn: Connection, actor: Actor, directory: Any, cleaned: list[_Clean]
    ) -> dict[int, Done]:
        done: dict[int, Done] = {}
        people_rows.keep_statistics(conn)
        linked = people_rows.by_accounts(conn, directory.id, [c.object_id for c in cleaned])
        keys = [name_key(c.values["username"]) for c in cleaned]
        taken = people_rows.usernames_taken(conn, directory.client_id, keys)
        new: list[people_rows.PersonRow] = []
        accounts: list[people_rows.AccountRow] = []
        now = utcnow()
        for item, key in zip(cleaned, keys, strict=True):
            row = linked.get(item.object_id)
            if row is not None:
                if _in_step(row._asdict(), item.values, directory.id, PERSON_ATTRIBUTES):
                    done[item.at] = Done("unchanged", row.id)
                continue
            if key in taken:
                continue
            taken.add(key)
            row = person_row(
                actor, directory.client_id, item.values, None, directory.id,
                frozenset(item.values),
            )  # fmt: skip
            new.append(row)
            link = (row.id, directory.id, item.object_id, now, actor.name)
            accounts.append(people_rows.AccountRow(*link))
            changed = tuple(a for a in PERSON_ATTRIBUTES if a in item.values)
            done[item.at] = Done("created", row.id, changed)
            details = {"directory": directory.name, "object_id": item.object_id}
            details |= {"outcome": "created", "changed": list(changed)}
            self._audit.append(
                conn, actor, "person.import", target_type="person", target_id=row.id,
                client_id=row.client_id, details=details,
            )  # fmt: skip
        people_rows.insert_many(conn, new)
        people_rows.link_new_accounts(conn, accounts)
        identity_search.index_new(
            conn, "person", ((r.id, r.client_id, person_terms(r._asdict())) for r in new)
        )
        return done

    def groups(
        self, actor: Actor, directory_ref: str, items: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[Result]:
        """Groups of the directory (object id, group fields), as
        :meth:`Groups.upsert_from_directory` takes them: one result each, in order."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        cleaned = self._clean(items, GROUP_ATTRIBUTES, clean_group_field)
        return self._batch(actor, directory_ref, len(items), cleaned, self._new_groups)

    def _new_groups(
        self, conn: Connection, actor: Actor, directory: Any, cleaned: list[_Clean]
    ) -> dict[int, Done]:
        done: dict[int, Done] = {}
        group_rows.keep_statistics(conn)
        linked = group_rows.by_objects(conn, directory.id, [c.object_id for c in cleaned])
        new: list[group_rows.GroupRow] = []
        objects: list[group_rows.ObjectRow] = []
        now = utcnow()
        for item in cleaned:
            row = linked.get(item.object_id)
            if row is not None:
                if _in_step(row._asdict(), item.values, directory.id, GROUP_ATTRIBUTES):
                    done[item.at] = Done("unchanged", row.id)
                continue
            if "name" not in item.values:
                continue
            linked[item.object_id] = row = group_row(
                actor, directory.client_id, item.values, directory.id
            )
            new.append(row)
            objects.append(
                group_rows.ObjectRow(row.id, directory.id, item.object_id, now, actor.name)
            )
            done[item.at] = Done("created", row.id)
            details = {
                "directory": directory.name,
                "object_id": item.object_id,
                "outcome": "created",
            }
            self._audit.append(
                conn, actor, "group.import", target_type="group", target_id=row.id,
                client_id=row.client_id, details=details,
            )  # fmt: skip
        group_rows.insert_many(conn, new)
        group_rows.link_new_objects(conn, objects)
        identity_search.index_new(
            conn, "group", ((r.id, r.client_id, group_terms(r._asdict())) for r in new)
        )
        return done

    def add_people(
        self, actor: Actor, wanted: Mapping[str, Sequence[str]]
    ) -> dict[str, set[str]] | None:
        """Make people members of groups (group id -> person ids): group id -> the person ids
        added. Those not added (see the module docstring) are for :meth:`Groups.add_member`;
        None when the whole batch is (a race with another writer)."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        added: dict[str, set[str]] = {g: set() for g in wanted}
        if not any(wanted.values()):
            return added
        seen = reach(actor)
        try:
            with self._db.write() as conn, self._audit.batched(conn):
                group_rows.keep_statistics(conn)
                groups = {g.id: g for g in group_rows.in_name_order(conn, list(wanted))}
                person_ids = sorted({p for ids in wanted.values() for p in ids})
                people = people_rows.member_facts(conn, person_ids)
                current = group_rows.member_ids(conn, list(groups))
                new: list[group_rows.MemberRow] = []
                now = utcnow()
                for group_id, ids in wanted.items():
                    group = groups.get(group_id)
                    if group is None or group.deleted_at is not None:
                        continue
                    if seen is not None and group.client_id not in seen:
                        continue
                    for person_id in dict.fromkeys(ids):
                        person = people.get(person_id)
                        if (
                            person is None
                            or person.in_trash
                            or person.client_id != group.client_id
                            or person_id in current[group_id]
                        ):
                            continue
                        new.append(
                            group_rows.MemberRow(group_id, person_id, "person", now, actor.name)
                        )
                        added[group_id].add(person_id)
                        details = {"group": group.name, "type": "person"}
                        details |= {"member": person.username, "id": person_id}
                        self._audit.append(
                            conn, actor, "group.member_add", target_type="group",
                            target_id=group.id, client_id=group.client_id, details=details,
                        )  # fmt: skip
                group_rows.add_members(conn, new)
        except Conflict:
            return None
        return added

    def add_groups(
        self, actor: Actor, wanted: Sequence[tuple[str, str]]
    ) -> set[tuple[str, str]] | None:
        """Make groups members of groups ((group id, member group id) pairs, in order): the
        pairs added. A pair that would make a cycle (the member holds the group, directly or
        through others), or that the module docstring's checks leave, is not added: it is for
        :meth:`Groups.add_member`, which says why; None when the whole batch is."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        added: set[tuple[str, str]] = set()
        if not wanted:
            return added
        seen = reach(actor)
        try:
            with self._db.write() as conn, self._audit.batched(conn):
                group_rows.keep_statistics(conn)
                ids = sorted({g for pair in wanted for g in pair})
                groups = {g.id: g for g in group_rows.in_name_order(conn, ids)}
                current = group_rows.member_ids(conn, sorted({g for g, _ in wanted}))
                now = utcnow()
                for group_id, member_id in wanted:
                    group, member = groups.get(group_id), groups.get(member_id)
                    if (
                        group is None
                        or member is None
                        or group.deleted_at is not None
                        or member.deleted_at is not None
                        or (seen is not None and group.client_id not in seen)
                        or member.client_id != group.client_id
                        or member_id in current[group_id]
                        or member_id == group_id
                        or member_id in group_rows.ancestors(conn, group_id)
                    ):
                        continue
                    # one at a time: the next pair's cycle check sees this one
                    group_rows.add_member(
                        conn, group_rows.MemberRow(group_id, member_id, "group", now, actor.name)
                    )
                    current[group_id][member_id] = "group"
                    added.add((group_id, member_id))
                    details = {"group": group.name, "type": "group"}
                    details |= {"member": member.name, "id": member_id}
                    self._audit.append(
                        conn, actor, "group.member_add", target_type="group",
                        target_id=group.id, client_id=group.client_id, details=details,
                    )  # fmt: skip
        except Conflict:
            return None
        return added
