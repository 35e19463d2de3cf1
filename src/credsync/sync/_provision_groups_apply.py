"""Carrying out a group export's plan (:mod:`credsync.sync.provision_groups`): create, link,
write members, remove the confirmed duplicates; each write audited, each failure put on its
line (the rest goes on), every write counted."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from credsync.connectors.group_export import GroupDraft, GroupExport
from credsync.connectors.people_source import GroupKind
from credsync.errors import CredsyncError
from credsync.storage import groups as group_rows
from credsync.sync._provision_groups_plan import Duplicate, Line, nickname_for
from credsync.vault._time import utcnow
from credsync.vault.auth import Actor
from credsync.vault.directories import Directory
from credsync.vault.service import Vault

__all__ = ["WRITES_AT_ONCE", "Apply"]

WRITES_AT_ONCE = 8  # groups whose directory writes are under way at once


class Apply:
    def __init__(self, vault: Vault, actor: Actor, directory: Directory, target: GroupExport):
        self._vault = vault
        self._actor = actor
        self._directory = directory
        self._target = target
        self.writes = 0
        self._made: dict[str, str] = {}  # vault group id -> the object created for it now

    async def _each(self, lines: list[Line], step: Any) -> None:
        """``step(line)`` for each line, :data:`WRITES_AT_ONCE` under way at once (the
        connector paces them and honours throttling for all)."""
        gate = asyncio.Semaphore(WRITES_AT_ONCE)

        async def one(line: Line) -> None:
            async with gate:
                await step(line)

        await asyncio.gather(*map(one, lines))

    async def carry_out(self, plan: Any, *, remove: bool) -> None:
        lines: list[Line] = plan.lines
        for line in lines:
            if line.action == "matched":
                try:
                    self._link(line, "export_link")
                except CredsyncError as exc:
                    line.error = str(exc)
        await self._each([line for line in lines if line.action == "create" and line.error is None],
                         self._create)  # fmt: skip
        ready = [line for line in lines if line.error is None and line.object_id is not None]
        await self._each([line for line in ready if line.membership_source == "vault"],
                         self._members_out)  # fmt: skip
        for line in ready:
            if line.membership_source == "directory":
                self._members_in(line)
        if remove:
            duplicates: list[Duplicate] = plan.duplicates
            for duplicate in duplicates:
                await self._remove(duplicate, lines)

    # -- helpers -----------------------------------------------------------------------------
    def _audit(self, action: str, group_id: str, details: dict[str, Any]) -> None:
        with self._vault.db.write() as conn:
            self._vault.audit.append(
                conn,
                self._actor,
                f"group.{action}",
                target_type="group",
                target_id=group_id,
                client_id=self._directory.client_id,
                details={"directory": self._directory.name, **details},
            )

    def _link(self, line: Line, action: str) -> None:
        """Record the line's object as its group's in this directory (what credsync owns)."""
        assert line.target is not None  # noqa: S101 - linked, matched or created
        group, target = line.group, line.target
        with self._vault.db.write() as conn:
            if group_rows.by_object(conn, self._directory.id, target.object_id) is not None:
                raise CredsyncError(
                    f"directory group {target.object_id} was linked to another group meanwhile"
                )
            group_rows.link_object(
                conn,
                group_rows.ObjectRow(
                    group.id, self._directory.id, target.object_id, utcnow(), self._actor.name
                ),
            )
            self._vault.audit.append(
                conn,
                self._actor,
                f"group.{action}",
                target_type="group",
                target_id=group.id,
                client_id=self._directory.client_id,
                details={
                    "directory": self._directory.name,
                    "group": group.name,
                    "object_id": target.object_id,
                    "type": target.type,
                },
            )
        self.writes += 1

    # -- steps -------------------------------------------------------------------------------
    async def _create(self, line: Line) -> None:
        group = line.group
        kind = cast(GroupKind, group.type)
        draft = GroupDraft(group.name, kind, nickname_for(group), group.description)
        try:
            line.target = await self._target.create_group(draft)
        except CredsyncError as exc:
            line.error = str(exc)
            return
        self.writes += 1
        self._made[group.id] = line.target.object_id
        try:
            self._link(line, "export_create")
        except CredsyncError as exc:
            line.error = f"created as {line.target.object_id}, not linked: {exc}"

    async def _members_out(self, line: Line) -> None:
        """The directory's members made the vault group's."""
        assert line.object_id is not None  # noqa: S101 - checked by the caller
        adds: list[str] = []
        added: list[str] = []
        for change in line.add:
            object_id = change.object_id
            if change.pending_group is not None:
                object_id = self._made.get(change.pending_group)
                change.object_id = object_id
            if object_id is None:
                line.outside.append(f"{change.name} (its group was not created)")
                continue
            adds.append(object_id)
            added.append(change.name)
        removed: list[str] = []
        try:
            if adds:
                made = await self._target.add_members(line.object_id, adds)
                self.writes += made  # after the await: += across it would lose updates
            for change in line.remove:
                assert change.object_id is not None  # noqa: S101 - a directory member
                await self._target.remove_member(line.object_id, change.object_id)
                self.writes += 1
                removed.append(change.name)
        except CredsyncError as exc:
            line.error = str(exc)
        if added or removed:
            self._audit(
                "export_members",
                line.group.id,
                {"object_id": line.object_id, "added": added, "removed": removed},
            )

    def _members_in(self, line: Line) -> None:
        """The vault group's members made the directory's (audited by the vault)."""
        groups = self._vault.groups
        for change in line.add:
            try:
                assert change.vault_id is not None  # noqa: S101 - known to the vault
                groups.add_member(self._actor, line.group.id, change.vault_id, kind=change.kind)
                self.writes += 1
            except CredsyncError as exc:
                line.outside.append(f"{change.name} ({exc})")
        for change in line.remove:
            try:
                assert change.vault_id is not None  # noqa: S101 - a vault member
                groups.remove_member(self._actor, line.group.id, change.vault_id, kind=change.kind)
                self.writes += 1
            except CredsyncError as exc:
                line.error = str(exc)

    async def _remove(self, duplicate: Duplicate, lines: list[Line]) -> None:
        try:
            await self._target.delete_group(duplicate.target.object_id)
        except CredsyncError as exc:
            for line in lines:
                if line.group.id == duplicate.group_id:
                    line.error = f"duplicate {duplicate.target.object_id} not removed: {exc}"
            return
        self.writes += 1
        duplicate.removed = True
        self._audit(
            "export_duplicate_remove",
            duplicate.group_id,
            {"object_id": duplicate.target.object_id, "name": duplicate.target.name},
        )
