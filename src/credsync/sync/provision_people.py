"""Provisioning a client's people to one of its directories (issue 16, "Provision to Office
365", the people part): plan, then apply.

``plan`` reads the directory (its domains, licences and users) and the vault (the people of
the selection, their accounts in this directory, their primary credentials' versions, what
provisioning wrote before) and says per person what an apply would write
(:mod:`credsync.sync.provision_plan` has the rules). It writes nothing.

``apply`` makes the plan again and executes it: per person one ordered group of writes
(create or update, with the usage location; then the licence), many people's groups sharing
``$batch`` requests and honouring throttling (Retry-After) through the connector. The
passwords are read from the vault at apply, never kept in the plan. Then, per person, in
transactions of :data:`CHUNK` people: the person is linked to the user (created or matched:
their account in this directory), provisioning's row records the password version set, and
an audit entry (``person.provision``: the directory, the user, what was done or the
directory's refusal) is appended. A second apply finds nothing to write.

**Who may**: ``plan`` needs ``vault.read`` and ``directory.setup`` on the directory's client
(it reads the directory with the client's bind credential); ``apply`` also ``vault.write``
(it writes the customer's directory and the vault's links), as a relay's apply does. The
passwords it sends are the vault's own, as a relay's pushes are: no ``secret.reveal`` is
needed, as none is shown to the operator. A client outside the operator's client access is
NotFound.

**The selection**: every person of the client (not in the trash), or the people given by id,
or the members of a group (nested groups' members too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy.engine import Connection

from credsync.connectors.base import Capability
from credsync.connectors.provisioning import PeopleTarget, TargetFacts, UserWrite, WriteResult
from credsync.errors import (
    CredsyncError,
    DirectoryUnreachable,
    InvalidInput,
    NotSupported,
    TransientConnectorError,
)
from credsync.storage import credentials as credential_rows
from credsync.storage import people as people_rows
from credsync.storage import provisioning as provision_rows
from credsync.storage.people import PersonRow
from credsync.sync.connect import DirectoryService, directory_config
from credsync.sync.federation import DomainFederationService
from credsync.sync.provision_people_report import PersonPlan, ProvisionReport
from credsync.sync.provision_plan import PlanContext, plan_person
from credsync.sync.provision_quarantine import screen_people
from credsync.vault._time import utcnow
from credsync.vault.auth import Permission
from credsync.vault.clients import find_client_row
from credsync.vault.directories import Directory
from credsync.vault.people_records import find_person_row
from credsync.vault.provisioning import ProvisioningSettings, load_settings
from credsync.vault.secrets import read_secrets

__all__ = ["CHUNK", "PeopleProvision", "ProvisionSelection"]

CHUNK = 200  # people recorded per vault transaction after their writes
ROUNDS = 4  # tries of a person whose writes stay throttled past the connector's retries
_PAGE = 1000
_IN_LIST = 500


@dataclass(frozen=True)
class ProvisionSelection:
    """Whom: ``people`` (ids or id prefixes), or the members of ``group`` (nested groups'
    too), or (neither) every person of the client."""

    people: tuple[str, ...] = ()
    group: str | None = None

    def check(self) -> None:
        if self.people and self.group:
            raise InvalidInput("choose people or a group, not both", field="selection")


class PeopleProvision(DirectoryService):
    # -- the directory and the people ---------------------------------------------------------
    def _directory(self, client_ref: str, directory_ref: str) -> tuple[str, Directory]:
        client, directory = self._client_directory(client_ref, directory_ref)
        return client.name, directory

    def _open(self, directory: Directory) -> PeopleTarget:
        connector = self._factory(directory_config(self._db, self._keys, directory))
        if Capability.PROVISION not in connector.capabilities:
            raise NotSupported(f"people can't be provisioned to directory {directory.name!r}")
        return cast(PeopleTarget, connector)

    def _people(
        self, conn: Connection, client_id: str, chosen: ProvisionSelection
    ) -> list[PersonRow]:
        if chosen.people:
            found: dict[str, PersonRow] = {}
            for ref in chosen.people:
                row = find_person_row(conn, self._actor, ref, client_id=client_id)
                if row.deleted_at is not None:
                    raise InvalidInput(f"person {ref!r} is in the trash", field="people")
                found[row.id] = row
            return list(found.values())
        if chosen.group is not None:
            return self._members(client_id, chosen.group)
        out: list[PersonRow] = []
        after: tuple[str, str] | None = None
        while True:
            page = people_rows.page(conn, client_id, trash=False, fetch=_PAGE, after=after)
            out.extend(page)
            if len(page) < _PAGE:
                return out
            after = (page[-1].display_key, page[-1].id)

    def _members(self, client_id: str, group_ref: str) -> list[PersonRow]:
        groups = self._vault.groups
        group = groups.get(self._actor, group_ref, client_ref=client_id)
        seen, queue, person_ids = {group.id}, [group.id], []
        while queue:
            for member in groups.members(self._actor, queue.pop(0)):
                if member["in_trash"]:
                    continue
                if member["type"] == "group" and member["id"] not in seen:
                    seen.add(member["id"])
                    queue.append(member["id"])
                elif member["type"] == "person":
                    person_ids.append(member["id"])
        with self._db.read() as conn:
            return people_rows.in_display_order(conn, list(dict.fromkeys(person_ids)))

    # -- plan ---------------------------------------------------------------------------------
    def _check(self, settings: ProvisioningSettings, facts: TargetFacts, name: str) -> None:
        if not settings.upn_suffix:
            raise InvalidInput(
                f"set the principal name suffix of {name!r} first", field="upn_suffix"
            )
        domain = facts.domain(settings.upn_suffix)
        if domain is None or not domain.verified:
            verified = ", ".join(d.name for d in facts.domains if d.verified) or "none"
            raise InvalidInput(
                f"{settings.upn_suffix!r} is not a verified domain of the directory "
                f"(verified: {verified})",
                field="upn_suffix",
            )
        if settings.licence and facts.licence(settings.licence) is None:
            known = ", ".join(x.part_number for x in facts.licences) or "none"
            raise InvalidInput(
                f"the directory has no licence {settings.licence!r} (it has: {known})",
                field="licence",
            )

    async def _plan(
        self,
        client_ref: str,
        directory_ref: str,
        chosen: ProvisionSelection,
        target: PeopleTarget | None = None,
    ) -> tuple[ProvisionReport, Directory, PeopleTarget]:
        chosen.check()
        client, directory = self._directory(client_ref, directory_ref)
        with self._db.read() as conn:
            settings = load_settings(provision_rows.settings_of(conn, directory.id))
        target = target or self._open(directory)
        try:
            facts = await target.target_facts()
            self._check(settings, facts, directory.name)
            users = [u async for u in target.iter_target_users()]
            licence = facts.licence(settings.licence) if settings.licence else None
            domain = facts.domain(settings.upn_suffix)
            people, accounts, credentials, provisioned = self._vault_state(directory, chosen)
            linked_to = {
                a.object_id: a.person_id
                for found in accounts.values()
                for a in found
                if a.directory_id == directory.id
            }
            ctx = PlanContext(
                directory_id=directory.id,
                client_id=directory.client_id,
                settings=settings,
                suffix_federated=bool(domain and domain.federated),
                licence=licence,
                by_id={u.object_id: u for u in users},
                by_name={u.username.lower(): u for u in users},
                provisioned=provisioned,
                linked_to=linked_to,
                seats=licence.free if licence else 0,
            )
            plans = []
            if not chosen.people and chosen.group is None:
                plans.extend(self._removals(people, provisioned, ctx))
            for person in people:
                mine = next(
                    (a.object_id for a in accounts[person.id] if a.directory_id == directory.id),
                    None,
                )
                cred = credentials.get(person.credential_id or "")
                plans.append(plan_person(ctx, person, mine, cred))
            report = ProvisionReport(client, directory.name, plans,
                                     licences_free=licence.free if licence else None)  # fmt: skip
            report.writes = sum(_planned_writes(p) for p in plans)
            return report, directory, target
        except BaseException:
            await target.close()
            raise

    def _vault_state(
        self, directory: Directory, chosen: ProvisionSelection
    ) -> tuple[
        list[PersonRow],
        dict[str, list[people_rows.AccountRow]],
        dict[str, tuple[str, int]],
        dict[str, provision_rows.ProvisionedRow],
    ]:
        """The selection's people, their accounts, their primary credentials' (id, secret
        version) by credential id, and provisioning's rows of the directory."""
        with self._db.read() as conn:
            people = self._people(conn, directory.client_id, chosen)
            accounts = people_rows.accounts_of(conn, [p.id for p in people])
            credentials: dict[str, tuple[str, int]] = {}
            wanted = [p.credential_id for p in people if p.credential_id]
            for start in range(0, len(wanted), _IN_LIST):
                for row in credential_rows.in_title_order(conn, wanted[start : start + _IN_LIST]):
                    if row.deleted_at is None:
                        credentials[row.id] = (row.id, row.secret_version)
            provisioned = provision_rows.of_directory(conn, directory.id)
        return people, accounts, credentials, provisioned

    def _removals(
        self,
        people: Sequence[PersonRow],
        provisioned: Mapping[str, provision_rows.ProvisionedRow],
        ctx: PlanContext,
    ) -> list[PersonPlan]:
        """The users provisioning created whose person is in the trash or purged (only for
        a plan of every person: a selection says nothing of the others)."""
        live = {p.id for p in people}
        out: list[PersonPlan] = []
        with self._db.read() as conn:
            for row in provisioned.values():
                user = ctx.by_id.get(row.object_id)
                if not row.created or row.person_id in live or user is None:
                    continue
                person = people_rows.get(conn, row.person_id)
                if person is not None and person.client_id != ctx.client_id:
                    continue
                name = person.display_name if person is not None else "(purged person)"
                plan = PersonPlan(row.person_id, name, user.username, user.object_id)
                plan.remove, plan.outcome = True, "remove"
                plan.reason = "the person is in the trash" if person else "the person was purged"
                out.append(plan)
        return out

    async def plan(
        self, client_ref: str, directory_ref: str, chosen: ProvisionSelection | None = None
    ) -> ProvisionReport:
        """What an apply would do (reads only): vault.read and directory.setup."""
        self._actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP)
        report, directory, target = await self._plan(
            client_ref, directory_ref, chosen or ProvisionSelection()
        )
        await target.close()
        screen_people(self._vault, self._actor, directory, report, dry_run=True, at=utcnow())
        return report

    # -- apply --------------------------------------------------------------------------------
    async def apply(
        self,
        client_ref: str,
        directory_ref: str,
        chosen: ProvisionSelection | None = None,
        *,
        approved: Mapping[str, str] | None = None,
    ) -> ProvisionReport:
        """Plan and execute (see the module docstring): vault.read, vault.write and
        directory.setup; the client must have directory sync on. Over the change threshold
        nothing is written (:mod:`credsync.sync.provision_quarantine`); ``approved`` (person
        id -> action, from quarantine) carries out only those people's plans."""
        self._actor.require(
            Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP
        )
        with self._db.read() as conn:
            client = find_client_row(conn, client_ref, self._actor)
        if not client.directory_sync:
            raise InvalidInput(
                f"client {client.name!r} has directory sync off: provisioning writes nothing "
                "for it (turn it on first)",
                field="client",
            )
        report, directory, target = await self._plan(
            client_ref, directory_ref, chosen or ProvisionSelection()
        )
        report.applied, report.writes = True, 0
        try:
            screen_people(self._vault, self._actor, directory, report, approved=approved,
                          at=utcnow())  # fmt: skip
            todo = [p for p in report.people if p.writes and p.outcome != "skipped"]
            for start in range(0, len(todo), CHUNK * 5):
                part = todo[start : start + CHUNK * 5]
                self._secrets(directory, part)
                results = await _run(target, part, getattr(target, "max_in_flight", 40))
                for offset in range(0, len(part), CHUNK):
                    chunk = part[offset : offset + CHUNK]
                    report.writes += self._record(directory, chunk, results)
            if any(p.outcome == "created" for p in report.people):
                await self._federated_identities(directory, target)
        finally:
            await target.close()
        for plan in report.people:
            if not plan.writes and plan.outcome == "unchanged" and plan.link:
                self._record(directory, [plan], {})
        return report

    async def _federated_identities(self, directory: Directory, target: PeopleTarget) -> None:
        """Users created in a domain the vault federates: their identities recorded (the
        immutable id was given at create), as ``federation enable`` records them."""
        with self._db.read() as conn:
            suffix = load_settings(provision_rows.settings_of(conn, directory.id)).upn_suffix
        record = self._vault.federated_domains.resolve(suffix) if suffix else None
        if record is None or record.client_id != directory.client_id:
            return
        if record.state != "federated" or record.directory_id != directory.id:
            return
        service = DomainFederationService(self._vault, self._keys, self._actor,
                                          factory=self._factory)  # fmt: skip
        await service.refresh_identities(record.client_id, record.domain, opened=target)

    def _secrets(self, directory: Directory, part: Sequence[PersonPlan]) -> None:
        wanted = {p.password[0]: p.password[1] for p in part if p.password is not None}
        if not wanted:
            return
        with self._db.read() as conn:
            found = read_secrets(conn, self._keys, directory.client_id, wanted)
        for plan in part:
            if plan.password is not None:
                plan.secret = found[plan.password[0]]

    def _record(
        self, directory: Directory, chunk: Sequence[PersonPlan], results: dict[str, WriteResult]
    ) -> int:
        """Link, remember and audit ``chunk`` (one transaction); the writes made."""
        writes, now, by = 0, utcnow(), self._actor.name
        with self._db.write() as conn, self._vault.audit.batched(conn):
            provisioned = provision_rows.of_directory(conn, directory.id) if chunk else {}
            rows: list[provision_rows.ProvisionedRow] = []
            removed: list[str] = []
            for plan in chunk:
                result = results.get(plan.person_id)
                plan.secret = None
                if result is not None:
                    writes += result.writes
                    plan.done = list(result.done)
                    plan.object_id = result.object_id or plan.object_id
                    if result.error:
                        plan.outcome, plan.reason = "refused", result.error
                    elif plan.remove:
                        plan.outcome = "removed"
                    else:
                        plan.outcome = "created" if plan.create else "updated"
                if plan.object_id is None:
                    continue
                if plan.remove:
                    if plan.outcome == "removed":
                        people_rows.unlink_account(conn, plan.person_id, directory.id)
                        removed.append(plan.object_id)
                    self._audit(conn, directory, plan)
                    continue
                if plan.link and people_rows.by_account(conn, directory.id, plan.object_id) is None:
                    people_rows.link_account(
                        conn,
                        people_rows.AccountRow(
                            plan.person_id, directory.id, plan.object_id, now, by
                        ),
                    )
                before = provisioned.get(plan.object_id)
                credential = before.credential_id if before else None
                version = before.secret_version if before else None
                if plan.password is not None and "password" in plan.done:
                    credential, version = plan.password
                created = bool(before.created) if before else "created" in plan.done
                if created or version is not None:
                    rows.append(provision_rows.ProvisionedRow(
                        directory.id, plan.object_id, plan.person_id, int(created),
                        credential, version, now, by,
                    ))  # fmt: skip
                if result is not None or plan.link:
                    self._audit(conn, directory, plan)
            provision_rows.upsert_provisioned(conn, rows)
            provision_rows.forget_users(conn, directory.id, removed)
        return writes

    def _audit(self, conn: Connection, directory: Directory, plan: PersonPlan) -> None:
        self._vault.audit.append(
            conn,
            self._actor,
            "person.provision",
            target_type="person",
            target_id=plan.person_id,
            client_id=directory.client_id,
            details={
                "directory": directory.name,
                "object_id": plan.object_id,
                "username": plan.username,
                "done": plan.done or (["linked"] if plan.link else []),
                "refused": plan.reason if plan.outcome == "refused" else None,
            },
        )


def _planned_writes(plan: PersonPlan) -> int:
    """Directory requests the plan makes for ``plan``."""
    if plan.remove:
        return 1
    if plan.create:
        return 1 + bool(plan.licence)
    return bool(plan.fields or plan.password) + bool(plan.licence)


def _write_of(plan: PersonPlan, before: WriteResult | None) -> UserWrite | None:
    """The writes of ``plan`` still to do after ``before`` (a try that stayed throttled):
    all of them, or the licence only when the create or update before it landed."""
    if before is not None and before.done and plan.licence and "licensed" not in before.done:
        return UserWrite(username=plan.username, object_id=before.object_id, licence=plan.licence)
    if before is not None and before.done:
        return None
    return UserWrite(
        username=plan.username,
        object_id=None if plan.create else plan.object_id,
        fields=plan.fields,
        password=plan.secret,
        immutable_id=plan.immutable_id,
        licence=plan.licence,
    )


def _merged(before: WriteResult | None, after: WriteResult) -> WriteResult:
    if before is None:
        return after
    return WriteResult(
        after.object_id or before.object_id,
        [*before.done, *after.done],
        after.error,
        before.writes + after.writes,
        after.throttled,
    )


async def _one(target: PeopleTarget, plan: PersonPlan, before: WriteResult | None) -> WriteResult:
    try:
        if plan.remove and plan.object_id is not None:
            return await target.remove_user(plan.object_id)
        write = _write_of(plan, before)
        if write is None:
            return WriteResult(before.object_id if before else plan.object_id)
        return await target.write_user(write)
    except CredsyncError as exc:  # one person's failure is their line
        busy = isinstance(exc, DirectoryUnreachable | TransientConnectorError)
        return WriteResult(plan.object_id, error=str(exc), throttled=busy)


async def _run(
    target: PeopleTarget, part: Sequence[PersonPlan], in_flight: int
) -> dict[str, WriteResult]:
    """Each plan's writes, ``in_flight`` people at a time (their requests share batches).
    A person whose writes stayed throttled past the connector's retries is tried again (what
    is left of them), up to :data:`ROUNDS` times in all."""
    results: dict[str, WriteResult] = {}

    async def worker(queue: list[PersonPlan]) -> None:
        while queue:
            plan = queue.pop()
            before = results.get(plan.person_id)
            results[plan.person_id] = _merged(before, await _one(target, plan, before))

    todo = list(part)
    for _round in range(ROUNDS):
        queue = list(reversed(todo))
        await asyncio.gather(*(worker(queue) for _ in range(max(1, in_flight))))
        todo = [p for p in todo if results[p.person_id].throttled]
        if not todo:
            break
    return results
