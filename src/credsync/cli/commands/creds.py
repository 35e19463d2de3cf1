"""cred commands: add, list, search, show, set-password, generate, history, sync-mode, edit,
delete, restore, purge."""

from __future__ import annotations

from typing import Any

import click

from credsync.cli.commands.clients import if_version
from credsync.cli.output import details, emit, json_option, note, table
from credsync.cli.remote import path_of
from credsync.cli.runtime import Runtime, confirm, read_secret, runtime
from credsync.errors import InvalidInput
from credsync.types import CredentialType, Secret, SyncMode

LIST_COLUMNS = [
    ("id", "Id"),
    ("title", "Title"),
    ("username", "Username"),
    ("folder", "Folder"),
    ("effective_sync_mode", "Sync"),
    ("tags", "Tags"),
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
MODES_OR_INHERIT = click.Choice([m.value for m in SyncMode] + ["inherit"])


def password_options(func: Any) -> Any:
    func = click.option("--policy", help="Password policy for --generate (default: default).")(func)
    func = click.option("--generate", is_flag=True, help="Generate the password.")(func)
    func = click.option(
        "--password-file",
        type=click.Path(dir_okay=False),
        help="Read the secret from a file: e.g. an app's certificate and private key (PEM).",
    )(func)
    func = click.option(
        "--password-stdin", is_flag=True, help="Read the password from standard input."
    )(func)
    return func


MAX_SECRET_FILE_BYTES = 64 * 1024


def read_secret_file(path: str) -> Secret:
    """A whole file as a secret (one trailing line break dropped): PEM documents are kept
    as they are; the vault checks what it may hold."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SECRET_FILE_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read the password file {path}: {exc.strerror}") from None
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise InvalidInput(f"the password file {path} is too large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"the password file {path} is not valid UTF-8") from None
    return Secret(text.replace("\r\n", "\n").removesuffix("\n"))


def obtain_password(
    rt: Runtime,
    password_stdin: bool,
    generate: bool,
    policy: str | None,
    username: str = "",
    password_file: str | None = None,
) -> tuple[Secret, str]:
    """(password, source) from stdin, a file, the generator, or a hidden prompt."""
    from credsync.vault.generator import generate as make_password

    if sum((password_stdin, generate, password_file is not None)) > 1:
        raise InvalidInput("choose one of --password-stdin, --password-file and --generate")
    if password_file is not None:
        return read_secret_file(password_file), "set"
    if generate:
        avoid = [part for part in username.replace("\\", " ").replace("@", " ").split() if part]
        return make_password(rt.vault.policies.get(policy), avoid=avoid), "generated"
    if policy:
        raise InvalidInput("--policy goes with --generate")
    return read_secret("Password", from_stdin=password_stdin, confirm=True), "set"


def remote_password(
    password_stdin: bool, generate: bool, policy: str | None, password_file: str | None = None
) -> dict[str, Any]:
    """The password part of an API request: generated on the server, or read here."""
    if sum((password_stdin, generate, password_file is not None)) > 1:
        raise InvalidInput("choose one of --password-stdin, --password-file and --generate")
    if generate:
        return {"generate": True, "policy": policy}
    if policy:
        raise InvalidInput("--policy goes with --generate")
    if password_file is not None:
        return {"password": read_secret_file(password_file).reveal()}
    secret = read_secret("Password", from_stdin=password_stdin, confirm=True)
    return {"password": secret.reveal()}


def _show(data: dict[str, Any], as_json: bool) -> None:
    if "password" not in data:
        data_h = {**data, "password": "******** (--reveal)"}
        data_h["notes"] = "(hidden; --reveal)" if data.get("has_notes") else None
    else:
        data_h = data
    emit(data, as_json, lambda: details(data_h, SHOW_FIELDS))


@click.group("cred")
def cred_group() -> None:
    """Credentials. An ID may be shortened to its first 6 or more characters."""


@cred_group.command("add")
@click.argument("client")
@click.option("--title", required=True)
@click.option("--username", default="")
@click.option("--url", default="")
@click.option("--notes", default=None, help="Notes (stored encrypted).")
@click.option("--tag", "tags", multiple=True, help="A tag; repeat for more.")
@click.option("--folder", help="Folder path; created when missing.")
@click.option("--type", "type_", type=TYPES, default="login", show_default=True)
@click.option("--sync-mode", type=MODES_OR_INHERIT, default="inherit", show_default=True)
@password_options
@json_option
@click.pass_context
def cred_add(
    ctx: click.Context,
    client: str,
    title: str,
    username: str,
    url: str,
    notes: str | None,
    tags: tuple[str, ...],
    folder: str | None,
    type_: str,
    sync_mode: str,
    password_stdin: bool,
    password_file: str | None,
    generate: bool,
    policy: str | None,
    as_json: bool,
) -> None:
    """Add a credential to CLIENT. The password comes from stdin, the generator, or a prompt.

    \b
    Examples:
      printf '%s' "$PW" | credsync cred add Contoso --title "DC admin" \\
          --username 'CONTOSO\\admin' --password-stdin --json
      credsync cred add Contoso --title "Backup" --username svc-backup --generate --tag backup
    """
    from credsync.vault.drafts import make_draft
    from credsync.vault.validate import parse_sync_mode

    rt = runtime(ctx)
    if rt.remote is not None:
        body = {
            "title": title, "username": username, "url": url, "notes": notes, "type": type_,
            "tags": list(tags), "folder": folder,
            "sync_mode": None if sync_mode == "inherit" else sync_mode,
            **remote_password(password_stdin, generate, policy, password_file),
        }  # fmt: skip
        _show(rt.remote.post(path_of("clients", client, "credentials"), body), as_json)
        return
    password, source = obtain_password(
        rt, password_stdin, generate, policy, username, password_file
    )
    draft = make_draft(
        title=title,
        password=password,
        username=username,
        url=url,
        notes=notes,
        type_=type_,
        tags=list(tags),
        sync_mode=parse_sync_mode(sync_mode, allow_inherit=True),
        folder_path=folder,
    )
    cred = rt.vault.credentials.add(
        rt.actor, rt.keys, client, draft, source="created", reason=f"created ({source})"
    )
    _show(cred.to_json(), as_json)


@cred_group.command("list")
@click.argument("client")
@click.option("--folder", help="Only this folder.")
@click.option("--tag", help="Only credentials with this tag.")
@click.option("--trash", is_flag=True, help="List the trash instead.")
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
    limit: int,
    cursor: str | None,
    everything: bool,
    as_json: bool,
) -> None:
    """List a client's credentials, by title.

    \b
    Examples:
      credsync cred list Contoso --json
      credsync cred list Contoso --tag backup --folder Servers
    """
    rt = runtime(ctx)
    rows: list[dict[str, Any]] = []
    while True:
        if rt.remote is not None:
            data = rt.remote.get(
                path_of("clients", client, "credentials"),
                folder=folder, tag=tag, trash=trash, limit=min(limit, 500), cursor=cursor,
            )  # fmt: skip
            rows.extend(data["items"])
            cursor = data["next_cursor"]
        else:
            page = rt.vault.credentials.list(
                rt.actor, client, folder=folder, tag=tag, trash=trash, limit=limit, cursor=cursor
            )
            rows.extend(c.to_json() for c in page.items)
            cursor = page.next_cursor
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
    rt = runtime(ctx)
    from credsync.vault.credentials import MAX_PAGE

    if rt.remote is not None:
        rows = rt.remote.get(
            "/credentials", q=" ".join(query), client=client, tag=tag,
            limit=min(limit + 1, MAX_PAGE),
        )["items"]  # fmt: skip
    else:
        found = rt.vault.credentials.search(
            rt.actor, " ".join(query), client_ref=client, tag=tag, limit=min(limit + 1, MAX_PAGE)
        )
        rows = [c.to_json() for c in found]
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
    rt = runtime(ctx)
    if rt.remote is not None:
        where = path_of("credentials", cred_id)
        data = rt.remote.post(f"{where}/reveal") if reveal else rt.remote.get(where)
    elif reveal:
        data = rt.vault.credentials.reveal(rt.actor, rt.keys, cred_id).to_json()
    else:
        data = rt.vault.credentials.get(rt.actor, cred_id, trashed=True).to_json()
    _show(data, as_json)


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
    rt = runtime(ctx)
    if rt.remote is not None:
        body = {
            "reason": reason or None, "version": if_version,
            **remote_password(password_stdin, generate, policy, password_file),
        }  # fmt: skip
        _show(rt.remote.put(f"{path_of('credentials', cred_id)}/password", body), as_json)
        return
    current = rt.vault.credentials.get(rt.actor, cred_id)
    password, source = obtain_password(
        rt, password_stdin, generate, policy, current.username, password_file
    )
    cred = rt.vault.credentials.set_password(
        rt.actor,
        rt.keys,
        cred_id,
        password,
        reason=reason,
        source=source,
        expected_version=if_version,
    )
    _show(cred.to_json(), as_json)


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
    rt = runtime(ctx)
    if rt.remote is not None:
        where = path_of("credentials", cred_id)
        body = {"generate": True, "policy": policy, "reason": reason or None, "version": if_version}
        data = rt.remote.put(f"{where}/password", body)
        _show(rt.remote.post(f"{where}/reveal") if show else data, as_json)
        return
    current = rt.vault.credentials.get(rt.actor, cred_id)
    password, source = obtain_password(rt, False, True, policy, current.username)
    rt.vault.credentials.set_password(
        rt.actor,
        rt.keys,
        cred_id,
        password,
        reason=reason,
        source=source,
        expected_version=if_version,
    )
    if show:
        data = rt.vault.credentials.reveal(rt.actor, rt.keys, cred_id).to_json()
    else:
        data = rt.vault.credentials.get(rt.actor, cred_id).to_json()
    _show(data, as_json)


@cred_group.command("history")
@click.argument("cred_id")
@click.option("--reveal", is_flag=True, help="Include each earlier password (audited).")
@json_option
@click.pass_context
def cred_history(ctx: click.Context, cred_id: str, reveal: bool, as_json: bool) -> None:
    """Every password the credential has had: who set it, when and why (newest first).

    \b
    Examples:
      credsync cred history 3f2a9c
      credsync cred history 3f2a9c --reveal --json
    """
    rt = runtime(ctx)
    if rt.remote is not None:
        where = f"{path_of('credentials', cred_id)}/history"
        rows = rt.remote.post(f"{where}/reveal") if reveal else rt.remote.get(where)
    else:
        entries = rt.vault.credentials.history(
            rt.actor, rt.keys if reveal else None, cred_id, reveal=reveal
        )
        rows = [e.to_json() for e in entries]
    columns = HISTORY_COLUMNS + ([("password", "Password")] if reveal else [])
    emit(rows, as_json, lambda: table(rows, columns))


@cred_group.command("sync-mode")
@click.argument("cred_id")
@click.argument("mode", type=MODES_OR_INHERIT)
@click.option("--yes", is_flag=True, help="Do not ask before switching to enforce.")
@if_version
@json_option
@click.pass_context
def cred_sync_mode(
    ctx: click.Context, cred_id: str, mode: str, yes: bool, if_version: int | None, as_json: bool
) -> None:
    """Set how a credential syncs: off, report, enforce, or inherit (the client's default).

    \b
    Examples:
      credsync cred sync-mode 3f2a9c enforce --yes
      credsync cred sync-mode 3f2a9c inherit
    """
    from credsync.vault.validate import parse_sync_mode

    rt = runtime(ctx)
    if rt.remote is not None:
        remote, where = rt.remote, f"{path_of('credentials', cred_id)}/sync-mode"
        body = {"sync_mode": mode, "version": if_version}
        data = remote.confirmed(lambda sure: remote.put(where, {**body, "confirm": sure}), yes)
        _show(data, as_json)
        return
    chosen = parse_sync_mode(mode, allow_inherit=True)
    current = rt.vault.credentials.get(rt.actor, cred_id)
    if rt.vault.credentials.becomes_enforced(current, chosen):
        from credsync.cli.enforce import confirm_enforce

        confirm_enforce(
            rt,
            current.client_id,
            f"{current.title!r} ({current.username or 'no username'})",
            credential_id=current.id,
            yes=yes,
        )
    cred = rt.vault.credentials.set_sync_mode(
        rt.actor, current.id, chosen, expected_version=if_version
    )
    _show(cred.to_json(), as_json)


@cred_group.command("edit")
@click.argument("cred_id")
@click.option("--title")
@click.option("--username")
@click.option("--url")
@click.option("--notes", help="Replace the notes ('' clears them).")
@click.option("--tag", "tags", multiple=True, help="Replace the tags; repeat for more.")
@click.option("--clear-tags", is_flag=True, help="Remove every tag.")
@click.option("--folder", help="Move to this folder ('' for none).")
@click.option("--type", "type_", type=TYPES)
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
    tags: tuple[str, ...],
    clear_tags: bool,
    folder: str | None,
    type_: str | None,
    if_version: int | None,
    as_json: bool,
) -> None:
    """Change a credential's title, username, url, notes, tags, folder or type.

    \b
    Example:
      credsync cred edit 3f2a9c --title "DC admin (old)" --tag legacy --folder Servers
    """
    rt = runtime(ctx)
    if rt.remote is not None:
        body = {
            "title": title, "username": username, "url": url, "notes": notes, "type": type_,
            "tags": [] if clear_tags else (list(tags) if tags else None), "folder": folder,
            "version": if_version,
        }  # fmt: skip
        changes = {k: v for k, v in body.items() if v is not None}
        _show(rt.remote.patch(path_of("credentials", cred_id), changes), as_json)
        return
    cred = rt.vault.credentials.edit(
        rt.actor,
        rt.keys,
        cred_id,
        title=title,
        username=username,
        url=url,
        notes=notes,
        type_=type_,
        tags=[] if clear_tags else (list(tags) if tags else None),
        folder=folder,
        expected_version=if_version,
    )
    _show(cred.to_json(), as_json)


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
    rt = runtime(ctx)
    if rt.remote is not None:
        data = rt.remote.delete(path_of("credentials", cred_id), version=if_version)
    else:
        data = rt.vault.credentials.delete(rt.actor, cred_id, expected_version=if_version).to_json()
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
    rt = runtime(ctx)
    if rt.remote is not None:
        data = rt.remote.post(f"{path_of('credentials', cred_id)}/restore")
    else:
        data = rt.vault.credentials.restore(rt.actor, cred_id).to_json()
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
    rt = runtime(ctx)
    if not yes:
        confirm(f"This destroys credential {cred_id} and every password it had.")
    if rt.remote is not None:
        purged = rt.remote.post(f"{path_of('credentials', cred_id)}/purge")["id"]
    else:
        purged = rt.vault.credentials.purge(rt.actor, cred_id)
    note(f"Purged {purged}.")
