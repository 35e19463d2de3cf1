"""The import of operators from the MSP's own tenant (issue 16): search its users and groups,
select users, map groups to a role and client access, and synchronise.

A sync (:meth:`OperatorImport.sync`, admin) reads the tenant as the connected app (its
client secret; the app needs ``User.Read.All`` and ``GroupMember.Read.All`` or
``Group.Read.All``, application permissions) and then, in this order:

1. **Wanted**: the selected users (with the sync's role and client access) and every member
   of every mapped group (nested groups followed), with the group's role and client access.
   A user wanted by several mapped groups gets the first group's in the list's order (by
   name); a group's mapping wins over the selection.
2. **Made or updated**: a wanted user who is enabled in the tenant and not yet an operator
   becomes one, named by their user principal name, with a random password nobody knows
   (they sign in with Microsoft), linked to their object id (source ``import``). One an
   earlier import made gets the role and client access of its mapping when they changed, and
   is enabled again when a sync had disabled it. An operator an admin linked by hand is left
   as it is (its role is the admin's business). A name taken by another operator: skipped,
   said in the report.
3. **Disabled, for review**: every operator linked to a user who is deleted in the tenant
   (no longer found) or disabled there is disabled in the vault (its sessions end, its tokens
   stop) and marked for review with the reason (``credsync operator microsoft list``). An
   operator the vault refuses to disable (the last admin) is said in the report, not
   disabled.

Every change goes through the vault's services (audited there: ``operator.add``,
``operator.identity_link``, ``operator.disable``...). ``dry_run`` reports and changes nothing.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from typing_extensions import TypedDict

from credsync.connectors import registry
from credsync.connectors.people_source import DirectoryPerson, PeopleSource
from credsync.errors import CredsyncError, InvalidInput
from credsync.types import Secret
from credsync.vault import KeyRing, Vault
from credsync.vault.auth import Actor, Permission

__all__ = ["MAX_RESULTS", "ImportLineJson", "OperatorImport", "OperatorImportReport"]

MAX_RESULTS = 500


class ImportLineJson(TypedDict):
    action: str  # created | updated | enabled | disabled | unchanged | skipped
    operator: str
    username: str
    object_id: str
    reason: str


@dataclass
class OperatorImportReport:
    dry_run: bool
    lines: list[ImportLineJson] = field(default_factory=list)

    def add(self, action: str, operator: str, person_or_id: Any, reason: str = "") -> None:
        if isinstance(person_or_id, DirectoryPerson):
            username, object_id = person_or_id.username, person_or_id.object_id
        else:
            username, object_id = "", str(person_or_id)
        self.lines.append(
            ImportLineJson(
                action=action, operator=operator, username=username, object_id=object_id,
                reason=reason,
            )
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for line in self.lines:
            counts[line["action"]] = counts.get(line["action"], 0) + 1
        return {"dry_run": self.dry_run, "counts": counts, "lines": self.lines}


@dataclass(frozen=True)
class _Want:
    role: str
    clients: tuple[str, ...] | None
    why: str  # "selected" or the group's name


class OperatorImport:
    def __init__(self, vault: Vault, keys: KeyRing) -> None:
        self._vault = vault
        self._keys = keys

    def _source(self) -> PeopleSource:
        config = self._vault.operator_sign_in.provider_config(self._keys)
        return registry.operator_directory(config)

    # --- search ------------------------------------------------------------------------------
    def search(self, actor: Actor, query: str, *, groups: bool = False) -> list[dict[str, Any]]:
        """The tenant's users (and groups) a query finds (the directory's own search: words,
        or a filter), at most :data:`MAX_RESULTS`."""
        actor.require(Permission.ADMIN)
        return asyncio.run(self._search(query, groups))

    async def _search(self, query: str, groups: bool) -> list[dict[str, Any]]:
        source = self._source()
        found: list[dict[str, Any]] = []
        try:
            async for person in source.search_people(query):
                found.append({"kind": "user", "object_id": person.object_id,
                              "name": person.username, "display_name": person.display_name,
                              "enabled": person.enabled})  # fmt: skip
                if len(found) >= MAX_RESULTS:
                    return found
            if groups:
                async for group in source.search_groups(query):
                    found.append({"kind": "group", "object_id": group.object_id,
                                  "name": group.name, "display_name": group.name,
                                  "enabled": True})  # fmt: skip
                    if len(found) >= MAX_RESULTS:
                        break
        finally:
            await source.close()
        return found

    # --- group mappings ----------------------------------------------------------------------
    def map_group(
        self, actor: Actor, group_id: str, role: str, clients: list[str] | None
    ) -> dict[str, Any]:
        """Map a group of the tenant (read for its name) to a role and client access."""
        actor.require(Permission.ADMIN)
        found = asyncio.run(self._read_group(group_id))
        if found is None:
            raise InvalidInput(f"the tenant has no group {group_id!r}", field="group_id")
        return dict(
            self._vault.operator_groups.put(actor, group_id, found, role, clients).to_json()
        )

    async def _read_group(self, group_id: str) -> str | None:
        source = self._source()
        try:
            groups = await source.read_groups([group_id.strip().lower()])
        finally:
            await source.close()
        return groups[0].name if groups else None

    # --- sync --------------------------------------------------------------------------------
    def sync(
        self,
        actor: Actor,
        user_ids: Sequence[str] = (),
        *,
        role: str = "viewer",
        clients: list[str] | None = None,
        dry_run: bool = False,
    ) -> OperatorImportReport:
        actor.require(Permission.ADMIN)
        if len(user_ids) > 5000:
            raise InvalidInput("at most 5000 users at once", field="ids")
        return asyncio.run(self._sync(actor, user_ids, role, clients, dry_run))

    async def _wanted(
        self, source: PeopleSource, actor: Actor, user_ids: Sequence[str], role: str,
        clients: list[str] | None,
    ) -> dict[str, _Want]:  # fmt: skip
        wanted: dict[str, _Want] = {}
        for group in self._vault.operator_groups.list(actor):
            for member in await _members(source, group.group_id):
                wanted.setdefault(member, _Want(group.role, group.clients, group.group_name))
        chosen = None if clients is None else tuple(clients)
        for user_id in user_ids:
            wanted.setdefault(user_id.strip().lower(), _Want(role, chosen, "selected"))
        return wanted

    async def _sync(
        self, actor: Actor, user_ids: Sequence[str], role: str, clients: list[str] | None,
        dry_run: bool,
    ) -> OperatorImportReport:  # fmt: skip
        report = OperatorImportReport(dry_run)
        source = self._source()
        try:
            wanted = await self._wanted(source, actor, user_ids, role, clients)
            linked = {x.object_id: x for x in self._vault.operator_sign_in.links(actor)}
            ids = sorted(set(wanted) | set(linked))
            people = {p.object_id.lower(): p for p in await source.read_people(ids)} if ids else {}
        finally:
            await source.close()
        operators = {op.name: op for op in self._vault.operators.list(actor)}
        for object_id in ids:
            person = people.get(object_id)
            link = linked.get(object_id)
            gone = "deleted in the tenant" if person is None else (
                "disabled in the tenant" if not person.enabled else ""
            )  # fmt: skip
            try:
                if gone:
                    if link is not None:
                        self._disable(actor, report, link.operator, person or object_id, gone,
                                      operators, dry_run)  # fmt: skip
                    else:
                        report.add("skipped", "", person or object_id, gone)
                elif link is None:
                    self._create(actor, report, person, wanted[object_id], operators, dry_run)
                else:
                    self._update(actor, report, link, person, wanted.get(object_id), operators,
                                 dry_run)  # fmt: skip
            except CredsyncError as exc:  # one refusal does not stop the others
                report.add("skipped", link.operator if link else "", person or object_id, str(exc))
        return report

    def _create(
        self, actor: Actor, report: OperatorImportReport, person: Any, want: _Want,
        operators: dict[str, Any], dry_run: bool,
    ) -> None:  # fmt: skip
        name = person.username[:64]
        if any(n.lower() == name.lower() for n in operators):
            report.add("skipped", name, person, "an operator of that name exists: link it")
            return
        if not dry_run:
            vault = self._vault
            vault.operators.add(
                actor, name, Secret(secrets.token_urlsafe(32)), want.role,
                None if want.clients is None else list(want.clients),
            )  # fmt: skip
            vault.operator_sign_in.link(
                actor, name, person.object_id, username=person.username, source="import"
            )
        report.add("created", name, person, f"{want.role} ({want.why})")

    def _update(
        self, actor: Actor, report: OperatorImportReport, link: Any, person: Any,
        want: _Want | None, operators: dict[str, Any], dry_run: bool,
    ) -> None:  # fmt: skip
        op = operators.get(link.operator)
        changes: list[str] = []
        if op is not None and op.disabled_at is not None and link.review:
            changes.append("enabled again")
            if not dry_run:
                self._vault.operators.set_disabled(actor, op.name, False)
                self._vault.operator_groups.mark_review(actor, op.id, None)
        if op is not None and want is not None and link.source == "import":
            if op.role != want.role:
                changes.append(f"role {op.role} -> {want.role}")
                if not dry_run:
                    self._vault.operators.set_role(actor, op.name, want.role)
            have = None if op.clients is None else sorted(c[0] for c in op.clients)
            new = None if want.clients is None else sorted(want.clients)
            if not op.admin and have != new:
                changes.append("client access")
                if not dry_run:
                    self._vault.operators.set_clients(actor, op.name, new)
        report.add("updated" if changes else "unchanged", link.operator, person, ", ".join(changes))

    def _disable(
        self, actor: Actor, report: OperatorImportReport, name: str, person_or_id: Any,
        reason: str, operators: dict[str, Any], dry_run: bool,
    ) -> None:  # fmt: skip
        op = operators.get(name)
        if op is None or op.disabled_at is not None:
            report.add("unchanged", name, person_or_id, f"{reason}; already disabled")
            return
        if not dry_run:
            self._vault.operators.set_disabled(actor, name, True)
            self._vault.operator_groups.mark_review(actor, op.id, reason)
        report.add("disabled", name, person_or_id, reason)


async def _members(source: PeopleSource, group_id: str) -> list[str]:
    """The object ids of a group's users, nested groups followed (each group once)."""
    found: list[str] = []
    seen = {group_id}
    todo = [group_id]
    while todo:
        async for member in source.iter_members(todo.pop()):
            if member.kind == "person":
                found.append(member.object_id.lower())
            elif member.object_id not in seen:
                seen.add(member.object_id)
                todo.append(member.object_id)
    return list(dict.fromkeys(found))
