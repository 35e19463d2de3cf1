"""Sync runs: plan or run a client's directories now, and the stored runs with their
per-object reports. A run's record is ``RunReport.to_json`` (``RunReportJson``): whole, every
item of its report.

Through a server a run starts at once in a thread of the server's and is followed here until
it has ended (see :func:`followed`); the API sends a run's report a page at a time, and the
remote port reads every page (see :func:`whole_run`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from credsync.cli.output import note
from credsync.cli.ports import LocalVault, Record
from credsync.cli.remote import PAGE_MAX, Remote, path_of
from credsync.errors import CredsyncError, InvalidInput, SyncError

if TYPE_CHECKING:
    from credsync.sync.reports import RunReportJson
    from credsync.sync.retention import PruneJson

__all__ = [
    "RUN_POLL_MAX",
    "RUN_SILENT_MAX",
    "LocalSync",
    "RemoteSync",
    "SyncPort",
    "followed",
    "local",
    "remote",
    "whole_run",
]

RUN_POLL_MAX = 2.0  # seconds between two looks at a run under way, at most
# A run the server shows unchanged (no heartbeat, no item, same state) for this long is given
# up on (a run silent for a minute is abandoned: the server shows it aborted by then).
RUN_SILENT_MAX = 180.0


class SyncPort(Protocol):
    def run(
        self, client: str, directory: str | None, *, dry_run: bool, full: bool
    ) -> list[RunReportJson]:
        """A run of each directory of the client (or of ``directory`` only), one after the
        other, each to its end; a ``dry_run`` plans and changes nothing."""
        ...

    def runs(
        self,
        client: str | None,
        *,
        limit: int,
        directory: str | None = None,
        state: str | None = None,
    ) -> list[RunReportJson]:
        """The newest ``limit`` stored runs (of one client, one directory, in one state),
        without their items."""
        ...

    def show(self, ref: str) -> RunReportJson: ...

    def prune(self, *, dry_run: bool) -> PruneJson:
        """Delete the runs and items the retention no longer keeps (the vault's or the
        server's: see :mod:`credsync.sync.retention`); a ``dry_run`` counts them."""
        ...


class LocalSync:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def run(
        self, client: str, directory: str | None, *, dry_run: bool, full: bool
    ) -> list[RunReportJson]:
        import asyncio

        from credsync.sync.engine import Engine

        engine = Engine(self._rt.vault, self._rt.keys, self._rt.actor)
        names = [directory] if directory else [d.name for d in engine.directories_of(client)]

        async def go() -> list[RunReportJson]:
            return [(await engine.run(n, dry_run=dry_run, full=full)).to_json() for n in names]

        return asyncio.run(go())

    def runs(
        self,
        client: str | None,
        *,
        limit: int,
        directory: str | None = None,
        state: str | None = None,
    ) -> list[RunReportJson]:
        from credsync.sync.reports import StoredRuns

        found, _ = StoredRuns(self._rt.vault.db).page(
            self._rt.actor, client_ref=client, directory_ref=directory, limit=limit, state=state
        )
        return [r.report.to_json(items=False) for r in found]

    def show(self, ref: str) -> RunReportJson:
        from credsync.sync.reports import StoredRuns

        return StoredRuns(self._rt.vault.db).load(self._rt.actor, ref).to_json()

    def prune(self, *, dry_run: bool) -> PruneJson:
        from credsync.sync.retention import prune_for

        vault, retention = self._rt.vault, self._rt.settings.retention
        return prune_for(vault.db, vault.audit, self._rt.actor, retention, dry_run=dry_run)


def run_record(run: Record, *, items: bool = True) -> RunReportJson:
    """A run as the API sends it, as the record (``RunReport.to_json``)."""
    from credsync.sync.reports import RunReport

    return RunReport.from_json(run).to_json(items=items)


def whole_run(api: Remote, run: Record) -> RunReportJson:
    """A run from the API with every item of its report: the API sends the first page with
    the run and the rest through ``/runs/{id}/items``."""
    items = list(run.get("items") or [])
    cursor = run.get("next_items_cursor")
    while cursor is not None:
        page = api.get(path_of("runs", run["id"], "items"), cursor=cursor, limit=PAGE_MAX)
        if page["next_cursor"] == cursor:
            raise CredsyncError(f"the server sent the same page twice (run {run['id'][:8]})")
        items += page["items"]
        cursor = page["next_cursor"]
    return run_record({**run, "items": items})


def followed(api: Remote, run: Record) -> Record:
    """A run started on the server (it answers at once, the run under way in a thread of its
    own), looked at until it has ended: done, failed or aborted (a run whose process stopped
    shows as aborted). A run that shows no sign of life for RUN_SILENT_MAX is given up on."""
    pause = 0.05
    seen, since = _signs(run), time.monotonic()
    try:
        while run["state"] == "running":
            time.sleep(pause)
            pause = min(pause * 2, RUN_POLL_MAX)
            run = api.get(path_of("runs", run["id"]), items_limit=0)
            if _signs(run) != seen:
                seen, since = _signs(run), time.monotonic()
            elif time.monotonic() - since > RUN_SILENT_MAX:
                raise SyncError(
                    f"run {run['id'][:8]} on {run['directory']} has shown no sign of life for "
                    f"{RUN_SILENT_MAX:.0f} s: `credsync sync show {run['id'][:8]}` shows it"
                )
    except KeyboardInterrupt:
        note(
            f"credsync: the run {run['id'][:8]} goes on on the server: "
            f"`credsync sync show {run['id'][:8]}` shows it"
        )
        raise
    ended: Record = api.get(path_of("runs", run["id"]))
    return ended


def _signs(run: Record) -> tuple[Any, ...]:
    """What changes while a run works: its state, its heartbeat, its stored items."""
    return run["state"], run.get("heartbeat_at"), run.get("item_count")


class RemoteSync:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def run(
        self, client: str, directory: str | None, *, dry_run: bool, full: bool
    ) -> list[RunReportJson]:
        api = self._api
        if directory:
            names = [directory]
        else:
            names = [d["name"] for d in api.get("/directories", client=client)]
            if not names:  # as the engine says it (Engine.directories_of)
                raise InvalidInput(
                    f"client {client!r} has no directory: add one with `credsync directory add`"
                )
        runs = []
        for name in names:
            body = {"full": full}
            if dry_run:
                run = api.post(path_of("directories", name, "plan"), body)
            else:
                run = followed(api, api.post(path_of("directories", name, "runs"), body))
            runs.append(whole_run(api, run))
        return runs

    def runs(
        self,
        client: str | None,
        *,
        limit: int,
        directory: str | None = None,
        state: str | None = None,
    ) -> list[RunReportJson]:
        from credsync.sync.reports import check_limit, check_state

        check_limit(limit)  # as the local list says it; the API's pages are smaller
        check_state(state)
        found = self._api.collect("/runs", limit, client=client, directory=directory, state=state)
        return [run_record(r, items=False) for r in found]

    def show(self, ref: str) -> RunReportJson:
        return whole_run(self._api, self._api.get(path_of("runs", ref)))

    def prune(self, *, dry_run: bool) -> PruneJson:
        done: PruneJson = self._api.post("/runs/prune", dry_run="true" if dry_run else None)
        return done


def local(rt: LocalVault) -> SyncPort:
    return LocalSync(rt)


def remote(api: Remote) -> SyncPort:
    return RemoteSync(api)
