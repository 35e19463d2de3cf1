"""The export of a client's groups to one of its directories (issue 16, "Provision to Office
365", the group part; Passly's group export rules): plan, then apply.

**Plan** (writes nothing), per vault group of the client (or the groups asked for):

- its **object** in the directory: the one it is linked to (``linked``); else, among the
  directory's groups of the same name (without regard to case) that no vault group owns, the
  oldest that fits the matching rule (``matched``): ``type_and_email`` (the same type, and the
  same e-mail or none on both; a security group without an e-mail fits only a security group
  that is not mail-enabled) or ``name`` (any); else a new one (``create``): a security group
  (``securityEnabled`` true, ``mailEnabled`` false) or a Microsoft 365 group (``Unified``,
  mail-enabled), with the e-mail's local part as its mail alias, else the name. With
  ``create_missing`` off a group is created only when the directory has no group of that
  name at all (``no_match`` otherwise). A group the directory can't create (its connector's
  ``cannot_create``: for Office 365 a security group with an e-mail, which would be a
  mail-enabled security group) is ``not_creatable``: reported with the reason, not created
  (it can still match an existing one);
- **duplicates** (with ``remove_duplicates`` on): the other directory groups with the name of
  a group's object that no vault group owns (not linked to any, in the trash or not); removed
  only by an apply given their ids as its confirmation;
- **members**: with the vault as the source of truth, the directory object's members are to
  be the vault group's members that have an object in the directory (people through their
  accounts, groups through their objects, a group this apply creates included); the others
  are listed as outside, members in the trash are not exported, and a Microsoft 365 group
  holds no groups. With the directory as the source of truth, the vault group's members are
  to be the object's members that are people / groups of the vault in this directory
  (``members_outside``: the others). A group the apply creates gets the vault's members
  either way (there is nothing in the directory yet to take). A group imported from this
  directory (its source of truth) takes its members from it whatever the setting, as the
  import does. A group whose members the
  directory can't change here (its connector's ``cannot_change_members``: for Office 365 a
  mail-enabled security group, a distribution list, a group synced from on-premises): said on
  the line, members left alone.

**Apply** makes the plan again from fresh reads, then, when it has duplicates and a
confirmation is given that is not exactly their ids, refuses before any write
(:class:`~credsync.errors.InvalidInput` naming ``confirm_duplicates``); without a
confirmation it does everything but remove them. It creates, links (``group_objects``:
what credsync owns), writes members, then removes the confirmed duplicates; a failure is
put on its line and the rest goes on. Every write is audited (``group.export_*``,
``group.member_*``). A second apply with nothing changed makes no write.

An apply is refused while the client's ``directory_sync`` switch is off (nothing of the
client touches a directory then); a plan is not (it only reads).

Who may: plan ``directory.setup`` and ``vault.read``; apply and the settings' change
``directory.setup`` and ``vault.write`` (it writes to the directory and removes groups there);
a client outside the operator's reach is NotFound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from typing_extensions import TypedDict

from credsync.connectors.base import Capability
from credsync.connectors.group_export import ExportedGroup, GroupExport
from credsync.connectors.people_source import DirectoryMember, GroupKind
from credsync.errors import InvalidInput, NotSupported
from credsync.storage import groups as group_rows
from credsync.storage import people as people_rows
from credsync.sync import _provision_groups_apply as applying
from credsync.sync import _provision_groups_settings as settings_store
from credsync.sync._provision_groups_plan import (
    Duplicate,
    GroupExportDuplicateJson,
    GroupExportLineJson,
    Line,
    VaultGroup,
    VaultMember,
    match,
    members,
)
from credsync.sync._provision_groups_quarantine import Key, screen_groups
from credsync.sync._provision_groups_settings import ExportSettings, GroupExportSettingsJson
from credsync.sync.connect import DirectoryService, directory_config
from credsync.vault._time import utcnow
from credsync.vault.auth import Permission
from credsync.vault.directories import Directory
from credsync.vault.group_records import find_group_row

__all__ = [
    "ExportPlan",
    "ExportSettings",
    "GroupExportPlanJson",
    "GroupExportSettingsJson",
    "ProvisionGroups",
]

MAX_GROUPS = 5000
IN_CHUNK = 500  # ids in one IN (...) of the vault's reads
READS_AT_ONCE = 8  # member listings under way at once (the connector paces and retries)


class GroupExportPlanJson(TypedDict):
    client: str
    directory: str
    settings: GroupExportSettingsJson
    applied: bool
    groups: list[GroupExportLineJson]
    duplicates: list[GroupExportDuplicateJson]
    writes: int
    errors: int
    quarantined: str | None
    """Why the change threshold held the apply's creates, removals and deletes (nothing
    written), or, in a plan, would; else null."""


@dataclass
class ExportPlan:
    client: str
    settings: ExportSettings
    lines: list[Line]
    duplicates: list[Duplicate]
    per_write: int = 1  # members the directory takes in one write
    applied: bool = False
    writes: int = 0
    quarantined: str | None = None  # why the change threshold held the apply (or would)

    @property
    def planned_writes(self) -> int:
        count = sum(line.writes(self.per_write) for line in self.lines)
        return count + len(self.duplicates)

    def to_json(self) -> GroupExportPlanJson:
        return GroupExportPlanJson(
            client=self.client,
            directory=self.settings.directory,
            settings=self.settings.to_json(),
            applied=self.applied,
            groups=[line.to_json() for line in self.lines],
            duplicates=[d.to_json() for d in self.duplicates],
            writes=self.writes if self.applied else self.planned_writes,
            errors=sum(1 for line in self.lines if line.error),
            quarantined=self.quarantined,
        )


def _with_objects(group: VaultGroup, matched: Mapping[str, str | None]) -> VaultGroup:
    """``group`` with its member groups that this apply links known by their objects."""
    if not any(m.kind == "group" and m.vault_id in matched for m in group.members):
        return group
    held = tuple(
        replace(m, object_id=matched[m.vault_id])
        if m.kind == "group" and m.object_id is None and m.vault_id in matched
        else m
        for m in group.members
    )
    return replace(group, members=held)


class ProvisionGroups(DirectoryService):
    # -- the directory and its settings ------------------------------------------------------
    def _directory(
        self, client_ref: str, directory_ref: str, *needs: Permission, writes: bool = False
    ) -> tuple[str, Directory]:
        self._actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP, *needs)
        client, directory = self._client_directory(client_ref, directory_ref)
        if writes and not client.directory_sync:
            raise InvalidInput(
                f"client {client.name!r} has directory sync off: the export writes nothing "
                "for it (turn it on first)"
            )
        return client.name, directory

    def settings(self, client_ref: str, directory_ref: str) -> ExportSettings:
        """The directory's group export settings (the defaults until changed)."""
        _, directory = self._directory(client_ref, directory_ref)
        with self._db.read() as conn:
            return settings_store.load(conn, directory.id, directory.name)

    def configure(
        self, client_ref: str, directory_ref: str, changes: Mapping[str, Any]
    ) -> ExportSettings:
        """Change the settings named in ``changes`` (None: left as they are)."""
        _, directory = self._directory(client_ref, directory_ref, Permission.VAULT_WRITE)
        return settings_store.save(
            self._db, self._vault.audit, self._actor, directory.client_id, directory.id,
            directory.name, changes,
        )  # fmt: skip

    def _open(self, directory: Directory) -> GroupExport:
        connector = self._factory(directory_config(self._db, self._keys, directory))
        if Capability.GROUP_EXPORT not in connector.capabilities:
            raise NotSupported(f"groups can't be exported to directory {directory.name!r} (yet)")
        return cast(GroupExport, connector)

    # -- the vault side ----------------------------------------------------------------------
    def _vault_groups(self, directory: Directory, refs: Sequence[str]) -> list[VaultGroup]:
        with self._db.read() as conn:
            if refs:
                chosen = []
                for ref in dict.fromkeys(r.strip() for r in refs if r.strip()):
                    row = find_group_row(conn, self._actor, ref, client_id=directory.client_id)
                    if row.deleted_at is not None:
                        raise InvalidInput(f"group {row.name!r} is in the trash", field="groups")
                    chosen.append(row)
                seen = {row.id for row in chosen}
                for row in list(chosen):  # the others of the same name: duplicates need them
                    for other in group_rows.by_name(
                        conn, row.name_key, None, client_id=directory.client_id
                    ):
                        if other.id not in seen and other.deleted_at is None:
                            seen.add(other.id)
                            chosen.append(other)
            else:
                chosen = group_rows.page(
                    conn, directory.client_id, trash=False, fetch=MAX_GROUPS + 1
                )
                if len(chosen) > MAX_GROUPS:
                    raise InvalidInput(
                        f"the client has more than {MAX_GROUPS} groups: name the groups",
                        field="groups",
                    )
            objects = group_rows.objects_in(conn, directory.id)
            object_of = {g: o for o, g in objects.items()}
            held = {row.id: group_rows.members_of(conn, row.id) for row in chosen}
            ids: dict[str, set[str]] = {"person": set(), "group": set()}
            for rows in held.values():
                for m in rows:
                    ids.setdefault(m.member_type, set()).add(m.member_id)
            people: dict[str, Any] = {}
            nested: dict[str, Any] = {}
            account_of: dict[str, str] = {}
            wanted = sorted(ids["person"])
            for start in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[start : start + IN_CHUNK]
                people.update((p.id, p) for p in people_rows.in_display_order(conn, chunk))
                for person_id, accounts in people_rows.accounts_of(conn, chunk).items():
                    for account in accounts:
                        if account.directory_id == directory.id:
                            account_of[person_id] = account.object_id
            wanted = sorted(ids["group"])
            for start in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[start : start + IN_CHUNK]
                nested.update((g.id, g) for g in group_rows.in_name_order(conn, chunk))
            found: list[VaultGroup] = []
            for row in chosen:
                vault_members: list[VaultMember] = []
                for m in held[row.id]:
                    if m.member_type == "person" and m.member_id in people:
                        person = people[m.member_id]
                        vault_members.append(VaultMember(
                            "person", person.id, person.display_name or person.username,
                            account_of.get(person.id), person.deleted_at is not None,
                        ))  # fmt: skip
                    elif m.member_type == "group" and m.member_id in nested:
                        group = nested[m.member_id]
                        vault_members.append(VaultMember(
                            "group", group.id, group.name, object_of.get(group.id),
                            group.deleted_at is not None,
                        ))  # fmt: skip
                found.append(VaultGroup(
                    row.id, row.name, row.type, row.email, row.description,
                    object_of.get(row.id), tuple(vault_members),
                    row.source_directory_id == directory.id,
                ))  # fmt: skip
        return found

    def _known(
        self, directory: Directory, held: Sequence[DirectoryMember], groups: Mapping[str, str]
    ) -> dict[str, tuple[str, str]]:
        """Object id -> (kind, vault id) of the members that are people / groups of the
        vault in this directory (``groups``: object id -> vault group, every one)."""
        found: dict[str, tuple[str, str]] = {}
        people = [m.object_id for m in held if m.kind == "person"]
        with self._db.read() as conn:
            owners = people_rows.owners_of(conn, directory.id, people)
        for object_id, person_id in owners.items():
            found[object_id] = ("person", person_id)
        for member in held:
            if member.kind == "group" and member.object_id in groups:
                found[member.object_id] = ("group", groups[member.object_id])
        return found

    # -- plan --------------------------------------------------------------------------------
    async def _plan(
        self, client: str, directory: Directory, refs: Sequence[str], target: GroupExport
    ) -> ExportPlan:
        with self._db.read() as conn:
            current = settings_store.load(conn, directory.id, directory.name)
            owned = group_rows.objects_in(conn, directory.id)
        groups = self._vault_groups(directory, refs)
        linked = [g.object_id for g in groups if g.object_id]
        by_id = {g.object_id: g for g in await target.groups_by_id(linked)}
        named: list[ExportedGroup] = await target.groups_named([g.name for g in groups])
        lines, duplicates = match(
            current.rules,
            groups,
            by_id,
            named,
            owned,
            lambda kind, email: target.cannot_create(cast(GroupKind, kind), email),
        )
        created = {line.group.id: line.group.name for line in lines if line.action == "create"}
        gate = asyncio.Semaphore(READS_AT_ONCE)

        async def read(object_id: str) -> list[DirectoryMember]:
            async with gate:
                return [m async for m in target.iter_members(object_id)]

        objects = [line.target.object_id for line in lines if line.target is not None]
        listed = dict(zip(objects, await asyncio.gather(*map(read, objects)), strict=True))
        # the groups this apply links are known by their objects already
        matched = {line.group.id: line.object_id for line in lines if line.action == "matched"}
        known_groups = {**owned, **{o: g for g, o in matched.items() if o is not None}}
        for line in lines:
            held = listed.get(line.object_id or "", [])
            refused = None
            if line.target is not None:
                refused = target.cannot_change_members(line.target)
            line.group = _with_objects(line.group, matched)
            known = self._known(directory, held, known_groups)
            members(current.rules, line, held, known, created, refused)
        return ExportPlan(client, current, lines, duplicates, max(1, target.members_per_write))

    async def plan(
        self, client_ref: str, directory_ref: str, groups: Sequence[str] = ()
    ) -> ExportPlan:
        """What an apply would do (see the module docstring); writes nothing."""
        client, directory = self._directory(client_ref, directory_ref)
        target = self._open(directory)
        try:
            plan = await self._plan(client, directory, groups, target)
        finally:
            await target.close()
        plan.quarantined = screen_groups(self._vault, self._actor, directory, plan, remove=True,
                                         dry_run=True, at=utcnow())  # fmt: skip
        return plan

    async def apply(
        self,
        client_ref: str,
        directory_ref: str,
        groups: Sequence[str] = (),
        *,
        confirm_duplicates: Sequence[str] | None = None,
        approved: Collection[Key] | None = None,
    ) -> ExportPlan:
        """Plan again and carry the plan out (see the module docstring); the answer is the
        plan with what was done (``applied``, ``writes``, each line's ``error``, each
        duplicate's ``removed``). Over the change threshold nothing is written
        (``quarantined``: :mod:`credsync.sync._provision_groups_quarantine`); ``approved``
        (from quarantine) carries out only those actions, its deletes confirmed by it."""
        client, directory = self._directory(
            client_ref, directory_ref, Permission.VAULT_WRITE, writes=True
        )
        target = self._open(directory)
        try:
            plan = await self._plan(client, directory, groups, target)
            listed = {d.target.object_id for d in plan.duplicates}
            given = {i.strip() for i in confirm_duplicates or () if i.strip()}
            if approved is not None:
                confirm_duplicates = sorted(listed)  # approved deletes confirm themselves
            elif confirm_duplicates is not None and given != listed:
                shown = ", ".join(sorted(listed)) or "none"
                raise InvalidInput(
                    "the confirmation does not match the duplicates to remove now "
                    f"({shown}): plan again and confirm those",
                    field="confirm_duplicates",
                )
            remove = bool(listed) and confirm_duplicates is not None
            plan.quarantined = screen_groups(
                self._vault,
                self._actor,
                directory,
                plan,
                remove=remove,
                approved=approved,
                at=utcnow(),
            )
            run = applying.Apply(self._vault, self._actor, directory, target)
            if plan.quarantined is None:
                await run.carry_out(plan, remove=remove)
            plan.applied, plan.writes = True, run.writes
            return plan
        finally:
            await target.close()
