"""``credsync person import save|selections|run-selection|remove-selection``: saved selections
of a client's directory people and groups (the rules are
:mod:`credsync.sync.people_selections`'s), re-synchronised by the agent at their interval, and
the options of the import into a group with a provisioning policy (``--into-group``) that
``sync`` and ``save`` share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from credsync.cli.fields import flag_names
from credsync.cli.output import emit, json_option, table
from credsync.cli.runtime import runtime
from credsync.errors import SyncAborted

__all__ = [
    "PROVISIONING_FLAGS",
    "add_selection_commands",
    "provisioning",
    "provisioning_options",
]

PROVISIONING_FLAGS = {"into_group": "--into-group", "sync_mode": "--sync-mode"}
_LIST = [
    ("name", "Name"),
    ("directory", "Directory"),
    ("what", "Selection"),
    ("every", "Every"),
    ("last_run_at", "Last run"),
    ("last", "Last result"),
]
_RUNS = [
    ("started_at", "Started"),
    ("trigger", "Trigger"),
    ("actor", "By"),
    ("state", "State"),
    ("counts", "Counts"),
]


def provisioning_options(func: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option(
            "--into-group",
            metavar="GROUP",
            help="Import the people into this group of the client (a new name: made), each "
            "with a primary credential with no password yet (awaiting onboarding).",
        ),
        click.option("--folder", default="", help="With --into-group: their credentials' folder."),
        click.option(
            "--sync-mode",
            type=click.Choice(["off", "report", "enforce", "two-way"]),
            help="With --into-group: their credentials' sync mode once they have a password "
            "(default: the client's).",
        ),
        click.option(
            "--invite", is_flag=True, help="With --into-group: to be sent an onboarding invitation."
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def provisioning(
    into_group: str | None, folder: str, sync_mode: str | None, invite: bool
) -> dict[str, Any] | None:
    if into_group is None:
        if folder or sync_mode or invite:
            raise click.UsageError("--folder, --sync-mode and --invite go with --into-group")
        return None
    mode = sync_mode.replace("-", "_") if sync_mode else None
    return {"into_group": into_group, "folder": folder, "sync_mode": mode, "invite": invite}


def _counts(totals: Mapping[str, int] | None) -> str:
    if not totals:
        return "-"
    return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in totals.items() if v)


def _what(s: Mapping[str, Any]) -> str:
    what = f"{len(s['ids'])} ids" if s["ids"] else f"query {s['query']!r}"
    what += " +groups" if s["groups"] else ""
    what += " +members" if s["members"] else ""
    if s["provisioning"]:
        what += f" into {s['provisioning']['into_group']}"
    return what


def _list_text(found: list[Any]) -> str:
    if not found:
        return "No saved selections."
    rows = [
        {
            **s,
            "what": _what(s),
            "every": f"{s['interval_seconds']} s" if s["interval_seconds"] else "by hand",
            "last_run_at": s["last_run_at"] or "never",
            "last": f"{s['last_state']}: {_counts(s['last_totals'])}" if s["last_state"] else "-",
        }
        for s in found
    ]
    return table(rows, _LIST, max_width=60)


def _run_text(run: Mapping[str, Any]) -> str:
    lines = [f"Run ({run['trigger']}, by {run['actor']}): {run['state']}; {_counts(run['totals'])}"]
    if run["message"]:
        lines.append(run["message"])
    lines += [f"  refused: {r['name'] or r['object_id']}: {r['reason']}" for r in run["refused"]]
    return "\n".join(lines)


def _show_text(data: Mapping[str, Any]) -> str:
    lines = [_list_text([data["selection"]])]
    if data["runs"]:
        rows = [{**r, "counts": _counts(r["totals"])} for r in data["runs"]]
        lines += ["", table(rows, _RUNS, max_width=60)]
        for run in data["runs"][:1]:
            lines += [f"  refused: {r['name'] or r['object_id']}: {r['reason']}"
                      for r in run["refused"]]  # fmt: skip
    return "\n".join(lines)


def add_selection_commands(group: click.Group) -> None:
    @group.command("save")
    @click.argument("client")
    @click.argument("directory")
    @click.argument("name")
    @click.option("--id", "ids", multiple=True, metavar="ID", help="An object id; repeat.")
    @click.option("--query", help="Every result of this query instead (see search).")
    @click.option("--groups", is_flag=True, help="With --query: its groups too.")
    @click.option("--members", is_flag=True, help="The members of imported groups too.")
    @click.option(
        "--interval",
        type=click.IntRange(0),
        default=0,
        help="Seconds between the agent's runs (at least 300); 0 (the default): by hand only.",
    )
    @click.option("--disabled", is_flag=True, help="Saved, but the agent does not run it.")
    @provisioning_options
    @json_option
    @flag_names(selection="--id or --query", **PROVISIONING_FLAGS)
    @click.pass_context
    def save(ctx: click.Context, client: str, directory: str, name: str, ids: tuple[str, ...],
             query: str | None, groups: bool, members: bool, interval: int, disabled: bool,
             into_group: str | None, folder: str, sync_mode: str | None, invite: bool,
             as_json: bool) -> None:  # fmt: skip
        """Save a selection of DIRECTORY's people and groups as NAME (one of CLIENT's; a name
        it has already: replaced), for the agent to re-synchronise every --interval seconds
        or for run-selection. Needs directory.setup and vault.write on the client.

        \b
        Examples:
          credsync person import save Contoso contoso-365 Sales --query sales --groups \\
              --members --interval 3600
          credsync person import save Contoso contoso-365 Staff --query '' --into-group Staff
        """
        data = runtime(ctx).ports.people_import.save(
            client, directory, name, ids=ids, query=query, groups=groups, members=members,
            interval=interval or None, enabled=not disabled,
            provisioning=provisioning(into_group, folder, sync_mode, invite),
        )  # fmt: skip
        emit(data, as_json, lambda: f"Saved selection {data['name']}.\n" + _list_text([data]))

    @group.command("selections")
    @click.argument("client")
    @click.argument("name", required=False)
    @json_option
    @click.pass_context
    def selections(ctx: click.Context, client: str, name: str | None, as_json: bool) -> None:
        """CLIENT's saved selections, with how each one's last run went; with NAME, that one
        and its newest runs (counts, and the last run's refused lines).

        \b
        Examples:
          credsync person import selections Contoso
          credsync person import selections Contoso Sales --json
        """
        port = runtime(ctx).ports.people_import
        if name is None:
            found = port.selections(client)
            emit(found, as_json, lambda: _list_text(found))
            return
        data = {"selection": port.get_selection(client, name),
                "runs": port.selection_runs(client, name)}  # fmt: skip
        emit(data, as_json, lambda: _show_text(data))

    @group.command("run-selection")
    @click.argument("client")
    @click.argument("name")
    @json_option
    @click.pass_context
    def run_selection(ctx: click.Context, client: str, name: str, as_json: bool) -> None:
        """Run CLIENT's saved selection NAME now. Exit 9 when it failed or refused any object
        (the others were imported).

        \b
        Example:
          credsync person import run-selection Contoso Sales
        """
        run = runtime(ctx).ports.people_import.run_selection(client, name)
        emit(run, as_json, lambda: _run_text(run))
        if run["state"] != "done":
            raise SyncAborted(f"the run {run['state']}: {run['message']}")
        if run["totals"].get("refused"):
            raise SyncAborted(f"{run['totals']['refused']} objects were refused")

    @group.command("remove-selection")
    @click.argument("client")
    @click.argument("name")
    @json_option
    @click.pass_context
    def remove_selection(ctx: click.Context, client: str, name: str, as_json: bool) -> None:
        """Forget CLIENT's saved selection NAME and its runs (what it imported stays).

        \b
        Example:
          credsync person import remove-selection Contoso Sales
        """
        gone = runtime(ctx).ports.people_import.remove_selection(client, name)
        emit(gone, as_json, lambda: f"Removed selection {gone['name']}.")
