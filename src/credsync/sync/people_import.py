"""The import of people and groups from a client's directory (issue 16): search, then
synchronise a selection.

``search`` lists what a query finds in the directory (people, and groups when asked), each
with the person / group of the client it already is (linked to that object), and writes
nothing. ``sync`` takes a selection (object ids, or every result of a query) and, per object:

- a user becomes a person through :meth:`People.upsert_from_directory` (the directory is then
  the source of truth of the person's attributes: read-only in the vault). A user whose
  username is taken by a person the vault itself owns (no source directory, not linked to this
  user) is **refused**: the import never takes over a record someone keeps by hand (delete or
  rename that person, then import again). A username taken by a person another directory is
  the source of truth of links the two (``linked``: the same human in both directories).
- a group becomes a group through :meth:`Groups.upsert_from_directory`; a distribution list
  is refused (the vault's group types are security and Microsoft 365).
- the members of each imported group are set to its directory members that are people /
  groups of this directory in the vault (imported now or before): members the directory no
  longer has are removed, as the directory is the membership's source of truth. Members
  outside the import are listed on the group's line (``members_outside``), not imported,
  unless ``members`` is asked for: then every member, and the members of member groups (nested
  groups, to any depth), is imported too.
- anything the vault refuses (a bad field value, a username another person has) is
  ``refused`` with the vault's reason; the rest goes on.

Objects go to the vault in batches (:mod:`credsync.sync._people_import_batches`: a
transaction per batch, the one-at-a-time entry points for whatever a batch does not decide),
and an import of every result of a query is written while the directory is still being read.

A second synchronisation with nothing changed in the directory reports every object
``unchanged`` and writes nothing. A dry run (``sync(..., dry_run=True)``) reports what a
synchronisation would do, line for line, and keeps nothing.

Who may: ``directory.setup`` and ``vault.write`` (and ``vault.read``) on the directory's
client, for both ``search`` (it reads the directory with the client's bind credential) and
``sync``, dry run included; a client outside the operator's client access is NotFound.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from credsync.connectors.base import Capability
from credsync.connectors.people_source import (
    DirectoryGroup,
    DirectoryMember,
    DirectoryPerson,
    PeopleSource,
)
from credsync.connectors.registry import ConnectorFactory, open_connector
from credsync.errors import CredsyncError, InvalidInput, NotSupported
from credsync.storage import groups as group_rows
from credsync.storage import people as people_rows
from credsync.sync import _people_import_batches as batches
from credsync.sync.connect import DirectoryService, directory_config
from credsync.sync.people_import_report import (
    ImportReport,
    ObjectReport,
    OnboardingReportJson,
    PeopleImportFoundJson,
    Preview,
)
from credsync.sync.people_onboarding import Provisioning, provision
from credsync.vault.auth import Actor, Permission
from credsync.vault.directories import Directory
from credsync.vault.identity_import import IdentityImport
from credsync.vault.keyring import KeyRing
from credsync.vault.service import Vault
from credsync.vault.validate import name_key

__all__ = ["MAX_PREVIEW", "PeopleImport", "Selection"]

MAX_PREVIEW = 1000
T = TypeVar("T")


@dataclass(frozen=True)
class Selection:
    """What ``sync`` takes: ``ids`` (users and groups by object id), or every result of
    ``query`` (people; groups too with ``groups``); ``members``: import group members too."""

    ids: tuple[str, ...] = ()
    query: str | None = None
    groups: bool = False
    members: bool = False

    def check(self) -> None:
        if bool(self.ids) == (self.query is not None):
            raise InvalidInput(
                "choose object ids, or a query whose results are all imported (not both)",
                field="selection",
            )
        for value in self.ids:
            if not value.strip() or len(value.strip()) > 64:
                raise InvalidInput(f"{value!r} is not an object id", field="ids")


def _chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def _take(items: AsyncIterator[T], limit: int | None) -> tuple[list[T], bool]:
    found: list[T] = []
    async for item in items:
        if limit is not None and len(found) >= limit:
            return found, True
        found.append(item)
    return found, False


class PeopleImport(DirectoryService):
    def __init__(
        self,
        vault: Vault,
        keys: KeyRing,
        actor: Actor,
        *,
        factory: ConnectorFactory = open_connector,
    ) -> None:
        super().__init__(vault, keys, actor, factory=factory)
        self._bulk = IdentityImport(vault.db, vault.audit)

    # -- the directory -----------------------------------------------------------------------
    def _directory(self, client_ref: str, directory_ref: str) -> tuple[str, Directory]:
        self._actor.require(
            Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP
        )
        client, directory = self._client_directory(client_ref, directory_ref)
        return client.name, directory

    def _open(self, directory: Directory) -> PeopleSource:
        connector = self._factory(directory_config(self._db, self._keys, directory))
        if Capability.PEOPLE not in connector.capabilities:
            raise NotSupported(
                f"directory {directory.name!r} can't be searched for people and groups (yet)"
            )
        return cast(PeopleSource, connector)

    def _known(self, directory_id: str, kind: str, object_ids: Sequence[str]) -> dict[str, str]:
        """Object id -> the live person / group of the vault linked to it."""
        found: dict[str, str] = {}
        with self._db.read() as conn:
            for object_id in object_ids:
                row: Any = (
                    people_rows.by_account(conn, directory_id, object_id)
                    if kind == "person"
                    else group_rows.by_object(conn, directory_id, object_id)
                )
                if row is not None and row.deleted_at is None:
                    found[object_id] = row.id
        return found

    # -- search ------------------------------------------------------------------------------
    async def search(
        self,
        client_ref: str,
        directory_ref: str,
        query: str,
        *,
        groups: bool = False,
        limit: int = 200,
    ) -> Preview:
        """What ``query`` finds (at most ``limit`` people and ``limit`` groups)."""
        if not 1 <= limit <= MAX_PREVIEW:
            raise InvalidInput(f"a limit is 1 to {MAX_PREVIEW}, not {limit}", field="limit")
        client, directory = self._directory(client_ref, directory_ref)
        source = self._open(directory)
        try:
            people, more = await _take(source.search_people(query), limit)
            found_groups: list[DirectoryGroup] = []
            if groups:
                found_groups, more_groups = await _take(source.search_groups(query), limit)
                more = more or more_groups
        finally:
            await source.close()
        known = self._known(directory.id, "person", [p.object_id for p in people])
        known_groups = self._known(directory.id, "group", [g.object_id for g in found_groups])
        return Preview(
            client=client,
            directory=directory.name,
            query=query,
            people=tuple(
                PeopleImportFoundJson(
                    kind="person",
                    object_id=p.object_id,
                    name=p.display_name or p.username,
                    username=p.username,
                    email=p.email,
                    type=None,
                    enabled=p.enabled,
                    vault_id=known.get(p.object_id),
                )
                for p in people
            ),
            groups=tuple(
                PeopleImportFoundJson(
                    kind="group",
                    object_id=g.object_id,
                    name=g.name,
                    username=None,
                    email=g.email,
                    type=g.type,
                    enabled=None,
                    vault_id=known_groups.get(g.object_id),
                )
                for g in found_groups
            ),
            truncated=more,
        )

    # -- sync --------------------------------------------------------------------------------
    async def _read(
        self, source: PeopleSource, selection: Selection
    ) -> tuple[
        dict[str, DirectoryPerson],
        dict[str, DirectoryGroup],
        dict[str, list[DirectoryMember]],
        list[str],
    ]:
        """(people, groups, each group's direct members, ids that name nothing)."""
        people: dict[str, DirectoryPerson] = {}
        groups: dict[str, DirectoryGroup] = {}
        missing: list[str] = []
        if selection.query is not None:
            people = {p.object_id: p async for p in source.search_people(selection.query)}
            if selection.groups:
                groups = {g.object_id: g async for g in source.search_groups(selection.query)}
        else:
            ids = list(dict.fromkeys(i.strip() for i in selection.ids))
            people = {p.object_id: p for p in await source.read_people(ids)}
            rest = [i for i in ids if i not in people]
            groups = {g.object_id: g for g in await source.read_groups(rest)}
            missing = [i for i in rest if i not in groups]
        members: dict[str, list[DirectoryMember]] = {}
        queue = list(groups)
        while queue:
            group_id = queue.pop(0)
            members[group_id] = [m async for m in source.iter_members(group_id)]
            if not selection.members:
                continue
            new_people = [
                m.object_id
                for m in members[group_id]
                if m.kind == "person" and m.object_id not in people
            ]
            for person in await source.read_people(new_people):
                people[person.object_id] = person
            new_groups = [
                m.object_id
                for m in members[group_id]
                if m.kind == "group" and m.object_id not in groups
            ]
            for group in await source.read_groups(new_groups):
                groups[group.object_id] = group
                queue.append(group.object_id)
        return people, groups, members, missing

    def _vault_owned(self, directory: Directory, person: DirectoryPerson) -> str | None:
        """Why the import must not take this user's username (a hand-kept person has it)."""
        with self._db.read() as conn:
            if people_rows.by_account(conn, directory.id, person.object_id) is not None:
                return None
            for row in people_rows.by_username(
                conn, name_key(person.username), [directory.client_id]
            ):
                if row.source_directory_id is None:
                    where = " (in the trash)" if row.deleted_at is not None else ""
                    return (
                        f"username {person.username!r} is taken by person {row.id}{where}, "
                        "whom the vault owns (no source directory): the import does not take "
                        "them over"
                    )
        return None

    def _person(self, directory: Directory, person: DirectoryPerson) -> ObjectReport:
        report = ObjectReport("person", person.object_id, person.display_name or person.username)
        if not person.username:
            report.outcome, report.reason = "refused", "the user has no sign-in name"
            return report
        reason = self._vault_owned(directory, person)
        if reason is not None:
            report.outcome, report.reason = "refused", reason
            return report
        attributes: dict[str, Any] = dict(person.attributes())
        if not attributes["display_name"]:
            del attributes["display_name"]  # the vault makes one from the names
        try:
            done = self._vault.people.upsert_from_directory(
                self._actor, directory.id, person.object_id, attributes
            )
        except CredsyncError as exc:
            report.outcome, report.reason = "refused", str(exc)
            return report
        report.outcome, report.changed, report.vault_id = done.outcome, done.changed, done.person.id
        if done.outcome == "linked" and done.person.source is not None:
            report.reason = "another directory is the source of truth of this person"
        return report

    def _group(self, directory: Directory, group: DirectoryGroup) -> ObjectReport:
        report = ObjectReport("group", group.object_id, group.name)
        if group.type == "distribution":
            report.outcome = "refused"
            report.reason = "a distribution list: the vault's groups are security or Microsoft 365"
            return report
        try:
            done, outcome = self._vault.groups.upsert_from_directory(
                self._actor, directory.id, group.object_id, dict(group.attributes())
            )
        except CredsyncError as exc:
            report.outcome, report.reason = "refused", str(exc)
            return report
        report.outcome, report.vault_id = cast(Any, outcome), done.id
        if outcome == "linked":
            report.reason = "another directory is the source of truth of this group"
        return report

    def _apply(
        self,
        directory: Directory,
        people: dict[str, DirectoryPerson],
        groups: dict[str, DirectoryGroup],
        members: dict[str, list[DirectoryMember]],
    ) -> list[ObjectReport]:
        reports: list[ObjectReport] = []
        for some_people in _chunks(list(people.values()), batches.BATCH):
            reports += self._people(directory, some_people)
        group_reports: list[ObjectReport] = []
        for some_groups in _chunks(list(groups.values()), batches.BATCH):
            group_reports += self._groups(directory, some_groups)
        imported = [r for r in group_reports if r.outcome in batches.IMPORTED]
        for chunk in _chunks(imported, batches.MEMBER_BATCH):
            pairs: list[tuple[ObjectReport, Sequence[DirectoryMember]]] = [
                (r, members.get(r.object_id, [])) for r in chunk
            ]
            batches.set_members(self._vault, self._bulk, self._actor, directory, pairs)
        return reports + group_reports

    def _people(self, directory: Directory, chunk: list[DirectoryPerson]) -> list[ObjectReport]:
        return batches.people_reports(self._bulk, self._actor, directory, chunk, self._person)

    def _groups(self, directory: Directory, chunk: list[DirectoryGroup]) -> list[ObjectReport]:
        return batches.group_reports(self._bulk, self._actor, directory, chunk, self._group)

    async def _stream(
        self, source: PeopleSource, directory: Directory, query: str, groups: bool
    ) -> list[ObjectReport]:
        """Every result of ``query`` imported as it is read: people in batches written while
        the next page is read (:func:`batches.pipelined`); meanwhile the groups are listed
        and their members read ahead (:class:`batches.MembersAhead`); then the groups, then
        their members, once every person and group is in."""
        seen: set[str] = set()

        async def fresh(items: AsyncIterator[T]) -> AsyncIterator[T]:
            async for item in items:
                object_id = cast(Any, item).object_id
                if object_id not in seen:
                    seen.add(object_id)
                    yield item

        if not groups:
            done = await batches.pipelined(
                fresh(source.search_people(query)),
                batches.BATCH,
                lambda chunk: self._people(directory, chunk),
            )
            return [r for chunk in done for r in chunk]
        async with batches.MembersAhead(source, fresh(source.search_groups(query))) as ahead:
            done = await batches.pipelined(
                fresh(source.search_people(query)),
                batches.BATCH,
                lambda chunk: self._people(directory, chunk),
            )
            reports = [r for chunk in done for r in chunk]
            group_reports: list[ObjectReport] = []
            for some_groups in _chunks(await ahead.groups(), batches.BATCH):
                group_reports += await asyncio.to_thread(self._groups, directory, some_groups)
            imported = {r.object_id: r for r in group_reports if r.outcome in batches.IMPORTED}
            async for read in ahead.members():
                pairs: list[tuple[ObjectReport, Sequence[DirectoryMember]]] = [
                    (imported[g], m) for g, m in read if g in imported
                ]
                await asyncio.to_thread(
                    batches.set_members, self._vault, self._bulk, self._actor, directory, pairs
                )
        return reports + group_reports

    async def _invite(
        self, client_id: str, reports: Sequence[ObjectReport], provisioning: Provisioning
    ) -> None:
        """After the import (never inside it: a slow mail server does not hold the batch
        up), the onboarding invitations its policy asks for (see
        :meth:`credsync.vault.self_service.SelfService.send_pending_invitations`)."""
        if not provisioning.invite:
            return
        ids = [r.vault_id for r in reports if r.kind == "person" and r.vault_id]
        await asyncio.to_thread(
            self._vault.self_service.send_pending_invitations,
            self._actor, self._keys, client_id, ids,
        )  # fmt: skip

    async def sync(
        self,
        client_ref: str,
        directory_ref: str,
        selection: Selection,
        *,
        dry_run: bool = False,
        provisioning: Provisioning | None = None,
    ) -> ImportReport:
        """Import the selection (see the module docstring); the report has one line per
        object, people first. A ``dry_run`` makes the same report and keeps nothing: the
        import runs whole in a rehearsal of the database (:meth:`Database.rehearsal`: one
        transaction rolled back at its end, so every rule and refusal is the real one), and
        an object it would create has no ``vault_id``. ``provisioning``: the people imported
        go into a group with a provisioning policy (:mod:`credsync.sync.people_onboarding`)."""
        selection.check()
        client, directory = self._directory(client_ref, directory_ref)
        source = self._open(directory)
        if selection.query is not None and not selection.members and not dry_run:
            try:
                reports = await self._stream(source, directory, selection.query, selection.groups)
            finally:
                await source.close()
            streamed = None
            if provisioning is not None:
                streamed = await asyncio.to_thread(
                    provision, self._vault, self._keys, self._actor,
                    directory.client_id, reports, provisioning,
                )  # fmt: skip
                await self._invite(directory.client_id, reports, provisioning)
            return ImportReport(client, directory.name, tuple(reports), onboarding=streamed)
        try:
            people, groups, members, missing = await self._read(source, selection)
        finally:
            await source.close()
        onboarding: OnboardingReportJson | None = None

        def apply() -> list[ObjectReport]:
            nonlocal onboarding
            done = self._apply(directory, people, groups, members)
            if provisioning is not None:
                onboarding = provision(
                    self._vault, self._keys, self._actor, directory.client_id, done, provisioning
                )
            return done

        if dry_run:
            with self._db.rehearsal():
                reports = apply()
            for report in reports:
                if report.outcome == "created":
                    report.vault_id = None  # made in the rehearsal only
            if onboarding is not None and onboarding["group_created"]:
                onboarding["group_id"] = None
        else:
            reports = apply()
            if provisioning is not None:
                await self._invite(directory.client_id, reports, provisioning)
        reports.extend(
            ObjectReport(
                "person", i, i, "refused", "no user or group with this id in the directory"
            )
            for i in missing
        )
        return ImportReport(
            client, directory.name, tuple(reports), dry_run=dry_run, onboarding=onboarding
        )
