"""cred commands: add, list, search, show, set-password, generate, history, sync-mode, edit,
delete, restore, purge."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from credsync.cli.commands.clients import if_version
from credsync.cli.commands.cred_input import (
    new_password,
    notes_options,
    password_options,
    read_notes,
)
from credsync.cli.modes import SyncModeChoice
from credsync.cli.output import details, emit, json_option, note, table
from credsync.cli.runtime import confirm, runtime
from credsync.types import CredentialType

if TYPE_CHECKING:
    from credsync.vault.models import CredentialJson

LIST_COLUMNS = [
    ("id", "Id"),
    ("title", "Title"),
    ("username", "Username"),
    ("folder", "Folder"),
    ("effective_sync_mode", "Sync"),
    ("tags", "Tags"),
    ("password_unknown_in", "Password unknown"),
]
SEARCH_COLUMNS = [("client", "Client"), *LIST_COLUMNS]
SHOW_FIELDS = [
    ("id", "Id"),
    ("client", "Client"),
    ("folder", "Folder"),
    ("title", "Title"),
    ("username", "Username"),
    ("password", "Password"),
    ("url", "URL"),
    ("type", "Type"),
    ("tags", "Tags"),
    ("notes", "Notes"),
    ("sync_mode", "Sync mode"),
    ("effective_sync_mode", "Effective mode"),
    ("password_unknown_in", "Password unknown"),
    ("secret_version", "Password version"),
    ("password_changed_at", "Password changed"),
    ("version", "Version"),
    ("created_at", "Created"),
    ("created_by", "Created by"),
    ("updated_at", "Updated"),
    ("updated_by", "Updated by"),
    ("deleted_at", "In trash since"),
]
HISTORY_COLUMNS = [
    ("version", "Version"),
    ("current", "Current"),
    ("created_at", "When"),
    ("created_by", "Who"),
    ("source", "Source"),
    ("reason", "Why"),
]
TYPES = click.Choice([t.value for t in CredentialType])
ALLOW_DUPLICATE = "Even when the client has one with the same folder, title and username."
MODES_OR_INHERIT = SyncModeChoice(inherit=True)


def _show(data: CredentialJson, as_json: bool) -> None:
    shown: dict[str, object] = dict(data)
    if "password" not in data:
        hidden_notes = "(hidden; --reveal)" if data.get("has_notes") else None
        shown |= {"password": "******** (--reveal)", "notes": hidden_notes}
    emit(data, as_json, lambda: details(shown, SHOW_FIELDS))


@click.group("cred")
def cred_group() -> None:
    """Credentials. An ID may be shortened to its first 6 or more characters."""


@cred_group.command("add")
@click.argument("client")
@click.option("--title", required=True)
@click.option("--username", default="")
@click.option("--url", default="")
@click.option(
    "--notes",
    default=None,
    help="Notes (stored encrypted); on the command line they show in the process list: "
    "prefer --notes-stdin or --notes-file.",
)
@notes_options
@click.option("--tag", "tags", multiple=True, help="A tag; repeat for more.")
@click.option("--folder", help="Folder path; created when missing.")
@click.option("--type", "type_", type=TYPES, default="login", show_default=True)
@click.option("--sync-mode", type=MODES_OR_INHERIT, default="inherit", show_default=True)
@password_options
@click.option("--allow-duplicate", is_flag=True, help=ALLOW_DUPLICATE)
@json_option
@click.pass_context
def cred_add(
    ctx: click.Context,
    client: str,
    title: str,
    username: str,
    url: str,
    notes: str | None,
    notes_stdin: bool,
    notes_file: str | None,
    tags: tuple[str, ...],
    folder: str | None,
    type_: str,
    sync_mode: str,
    password_stdin: bool,
    password_file: str | None,
    generate: bool,
    policy: str | None,
    allow_duplicate: bool,
    as_json: bool,
) -> None:
    """Add a credential to CLIENT. The password comes from stdin, the generator, or a prompt.
    One with the folder, title and username of a credential CLIENT has is refused (exit 5),
    as an import refuses it, unless --allow-duplicate.

    \b
    Examples:
      printf '%s' "$PW" | credsync cred add Contoso --title "DC admin" \\
          --username 'CONTOSO\\admin' --password-stdin --json
      credsync cred add Contoso --title "Backup" --username svc-backup --generate --tag backup \\
          --notes-file backup-notes.txt
    """
    rt = runtime(ctx)
    notes = read_notes(notes, notes_stdin, notes_file, password_stdin)
    password = new_password(password_stdin, generate, policy, password_file)
    cred = rt.ports.credentials.add(
        client,
        password,
        title=title,
        username=username,
        url=url,
        notes=notes,
        type=type_,
        tags=list(tags),
        folder=folder,
        sync_mode=None if sync_mode == "inherit" else sync_mode,
        allow_duplicate=allow_duplicate,
    )
    _show(cred, as_json)


@cred_group.command("list")
@click.argument("client")
@click.option("--folder", help="Only this folder.")
@click.option("--tag", help="Only credentials with this tag.")
@click.option("--trash", is_flag=True, help="List the trash instead.")
@click.option(
    "--password-unknown",
    is_flag=True,
    help="Only those whose directory password the vault does not know (accepted without it).",
)
@click.option(
    "--overdue",
    is_flag=True,
    help="Only those overdue for rotation (password older than the client's --rotate-every).",
)
@click.option("--limit", type=int, default=1000, show_default=True, help="Page size.")
@click.option("--cursor", help="Continue after the page that printed this cursor.")
@click.option("--all", "everything", is_flag=True, help="Every page.")
@json_option
@click.pass_context
def cred_list(
    ctx: click.Context,
    client: str,
    folder: str | None,
    tag: str | None,
    trash: bool,
    password_unknown: bool,
    overdue: bool,
    limit: int,
    cursor: str | None,
    everything: bool,
    as_json: bool,
) -> None:
    """List a client's credentials, by title. "Password unknown" names the directories
    whose password the vault does not know (the directory's was accepted without it).

    \b
    Examples:
      credsync cred list Contoso --json
      credsync cred list Contoso --tag backup --folder Servers
      credsync cred list Contoso --password-unknown
      credsync cred list Contoso --overdue
    """
    port = runtime(ctx).ports.credentials
    rows: list[CredentialJson] = []
    while True:
        page, cursor = port.list(
            client,
            folder=folder,
            tag=tag,
            trash=trash,
            limit=limit,
            cursor=cursor,
            password_unknown=password_unknown,
            overdue=overdue,
        )
        rows += page
        if not everything or cursor is None:
            break
    if cursor is not None:
        note(f"More credentials follow: --cursor {cursor} (or --all).")
    emit(rows, as_json, lambda: table(rows, LIST_COLUMNS) if rows else "No credentials.")


@cred_group.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--client", help="Only this client.")
@click.option("--tag", help="Only credentials with this tag.")
@click.option("--limit", type=int, default=100, show_default=True)
@json_option
@click.pass_context
def cred_search(
    ctx: click.Context,
    query: tuple[str, ...],
    client: str | None,
    tag: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Find credentials whose title, username, url or tags have words starting with each word
    of QUERY.

    \b
    Examples:
      credsync cred search contoso admin
      credsync cred search backup --client Contoso --json
    """
    from credsync.vault.credentials import MAX_PAGE

    rows = runtime(ctx).ports.credentials.search(
        " ".join(query), client=client, tag=tag, limit=min(limit + 1, MAX_PAGE)
    )
    if len(rows) > limit:
        rows = rows[:limit]
        note(f"More than {limit} credentials match: add words, --client or --tag to narrow it.")
    emit(rows, as_json, lambda: table(rows, SEARCH_COLUMNS) if rows else "Nothing found.")


@cred_group.command("show")
@click.argument("cred_id")
@click.option("--reveal", is_flag=True, help="Include the password and notes (audited).")
@json_option
@click.pass_context
def cred_show(ctx: click.Context, cred_id: str, reveal: bool, as_json: bool) -> None:
    """Show a credential; the password only with --reveal.

    \b
    Example:
      credsync cred show 3f2a9c --reveal --json
    """
    port = runtime(ctx).ports.credentials
    _show(port.reveal(cred_id) if reveal else port.get(cred_id), as_json)


@cred_group.command("set-password")
@click.argument("cred_id")
@password_options
@click.option("--reason", default="", help="Why (kept in the history).")
@if_version
@json_option
@click.pass_context
def cred_set_password(
    ctx: click.Context,
    cred_id: str,
    password_stdin: bool,
    password_file: str | None,
    generate: bool,
    policy: str | None,
    reason: str,
    if_version: int | None,
    as_json: bool,
) -> None:
    """Give a credential a new password; the old one stays in its history.

    \b
    Example:
      printf '%s' "$NEW" | credsync cred set-password 3f2a9c --password-stdin --reason rotation
    """
    port = runtime(ctx).ports.credentials
    port.get(cred_id)  # there (and visible) before a password is asked for
    password = new_password(password_stdin, generate, policy, password_file)
    cred = port.set_password(cred_id, password, reason=reason, version=if_version)
    _show(cred, as_json)


@cred_group.command("generate")
@click.argument("cred_id")
@click.option("--policy", help="Password policy (default: default).")
@click.option("--reason", default="", help="Why (kept in the history).")
@click.option("--show", is_flag=True, help="Print the new password (audited as a reveal).")
@if_version
@json_option
@click.pass_context
def cred_generate(
    ctx: click.Context,
    cred_id: str,
    policy: str | None,
    reason: str,
    show: bool,
    if_version: int | None,
    as_json: bool,
) -> None:
    """Set a newly generated password on a credential.

    \b
    Example:
      credsync cred generate 3f2a9c --policy long --reason "quarterly rotation"
    """
    from credsync.cli.ports.credentials import NewPassword

    port = runtime(ctx).ports.credentials
    cred = port.set_password(
        cred_id, NewPassword(generate=True, policy=policy), reason=reason, version=if_version
    )
    _show(port.reveal(cred_id) if show else cred, as_json)


@cred_group.command("history")
@click.argument("cred_id")
@click.option("--reveal", is_flag=True, help="Include each earlier password (audited).")
@click.option("--version", type=click.IntRange(1), help="Only this password version.")
@json_option
@click.pass_context
def cred_history(
    ctx: click.Context, cred_id: str, reveal: bool, version: int | None, as_json: bool
) -> None:
    """Every password the credential has had: who set it, when and why (newest first).

    \b
    Examples:
      credsync cred history 3f2a9c
      credsync cred history 3f2a9c --reveal --json
      credsync cred history 3f2a9c --version 2 --reveal     # one earlier password
    """
    rows = runtime(ctx).ports.credentials.history(cred_id, reveal=reveal, version=version)
    columns = HISTORY_COLUMNS + ([("password", "Password")] if reveal else [])
    emit(rows, as_json, lambda: table(rows, columns))


@cred_group.command("sync-mode")
@click.argument("cred_id")
@click.argument("mode", type=MODES_OR_INHERIT)
@click.option("--yes", is_flag=True, help="Do not ask before switching to enforce or two-way.")
@if_version
@json_option
@click.pass_context
def cred_sync_mode(
    ctx: click.Context, cred_id: str, mode: str, yes: bool, if_version: int | None, as_json: bool
) -> None:
    """Set how a credential syncs: off, report, enforce, two-way, or inherit (the client's
    default). Report checks and flags; enforce pushes the vault's password (on every change
    and on drift); two-way pushes the vault's changes too, but leaves a password changed in
    the directory alone until its capture makes it the vault's. A switch to enforce or two-way
    needs directory.setup and names the accounts it will overwrite first (--yes: go ahead
    without asking).

    \b
    Examples:
      credsync cred sync-mode 3f2a9c enforce --yes
      credsync cred sync-mode 3f2a9c two-way
      credsync cred sync-mode 3f2a9c inherit
    """
    from credsync.cli.enforce import confirm_enforce

    cred = runtime(ctx).ports.credentials.set_sync_mode(
        cred_id, mode, version=if_version, confirm=confirm_enforce(yes)
    )
    _show(cred, as_json)


@cred_group.command("edit")
@click.argument("cred_id")
@click.option("--title")
@click.option("--username")
@click.option("--url")
@click.option(
    "--notes",
    help="Replace the notes ('' clears them); on the command line they show in the process "
    "list: prefer --notes-stdin or --notes-file.",
)
@notes_options
@click.option("--tag", "tags", multiple=True, help="Replace the tags; repeat for more.")
@click.option("--clear-tags", is_flag=True, help="Remove every tag.")
@click.option("--folder", help="Move to this folder ('' for none).")
@click.option("--type", "type_", type=TYPES)
@click.option("--allow-duplicate", is_flag=True, help=ALLOW_DUPLICATE)
@if_version
@json_option
@click.pass_context
def cred_edit(
    ctx: click.Context,
    cred_id: str,
    title: str | None,
    username: str | None,
    url: str | None,
    notes: str | None,
    notes_stdin: bool,
    notes_file: str | None,
    tags: tuple[str, ...],
    clear_tags: bool,
    folder: str | None,
    type_: str | None,
    allow_duplicate: bool,
    if_version: int | None,
    as_json: bool,
) -> None:
    """Change a credential's title, username, url, notes, tags, folder or type (a duplicate,
    as for add, only with --allow-duplicate).

    \b
    Examples:
      credsync cred edit 3f2a9c --title "DC admin (old)" --tag legacy --folder Servers
      printf '%s\\n' "$NOTES" | credsync cred edit 3f2a9c --notes-stdin
    """
    from credsync.cli.ports.credentials import Changes

    rt = runtime(ctx)
    notes = read_notes(notes, notes_stdin, notes_file, password_stdin=False)
    changes = Changes(
        title=title,
        username=username,
        url=url,
        notes=notes,
        type=type_,
        tags=[] if clear_tags else (list(tags) if tags else None),
        folder=folder,
    )
    port = rt.ports.credentials
    cred = port.edit(cred_id, changes, version=if_version, allow_duplicate=allow_duplicate)
    _show(cred, as_json)


@cred_group.command("delete")
@click.argument("cred_id")
@if_version
@json_option
@click.pass_context
def cred_delete(ctx: click.Context, cred_id: str, if_version: int | None, as_json: bool) -> None:
    """Move a credential to the trash (`cred restore` brings it back).

    \b
    Example:
      credsync cred delete 3f2a9c
    """
    data = runtime(ctx).ports.credentials.delete(cred_id, version=if_version)
    emit(data, as_json, f"Moved {data['id']} ({data['title']}) to the trash.")


@cred_group.command("restore")
@click.argument("cred_id")
@json_option
@click.pass_context
def cred_restore(ctx: click.Context, cred_id: str, as_json: bool) -> None:
    """Bring a credential back from the trash.

    \b
    Examples:
      credsync cred list Contoso --trash
      credsync cred restore 3f2a9c
    """
    data = runtime(ctx).ports.credentials.restore(cred_id)
    emit(data, as_json, f"Restored {data['id']} ({data['title']}).")


@cred_group.command("purge")
@click.argument("cred_id")
@click.option("--yes", is_flag=True, help="Do not ask.")
@click.pass_context
def cred_purge(ctx: click.Context, cred_id: str, yes: bool) -> None:
    """Destroy a trashed credential and its whole history (admin; cannot be undone).

    \b
    Example:
      credsync cred purge 3f2a9c --yes
    """
    port = runtime(ctx).ports.credentials
    if not yes:
        confirm(f"This destroys credential {cred_id} and every password it had.")
    note(f"Purged {port.purge(cred_id)}.")
