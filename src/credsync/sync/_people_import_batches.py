"""The import of people and groups in batches (:mod:`credsync.sync.people_import`): what a
tenant of 100,000 users needs to be imported in under a minute.

- People and groups go to the vault :data:`BATCH` at a time
  (:class:`~credsync.vault.identity_import.IdentityImport`: one transaction, one read of what
  the vault has, one INSERT per table, the audit entries together); an object the batch path
  leaves (a change, a username someone holds, a refusal) goes one at a time through the
  import's own ``one`` (``PeopleImport._person`` / ``_group``), so every rule and report line
  is the one-at-a-time path's. Within a batch, new objects are created before the others are
  handed on.
- A group's members are set :data:`MEMBER_BATCH` groups at a time: one read of which
  members the vault knows and of the groups' current members, the people added in one
  transaction, then the groups (each pair's cycle check seeing the pairs before it);
  what those leave (a cycle, a member in the trash...) and members removed go one at a time
  through :class:`~credsync.vault.groups.Groups`, which says why.
- :func:`pipelined` overlaps the directory's reads with the vault's writes: the next page is
  read while a batch is written (in a worker thread), and at most two batches wait, so the
  tenant is never held whole in memory; members are read :data:`MEMBER_READS` groups at a
  time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

from credsync.connectors.people_source import (
    DirectoryGroup,
    DirectoryMember,
    DirectoryPerson,
    PeopleSource,
)
from credsync.errors import CredsyncError
from credsync.storage import groups as group_rows
from credsync.storage import people as people_rows
from credsync.sync.people_import_report import ObjectReport
from credsync.vault.auth import Actor
from credsync.vault.directories import Directory
from credsync.vault.identity_import import IdentityImport
from credsync.vault.service import Vault

__all__ = [
    "BATCH",
    "MEMBERS_AHEAD",
    "MEMBER_BATCH",
    "MEMBER_READS",
    "MembersAhead",
    "group_reports",
    "people_reports",
    "pipelined",
    "read_members",
    "set_members",
]

BATCH = 2000
MEMBER_BATCH = 500
MEMBER_READS = 8
MEMBERS_AHEAD = 4
T = TypeVar("T")
R = TypeVar("R")
IMPORTED = ("created", "updated", "unchanged")


def _person_attributes(person: DirectoryPerson) -> dict[str, Any]:
    attributes: dict[str, Any] = dict(person.attributes())
    if not attributes["display_name"]:
        del attributes["display_name"]  # the vault makes one from the names
    return attributes


def people_reports(
    bulk: IdentityImport,
    actor: Actor,
    directory: Directory,
    batch: Sequence[DirectoryPerson],
    one: Callable[[Directory, DirectoryPerson], ObjectReport],
) -> list[ObjectReport]:
    """A report line per user of ``batch``, in order."""
    named = [p for p in batch if p.username]
    done = dict(
        zip(
            [p.object_id for p in named],
            bulk.people(actor, directory.id, [(p.object_id, _person_attributes(p)) for p in named]),
            strict=True,
        )
    )
    reports: list[ObjectReport] = []
    for person in batch:
        result = done.get(person.object_id)
        if result is None:
            reports.append(one(directory, person))
            continue
        report = ObjectReport("person", person.object_id, person.display_name or person.username)
        report.outcome, report.changed, report.vault_id = (
            result.outcome,
            result.changed,
            result.vault_id,
        )
        reports.append(report)
    return reports


def group_reports(
    bulk: IdentityImport,
    actor: Actor,
    directory: Directory,
    batch: Sequence[DirectoryGroup],
    one: Callable[[Directory, DirectoryGroup], ObjectReport],
) -> list[ObjectReport]:
    """A report line per group of ``batch``, in order (distribution lists: ``one`` refuses)."""
    typed = [g for g in batch if g.type != "distribution"]
    results = bulk.groups(actor, directory.id, [(g.object_id, dict(g.attributes())) for g in typed])
    done = dict(zip([g.object_id for g in typed], results, strict=True))
    reports: list[ObjectReport] = []
    for group in batch:
        result = done.get(group.object_id)
        if result is None:
            reports.append(one(directory, group))
            continue
        report = ObjectReport("group", group.object_id, group.name)
        report.outcome, report.vault_id = result.outcome, result.vault_id
        reports.append(report)
    return reports


def _known(
    vault: Vault, directory: Directory, members: Sequence[DirectoryMember]
) -> tuple[dict[str, str], dict[str, str]]:
    """(object id -> live person id, object id -> live group id) of the members the vault
    has of this directory."""
    people_ids = [m.object_id for m in members if m.kind == "person"]
    group_ids = [m.object_id for m in members if m.kind == "group"]
    with vault.db.read() as conn:
        return (
            people_rows.live_ids_by_accounts(conn, directory.id, people_ids),
            group_rows.live_ids_by_objects(conn, directory.id, group_ids),
        )


def set_members(
    vault: Vault,
    bulk: IdentityImport,
    actor: Actor,
    directory: Directory,
    pairs: Sequence[tuple[ObjectReport, Sequence[DirectoryMember]]],
) -> None:
    """Set each imported group's vault members to its directory members the vault knows
    (people / groups of this directory): the others are ``members_outside``; members the
    directory no longer has are removed. On the groups' report lines."""
    everyone = [m for _, members in pairs for m in members]
    people, groups = _known(vault, directory, everyone)
    with vault.db.read() as conn:
        current = group_rows.member_ids(conn, [r.vault_id for r, _ in pairs if r.vault_id])
    add_people: dict[str, dict[str, str]] = {}  # group -> person id -> name
    one_by_one: list[tuple[ObjectReport, str, str, str]] = []  # (group, member, kind, name)
    removals: list[tuple[ObjectReport, set[str]]] = []
    for report, directory_members in pairs:
        assert report.vault_id is not None  # noqa: S101 - only imported groups get here
        wanted: dict[str, tuple[str, str]] = {}
        for member in directory_members:
            known = (people if member.kind == "person" else groups).get(member.object_id)
            if known is None:
                report.members_outside.append(member.name or member.object_id)
            else:
                wanted[known] = (member.kind, member.name or member.object_id)
        now = current.get(report.vault_id, {})
        for vault_id, (kind, name) in wanted.items():
            if vault_id in now:
                continue
            if kind == "person":
                add_people.setdefault(report.vault_id, {})[vault_id] = name
            else:
                one_by_one.append((report, vault_id, kind, name))
        gone = set(now) - set(wanted)
        if gone:
            removals.append((report, gone))
    by_group = {r.vault_id: r for r, _ in pairs}
    added = bulk.add_people(actor, {g: list(ids) for g, ids in add_people.items()}) or {}
    for group_id, names in add_people.items():
        for person_id, name in names.items():
            if person_id in added.get(group_id, ()):
                by_group[group_id].members_added.append(name)
            else:
                one_by_one.append((by_group[group_id], person_id, "person", name))
    groups_wanted = [(r.vault_id or "", m) for r, m, kind, _ in one_by_one if kind == "group"]
    groups_added = bulk.add_groups(actor, groups_wanted) or set()
    rest: list[tuple[ObjectReport, str, str, str]] = []
    for report, member_id, kind, name in one_by_one:
        if kind == "group" and (report.vault_id, member_id) in groups_added:
            report.members_added.append(name)
        else:
            rest.append((report, member_id, kind, name))
    for report, member_id, kind, name in rest:  # what the batches left: one at a time
        assert report.vault_id is not None  # noqa: S101
        try:
            vault.groups.add_member(actor, report.vault_id, member_id, kind=kind)
            report.members_added.append(name)
        except CredsyncError as exc:
            report.members_outside.append(f"{name} ({exc})")
    for report, gone in removals:
        assert report.vault_id is not None  # noqa: S101
        for entry in vault.groups.members(actor, report.vault_id):
            if entry["id"] in gone:
                vault.groups.remove_member(actor, report.vault_id, entry["id"], kind=entry["type"])
                report.members_removed.append(entry["name"])


async def read_members(
    source: PeopleSource, group_ids: Sequence[str]
) -> list[list[DirectoryMember]]:
    """The direct members of each group, :data:`MEMBER_READS` groups at a time."""
    gate = asyncio.Semaphore(MEMBER_READS)

    async def one(group_id: str) -> list[DirectoryMember]:
        async with gate:
            return [m async for m in source.iter_members(group_id)]

    return list(await asyncio.gather(*(one(g) for g in group_ids)))


Read = list[tuple[str, list[DirectoryMember]]]


class MembersAhead:
    """Lists the groups and reads their members (:data:`MEMBER_BATCH` groups at a time)
    while the people are written, keeping at most :data:`MEMBERS_AHEAD` batches of members
    waiting. ``async with``: the reading stops (if it has not ended) when the block ends."""

    def __init__(self, source: PeopleSource, groups: AsyncIterator[DirectoryGroup]) -> None:
        self._source = source
        self._groups = groups
        self._listed: asyncio.Future[list[DirectoryGroup]] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue: asyncio.Queue[Read | None] = asyncio.Queue(maxsize=MEMBERS_AHEAD)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MembersAhead:
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None  # noqa: S101 - set on entry
        if not self._task.done():
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        if not self._listed.done():
            self._listed.cancel()
        elif not self._listed.cancelled():
            self._listed.exception()  # retrieved (raised to the caller, or not needed)

    async def _read(self) -> None:
        try:
            listed = [g async for g in self._groups]
        except BaseException as exc:
            self._listed.set_exception(exc)
            raise
        self._listed.set_result(listed)
        try:
            wanted = [g.object_id for g in listed if g.type != "distribution"]
            for start in range(0, len(wanted), MEMBER_BATCH):
                ids = wanted[start : start + MEMBER_BATCH]
                read = await read_members(self._source, ids)
                await self._queue.put(list(zip(ids, read, strict=True)))
        finally:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)  # the end (room was left for it, see members)

    async def groups(self) -> list[DirectoryGroup]:
        """Every group, once listed (the listing's error, if it failed)."""
        return await asyncio.shield(self._listed)

    async def members(self) -> AsyncIterator[Read]:
        """(group object id, its members) of each group, in batches, as read (the reading's
        error at the end, if it failed)."""
        assert self._task is not None  # noqa: S101 - set on entry
        while True:
            get = asyncio.ensure_future(self._queue.get())
            await asyncio.wait({get, self._task}, return_when=asyncio.FIRST_COMPLETED)
            if not get.done():
                get.cancel()
                await asyncio.gather(get, return_exceptions=True)
                while not self._queue.empty():  # read before the reader ended
                    item = self._queue.get_nowait()
                    if item is not None:
                        yield item
                await self._task  # its error, if any
                return
            item = get.result()
            if item is None:
                await self._task
                return
            yield item


async def pipelined(items: AsyncIterator[T], size: int, work: Callable[[list[T]], R]) -> list[R]:
    """``work`` (in a worker thread) on each batch of ``size`` items, while the next batch is
    read; at most two batches wait. The reader's error, if any, is raised after the batches
    read before it are done."""
    queue: asyncio.Queue[list[T] | None] = asyncio.Queue(maxsize=2)

    async def produce() -> None:
        batch: list[T] = []
        try:
            async for item in items:
                batch.append(item)
                if len(batch) >= size:
                    await queue.put(batch)
                    batch = []
            if batch:
                await queue.put(batch)
        finally:
            await queue.put(None)

    producer = asyncio.create_task(produce())
    done: list[R] = []
    try:
        while (batch := await queue.get()) is not None:
            done.append(await asyncio.to_thread(work, batch))
    except BaseException:
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
        raise
    await producer
    return done
