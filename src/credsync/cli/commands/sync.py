"""sync commands (plan, run, runs, show), flags (list, resolve) and the agent."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import click

from credsync.cli.ops import HEARTBEAT_FILE, log_format_option, share_events
from credsync.cli.output import details, emit, json_option, note, table, when
from credsync.cli.runtime import read_secret, runtime
from credsync.errors import InvalidInput, SyncAborted

if TYPE_CHECKING:
    from credsync.sync.reports import RunReportJson
    from credsync.vault.flags import FlagJson

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
    ("accounts", "Accounts read"),
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
    ("opened_at", "Since"),
    ("detail", "Detail"),
]
RESOLVED_COLUMNS = [("flag_id", "Flag"), ("outcome", "Outcome"), ("detail", "Detail")]


def _counts(run: RunReportJson) -> str:
    summary = run.get("summary", {})
    statuses = summary.get("statuses", {})
    text = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) or "-"
    waiting = summary.get("awaiting_confirmation")
    return f"{text} ({waiting} awaiting confirmation)" if waiting else text


def _run_text(run: RunReportJson) -> str:
    from credsync.sync.report_text import (
        accounts_text,
        flagged_text,
        in_step_text,
        pruned_text,
        unchanged_text,
    )

    summary = run.get("summary", {})
    accounts = accounts_text(run["kind"], run["accounts_read"], run.get("accounts_total"))
    said = {
        "unchanged": unchanged_text(summary),
        "in_step": in_step_text(summary),
        "flagged": flagged_text(summary),
        "pruned": pruned_text(summary),
    }
    fields = [*RUN_FIELDS, *((k, label) for k, label in _SAID if said[k] is not None)]
    head = details({**run, "counts": _counts(run), "accounts": accounts, **said}, fields)
    items = [{**i, "credential_id": (i["credential_id"] or "-")[:8]} for i in run["items"]]
    if said["pruned"]:
        nothing = "Per-object report deleted by the retention."
    elif said["unchanged"] or said["in_step"] or said["flagged"]:
        nothing = "Nothing changed on either side."
    else:
        nothing = "Nothing to check."
    body = table(items, ITEM_COLUMNS, max_width=120) if items else nothing
    return f"{head}\n\n{body}"


_SAID = (
    ("unchanged", "Not re-checked"),
    ("in_step", "In step"),
    ("flagged", "Still flagged"),
    ("pruned", "Report"),
)


def _emit_runs(runs: list[RunReportJson], as_json: bool) -> None:
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
    runs = runtime(ctx).ports.sync.run(client, directory, dry_run=True, full=full)
    _emit_runs(runs, as_json)


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
    runs = runtime(ctx).ports.sync.run(client, directory, dry_run=dry_run, full=full)
    _emit_runs(runs, as_json)


@sync_group.command("runs")
@click.argument("client", required=False)
@click.option("--directory", help="Only the runs of this directory (name or id).")
@click.option(
    "--state",
    type=click.Choice(["running", "done", "aborted", "failed"]),
    help="Only the runs in this state.",
)
@click.option("--limit", type=int, default=20, show_default=True)
@json_option
@click.pass_context
def sync_runs(
    ctx: click.Context,
    client: str | None,
    directory: str | None,
    state: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List stored runs, the newest first.

    \b
    Examples:
      credsync sync runs Contoso --limit 5
      credsync sync runs --state failed
      credsync sync runs Contoso --directory contoso-ad --state aborted --json
    """
    rows = runtime(ctx).ports.sync.runs(client, limit=limit, directory=directory, state=state)
    shown = [{**r, "id": r["id"][:8], "counts": _counts(r)} for r in rows]
    emit(rows, as_json, lambda: table(shown, RUN_COLUMNS) if rows else "No runs.")


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
    data = runtime(ctx).ports.sync.show(run_id)
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
    """Open problems found by checks: list them (per client, directory, status, age), resolve
    them, and confirm the new links that wait for an operator with directory.setup
    (awaiting_confirmation).

    \b
    Examples:
      credsync flags                      every open flag
      credsync flags Contoso --status changed_in_directory --older-than 7d --json
      credsync flags resolve 1b2c3d4e --push
      printf '%s' "$PW" | credsync flags resolve 1b2c3d4e --accept-directory --password-stdin
      credsync flags confirm 1b2c3d4e     confirm a new link (asks, naming the account)
      credsync flags confirm --client Contoso --yes
      credsync flags accept 1b2c3d4e      take the password captured in the directory
    """


@flags_group.command("list")
@click.argument("client", required=False)
@click.option("--directory", help="Only this directory's (name or id).")
@click.option("--status", help="Only this status (e.g. mismatch).")
@click.option(
    "--older-than", help="Opened more than this long ago (30m, 12h, 7d, 2w) or before a date."
)
@click.option("--since", help="Opened at or after this date or time (or this long ago: 7d).")
@click.option("--all", "include_resolved", is_flag=True, help="Resolved flags too.")
@click.option(
    "--limit",
    type=click.IntRange(1, None),
    help="At most this many (default: every one); a note says when more follow.",
)
@click.option("--cursor", help="Continue after the list that printed this cursor.")
@json_option
@click.pass_context
def flags_list(
    ctx: click.Context,
    client: str | None,
    directory: str | None,
    status: str | None,
    older_than: str | None,
    since: str | None,
    include_resolved: bool,
    limit: int | None,
    cursor: str | None,
    as_json: bool,
) -> None:
    """List open flags (every one, or those of a client, directory, status or age), the most
    recently opened first. Nothing is left out unless --limit says so (and then a note on
    standard error gives the --cursor of the rest).

    \b
    Examples:
      credsync flags Contoso
      credsync flags --directory contoso-ad --older-than 7d --json
    """
    from credsync.cli.ports.flags import PAGE
    from credsync.vault.flags import FlagFilter

    where = FlagFilter(client, directory, status, older_than, since, include_resolved)
    port = runtime(ctx).ports.flags
    rows: list[FlagJson] = []
    while True:
        size = PAGE if limit is None else min(PAGE, limit - len(rows))
        page, after = port.page(where, limit=size, cursor=cursor)
        rows += page
        if after in (None, cursor):  # the last page (or one that would loop)
            cursor = None
            break
        cursor = after
        if limit is not None and len(rows) >= limit:
            break
    if cursor is not None:
        note(f"More flags follow: --cursor {cursor} (or leave out --limit for every one).")
    shown = [{**r, "id": r["id"][:8], "opened_at": when(r["opened_at"])} for r in rows]
    emit(
        rows,
        as_json,
        lambda: table(shown, FLAG_COLUMNS, max_width=80) if rows else "No open flags.",
    )


@flags_group.command("resolve")
@click.argument("flag_ids", nargs=-1, required=True, metavar="FLAG_ID...")
@click.option("--push", is_flag=True, help="Push the vault's password to the directory now.")
@click.option("--accept-directory", is_flag=True, help="The directory is right: stop flagging it.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="With --accept-directory and one flag: the directory's password, which the vault "
    "then keeps.",
)
@json_option
@click.pass_context
def flags_resolve(
    ctx: click.Context,
    flag_ids: tuple[str, ...],
    push: bool,
    accept_directory: bool,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Resolve flags: --push the vault's password, or --accept-directory (for one flag,
    optionally with the directory's password on standard input, checked with one bind and
    stored). Several flags are resolved flag by flag (pushes to one directory in one run),
    each with its own outcome; exit 9 when any was not resolved.

    \b
    Examples:
      credsync flags resolve 1b2c3d4e --push
      credsync flags resolve 1b2c3d4e 5f6a7b8c --accept-directory
    """
    if push == accept_directory:
        raise InvalidInput("give exactly one of --push and --accept-directory")
    if password_stdin and not accept_directory:
        raise InvalidInput("--password-stdin goes with --accept-directory")
    if password_stdin and len(flag_ids) > 1:
        raise InvalidInput("--password-stdin goes with one flag")
    port = runtime(ctx).ports.flags
    if len(flag_ids) > 1:
        results = port.resolve_many(flag_ids, push=push)
        rows = [{**r, "flag_id": r["flag_id"][:8]} for r in results]
        emit(results, as_json, lambda: table(rows, RESOLVED_COLUMNS, max_width=100))
        left = [r for r in results if r["outcome"] not in ("pushed", "accepted")]
        if left:
            raise SyncAborted(f"{len(left)} of {len(results)} flags are still open")
        return
    password = read_secret("Directory password", from_stdin=True) if password_stdin else None
    data = port.resolve(flag_ids[0], push=push, password=password)
    short = data["flag"]["id"][:8]
    emit(data, as_json, f"Flag {short}: {data['outcome']}. {data['detail']}".strip())
    if data["outcome"] == "failed":
        raise SyncAborted(f"flag {short} is still open: {data['detail']}")


@flags_group.command("confirm")
@click.argument("flags", nargs=-1, metavar="[FLAG_ID]...")
@click.option("--client", help="Every link of this client that awaits confirmation.")
@click.option("--yes", is_flag=True, help="Go ahead without asking (scripts).")
@json_option
@click.pass_context
def flags_confirm(
    ctx: click.Context, flags: tuple[str, ...], client: str | None, yes: bool, as_json: bool
) -> None:
    """Confirm new links for pushes (flags awaiting_confirmation), one or several, or every
    one of a client. A link a run made by matching names pushes nothing until an operator
    with directory.setup confirms it; this lists the accounts whose password the next run
    overwrites and asks (without a terminal: --yes).

    \b
    Examples:
      credsync flags confirm 1b2c3d4e 5f6a7b8c
      credsync flags confirm --client Contoso --yes --json
    """
    from credsync.cli.enforce import confirm_enforce

    port = runtime(ctx).ports.flags
    rows = port.confirm(list(flags), client, confirm=confirm_enforce(yes))
    shown = [{**r, "id": r["id"][:8], "updated_at": when(r["updated_at"])} for r in rows]
    emit(
        rows,
        as_json,
        lambda: (
            f"Confirmed {len(rows)} link{'' if len(rows) == 1 else 's'}: the next run "
            "pushes through them.\n" + table(shown, FLAG_COLUMNS, max_width=80)
        ),
    )


@click.command("agent")
@click.option("--once", is_flag=True, help="One round (every due run and queued push), then exit.")
@click.option(
    "--poll",
    type=float,
    default=0.2,
    show_default=True,
    help="Queue poll, seconds (a queued push wakes the agent at once on PostgreSQL; see "
    "docs/scale-out.md).",
)
@log_format_option
@click.pass_context
def agent_cmd(ctx: click.Context, once: bool, poll: float, log_format: str | None) -> None:
    """Run continuously: each directory's periodic run (its interval, jittered) and the
    immediate pushes queued when a secret changes under enforce. Stops on Ctrl-C / SIGTERM.

    As it goes round it touches $CREDSYNC_HOME/agent.heartbeat (what `credsync serve
    --no-agent --expect-agent` on the same home reads for /readyz), and (without --once) it
    counts its pushes for that server's /metrics.

    \b
    Examples:
      CREDSYNC_SESSION=... credsync agent
      credsync agent --log-format json    # JSON lines on stderr (the journal)
    """
    import socket

    from credsync.agent.heartbeat import Heartbeat
    from credsync.agent.loop import Agent

    rt = runtime(ctx)
    rt.use_log_format(log_format)
    if not once:  # a one-off round counts in its own memory: no server scrapes it
        share_events(rt.settings)
    heartbeat = Heartbeat(
        rt.settings.home / HEARTBEAT_FILE, f"{socket.gethostname()}:{os.getpid()}"
    )
    agent = Agent(
        rt.vault,
        rt.keys,
        rt.actor,
        poll_seconds=poll,
        on_round=heartbeat.beat,
        retention=rt.settings.retention,
    )
    note(f"credsync agent: running as {rt.actor.name} (Ctrl-C or SIGTERM stops)")

    async def main() -> None:
        import signal

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, agent.stop)
        await agent.run(once=once)

    asyncio.run(main())
    note("credsync agent: stopped")


ACCEPTED_COLUMNS = [
    ("flag_id", "Flag"),
    ("outcome", "Outcome"),
    ("secret_version", "Version"),
    ("detail", "Detail"),
]


@flags_group.command("accept")
@click.argument("flag_ids", nargs=-1, required=True, metavar="FLAG_ID...")
@json_option
@click.pass_context
def flags_accept(ctx: click.Context, flag_ids: tuple[str, ...], as_json: bool) -> None:
    """Accept the passwords captured in the directory that these flags hold (report mode's
    changed_in_directory flags, and conflicts the vault won): each becomes its credential's
    current password (source directory) and the flag closes. Each flag has its own outcome;
    exit 9 when any was refused. Needs vault.read and vault.write.

    \b
    Example:
      credsync flags accept 1b2c3d4e
    """
    results = runtime(ctx).ports.capture.accept(flag_ids)
    rows = [{**r, "flag_id": r["flag_id"][:8]} for r in results]
    emit(results, as_json, lambda: table(rows, ACCEPTED_COLUMNS, max_width=100))
    refused = [r for r in results if r["outcome"] != "accepted"]
    if refused:
        raise SyncAborted(f"{len(refused)} of {len(results)} flags are still open")
