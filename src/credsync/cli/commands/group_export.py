"""``credsync group export``: a client's groups exported to one of its directories (Office
365; issue 16, Passly's group export rules; the rules are
:mod:`credsync.sync.provision_groups`'s): ``show`` and ``set`` the directory's settings,
``plan`` what an apply would do, ``apply`` it (duplicates removed only with
``--confirm-duplicates`` and exactly the ids the plan listed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from credsync.cli.fields import flag_names
from credsync.cli.output import details, emit, json_option, note, table
from credsync.cli.runtime import runtime
from credsync.errors import SyncAborted

__all__ = ["export_group"]

_SETTINGS = [
    ("directory", "Directory"),
    ("matching", "Matching"),
    ("create_missing", "Create missing"),
    ("remove_duplicates", "Remove duplicates"),
    ("membership_source", "Members from"),
    ("version", "Version"),
    ("updated_at", "Updated"),
    ("updated_by", "Updated by"),
]
_LINES = [
    ("name", "Group"),
    ("type", "Type"),
    ("action", "Action"),
    ("object_id", "Object id"),
    ("detail", "Detail"),
]
_DUPLICATES = [("object_id", "Duplicate to remove"), ("name", "Name"), ("state", "State")]


def _names(members: list[Mapping[str, Any]]) -> str:
    return ", ".join(m["name"] for m in members)


def _detail(line: Mapping[str, Any]) -> str:
    parts = [line["reason"]] if line["reason"] else []
    side = "the directory" if line["membership_source"] == "vault" else "the vault"
    if line["members_to_add"]:
        parts.append(f"add in {side}: {_names(line['members_to_add'])}")
    if line["members_to_remove"]:
        parts.append(f"remove in {side}: {_names(line['members_to_remove'])}")
    if line["members_outside"]:
        parts.append("outside: " + ", ".join(line["members_outside"]))
    if line["error"]:
        parts.append(f"failed: {line['error']}")
    return "; ".join(parts)


def _plan(data: Mapping[str, Any]) -> str:
    word = "Applied" if data["applied"] else "Plan"
    writes = "writes made" if data["applied"] else "writes to make"
    head = (
        f"{word}: export of {data['client']}'s groups to {data['directory']}: "
        f"{len(data['groups'])} groups, {len(data['duplicates'])} duplicates, "
        f"{data['writes']} {writes}"
    )
    lines = [head]
    rows = [{**g, "object_id": g["object_id"] or "-", "detail": _detail(g)} for g in data["groups"]]
    if rows:
        lines.append(table(rows, _LINES, max_width=100))
    if data["duplicates"]:
        state = "removed" if data["applied"] else "listed"
        dups = [{**d, "state": "removed" if d["removed"] else state} for d in data["duplicates"]]
        lines.append(table(dups, _DUPLICATES, max_width=100))
    return "\n".join(lines)


@click.group("export")
def export_group() -> None:
    """Export a client's groups to one of its directories (Office 365): show and set the
    rules, plan, apply. Planning needs directory.setup and vault.read; applying and setting
    directory.setup and vault.write."""


@export_group.command("show")
@click.argument("client")
@click.argument("directory")
@json_option
@click.pass_context
def export_show(ctx: click.Context, client: str, directory: str, as_json: bool) -> None:
    """Show the group export settings of DIRECTORY (one of CLIENT's).

    \b
    Example:
      credsync group export show Contoso contoso-365
    """
    data = runtime(ctx).ports.group_export.settings(client, directory)
    emit(data, as_json, lambda: details(data, _SETTINGS))


@export_group.command("set")
@click.argument("client")
@click.argument("directory")
@click.option(
    "--matching",
    type=click.Choice(["type_and_email", "name"]),
    help="A directory group matches by name, type and e-mail, or by name alone.",
)
@click.option(
    "--create-missing/--no-create-missing",
    default=None,
    help="Create a group when none matches (off: only when none has its name).",
)
@click.option(
    "--remove-duplicates/--no-remove-duplicates",
    default=None,
    help="List same-named directory groups credsync does not own, for removal.",
)
@click.option(
    "--membership-source",
    type=click.Choice(["vault", "directory"]),
    help="Whose members the other side is made to have.",
)
@json_option
@flag_names(
    matching="--matching",
    create_missing="--create-missing",
    remove_duplicates="--remove-duplicates",
    membership_source="--membership-source",
)
@click.pass_context
def export_set(ctx: click.Context, client: str, directory: str, matching: str | None,
               create_missing: bool | None, remove_duplicates: bool | None,
               membership_source: str | None, as_json: bool) -> None:  # fmt: skip
    """Change the group export settings of DIRECTORY (one of CLIENT's); the others stay.

    \b
    Examples:
      credsync group export set Contoso contoso-365 --matching name --remove-duplicates
      credsync group export set Contoso contoso-365 --membership-source directory
    """
    given = {
        "matching": matching,
        "create_missing": create_missing,
        "remove_duplicates": remove_duplicates,
        "membership_source": membership_source,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    data = runtime(ctx).ports.group_export.configure(client, directory, changes)
    emit(data, as_json, lambda: details(data, _SETTINGS))


_GROUP = click.option(
    "--group", "groups", multiple=True, metavar="GROUP",
    help="A group of the client (name or id); repeat. None: every group.",
)  # fmt: skip


@export_group.command("plan")
@click.argument("client")
@click.argument("directory")
@_GROUP
@json_option
@flag_names(groups="--group")
@click.pass_context
def export_plan(ctx: click.Context, client: str, directory: str, groups: tuple[str, ...],
                as_json: bool) -> None:  # fmt: skip
    """Show what exporting CLIENT's groups to DIRECTORY would do; writes nothing.

    Per group: its directory group (linked already, matched by the rules, to create, or why
    not), the members to add and remove, and the duplicates to remove (with
    --remove-duplicates set): their ids are what `apply --confirm-duplicates` takes.

    \b
    Examples:
      credsync group export plan Contoso contoso-365
      credsync group export plan Contoso contoso-365 --group Sales --json
    """
    data = runtime(ctx).ports.group_export.plan(client, directory, groups)
    emit(data, as_json, lambda: _plan(data))


@export_group.command("apply")
@click.argument("client")
@click.argument("directory")
@_GROUP
@click.option(
    "--confirm-duplicates",
    "confirm",
    multiple=True,
    metavar="ID",
    help="A duplicate the plan listed, to remove; give each of them (another list is refused).",
)
@json_option
@flag_names(groups="--group", confirm_duplicates="--confirm-duplicates")
@click.pass_context
def export_apply(ctx: click.Context, client: str, directory: str, groups: tuple[str, ...],
                 confirm: tuple[str, ...], as_json: bool) -> None:  # fmt: skip
    """Export CLIENT's groups to DIRECTORY: create, link, keep members in step, and remove
    the confirmed duplicates. A second apply with nothing changed writes nothing. Exit 9
    when a group failed (the others were done).

    \b
    Examples:
      credsync group export apply Contoso contoso-365
      credsync group export apply Contoso contoso-365 --confirm-duplicates 6d1f0a52-...
    """
    data = runtime(ctx).ports.group_export.apply(client, directory, groups, confirm or None)
    emit(data, as_json, lambda: _plan(data))
    left = [d for d in data["duplicates"] if not d["removed"]]
    if left and not confirm:
        note(f"{len(left)} duplicates not removed: apply with --confirm-duplicates and their ids.")
    failed = data["errors"]
    if failed:
        raise SyncAborted(f"{failed} of {len(data['groups'])} groups failed")
