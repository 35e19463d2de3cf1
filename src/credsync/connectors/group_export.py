"""What the export of a client's groups writes to a directory (a connector's
``group_export`` capability, :attr:`~credsync.connectors.base.Capability.GROUP_EXPORT`).

A connector with it also has the ``people`` capability's ``iter_members`` (a group's direct
members: :mod:`credsync.connectors.people_source`), and answers, in the vault's words:

* ``groups_named(names)``: the directory's groups whose name is one of ``names`` (compared
  without regard to case; names are not unique, so several may answer one name), each an
  :class:`ExportedGroup`;
* ``groups_by_id(ids)``: those groups by their stable id (an id that names nothing is left
  out of the answer, not an error);
* ``create_group(draft)``: a new group (:class:`GroupDraft`); a type the directory can't
  create, or a mail alias taken, is a :class:`~credsync.errors.PermanentConnectorError` with
  the directory's words;
* ``cannot_create(type, email)``: why the directory can't create a group of that type with
  (or without) an e-mail, or None;
* ``cannot_change_members(group)``: why the directory can't change that group's members
  here, or None;
* ``delete_group(object_id)``;
* ``add_members(group_id, member_ids)`` / ``remove_member(group_id, member_id)``: direct
  members (users and groups, by their stable ids); ``add_members`` answers how many writes
  it took (``members_per_write`` members go in one).

Writes honour throttling as the kind's other calls do (Retry-After, pacing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from credsync.connectors.people_source import DirectoryMember, GroupKind

__all__ = ["ExportedGroup", "GroupDraft", "GroupExport"]


@dataclass(frozen=True)
class ExportedGroup:
    """A directory group as the export sees it. ``mail_enabled``: it has mail (a Microsoft
    365 group, a mail-enabled security group or a distribution list); ``synced``: it comes
    from an on-premises directory and can't be changed here; ``created``: the directory's
    creation time (ISO 8601), to choose the oldest of several matches."""

    object_id: str
    name: str
    type: GroupKind
    email: str = ""
    mail_enabled: bool = False
    synced: bool = False
    created: str = ""


@dataclass(frozen=True)
class GroupDraft:
    """A group to create: ``nickname`` is its mail alias (the part before the @)."""

    name: str
    type: GroupKind
    nickname: str
    description: str = ""


@runtime_checkable
class GroupExport(Protocol):
    members_per_write: int

    async def groups_named(self, names: Sequence[str]) -> list[ExportedGroup]: ...

    async def groups_by_id(self, ids: Sequence[str]) -> list[ExportedGroup]: ...

    async def create_group(self, draft: GroupDraft) -> ExportedGroup: ...

    def cannot_create(self, type: GroupKind, email: str) -> str | None: ...

    def cannot_change_members(self, group: ExportedGroup) -> str | None: ...

    async def delete_group(self, object_id: str) -> None: ...

    async def add_members(self, group_id: str, member_ids: Sequence[str]) -> int: ...

    async def remove_member(self, group_id: str, member_id: str) -> None: ...

    def iter_members(self, group_id: str) -> AsyncIterator[DirectoryMember]: ...

    async def close(self) -> None: ...
