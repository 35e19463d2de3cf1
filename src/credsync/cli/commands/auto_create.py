"""``credsync directory auto-create``: a directory's auto-create settings, shown or changed,
and the dry run listing what it would make (see :mod:`credsync.vault.auto_create`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from credsync.cli.fields import flag_names
from credsync.cli.output import details, emit, json_option, table
from credsync.cli.runtime import runtime

__all__ = ["directory_auto_create"]

_SHOWN = [
    ("directory", "Directory"),
    ("enabled", "Enabled"),
    ("trigger", "Trigger"),
    ("ous", "OUs"),
    ("groups", "Groups (nested)"),
    ("include_disabled", "Disabled accounts"),
    ("name_filter", "Name filter"),
    ("folder", "Folder"),
    ("title", "Title"),
    ("tags", "Tags"),
    ("sync_mode", "Sync mode"),
    ("max_per_run", "Max per run"),
    ("version", "Version"),
    ("updated_at", "Updated"),
]
_WOULD = [("account", "ACCOUNT"), ("title", "TITLE"), ("folder", "FOLDER"), ("upn", "UPN")]


def _shown(data: Mapping[str, Any]) -> str:
    view = dict(data)
    for name in ("ous", "groups", "tags"):
        view[name] = ", ".join(view.get(name) or ()) or "-"
    if view.get("sync_mode") is None:
        view["sync_mode"] = "the client's default"
    return details(view, _SHOWN)


def _preview(data: Mapping[str, Any]) -> str:
    rows = data["would_create"]
    head = f"{data['count']} credential(s) would be made for directory {data['directory']}"
    if data["over_limit"]:
        head += f": over its limit of {data['max_per_run']} per run, a run would make none"
    if not data["enabled"]:
        head += " (auto-create is off)"
    return head + ("\n" + table(rows, _WOULD) if rows else "")


def _given(options: Mapping[str, Any]) -> dict[str, Any]:
    """The settings' JSON names of what was given on the command line."""
    given: dict[str, Any] = {}
    if options["enabled"] is not None:
        given["enabled"] = options["enabled"]
    for flag, name in (("ou", "ous"), ("group", "groups"), ("tag", "tags")):
        if options[flag]:
            given[name] = list(options[flag])
    if options["no_ou"]:
        given["ous"] = []
    if options["no_group"]:
        given["groups"] = []
    if options["include_disabled"] is not None:
        given["include_disabled"] = options["include_disabled"]
    for name in ("name_filter", "folder", "title", "sync_mode", "trigger", "max_per_run"):
        if options[name] is not None:
            value = options[name]
            # "" clears a setting that may be empty; "default" is the client's mode
            if name in ("name_filter", "folder") and value == "":
                value = None
            given[name] = value
    return given


@click.command("auto-create")
@click.argument("name")
@click.option("--on/--off", "enabled", default=None, help="Turn auto-create on or off.")
@click.option("--ou", multiple=True, metavar="DN", help="An OU in scope (subtree); repeat.")
@click.option("--no-ou", is_flag=True, help="No OU condition (the whole base DN).")
@click.option(
    "--group", multiple=True, metavar="DN", help="Members (nested too) are in scope; repeat."
)
@click.option("--no-group", is_flag=True, help="No group condition.")
@click.option(
    "--include-disabled/--enabled-only",
    default=None,
    help="Whether disabled accounts are taken (default: enabled only).",
)
@click.option("--name-filter", metavar="GLOB", help='A glob on the name or UPN ("": none).')
@click.option("--folder", help='Folder of the new credentials ("": none).')
@click.option("--title", help="Title template, e.g. '{displayName} ({sAMAccountName})'.")
@click.option("--tag", multiple=True, help="A tag of the new credentials; repeat.")
@click.option(
    "--sync-mode",
    type=click.Choice(["report", "enforce", "two-way", "two_way", "default"]),
    help="Mode of the new credentials once they hold a password (default: the client's).",
)
@click.option("--trigger", type=click.Choice(["capture", "first_seen"]), help="When to make one.")
@click.option("--max-per-run", type=int, help="A run making more makes none (threshold).")
@click.option("--dry-run", is_flag=True, help="List what would be made now; change nothing.")
@json_option
@flag_names(ous="--ou", groups="--group", enabled="--on", include_disabled="--include-disabled")
@click.pass_context
def directory_auto_create(
    ctx: click.Context, /, name: str, dry_run: bool, as_json: bool, **options: Any
) -> None:
    """Show or change a directory's auto-create: its in-scope users become credentials.

    Without options it shows the settings. Changing them needs directory.setup; --dry-run
    reads the directory (needs directory_admin.use too).

    \b
    Examples:
      credsync directory auto-create contoso-ad --on \\
          --group 'CN=Staff,OU=Groups,DC=contoso,DC=com' --folder Staff \\
          --tag ad --trigger first_seen --max-per-run 100
      credsync directory auto-create contoso-ad --dry-run --json
    """
    port = runtime(ctx).ports.directories
    given = _given(options)
    if dry_run:
        if given:
            raise click.UsageError("--dry-run changes nothing: give it alone")
        data = port.auto_create_dry_run(name)
        emit(data, as_json, lambda: _preview(data))
        return
    shown = port.change_auto_create(name, given) if given else port.auto_create(name)
    emit(shown, as_json, lambda: _shown(shown))
