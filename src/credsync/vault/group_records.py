"""The records of groups (:mod:`credsync.vault.groups`): a group's and a member's JSON
shapes, the model built from rows (with the client's and directories' names), and finding
one by reference."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.errors import InvalidInput
from credsync.storage import groups as rows
from credsync.vault._time import Timestamp, as_utc, as_utc_opt, iso
from credsync.vault.auth import Actor
from credsync.vault.identities import (
    GROUP_ATTRIBUTES,
    LinkJson,
    Source,
    SourceJson,
    reach,
)
from credsync.vault.identity_names import Names
from credsync.vault.identity_records import MIN_ID_PREFIX, find_by_id, links_of, source_of
from credsync.vault.validate import name_key

__all__ = [
    "MIN_ID_PREFIX",
    "Group",
    "GroupJson",
    "GroupPage",
    "MemberJson",
    "find_group_row",
    "group_models",
]


class GroupJson(TypedDict):
    """A group (``credsync group show REF --json``, ``GET /api/v1/groups/{ref}``)."""

    id: str
    client: str
    client_id: str
    name: str
    type: str
    """security | microsoft365"""
    email: str
    description: str
    members: int
    """How many direct members (people and groups, in the trash or not)."""
    source: SourceJson | None
    objects: list[LinkJson]
    """The group's objects in the client's directories."""
    version: int
    created_at: Timestamp
    created_by: str
    updated_at: Timestamp
    updated_by: str
    deleted_at: Timestamp | None
    deleted_by: str | None


class GroupPage(TypedDict):
    items: list[GroupJson]
    next_cursor: str | None


class MemberJson(TypedDict):
    """A direct member of a group."""

    type: str
    """person | group"""
    id: str
    name: str
    """A person's display name, a group's name."""
    username: str | None
    """A person's username (None for a group)."""
    in_trash: bool
    added_at: Timestamp
    added_by: str


@dataclass(frozen=True)
class Group:
    row: rows.GroupRow
    client: str
    members: int
    source: Source | None
    objects: tuple[LinkJson, ...]

    @property
    def id(self) -> str:
        return self.row.id

    def to_json(self) -> GroupJson:
        r = self.row
        return GroupJson(
            id=r.id,
            client=self.client,
            client_id=r.client_id,
            name=r.name,
            type=r.type,
            email=r.email,
            description=r.description,
            members=self.members,
            source=self.source.to_json() if self.source else None,
            objects=list(self.objects),
            version=r.version,
            created_at=iso(as_utc(r.created_at)),
            created_by=r.created_by,
            updated_at=iso(as_utc(r.updated_at)),
            updated_by=r.updated_by,
            deleted_at=iso(as_utc_opt(r.deleted_at)),
            deleted_by=r.deleted_by,
        )


def group_models(conn: Connection, found: Sequence[rows.GroupRow]) -> list[Group]:
    names = Names(conn)
    counts = rows.member_counts(conn, [r.id for r in found])
    made = []
    for r in found:
        source = source_of(names, r.source_directory_id, r.sourced, GROUP_ATTRIBUTES)
        objects = links_of(names, rows.objects_of(conn, r.id))
        made.append(Group(r, names.client(r.client_id), counts[r.id], source, objects))
    return made


def find_group_row(
    conn: Connection, actor: Actor, ref: str, *, client_id: str | None = None
) -> rows.GroupRow:
    """A group by name (any case; refused when several of the actor's groups have it) or id
    (or a prefix of at least 6 characters), in the trash or not."""
    ref = ref.strip()
    scope = reach(actor, client_id)
    named = [
        r
        for r in rows.by_name(conn, name_key(ref), scope, client_id=client_id)
        if actor.sees(r.client_id)
    ]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise InvalidInput(f"several groups are named {ref!r}: give the group's id", field="group")
    return find_by_id(rows.find_by_ref, conn, actor, ref, scope, "group")
