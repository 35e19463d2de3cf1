"""``credsync person deleted``: people and groups whose object in a client's directory was
deleted or disabled (issue 16; the rules are :mod:`credsync.sync.deleted_check`'s): ``check``
lists them with the actions that apply; ``apply`` carries out the chosen actions and
reports each object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from credsync.cli.fields import flag_names
from credsync.cli.output import emit, json_option, table
from credsync.cli.runtime import runtime
from credsync.errors import SyncAborted
from credsync.sync.deleted_report import Action, DeletedChoiceJson

__all__ = ["deleted_group"]

_FOUND = [
    ("kind", "Kind"),
    ("name", "Name"),
    ("state", "State"),
    ("directory_name", "In directory"),
    ("deleted_at", "Deleted"),
    ("actions", "Actions"),
    ("object_id", "Object id"),
]
_DONE = [
    ("kind", "Kind"),
    ("name", "Name"),
    ("action", "Action"),
    ("outcome", "Outcome"),
    ("detail", "Detail"),
]


def _check(data: Mapping[str, Any]) -> str:
    head = (
        f"{data['directory']} ({data['client']}): {data['checked']} linked, "
        f"{len(data['findings'])} to decide"
    )
    if data["kept"]:
        head += f", {data['kept']} kept as they are"
    rows = [
        {
            **f,
            "actions": ", ".join(f["actions"]),
            "deleted_at": (f["deleted_at"] or "-")[:16],
            "name": f["name"] + (" (kept)" if f["kept"] else ""),
        }
        for f in data["findings"]
    ]
    return "\n".join([head, table(rows, _FOUND, max_width=60)] if rows else [head])


def _report(data: Mapping[str, Any]) -> str:
    totals = ", ".join(f"{n} {k}" for k, n in data["totals"].items())
    head = f"Deleted objects of {data['directory']} ({data['client']}): {totals}"
    rows = list(data["objects"])
    return "\n".join([head, table(rows, _DONE, max_width=100)] if rows else [head])


@click.group("deleted")
def deleted_group() -> None:
    """People and groups deleted or disabled in a client's directory: check, then apply an
    action to each (disable or delete in the vault, restore in the directory, keep). Both
    need directory.setup on the client; apply also vault.write."""


@deleted_group.command("check")
@click.argument("client")
@click.argument("directory")
@click.option("--kept", "include_kept", is_flag=True, help="List those kept as they are too.")
@json_option
@click.pass_context
def deleted_check(ctx: click.Context, client: str, directory: str, include_kept: bool,
                  as_json: bool) -> None:  # fmt: skip
    """List CLIENT's people and groups whose object in DIRECTORY is deleted, disabled or
    gone, with the actions that apply to each; writes nothing.

    \b
    Examples:
      credsync person deleted check Contoso contoso-365
      credsync person deleted check Contoso contoso-365 --kept --json
    """
    data = runtime(ctx).ports.people_deleted.check(client, directory, include_kept=include_kept)
    emit(data, as_json, lambda: _check(data))


def _choices(**chosen: tuple[str, ...]) -> list[DeletedChoiceJson]:
    out: list[DeletedChoiceJson] = []
    for action, values in chosen.items():
        for value in values:
            object_id, new_name = value, None
            if action == "restore" and "=" in value:
                object_id, new_name = value.split("=", 1)
            verb: Action = action  # type: ignore[assignment]
            out.append(DeletedChoiceJson(object_id=object_id.strip(), action=verb, kind=None,
                                         new_username=new_name))  # fmt: skip
    return out


@deleted_group.command("apply")
@click.argument("client")
@click.argument("directory")
@click.option("--disable", multiple=True, metavar="ID", help="Disable the person in the vault.")
@click.option("--delete", multiple=True, metavar="ID", help="Move to the vault's trash.")
@click.option(
    "--restore",
    multiple=True,
    metavar="ID[=NEW_USERNAME]",
    help="Restore in the directory (under NEW_USERNAME when the old one is taken).",
)
@click.option("--keep", multiple=True, metavar="ID", help="Keep as is; not asked again.")
@json_option
@flag_names(choices="--disable, --delete, --restore or --keep", new_username="--restore")
@click.pass_context
def deleted_apply(ctx: click.Context, client: str, directory: str, disable: tuple[str, ...],
                  delete: tuple[str, ...], restore: tuple[str, ...], keep: tuple[str, ...],
                  as_json: bool) -> None:  # fmt: skip
    """Apply an action to objects the check lists (by their object id in DIRECTORY): one
    line per object, done, refused or skipped and why. Exit 9 when any was refused (the
    others were done).

    \b
    Examples:
      credsync person deleted apply Contoso contoso-365 --delete 6d1f0a52-... --keep 0c4e...
      credsync person deleted apply Contoso contoso-365 --restore 6d1f...=anna2@contoso.com
    """
    chosen = _choices(disable=disable, delete=delete, restore=restore, keep=keep)
    data = runtime(ctx).ports.people_deleted.apply(client, directory, chosen)
    emit(data, as_json, lambda: _report(data))
    refused = data["totals"]["refused"]
    if refused:
        raise SyncAborted(f"{refused} of {len(data['objects'])} objects were refused")
