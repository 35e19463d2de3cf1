"""sync commands (plan, run, runs, show), flags (list, resolve) and the agent."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import click

from credsync.cli.output import details, emit, json_option, note, table, when
from credsync.cli.remote import PAGE_MAX, Remote, path_of
from credsync.cli.runtime import Runtime, read_secret, runtime
from credsync.errors import CredsyncError, InvalidInput, SyncAborted, SyncError
from credsync.vault.auth import Permission

ITEM_COLUMNS = [
    ("credential_id", "Credential"),
    ("account", "Account"),
    ("status", "Status"),
    ("action", "Action"),
    ("detail", "Detail"),
]
RUN_COLUMNS = [
    ("id", "Run"),
    ("client", "Client"),
    ("directory", "Directory"),
    ("kind", "Kind"),
    ("trigger", "Trigger"),
    ("state", "State"),
    ("started_at", "Started"),
    ("counts", "Statuses"),
]
RUN_FIELDS = [
    ("id", "Run"),
    ("client", "Client"),
    ("directory", "Directory"),
    ("side", "Side"),
    ("kind", "Kind"),
    ("trigger", "Trigger"),
    ("dry_run", "Dry run"),
    ("actor", "Operator"),
    ("state", "State"),
    ("message", "Message"),
    ("accounts_read", "Accounts read"),
    ("counts", "Statuses"),
    ("started_at", "Started"),
    ("finished_at", "Finished"),
]
FLAG_COLUMNS = [
    ("id", "Flag"),
    ("client", "Client"),
    ("title", "Credential"),
    ("username", "Username"),
    ("side", "Side"),
    ("directory", "Directory"),
    ("status", "Status"),
    ("updated_at", "Since"),
    ("detail", "Detail"),
]


def _engine(rt: Runtime) -> Any:
    from credsync.sync.engine import Engine

    return Engine(rt.vault, rt.keys, rt.actor)


def _counts(run: dict[str, Any]) -> str:
    statuses = run.get("summary", {}).get("statuses", {})
    return ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) or "-"


def _run_text(run: dict[str, Any]) -> str:
    run = {**run, "counts": _counts(run)}
    head = details(run, RUN_FIELDS)
    items = [{**i, "credential_id": (i["credential_id"] or "-")[:8]} for i in run["items"]]
    body = table(items, ITEM_COLUMNS, max_width=120) if items else "Nothing to check."
    return f"{head}\n\n{body}"


def _runs(rt: Runtime, client: str, directory: str | None, **kwargs: Any) -> list[dict[str, Any]]:
    if rt.remote is not None:
        return _remote_runs(rt.remote, client, directory, **kwargs)
    engine = _engine(rt)
    names = [directory] if directory else [d.name for d in engine.directories_of(client)]

    async def go() -> list[dict[str, Any]]:
        return [(await engine.run(name, **kwargs)).to_json() for name in names]

    return asyncio.run(go())


# -- through a server ------------------------------------------------------------------------
RUN_POLL_MAX = 2.0  # seconds between two looks at a run under way, at most
# A run the server shows unchanged (no heartbeat, no item, same state) for this long is given
# up on (a run silent for 2 minutes is abandoned: the server shows it aborted by then).
RUN_SILENT_MAX = 180.0


def _local_run(run: dict[str, Any]) -> dict[str, Any]:
    """A run from the API as the local ``--json`` shows it: without the API's
    ``item_count``, ``heartbeat_at`` and ``next_items_cursor``, and without ``items`` unless
    it has them."""
    run = {
        k: v for k, v in run.items() if k not in ("item_count", "heartbeat_at", "next_items_cursor")
    }
    if run.get("items") is None:
        run.pop("items", None)
    return run


def _whole_run(remote: Remote, run: dict[str, Any]) -> dict[str, Any]:
    """A run from the API with every item of its report: the API sends the first page with
    the run and the rest through ``/runs/{id}/items``."""
    items = list(run.get("items") or [])
    cursor = run.get("next_items_cursor")
    while cursor is not None:
        page = remote.get(path_of("runs", run["id"], "items"), cursor=cursor, limit=PAGE_MAX)
        if page["next_cursor"] == cursor:
            raise CredsyncError(f"the server sent the same page twice (run {run['id'][:8]})")
        items += page["items"]
        cursor = page["next_cursor"]
    return _local_run({**run, "items": items})


def _remote_runs(
    remote: Remote, client: str, directory: str | None, *, dry_run: bool, full: bool
) -> list[dict[str, Any]]:
    """The local ``_runs`` through a server: each directory of the client in turn, by name,
    as the local command goes (a dry run is the API's plan; a run is followed to its end)."""
    if directory:
        names = [directory]
    else:
        names = [d["name"] for d in remote.get("/directories", client=client)]
        if not names:
            raise InvalidInput(
                f"client {client!r} has no directory: add one with `credsync directory add`"
            )
    runs = []
    for name in names:
        body = {"full": full}
        if dry_run:
            run = remote.post(path_of("directories", name, "plan"), body)
        else:
            run = _followed(remote, remote.post(path_of("directories", name, "runs"), body))
        runs.append(_whole_run(remote, run))
    return runs


def _followed(remote: Remote, run: dict[str, Any]) -> dict[str, Any]:
    """A run started on the server (it answers at once, the run under way in a thread of its
    own), looked at until it has ended: done, failed or aborted (a run whose process stopped
    shows as aborted). A run that shows no sign of life for RUN_SILENT_MAX is given up on."""
    pause = 0.05
    seen, since = _signs(run), time.monotonic()
    try:
        while run["state"] == "running":
            time.sleep(pause)
            pause = min(pause * 2, RUN_POLL_MAX)
            run = remote.get(path_of("runs", run["id"]), items_limit=0)
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
    ended: dict[str, Any] = remote.get(path_of("runs", run["id"]))
    return ended


def _signs(run: dict[str, Any]) -> tuple[Any, ...]:
    """What changes while a run works: its state, its heartbeat, its stored items."""
    return run["state"], run.get("heartbeat_at"), run.get("item_count")


def _emit_runs(runs: list[dict[str, Any]], as_json: bool) -> None:
    emit({"runs": runs}, as_json, lambda: "\n\n".join(_run_text(r) for r in runs))
    bad = [r for r in runs if r["state"] not in ("done",)]
    if bad:
        raise SyncAborted(f"run {bad[0]['id'][:8]} on {bad[0]['directory']}: {bad[0]['message']}")


@click.group("sync")
def sync_group() -> None:
    """Directory sync: plan and run, and the stored runs with their per-object reports.

    A run exits 0 when it completed (its report says what it found) and 9 when it was
    aborted by a safety rail or failed (the directory unreachable, TLS, the bind refused).
    """


@sync_group.command("plan")
@click.argument("client")
@click.option("--directory", help="Only this directory of the client.")
@click.option("--full", is_flag=True, help="Read every account (not only the changes).")
@json_option
@click.pass_context
def sync_plan(
    ctx: click.Context, client: str, directory: str | None, full: bool, as_json: bool
) -> None:
    """Show what a run would do per credential, and why, without doing it (a dry run).

    \b
    Example:
      credsync sync plan Contoso
    """
    rt = runtime(ctx)
    _emit_runs(_runs(rt, client, directory, dry_run=True, full=full), as_json)


@sync_group.command("run")
@click.argument("client")
@click.option("--directory", help="Only this directory of the client.")
@click.option("--dry-run", is_flag=True, help="Plan only: change nothing anywhere.")
@click.option("--full", is_flag=True, help="A full pass: read every account.")
@json_option
@click.pass_context
def sync_run(
    ctx: click.Context,
    client: str,
    directory: str | None,
    dry_run: bool,
    full: bool,
    as_json: bool,
) -> None:
    """Run sync for a client's directories now and print the per-object report.

    \b
    Examples:
      credsync sync run Contoso
      credsync sync run Contoso --full --json | jq '.runs[0].summary'
    """
    rt = runtime(ctx)
    _emit_runs(_runs(rt, client, directory, dry_run=dry_run, full=full), as_json)


@sync_group.command("runs")
@click.argument("client", required=False)
@click.option("--limit", type=int, default=20, show_default=True)
@json_option
@click.pass_context
def sync_runs(ctx: click.Context, client: str | None, limit: int, as_json: bool) -> None:
    """List stored runs, the newest first.

    \b
    Example:
      credsync sync runs Contoso --limit 5
    """
    rt = runtime(ctx)
    if rt.remote is not None:
        rows = _remote_run_list(rt.remote, client, limit)
    else:
        from credsync.sync.reports import list_runs

        rt.actor.require(Permission.VAULT_READ)
        with rt.db.read() as conn:
            found = list_runs(conn, client_ref=client, limit=limit)
            rows = [r.to_json(items=False) for r in found]
    shown = [{**r, "id": r["id"][:8], "counts": _counts(r)} for r in rows]
    emit(rows, as_json, lambda: table(shown, RUN_COLUMNS) if rows else "No runs.")


def _remote_run_list(remote: Remote, client: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` runs through the server, a page at a time."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000")  # as list_runs says it
    return [_local_run(r) for r in remote.collect("/runs", limit, client=client)]


@sync_group.command("show")
@click.argument("run_id")
@json_option
@click.pass_context
def sync_show(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Show one run with its per-object report.

    \b
    Example:
      credsync sync show 6c1d20aa
    """
    rt = runtime(ctx)
    if rt.remote is not None:
        data = _whole_run(rt.remote, rt.remote.get(path_of("runs", run_id)))
    else:
        from credsync.sync.reports import load_run

        rt.actor.require(Permission.VAULT_READ)
        with rt.db.read() as conn:
            data = load_run(conn, run_id).to_json()
    emit(data, as_json, lambda: _run_text(data))


class _FlagsGroup(click.Group):
    """``credsync flags [CLIENT]`` lists; ``credsync flags resolve FLAG_ID`` resolves."""

    default_command = "list"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@click.group("flags", cls=_FlagsGroup)
def flags_group() -> None:
    """Open problems found by checks: list them (per client), and resolve them.

    \b
    Examples:
      credsync flags                      every open flag
      credsync flags Contoso --json
      credsync flags resolve 1b2c3d4e --push
      printf '%s' "$PW" | credsync flags resolve 1b2c3d4e --accept-directory --password-stdin
    """


@flags_group.command("list")
@click.argument("client", required=False)
@click.option("--all", "include_resolved", is_flag=True, help="Resolved flags too.")
@json_option
@click.pass_context
def flags_list(
    ctx: click.Context, client: str | None, include_resolved: bool, as_json: bool
) -> None:
    """List open flags (of one client, or all), the newest first.

    \b
    Example:
      credsync flags Contoso
    """
    rt = runtime(ctx)
    if rt.remote is not None:
        rows = rt.remote.get("/flags", client=client, include_resolved=include_resolved)
    else:
        found = rt.vault.flags.list(rt.actor, client, include_resolved=include_resolved)
        rows = [f.to_json() for f in found]
    shown = [{**r, "id": r["id"][:8], "updated_at": when(r["updated_at"])} for r in rows]
    emit(
        rows,
        as_json,
        lambda: table(shown, FLAG_COLUMNS, max_width=80) if rows else "No open flags.",
    )


@flags_group.command("resolve")
@click.argument("flag_id")
@click.option("--push", is_flag=True, help="Push the vault's password to the directory now.")
@click.option("--accept-directory", is_flag=True, help="The directory is right: stop flagging it.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="With --accept-directory: the directory's password, which the vault then keeps.",
)
@json_option
@click.pass_context
def flags_resolve(
    ctx: click.Context,
    flag_id: str,
    push: bool,
    accept_directory: bool,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Resolve a flag: --push the vault's password, or --accept-directory (optionally with
    the directory's password on standard input, checked with one bind and stored).

    \b
    Examples:
      credsync flags resolve 1b2c3d4e --push
      credsync flags resolve 1b2c3d4e --accept-directory
    """
    if push == accept_directory:
        raise InvalidInput("give exactly one of --push and --accept-directory")
    if password_stdin and not accept_directory:
        raise InvalidInput("--password-stdin goes with --accept-directory")
    rt = runtime(ctx)
    password = read_secret("Directory password", from_stdin=True) if password_stdin else None
    if rt.remote is not None:
        body = {"action": "push" if push else "accept_directory"}
        if password is not None:
            body["password"] = password.reveal()
        answer = rt.remote.post(path_of("flags", flag_id, "resolve"), body)
        data = {**answer, "run": _local_run(answer["run"]) if answer["run"] else None}
    else:
        from credsync.sync.resolve import Resolver

        resolver = Resolver(rt.vault, _engine(rt), rt.actor)
        if push:
            result = asyncio.run(resolver.push(flag_id))
        else:
            result = asyncio.run(resolver.accept(flag_id, password))
        data = {
            "flag": result.flag.to_json(),
            "outcome": result.outcome,
            "detail": result.detail,
            "run": result.run.to_json() if result.run else None,
        }
    short = data["flag"]["id"][:8]
    emit(data, as_json, f"Flag {short}: {data['outcome']}. {data['detail']}".strip())
    if data["outcome"] == "failed":
        raise SyncAborted(f"flag {short} is still open: {data['detail']}")


@click.command("agent")
@click.option("--once", is_flag=True, help="One round (every due run and queued push), then exit.")
@click.option("--poll", type=float, default=0.2, show_default=True, help="Queue poll, seconds.")
@click.pass_context
def agent_cmd(ctx: click.Context, once: bool, poll: float) -> None:
    """Run continuously: each directory's periodic run (its interval, jittered) and the
    immediate pushes queued when a secret changes under enforce. Stops on Ctrl-C / SIGTERM.

    \b
    Example:
      CREDSYNC_SESSION=... credsync agent
    """
    from credsync.agent.loop import Agent

    rt = runtime(ctx)
    agent = Agent(rt.vault, rt.keys, rt.actor, poll_seconds=poll)
    note(f"credsync agent: running as {rt.actor.name} (Ctrl-C or SIGTERM stops)")

    async def main() -> None:
        import signal

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, agent.stop)
        await agent.run(once=once)

    asyncio.run(main())
    note("credsync agent: stopped")
