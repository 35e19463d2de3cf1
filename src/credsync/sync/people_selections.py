"""Saved import selections (issue 16: "a saved selection can be re-synchronized periodically
by the agent").

A saved selection is a client's named choice of a directory's people and groups: a
:class:`~credsync.sync.people_import.Selection` (object ids, or every result of a query; groups;
members), optionally a :class:`~credsync.sync.people_onboarding.Provisioning` (the import into
a group), an interval (None: by hand only) and an enabled switch. Names are unique per client
regardless of case (a selection is named with its client, as a relay is).

- **Running one** is a synchronisation of :class:`~credsync.sync.people_import.PeopleImport`
  with the saved selection, by hand (:meth:`SavedSelections.run`, trigger ``manual``) or by the
  agent when its interval has elapsed (:meth:`SavedSelections.run_due`, trigger ``agent``;
  only selections of clients whose directory sync is on). Each run is kept (a row of
  ``import_selection_runs``: its counts and its refused lines with why) and the selection
  shows how its last one went.
- **One run of a selection at a time**, across processes, with the conventions of sync runs
  (:mod:`credsync.sync.lease`): a run is ``running`` while it works and writes its heartbeat
  every :data:`~credsync.sync.lease.HEARTBEAT_SECONDS`; starting one locks the selection's row
  and is refused (:class:`~credsync.errors.RunInProgress`) while another run of it shows a
  sign of life; one silent for :data:`~credsync.sync.lease.STALE_AFTER` was abandoned by a
  process that stopped and is marked ``aborted`` by the next start.
- A failed run (the directory unreachable, a bad query) is ``failed`` with the message; the
  agent tries again at the next interval.

Who may: saving, listing, running and removing need what the import needs, ``directory.setup``
and ``vault.write`` (and ``vault.read``) on the client; a client outside the operator's client
access is NotFound. The agent runs due selections as its own actor (it serves every client).
Audited: ``people_import.selection_save``, ``people_import.selection_remove`` and
``people_import.selection_run`` (counts only).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from credsync.connectors.registry import ConnectorFactory, open_connector
from credsync.errors import CredsyncError, InvalidInput, NotFound, RunInProgress
from credsync.storage import import_selections as rows
from credsync.sync import lease
from credsync.sync.connect import DirectoryService, client_directory_rows
from credsync.sync.model import AGENT_TRIGGER
from credsync.sync.people_import import PeopleImport, Selection
from credsync.sync.people_import_report import ImportReport
from credsync.sync.people_onboarding import Provisioning
from credsync.sync.people_selection_model import (
    SavedSelection,
    SelectionRunJson,
    check_interval,
    dump_spec,
    load_spec,
    run_json,
)
from credsync.types import new_id
from credsync.vault._time import as_utc, utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.directories import find_directory_row
from credsync.vault.keyring import KeyRing
from credsync.vault.service import Vault
from credsync.vault.validate import clean_name, name_key

__all__ = ["SavedSelections"]

log = logging.getLogger("credsync.sync")


def _abandoned(row: rows.RunRow, now: dt.datetime) -> bool:
    silent = now - as_utc(row.heartbeat_at)
    return bool(silent > lease.STALE_AFTER or -silent > lease.STALE_AFTER)


def _totals(report: ImportReport) -> dict[str, int]:
    data = report.to_json()
    totals = dict(data["totals"])
    totals |= {"members_added": data["members_added"], "members_removed": data["members_removed"]}
    if data["onboarding"] is not None:
        totals["credentials_created"] = data["onboarding"]["credentials_created"]
        totals["group_members_added"] = data["onboarding"]["members_added"]
    return totals


def _refused(report: ImportReport) -> list[dict[str, Any]]:
    lines = [
        {"kind": o.kind, "object_id": o.object_id, "name": o.name, "reason": o.reason}
        for o in report.objects
        if o.outcome == "refused"
    ]
    if report.onboarding is not None:
        lines += [
            {"kind": "person", "object_id": "", "name": "", "reason": f"onboarding: {why}"}
            for why in report.onboarding["refused"]
        ]
    return lines


class SavedSelections(DirectoryService):
    def __init__(
        self,
        vault: Vault,
        keys: KeyRing,
        actor: Actor,
        *,
        factory: ConnectorFactory = open_connector,
        clock: Callable[[], dt.datetime] = utcnow,
        heartbeat_seconds: float = lease.HEARTBEAT_SECONDS,
    ) -> None:
        super().__init__(vault, keys, actor, factory=factory)
        self._clock = clock
        self._every = heartbeat_seconds

    def _require(self) -> None:
        self._actor.require(
            Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP
        )

    def _model(self, conn: Connection, row: rows.SelectionRow) -> SavedSelection:
        client = find_client_row(conn, row.client_id, self._actor)
        directory = find_directory_row(conn, row.directory_id, self._actor)
        return SavedSelection(row, client.name, directory.name)

    def _find(self, conn: Connection, client_ref: str, ref: str) -> rows.SelectionRow:
        client = find_client_row(conn, client_ref, self._actor)
        row = rows.by_name(conn, client.id, name_key(ref))
        if row is None:
            by_id = rows.get(conn, ref.strip())
            row = by_id if by_id is not None and by_id.client_id == client.id else None
        if row is None:
            raise NotFound(f"client {client.name!r} has no saved selection {ref!r}")
        return row

    # -- saving, reading, removing ---------------------------------------------------------
    def save(
        self,
        client_ref: str,
        directory_ref: str,
        name: str,
        selection: Selection,
        *,
        interval: int | None = None,
        enabled: bool = True,
        provisioning: Provisioning | None = None,
    ) -> SavedSelection:
        """Save (or, under a name the client has, replace) a selection of the directory's
        people and groups; ``interval`` seconds between the agent's runs (None: by hand)."""
        self._require()
        name = clean_name(name, "name", 100, field="name")
        selection.check()
        seconds = check_interval(interval)
        spec = dump_spec(selection, provisioning)
        now = self._clock()
        next_run = now + dt.timedelta(seconds=seconds) if seconds and enabled else None
        with self._db.write() as conn:
            client, directory = client_directory_rows(conn, self._actor, client_ref, directory_ref)
            old = rows.by_name(conn, client.id, name_key(name))
            if old is None:
                row = rows.SelectionRow(
                    new_id(), client.id, directory.id, name, name_key(name), spec, seconds,
                    enabled, next_run, None, None, None, 1, now, self._actor.name, now,
                    self._actor.name,
                )  # fmt: skip
                rows.insert(conn, row)
                outcome = "created"
            else:
                if old.directory_id != directory.id:
                    raise InvalidInput(
                        f"selection {old.name!r} is of another directory: remove it first, or "
                        "choose another name",
                        field="name",
                    )
                rows.update(
                    conn, old.id, version=old.version + 1, by=self._actor.name, now=now,
                    spec=spec, interval_seconds=seconds, enabled=enabled, next_run_at=next_run,
                )  # fmt: skip
                updated = rows.get(conn, old.id)
                if updated is None:  # not after the lookup in this transaction
                    raise NotFound(f"client {client.name!r} has no saved selection {name!r}")
                row, outcome = updated, "updated"
            self._vault.audit.append(
                conn,
                self._actor,
                "people_import.selection_save",
                target_type="directory",
                target_id=directory.id,
                client_id=client.id,
                details={"selection_id": row.id, "name": name, "outcome": outcome,
                         "spec": json.loads(spec), "interval_seconds": seconds,
                         "enabled": enabled},
            )  # fmt: skip
            return SavedSelection(row, client.name, directory.name)

    def list(self, client_ref: str) -> builtins.list[SavedSelection]:
        self._require()
        with self._db.read() as conn:
            client = find_client_row(conn, client_ref, self._actor)
            return [self._model(conn, r) for r in rows.of_clients(conn, [client.id])]

    def get(self, client_ref: str, ref: str) -> SavedSelection:
        self._require()
        with self._db.read() as conn:
            return self._model(conn, self._find(conn, client_ref, ref))

    def runs(
        self, client_ref: str, ref: str, *, limit: int = 20
    ) -> builtins.list[SelectionRunJson]:
        """The selection's newest runs first (each with its counts and refused lines)."""
        self._require()
        with self._db.read() as conn:
            row = self._find(conn, client_ref, ref)
            return [run_json(r) for r in rows.runs_of(conn, row.id, limit)]

    def remove(self, client_ref: str, ref: str) -> SavedSelection:
        """Forget the selection and its runs (the people and groups it imported stay)."""
        self._require()
        with self._db.write() as conn:
            row = self._find(conn, client_ref, ref)
            model = self._model(conn, row)
            rows.delete(conn, row.id)
            self._vault.audit.append(
                conn,
                self._actor,
                "people_import.selection_remove",
                target_type="directory",
                target_id=row.directory_id,
                client_id=row.client_id,
                details={"selection_id": row.id, "name": row.name},
            )
            return model

    # -- running -----------------------------------------------------------------------------
    async def run(self, client_ref: str, ref: str) -> SelectionRunJson:
        """Run the selection now (trigger ``manual``); RunInProgress while another run of it
        is under way."""
        self._require()
        with self._db.read() as conn:
            row = self._find(conn, client_ref, ref)
        return await self._run(row.id, "manual")

    async def run_due(self, *, limit: int = 20) -> builtins.list[SelectionRunJson]:
        """The agent's: run every due selection (one at a time); one under way elsewhere is
        skipped (it waits for its next turn)."""
        self._require()
        with self._db.read() as conn:
            due = [r for r in rows.due(conn, self._clock(), limit) if self._actor.sees(r.client_id)]
        done: builtins.list[SelectionRunJson] = []
        for row in due:
            try:
                done.append(await self._run(row.id, AGENT_TRIGGER))
            except RunInProgress as exc:
                log.info("saved selection %s skipped this round: %s", row.id, exc)
            except NotFound:  # removed meanwhile
                continue
        return done

    def _start(self, selection_id: str, trigger: str) -> tuple[str, rows.SelectionRow]:
        now = self._clock()
        with self._db.write() as conn:
            row = rows.lock(conn, selection_id)
            if row is None:
                raise NotFound(f"no saved selection {selection_id!r}")
            find_client_row(conn, row.client_id, self._actor)
            for held in rows.running(conn, row.id):
                if _abandoned(held, now):
                    rows.finish_run(
                        conn, held.id, state="aborted", totals=held.totals, refused=held.refused,
                        message="abandoned: no sign of life (the process running it stopped)",
                        now=now, silent_since=held.heartbeat_at,
                    )  # fmt: skip
                    continue
                raise RunInProgress(
                    f"saved selection {row.name!r} has a run under way: run {held.id[:8]} "
                    f"(trigger {held.trigger}, by {held.actor} on {held.owner}); try again when "
                    "it has ended"
                )
            run_id = new_id()
            rows.insert_run(
                conn,
                rows.RunRow(run_id, row.id, trigger, self._actor.name, lease.owner(), "running",
                            now, now, None, "{}", "[]", ""),
            )  # fmt: skip
            return run_id, row

    async def _beat(self, run_id: str) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await asyncio.to_thread(self._beat_once, run_id)
            except CredsyncError as exc:  # the database away for a moment: try again later
                log.warning("selection run %s: its heartbeat was not stored: %s", run_id, exc)

    def _beat_once(self, run_id: str) -> None:
        with self._db.write() as conn:
            rows.beat(conn, run_id, self._clock())

    async def _run(self, selection_id: str, trigger: str) -> SelectionRunJson:
        run_id, row = self._start(selection_id, trigger)
        selection, provisioning = load_spec(row.spec)
        beating = asyncio.create_task(self._beat(run_id))
        state, totals, refused, message = "failed", {}, [], ""
        try:
            importer = PeopleImport(self._vault, self._keys, self._actor, factory=self._factory)
            report = await importer.sync(
                row.client_id, row.directory_id, selection, provisioning=provisioning
            )
            state, totals, refused = "done", _totals(report), _refused(report)
        except CredsyncError as exc:
            message = str(exc)
            log.warning("saved selection %s failed: %s", row.name, exc)
        except Exception as exc:  # a bug: the run ends as failed, not left running
            message = f"crashed: {type(exc).__name__}"
            log.exception("saved selection %s crashed", row.name)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        return self._finish(row, run_id, state, totals, refused, message)

    def _finish(
        self,
        row: rows.SelectionRow,
        run_id: str,
        state: str,
        totals: dict[str, int],
        refused: builtins.list[dict[str, Any]],
        message: str,
    ) -> SelectionRunJson:
        now = self._clock()
        with self._db.write() as conn:
            rows.finish_run(
                conn, run_id, state=state, totals=json.dumps(totals, sort_keys=True),
                refused=json.dumps(refused), message=message, now=now,
            )  # fmt: skip
            current = rows.get(conn, row.id)
            if current is not None:
                seconds = current.interval_seconds
                due = now + dt.timedelta(seconds=seconds) if seconds and current.enabled else None
                last = (now, state, json.dumps(totals, sort_keys=True))
                rows.schedule(conn, row.id, next_run_at=due, last=last)
            self._vault.audit.append(
                conn,
                self._actor,
                "people_import.selection_run",
                target_type="directory",
                target_id=row.directory_id,
                client_id=row.client_id,
                details={"selection_id": row.id, "name": row.name, "run_id": run_id,
                         "state": state, "totals": totals, "message": message},
            )  # fmt: skip
            found = rows.get_run(conn, run_id)
        if found is None:  # the selection was removed while it ran
            found = rows.RunRow(run_id, row.id, "", self._actor.name, "", state, now, now, now,
                                json.dumps(totals), json.dumps(refused), message)  # fmt: skip
        return run_json(found)
