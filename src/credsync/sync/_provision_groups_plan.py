"""The plan of a group export (pure: vault state + directory state in, actions out); the
rules are :mod:`credsync.sync.provision_groups`'s docstring, written out here once.

:func:`match` gives each vault group its directory object (the one it is linked to, one
matched by the rule, one to create, or none, and why), and the duplicates to remove;
:func:`members` then says, per group, which members to add and remove on the side that is
not membership's source of truth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from typing_extensions import TypedDict

from credsync.connectors.group_export import ExportedGroup
from credsync.connectors.people_source import DirectoryMember
from credsync.vault.validate import name_key

__all__ = [
    "Action",
    "Duplicate",
    "GroupExportDuplicateJson",
    "GroupExportLineJson",
    "GroupExportMemberJson",
    "Line",
    "MemberChange",
    "Rules",
    "VaultGroup",
    "VaultMember",
    "match",
    "members",
    "nickname_for",
]

# linked: the group's object already; matched: found by the rule, linked by the apply;
# create: made by the apply; not_creatable: the directory can't create its type; no_match:
# nothing matches and creating is off (or another group of that name exists).
Action = Literal["linked", "matched", "create", "not_creatable", "no_match"]
MembershipSource = Literal["vault", "directory"]


@dataclass(frozen=True)
class Rules:
    matching: Literal["type_and_email", "name"]
    create_missing: bool
    remove_duplicates: bool
    membership_source: MembershipSource


@dataclass(frozen=True)
class VaultMember:
    """A member of a vault group, with its object in the directory (None: it has none)."""

    kind: Literal["person", "group"]
    vault_id: str
    name: str
    object_id: str | None
    in_trash: bool = False


@dataclass(frozen=True)
class VaultGroup:
    id: str
    name: str
    type: str  # security | microsoft365
    email: str
    description: str
    object_id: str | None  # its object in this directory (group_objects), if linked
    members: tuple[VaultMember, ...] = ()
    # imported from this directory (its source of truth): its members come from it too
    imported: bool = False


class GroupExportMemberJson(TypedDict):
    """A member to add or remove: ``vault_id`` the person / group of the vault (null: the
    directory's object is none of the vault's), ``object_id`` its object in the directory
    (null: a group the apply creates first)."""

    kind: str
    name: str
    vault_id: str | None
    object_id: str | None


class GroupExportLineJson(TypedDict):
    group_id: str
    name: str
    type: str
    action: Action
    object_id: str | None
    reason: str | None
    membership_source: MembershipSource
    members_to_add: list[GroupExportMemberJson]
    members_to_remove: list[GroupExportMemberJson]
    members_outside: list[str]
    error: str | None


class GroupExportDuplicateJson(TypedDict):
    object_id: str
    name: str
    group_id: str
    removed: bool


@dataclass
class MemberChange:
    kind: str
    name: str
    vault_id: str | None
    object_id: str | None
    # a group member created by this apply: its object id is known once it is made
    pending_group: str | None = None

    def to_json(self) -> GroupExportMemberJson:
        return GroupExportMemberJson(
            kind=self.kind, name=self.name, vault_id=self.vault_id, object_id=self.object_id
        )


@dataclass
class Line:
    group: VaultGroup
    action: Action
    target: ExportedGroup | None = None
    reason: str | None = None
    membership_source: MembershipSource = "vault"
    add: list[MemberChange] = field(default_factory=list)
    remove: list[MemberChange] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def object_id(self) -> str | None:
        return self.target.object_id if self.target is not None else None

    def writes(self, per_write: int) -> int:
        """Writes the apply makes for this line (directory and vault), the directory taking
        ``per_write`` members in one."""
        count = {"matched": 1, "create": 2}.get(self.action, 0)  # link (+ the create)
        if self.membership_source == "vault" or self.action == "create":
            adds = len(self.add)
            return count + (adds + per_write - 1) // per_write + len(self.remove)
        return count + len(self.add) + len(self.remove)

    def to_json(self) -> GroupExportLineJson:
        return GroupExportLineJson(
            group_id=self.group.id,
            name=self.group.name,
            type=self.group.type,
            action=self.action,
            object_id=self.object_id,
            reason=self.reason,
            membership_source=self.membership_source,
            members_to_add=[m.to_json() for m in self.add],
            members_to_remove=[m.to_json() for m in self.remove],
            members_outside=list(self.outside),
            error=self.error,
        )


@dataclass
class Duplicate:
    target: ExportedGroup
    group_id: str
    removed: bool = False

    def to_json(self) -> GroupExportDuplicateJson:
        return GroupExportDuplicateJson(
            object_id=self.target.object_id,
            name=self.target.name,
            group_id=self.group_id,
            removed=self.removed,
        )


def nickname_for(group: VaultGroup) -> str:
    """The mail alias wished for a new group: the e-mail's local part, else the name (the
    connector takes out what its directory refuses)."""
    if group.email and "@" in group.email:
        return group.email.split("@", 1)[0]
    return group.name


def _fits(rules: Rules, group: VaultGroup, candidate: ExportedGroup) -> bool:
    if rules.matching == "name":
        return True
    return (
        candidate.type == group.type
        and candidate.email.casefold() == group.email.casefold()
        # a security group the vault has without an e-mail is not a mail-enabled one
        and (group.type != "security" or candidate.mail_enabled == bool(group.email))
    )


def _oldest_first(found: Sequence[ExportedGroup]) -> list[ExportedGroup]:
    return sorted(found, key=lambda g: (g.created or "~", g.object_id))


def match(
    rules: Rules,
    groups: Sequence[VaultGroup],
    by_id: Mapping[str, ExportedGroup],
    named: Sequence[ExportedGroup],
    owned: Mapping[str, str],
    cannot_create: Callable[[str, str], str | None],
) -> tuple[list[Line], list[Duplicate]]:
    """Each group's line (its object and the action) and the duplicates to remove.

    ``by_id``: the directory's groups that the given groups are linked to (one gone from the
    directory is absent); ``named``: its groups with the names of the given groups; ``owned``:
    object id -> vault group, for every object of the directory linked to a vault group;
    ``cannot_create(type, email)``: why the directory can't create such a group, or None."""
    by_name: dict[str, list[ExportedGroup]] = {}
    for found in _oldest_first(named):
        by_name.setdefault(name_key(found.name), []).append(found)
    taken = set(owned)
    lines: list[Line] = []
    for group in groups:
        linked = by_id.get(group.object_id) if group.object_id else None
        if linked is not None:
            lines.append(Line(group, "linked", linked))
            continue
        gone = (
            "the group it was linked to is no longer in the directory; " if group.object_id else ""
        )
        same_name = by_name.get(name_key(group.name), [])
        free = [g for g in same_name if g.object_id not in taken]
        fitting = [g for g in free if _fits(rules, group, g)]
        if fitting:
            chosen = fitting[0]
            taken.add(chosen.object_id)
            rule = "name" if rules.matching == "name" else "name, type and e-mail"
            lines.append(Line(group, "matched", chosen, f"{gone}matched by {rule}"))
            continue
        why_not = cannot_create(group.type, group.email)
        if not rules.create_missing and same_name:
            rule = "by name" if rules.matching == "name" else "by type and e-mail"
            reason = (
                f"{gone}no group of the directory matches {rule} (free of other vault "
                f"groups); {len(same_name)} have this name, and creating a group when none "
                "matches is off"
            )
            lines.append(Line(group, "no_match", None, reason))
        elif why_not is not None:
            lines.append(Line(group, "not_creatable", None, f"{gone}{why_not}"))
        else:
            lines.append(Line(group, "create", None, f"{gone}no group matches: created"))
    duplicates: list[Duplicate] = []
    if rules.remove_duplicates:
        for line in lines:
            if line.target is None:
                continue
            for other in by_name.get(name_key(line.target.name), []):
                if other.object_id not in taken and other.object_id != line.target.object_id:
                    taken.add(other.object_id)
                    duplicates.append(Duplicate(other, line.group.id))
    return lines, duplicates


def members(
    rules: Rules,
    line: Line,
    current: Sequence[DirectoryMember],
    known: Mapping[str, tuple[str, str]],
    created: Mapping[str, str],
    refused: str | None = None,
) -> None:
    """Fill the line's member changes. ``current``: the directory object's direct members
    (none for a group to create); ``known``: object id -> (kind, vault id) of the people and
    groups of the vault with an object in this directory; ``created``: vault group id ->
    its name, for the groups this apply creates; ``refused``: why the directory can't
    change the object's members (None: it can)."""
    if line.action not in ("linked", "matched", "create"):
        return
    group = line.group
    direction: MembershipSource = "vault" if line.action == "create" else rules.membership_source
    if group.imported and line.action == "linked" and direction == "vault":
        direction = "directory"
        note = "imported from this directory: its members come from it"
        line.reason = f"{line.reason}; {note}" if line.reason else note
    line.membership_source = direction
    if direction == "vault":
        if refused is not None:
            line.reason = f"{line.reason}; {refused}" if line.reason else refused
            return
        wanted: dict[str, VaultMember] = {}
        for member in group.members:
            if member.in_trash:
                continue
            if member.kind == "group" and group.type == "microsoft365":
                line.outside.append(f"{member.name} (a Microsoft 365 group can't hold groups)")
            elif member.object_id is not None:
                wanted[member.object_id] = member
            elif member.kind == "group" and member.vault_id in created:
                line.add.append(
                    MemberChange("group", member.name, member.vault_id, None, member.vault_id)
                )
            else:
                line.outside.append(f"{member.name} (not in this directory)")
        present = {m.object_id for m in current}
        for object_id, member in wanted.items():
            if object_id not in present:
                line.add.append(MemberChange(member.kind, member.name, member.vault_id, object_id))
        for held in current:
            if held.object_id not in wanted:
                vault = known.get(held.object_id)
                line.remove.append(
                    MemberChange(
                        held.kind,
                        held.name or held.object_id,
                        vault[1] if vault else None,
                        held.object_id,
                    )
                )
        return
    # the directory is the source of truth: the vault group takes its members
    mapped: dict[str, DirectoryMember] = {}
    for held in current:
        vault = known.get(held.object_id)
        if vault is None or vault[0] != held.kind:
            line.outside.append(f"{held.name or held.object_id} (not in the vault)")
        else:
            mapped[vault[1]] = held
    have = {m.vault_id: m for m in group.members}
    for vault_id, held in mapped.items():
        if vault_id not in have:
            line.add.append(
                MemberChange(held.kind, held.name or held.object_id, vault_id, held.object_id)
            )
    for vault_id, member in have.items():
        if vault_id not in mapped:
            line.remove.append(MemberChange(member.kind, member.name, vault_id, member.object_id))
