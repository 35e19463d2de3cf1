"""``credsync person import``: people and groups imported from a client's directory (issue
16; the rules are :mod:`credsync.sync.people_import`'s): ``search`` previews what a query
finds and whether each object is already a person / group of the client; ``sync`` imports a
selection (object ids, or every result of a query) and reports each object, or with
``--dry-run`` what it would do, keeping nothing; with ``--into-group``, into a group with a
provisioning policy. Saved selections (:mod:`credsync.cli.commands.people_selections`):
``save``, ``selections``, ``run-selection``, ``remove-selection``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from credsync.cli.commands.people_selections import (
    PROVISIONING_FLAGS,
    add_selection_commands,
    provisioning,
    provisioning_options,
)
from credsync.cli.fields import flag_names
from credsync.cli.output import emit, json_option, note, table
from credsync.cli.runtime import runtime
from credsync.errors import SyncAborted

__all__ = ["import_group", "report_text"]

MAX_PREVIEW = 1000  # as credsync.sync.people_import's (not imported with the help)
_FOUND = [
    ("kind", "Kind"),
    ("name", "Name"),
    ("username", "Username"),
    ("email", "E-mail"),
    ("type", "Type"),
    ("enabled", "Enabled"),
    ("vault_id", "In vault"),
    ("object_id", "Object id"),
]
_OUTCOMES = [
    ("kind", "Kind"),
    ("name", "Name"),
    ("outcome", "Outcome"),
    ("detail", "Detail"),
]
_TOTALS = ("created", "updated", "unchanged", "linked", "refused")


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def _preview(data: Mapping[str, Any]) -> str:
    found = [*data["people"], *data["groups"]]
    rows = [{**f, "vault_id": f["vault_id"] or "-"} for f in found]
    head = (
        f"Found in {data['directory']} ({data['client']}): "
        f"{_plural(len(data['people']), 'person', 'people')}"
    )
    if data["groups"]:
        head += f", {_plural(len(data['groups']), 'group')}"
    lines = [head]
    if rows:
        lines.append(table(rows, _FOUND, max_width=60))
    return "\n".join(lines)


def _detail(line: Mapping[str, Any]) -> str:
    parts = [line["reason"]] if line["reason"] else []
    if line["changed"] and line["outcome"] == "updated":  # a new one's are all it has
        parts.append("changed: " + ", ".join(line["changed"]))
    for key, word in (("members_added", "added"), ("members_removed", "removed"),
                      ("members_outside", "outside")):  # fmt: skip
        if line[key]:
            parts.append(f"members {word}: " + ", ".join(line[key]))
    return "; ".join(parts)


def report_text(data: Mapping[str, Any]) -> str:
    totals = ", ".join(f"{data['totals'][k]} {k}" for k in _TOTALS)
    head = (
        f"Import from {data['directory']} into {data['client']}: {totals}; members "
        f"{data['members_added']} added, {data['members_removed']} removed"
    )
    if data["dry_run"]:
        head += "; dry run: nothing kept"
    onboarding = data.get("onboarding")
    if onboarding:
        made = " (new)" if onboarding["group_created"] else ""
        head += (
            f"\nInto group {onboarding['group']}{made}: "
            f"{_plural(onboarding['credentials_created'], 'credential')} with no password yet "
            f"(awaiting onboarding), {_plural(onboarding['members_added'], 'member')} added"
        )
        for why in onboarding["refused"]:
            head += f"\n  refused: {why}"
    rows = [{**o, "detail": _detail(o)} for o in data["objects"]]
    lines = [head]
    if rows:
        lines.append(table(rows, _OUTCOMES, max_width=100))
    return "\n".join(lines)


@click.group("import")
def import_group() -> None:
    """Import people and groups from a client's directory (Office 365 / Entra ID): search,
    then sync a selection. Both need directory.setup and vault.write on the client."""


@import_group.command("search")
@click.argument("client")
@click.argument("directory")
@click.argument("query", nargs=-1)
@click.option("--groups", is_flag=True, help="Search groups too.")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_PREVIEW),
    default=200,
    show_default=True,
    help="At most this many people (and groups).",
)
@json_option
@click.pass_context
def import_search(ctx: click.Context, client: str, directory: str, query: tuple[str, ...],
                  groups: bool, limit: int, as_json: bool) -> None:  # fmt: skip
    """Preview what a query finds in a client's directory; writes nothing.

    Each user (and group, with --groups) that QUERY finds in DIRECTORY (one of CLIENT's),
    with the person or group of the client it already is (IN VAULT). QUERY is words (names,
    sign-in name or e-mail starting with them), or the query language of the directory's
    kind: its own search text (Graph's "displayName:w" OR "mail:w") or filter: and a filter,
    or an RFC 4515 filter such as "(department=Sales)"; none: everything.

    \b
    Examples:
      credsync person import search Contoso contoso-365 anna berg
      credsync person import search Contoso contoso-365 sales --groups --json
      credsync person import search Contoso contoso-365 "filter:department eq 'Sales'"
      credsync person import search Contoso contoso-dc "(&(department=Sales)(title=Lead*))"
    """
    data = runtime(ctx).ports.people_import.search(
        client, directory, " ".join(query), groups=groups, limit=limit
    )
    emit(data, as_json, lambda: _preview(data))
    if data["truncated"]:
        note(f"More were found than --limit {limit} shows: narrow the query or raise --limit.")


@import_group.command("sync")
@click.argument("client")
@click.argument("directory")
@click.option(
    "--id", "ids", multiple=True, metavar="ID", help="An object id (user or group); repeat."
)
@click.option("--query", help="Import every result of this query instead (see search).")
@click.option("--groups", is_flag=True, help="With --query: its groups too.")
@click.option("--members", is_flag=True, help="Import the members of imported groups too (nested).")
@click.option("--dry-run", is_flag=True, help="Report what the import would do; keep nothing.")
@provisioning_options
@json_option
@flag_names(selection="--id or --query", **PROVISIONING_FLAGS)
@click.pass_context
def import_sync(ctx: click.Context, client: str, directory: str, ids: tuple[str, ...],
                query: str | None, groups: bool, members: bool, dry_run: bool,
                into_group: str | None, folder: str, sync_mode: str | None, invite: bool,
                as_json: bool) -> None:  # fmt: skip
    """Import users and groups of a client's directory as people and groups.

    The objects --id names, or every result of --query, from DIRECTORY (one of CLIENT's); one
    line per object, created, updated (which fields), unchanged, linked or refused and why, with
    each group's members added, removed and left outside. Imported attributes are read-only
    in the vault. Exit 9 when any object was refused (the others were imported).

    \b
    Examples:
      credsync person import sync Contoso contoso-365 --id 6d1f0a52-... --id 0c4e...
      credsync person import sync Contoso contoso-365 --query sales --groups --members
      credsync person import sync Contoso contoso-365 --query '' --dry-run --json
      credsync person import sync Contoso contoso-365 --query '' --into-group Staff \\
          --folder People --sync-mode enforce --invite
    """
    data = runtime(ctx).ports.people_import.sync(
        client,
        directory,
        ids=ids,
        query=query,
        groups=groups,
        members=members,
        dry_run=dry_run,
        provisioning=provisioning(into_group, folder, sync_mode, invite),
    )
    emit(data, as_json, lambda: report_text(data))
    refused = data["totals"]["refused"]
    if refused:
        would = " would be" if data["dry_run"] else " were"
        raise SyncAborted(f"{refused} of {len(data['objects'])} objects{would} refused")


add_selection_commands(import_group)
