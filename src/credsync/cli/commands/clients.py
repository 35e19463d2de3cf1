"""client and folder commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from credsync.cli.fields import flag_names
from credsync.cli.modes import SyncModeChoice
from credsync.cli.output import details, emit, json_option, table
from credsync.cli.runtime import runtime
from credsync.errors import InvalidInput

if TYPE_CHECKING:
    from credsync.vault.models import ClientJson

CLIENT_COLUMNS = [
    ("name", "Name"),
    ("credential_count", "Credentials"),
    ("directory_sync", "Dir sync"),
    ("default_sync_mode", "Default mode"),
    ("rotate_every_days", "Rotate every"),
    ("overdue_count", "Overdue"),
    ("archived", "Archived"),
    ("id", "Id"),
]
CLIENT_FIELDS = [
    ("id", "Id"),
    ("name", "Name"),
    ("directory_sync", "Directory sync"),
    ("default_sync_mode", "Default sync mode"),
    ("rotate_every_days", "Rotation (days)"),
    ("credential_count", "Credentials"),
    ("overdue_count", "Overdue"),
    ("archived_at", "Archived"),
    ("version", "Version"),
    ("created_at", "Created"),
    ("updated_at", "Updated"),
]
MODES = SyncModeChoice()
ON_OFF = click.Choice(["on", "off"])
rotate_every = click.option(
    "--rotate-every",
    "rotate_every_days",
    metavar="DAYS",
    help="Days between password changes, 1 to 3650 (0 or never: no rotation); an older "
    "password is overdue.",
)
if_version = click.option(
    "--if-version", type=int, help="Refuse the change unless the record is at this version."
)


def _show_client(data: ClientJson, as_json: bool) -> None:
    emit(data, as_json, lambda: details(data, CLIENT_FIELDS))


@click.group("client")
def client_group() -> None:
    """Clients: the customer organisations the vault is divided into.

    A CLIENT argument is a client's name (any case) or id.
    """


@client_group.command("add")
@click.argument("name")
@click.option("--directory-sync", type=ON_OFF, default="off", show_default=True)
@click.option("--default-sync-mode", type=MODES, default="report", show_default=True)
@rotate_every
@json_option
@click.pass_context
def client_add(
    ctx: click.Context,
    name: str,
    directory_sync: str,
    default_sync_mode: str,
    rotate_every_days: str | None,
    as_json: bool,
) -> None:
    """Add a client.

    \b
    Examples:
      credsync client add "Contoso Ltd" --json
      credsync client add "Contoso Ltd" --rotate-every 90
    """
    from credsync.vault.rotation import parse_rotate_every

    rt = runtime(ctx)
    client = rt.ports.clients.add(
        name,
        directory_sync=directory_sync == "on",
        default_sync_mode=default_sync_mode,
        rotate_every_days=parse_rotate_every(rotate_every_days or ""),
    )
    _show_client(client, as_json)


@client_group.command("list")
@click.option("--archived", is_flag=True, help="Include archived clients.")
@json_option
@click.pass_context
def client_list(ctx: click.Context, archived: bool, as_json: bool) -> None:
    """List clients with their credential counts."""
    rows = runtime(ctx).ports.clients.list(archived=archived)
    emit(rows, as_json, lambda: table(rows, CLIENT_COLUMNS) if rows else "No clients.")


@client_group.command("show")
@click.argument("client")
@json_option
@click.pass_context
def client_show(ctx: click.Context, client: str, as_json: bool) -> None:
    """Show one client.

    \b
    Example:
      credsync client show "Contoso Ltd" --json
    """
    _show_client(runtime(ctx).ports.clients.get(client), as_json)


@client_group.command("rename")
@click.argument("client")
@click.argument("new_name")
@if_version
@json_option
@click.pass_context
def client_rename(
    ctx: click.Context, client: str, new_name: str, if_version: int | None, as_json: bool
) -> None:
    """Rename a client.

    \b
    Example:
      credsync client rename "Contoso Ltd" "Contoso Group" --if-version 3
    """
    renamed = runtime(ctx).ports.clients.rename(client, new_name, version=if_version)
    _show_client(renamed, as_json)


@client_group.command("archive")
@click.argument("client")
@json_option
@click.pass_context
def client_archive(ctx: click.Context, client: str, as_json: bool) -> None:
    """Archive a client: hidden from lists and search, nothing is deleted.

    \b
    Example:
      credsync client archive "Contoso Ltd"
    """
    _show_client(runtime(ctx).ports.clients.set_archived(client, True), as_json)


@client_group.command("unarchive")
@click.argument("client")
@json_option
@click.pass_context
def client_unarchive(ctx: click.Context, client: str, as_json: bool) -> None:
    """Bring an archived client back.

    \b
    Example:
      credsync client unarchive "Contoso Ltd"
    """
    _show_client(runtime(ctx).ports.clients.set_archived(client, False), as_json)


@client_group.command("set")
@click.argument("client")
@click.option("--directory-sync", type=ON_OFF, help="Let this client's credentials sync.")
@click.option("--default-sync-mode", type=MODES, help="Mode for credentials without their own.")
@click.option(
    "--yes", is_flag=True, help="Do not ask before switching the default to enforce or two-way."
)
@rotate_every
@if_version
@json_option
@click.pass_context
def client_set(
    ctx: click.Context,
    client: str,
    directory_sync: str | None,
    default_sync_mode: str | None,
    yes: bool,
    rotate_every_days: str | None,
    if_version: int | None,
    as_json: bool,
) -> None:
    """Set the directory-sync switch and the default sync mode (off, report, enforce,
    two-way; needs directory.setup), and the rotation interval (needs vault.write). A switch
    of the default to enforce or two-way names the accounts it will overwrite first.

    \b
    Examples:
      credsync client set "Contoso Ltd" --directory-sync on --default-sync-mode report
      credsync client set "Contoso Ltd" --default-sync-mode two-way --yes
      credsync client set "Contoso Ltd" --rotate-every 90
      credsync client set "Contoso Ltd" --rotate-every never
    """
    from credsync.cli.enforce import confirm_enforce
    from credsync.vault.rotation import parse_rotate_every

    port = runtime(ctx).ports.clients
    if rotate_every_days is None and directory_sync is None and default_sync_mode is None:
        raise InvalidInput(
            "nothing to change: give directory sync, a default sync mode or a rotation interval",
            field=("directory_sync", "default_sync_mode", "rotate_every_days"),
        )
    if rotate_every_days is not None and directory_sync is None and default_sync_mode is None:
        updated = port.set_rotation(
            client, parse_rotate_every(rotate_every_days), version=if_version
        )
    else:
        days = None if rotate_every_days is None else parse_rotate_every(rotate_every_days)
        updated = port.configure(
            client,
            directory_sync=None if directory_sync is None else directory_sync == "on",
            default_sync_mode=default_sync_mode,
            version=if_version,
            confirm=confirm_enforce(yes),
        )
        if rotate_every_days is not None:  # the version was checked by the first change
            updated = port.set_rotation(updated["id"], days, version=None)
    _show_client(updated, as_json)


@click.group("folder")
def folder_group() -> None:
    """Folders inside a client (paths like "Servers/Domain controllers")."""


@folder_group.command("add")
@click.argument("client")
@click.argument("path")
@json_option
@flag_names(folder="PATH")  # the service's "folder" (a credential's --folder) is this PATH
@click.pass_context
def folder_add(ctx: click.Context, client: str, path: str, as_json: bool) -> None:
    """Add a folder.

    \b
    Example:
      credsync folder add Contoso "Servers/Domain controllers"
    """
    data = runtime(ctx).ports.clients.add_folder(client, path)
    emit(data, as_json, f"Folder {data['path']} added.")


@folder_group.command("list")
@click.argument("client")
@json_option
@click.pass_context
def folder_list(ctx: click.Context, client: str, as_json: bool) -> None:
    """List a client's folders.

    \b
    Example:
      credsync folder list Contoso --json
    """
    rows = runtime(ctx).ports.clients.folders(client)
    emit(
        rows,
        as_json,
        lambda: table(rows, [("path", "Path"), ("id", "Id")]) if rows else "No folders.",
    )


@folder_group.command("delete")
@click.argument("client")
@click.argument("path")
@json_option
@flag_names(folder="PATH")  # the service's "folder" (a credential's --folder) is this PATH
@click.pass_context
def folder_delete(ctx: click.Context, client: str, path: str, as_json: bool) -> None:
    """Delete an empty folder.

    \b
    Example:
      credsync folder delete Contoso "Servers/Domain controllers"
    """
    data = runtime(ctx).ports.clients.delete_folder(client, path)
    emit(data, as_json, f"Folder {data['path']} deleted.")
