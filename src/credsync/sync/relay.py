"""Relay plans and runs: every in-scope source user, the target user it matches (by which
rule) or why not, and, applied, the links made and the passwords pushed.

``plan`` reads both directories and decides (:func:`credsync.sync.relay_plan.match_all`); it
writes nothing and needs ``vault.read``. ``run`` does the same and stores a run (kind
``relay``, on the target directory, so ``credsync runs`` and the reports show it) with one item
per source user; a dry run (the default) stops there. Applied (``directory.setup`` and
``vault.write``), for each matched user with a credential:

- the target credential gets its link to the target user, confirmed for pushes (applying the
  relay is the confirmation), and the pair is recorded; a kept-apart target credential takes
  the source's password (:mod:`credsync.sync.relay_pair`, a slice of the plan per write
  transaction);
- its password is pushed unless the link is in step (:mod:`credsync.sync.relay_push`); a
  slice's pushes are under way while the next slice is stored.

Refused and conflicting users with a credential are flagged (a flag, never a retry loop);
unmatched ones are only reported. A second run with everything in step writes nothing to the
directory.

A relay run holds no lease on its target directory (the engine's runs do): each push is
recorded on its link before it is sent and checked against the link just before, so a run
of the engine at the same time at worst sends the same password twice, never an older one.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

from typing_extensions import TypedDict

from credsync.connectors.base import Capability, Connector
from credsync.connectors.identities import Identity, IdentityConnector, IdentityScope
from credsync.errors import InvalidInput, NotSupported, PermanentConnectorError
from credsync.storage import links as link_rows
from credsync.storage import relays as relay_rows
from credsync.storage import runs as run_rows
from credsync.sync.connect import DirectoryService, directory_config, load_directory
from credsync.sync.lease import HEARTBEAT_SECONDS, Heartbeat
from credsync.sync.model import Status
from credsync.sync.relay_pair import Pairer
from credsync.sync.relay_plan import Match, MatchStatus, match_all
from credsync.sync.relay_push import PushJob, PushResult, RelayPusher
from credsync.sync.relay_quarantine import gated, screen_relays
from credsync.types import new_id
from credsync.vault._time import utcnow
from credsync.vault.auth import Permission
from credsync.vault.clients import find_client_row
from credsync.vault.relays import Relay, find_relay_row, relay_model

__all__ = ["RelayItem", "RelayItemJson", "RelayReport", "RelayReportJson", "RelayRunner"]

SLICE = 250  # plan items stored per write transaction (their pushes start after it)


class RelayItemJson(TypedDict):
    account: str
    account_id: str
    status: str
    """matched | no_credential | unmatched | conflict | refused"""
    rule: str | None
    target: str | None
    target_id: str | None
    credential_id: str | None
    action: str
    """none | link | push | flag (what an applied run did or would do)"""
    detail: str


class RelayReportJson(TypedDict):
    relay: str
    client: str
    source: str
    target: str
    dry_run: bool
    run_id: str | None
    """The stored run (null for a plan)."""
    counts: dict[str, int]
    pushed: int
    notes: list[str]
    items: list[RelayItemJson]


@dataclass(frozen=True)
class RelayItem:
    match: Match
    action: str = "none"
    detail: str = ""

    def to_json(self) -> RelayItemJson:
        m = self.match
        target = m.target.account if m.target else None
        return RelayItemJson(
            account=m.source.account.upn or m.source.account.username,
            account_id=m.source.account.id,
            status=m.status.value,
            rule=m.rule,
            target=(target.upn or target.username) if target else None,
            target_id=target.id if target else None,
            credential_id=m.source_credential,
            action=self.action,
            detail=self.detail or m.reason,
        )


@dataclass
class RelayReport:
    relay: Relay
    dry_run: bool
    items: list[RelayItem]
    run_id: str | None = None
    pushed: int = 0
    notes: list[str] = field(default_factory=list)
    held: str | None = None  # why the outbound threshold held the run's pushes

    def counts(self) -> dict[str, int]:
        return dict(Counter(i.match.status.value for i in self.items))

    def to_json(self) -> RelayReportJson:
        return RelayReportJson(
            relay=self.relay.name,
            client=self.relay.client,
            source=self.relay.source.name,
            target=self.relay.target.name,
            dry_run=self.dry_run,
            run_id=self.run_id,
            counts=self.counts(),
            pushed=self.pushed,
            notes=list(self.notes),
            items=[i.to_json() for i in self.items],
        )


def _would(match: Match) -> str:
    if match.status is MatchStatus.MATCHED:
        return "push"
    if match.status in (MatchStatus.REFUSED, MatchStatus.CONFLICT) and match.source_credential:
        return "flag"
    return "none"


class RelayRunner(DirectoryService):
    def _open(self, directory_id: str) -> Connector:
        directory = load_directory(self._db, directory_id)
        connector = self._factory(directory_config(self._db, self._keys, directory))
        if Capability.IDENTITIES not in connector.capabilities:
            raise NotSupported(f"directory {directory.name!r} can't list a relay's users")
        return connector

    async def _read(
        self, directory_id: str, scope: IdentityScope
    ) -> tuple[list[Identity], list[str]]:
        """A directory's users in ``scope`` and what it could not read (its notes)."""
        connector = self._open(directory_id)
        try:
            reader = cast(IdentityConnector, connector)
            found = [i async for i in reader.iter_identities(scope)]
            return found, list(getattr(connector, "identity_notes", ()))
        finally:
            await connector.close()

    async def _match(self, relay: Relay) -> tuple[list[Match], dict[str, Identity], list[str]]:
        # Both directories read at once (the source's reads run in threads); the first to
        # fail stops the other, and its error is raised as it is.
        reads = [
            asyncio.ensure_future(self._read(relay.source.id, relay.settings.scope)),
            asyncio.ensure_future(self._read(relay.target.id, IdentityScope())),
        ]
        try:
            (sources, _), (targets, notes) = await asyncio.gather(*reads)
        except BaseException:
            for read in reads:
                read.cancel()
            await asyncio.gather(*reads, return_exceptions=True)
            raise
        with self._db.read() as conn:
            pairs = {
                p.source_account_id: p.target_account_id
                for p in relay_rows.pairs_of(conn, relay.id).values()
            }
            source_links = {
                link.account_id: link.credential_id
                for link in link_rows.of_directory(conn, relay.source.id)
            }
            target_links = {
                link.account_id: link.credential_id
                for link in link_rows.of_directory(conn, relay.target.id)
            }
        plan = match_all(
            sources,
            targets,
            relay.settings,
            pairs=pairs,
            source_credentials=source_links,
            target_credentials=target_links,
        )
        return plan, {t.account.id: t for t in targets}, notes

    def _relay(self, ref: str) -> Relay:
        with self._db.read() as conn:
            return relay_model(conn, find_relay_row(conn, ref, self._actor), self._actor)

    async def plan(self, ref: str) -> RelayReport:
        """What a run would do (reads only; vault.read)."""
        self._actor.require(Permission.VAULT_READ)
        relay = self._relay(ref)
        plan, _, notes = await self._match(relay)
        items = [RelayItem(m, _would(m)) for m in plan]
        return RelayReport(relay, True, items, notes=notes)

    async def run(
        self,
        ref: str,
        *,
        apply: bool = False,
        trigger: str = "cli",
        on_start: Callable[[str], None] | None = None,
    ) -> RelayReport:
        """A stored relay run over the whole scope: a dry run (vault.read) unless ``apply``
        (directory.setup and vault.write); ``on_start`` gets the run's id once stored."""
        self._actor.require(Permission.VAULT_READ)
        if apply:
            self._actor.require(Permission.DIRECTORY_SETUP, Permission.VAULT_WRITE)
        relay = self._relay(ref)
        if apply:
            with self._db.read() as conn:
                client = find_client_row(conn, relay.client_id, self._actor)
            if not client.directory_sync:
                raise InvalidInput(
                    f"client {client.name!r} has directory sync off: a relay writes nothing "
                    "for it (turn it on first)"
                )
        run_id = new_id()
        with self._db.write() as conn:
            run_rows.insert(
                conn,
                run_id,
                directory_id=relay.target.id,
                client_id=relay.client_id,
                kind="relay",
                trigger=trigger,
                dry_run=not apply,
                actor=self._actor.name,
                owner=f"relay:{relay.name}",
                now=utcnow(),
            )
        if on_start is not None:
            on_start(run_id)
        report = RelayReport(relay, not apply, [], run_id=run_id)
        state, message = "done", ""
        # signs of life, so that a long run is not taken for abandoned (it holds no lease)
        heartbeat = Heartbeat(self._db, run_id, utcnow, HEARTBEAT_SECONDS, holds_lease=False)
        heartbeat.start()
        try:
            plan, _, notes = await self._match(relay)
            report.notes = notes
            if not apply:
                report.items = [RelayItem(m, _would(m)) for m in plan]
                message = "dry run: nothing done"
            else:
                report.items = await self._apply(relay, plan, run_id, report)
                message = f"{report.pushed} pushed"
                if report.held:
                    state, message = "aborted", report.held
        except BaseException as exc:
            state, message = "failed", f"the relay run stopped: {type(exc).__name__}: {exc}"
            raise
        finally:
            await heartbeat.stop()
            self._finish(report, state, "; ".join([message, *report.notes]))
        return report

    def _finish(self, report: RelayReport, state: str, message: str) -> None:
        if report.run_id is None:
            return
        with self._db.write() as conn:
            new = [
                (
                    seq,
                    run_rows.NewItem(
                        i.match.source_credential,
                        i.match.source.account.id,
                        i.match.source.account.upn or i.match.source.account.username,
                        i.match.status.value,
                        i.action,
                        (i.detail or i.match.reason)[:2000],
                    ),
                )
                for seq, i in enumerate(report.items, start=1)
            ]
            if new:
                run_rows.add_items(conn, report.run_id, new)
            summary = {
                "statuses": report.counts(),
                "actions": dict(Counter(i.action for i in report.items)),
                "pushes": report.pushed,
            }
            run_rows.end(
                conn,
                report.run_id,
                kind="relay",
                state=state,
                message=message[:2000],
                summary=json.dumps(summary, sort_keys=True),
                accounts_read=len(report.items),
                accounts_total=None,
                now=utcnow(),
            )

    # -- applying ------------------------------------------------------------------------------
    async def _apply(
        self, relay: Relay, plan: Sequence[Match], run_id: str, report: RelayReport
    ) -> list[RelayItem]:
        """Store the plan a slice at a time (:mod:`credsync.sync.relay_pair`), each slice's
        pushes under way while the next one is stored: the first password goes out after one
        slice, not after the whole scope."""
        items: dict[str, RelayItem] = {}
        with self._db.read() as conn:
            known = relay_rows.pairs_of(conn, relay.id)
        pairer = Pairer(self._vault, self._keys, self._actor, relay, known)
        connector: Connector | None = None
        pusher: RelayPusher | None = None
        settled: list[tuple[Match, PushResult]] = []
        pushes: list[tuple[Match, asyncio.Task[PushResult]]] = []
        waiting: list[tuple[Match, PushJob]] = []  # gathered for the threshold (gated)
        into = load_directory(self._db, relay.target.id)
        with self._db.read() as conn:
            linked = len(link_rows.of_directory(conn, into.id))
        matched = sum(1 for m in plan if m.status is MatchStatus.MATCHED)
        gate = gated(self._db, into, matched, linked=linked)
        try:
            for start in range(0, len(plan), SLICE):
                part = plan[start : start + SLICE]
                if pusher is None and any(m.status is MatchStatus.MATCHED for m in part):
                    connector = self._open(relay.target.id)
                    in_flight = int(getattr(connector, "max_in_flight", 20))
                    pusher = RelayPusher(self._db, self._keys, self._actor, into, connector,
                                         run_id=run_id, in_flight=in_flight)  # fmt: skip
                with self._db.write() as conn:
                    stored = pairer.apply(conn, part, utcnow())
                    jobs = [p.job for p in stored if p.job is not None]
                    done = pusher.settled(conn, jobs) if pusher is not None and jobs else {}
                for paired in stored:
                    match, job = paired.match, paired.job
                    items[match.source.account.id] = RelayItem(match, paired.action)
                    if job is None or pusher is None:
                        continue
                    if job.credential_id in done:
                        settled.append((match, done[job.credential_id]))
                    elif gate:
                        waiting.append((match, job))
                    else:
                        pushes.append((match, asyncio.ensure_future(pusher.push_gated(job))))
                await asyncio.sleep(0)  # the slice's pushes start while the next is stored
            if waiting and pusher is not None:
                of = {job.credential_id: match for match, job in waiting}
                go, skipped, report.held = screen_relays(
                    self._db, self._vault.audit, self._actor, into, run_id,
                    [job for _, job in waiting], linked=linked, at=utcnow(),
                )  # fmt: skip
                for job, why, version in skipped:
                    result = PushResult(job, Status.SKIPPED, "none", why, version)
                    settled.append((of[job.credential_id], result))
                for job in go:
                    task = asyncio.ensure_future(pusher.push_gated(job))
                    pushes.append((of[job.credential_id], task))
            sent = await asyncio.gather(*(task for _, task in pushes))
            results = [*settled, *zip([m for m, _ in pushes], sent, strict=True)]
            mirrored = {}
            if connector is not None and not report.held:  # held: nothing is written
                for match, _ in results:
                    target = match.target
                    if (
                        relay.settings.mirror_disable
                        and target is not None
                        and (target.account.enabled != match.source.account.enabled)
                    ):
                        mirrored[match.source.account.id] = await _mirror(connector, match)
        finally:
            for _, task in pushes:
                task.cancel()
            if pushes:
                await asyncio.gather(*(task for _, task in pushes), return_exceptions=True)
            if connector is not None:
                await connector.close()
        if pusher is not None:
            report.pushed = pusher.pushes
        for match, result in results:
            item = _pushed(match, result)
            said = mirrored.get(match.source.account.id)
            if said:
                item = RelayItem(match, item.action, f"{item.detail}; {said}")
            items[match.source.account.id] = item
        return [items[m.source.account.id] for m in plan]


async def _mirror(connector: Connector, match: Match) -> str:
    """The target user enabled or disabled as its source is (the relay's mirror_disable)."""
    if match.target is None:
        return ""
    enabled = match.source.account.enabled
    try:
        await cast(IdentityConnector, connector).set_enabled(match.target.account, enabled)
    except PermanentConnectorError as exc:
        return f"its disable state was not mirrored: {exc}"
    return (
        "enabled in the target, as in the source"
        if enabled
        else ("disabled in the target, as in the source")
    )


def _pushed(match: Match, result: PushResult) -> RelayItem:
    if result.action == "push":
        return RelayItem(match, "push", f"matched by {match.rule}; {result.detail}")
    if result.action == "flag":
        return RelayItem(match, "flag", result.detail)
    return RelayItem(match, "none", f"matched by {match.rule}; {result.detail}")
