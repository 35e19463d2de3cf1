"""``operator microsoft``: the vault's connection to the MSP's own tenant, for operators who
sign in with Microsoft (setup, show), and the operators' links to identities there (list,
link, unlink); admin, on a local vault or through a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from credsync.cli.output import details, emit, json_option, table
from credsync.cli.runtime import interactive, read_secret, runtime
from credsync.errors import InvalidInput, NotFound

SETTINGS = [
    ("tenant_id", "Tenant"),
    ("client_id", "Client id"),
    ("authority", "Authority"),
    ("redirect_uri", "Redirect URI"),
    ("has_ca", "Extra CAs"),
    ("has_secret", "Secret set"),
    ("updated_at", "Updated"),
    ("updated_by", "Updated by"),
]
LINKS = [
    ("operator", "OPERATOR"),
    ("username", "USER"),
    ("object_id", "OBJECT ID"),
    ("source", "SOURCE"),
    ("review", "REVIEW"),
    ("linked_at", "LINKED"),
]


@click.group("microsoft")
def operator_microsoft_group() -> None:
    """Operators who sign in with Microsoft: the MSP tenant's app registration, and links."""


@operator_microsoft_group.command("setup")
@click.option("--tenant-id", required=True, help="The MSP tenant's id (a GUID).")
@click.option("--client-id", required=True, help="The app registration's application id.")
@click.option(
    "--redirect-uri",
    required=True,
    help="The dashboard's callback, registered on the app (Web platform): "
    "https://<dashboard>/sign-in/microsoft/callback.",
)
@click.option(
    "--client-secret-stdin",
    is_flag=True,
    help="Read the app's client secret (its value) from standard input. Left out at a "
    "terminal, it is asked for (empty: keep the stored one).",
)
@click.option("--authority", help="The authority host (default https://login.microsoftonline.com).")
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Extra CA certificates (PEM) to trust for the authority.",
)
@json_option
@click.pass_context
def setup(
    ctx: click.Context,
    tenant_id: str,
    client_id: str,
    redirect_uri: str,
    client_secret_stdin: bool,
    authority: str | None,
    ca_file: Path | None,
    as_json: bool,
) -> None:
    """Connect the MSP's own tenant (admin; audited): operators linked to its users may then
    sign in to the dashboard with Microsoft. The secret is sealed under the master key.

    \b
    Example:
      cat secret.txt | credsync operator microsoft setup --tenant-id 1111...-5555 \\
        --client-id aaaa...-eeee --client-secret-stdin \\
        --redirect-uri https://vault.example.com/sign-in/microsoft/callback
    """
    rt = runtime(ctx)
    secret = None
    if client_secret_stdin:
        secret = read_secret("Client secret", from_stdin=True, what="client secret",
                             field="client_secret")  # fmt: skip
    elif interactive():
        rt.ports.sign_in()
        typed = read_secret("Client secret (empty: keep the stored one)", what="client secret",
                            field="client_secret")  # fmt: skip
        secret = typed if typed.reveal().strip() else None
    ca_pem = None
    if ca_file is not None:
        try:
            ca_pem = ca_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"can't read {ca_file}: {exc}", field="ca_pem") from None
    data = rt.ports.operator_sign_in.setup(
        tenant_id=tenant_id,
        client_id=client_id,
        redirect_uri=redirect_uri,
        client_secret=secret,
        authority=authority,
        ca_pem=ca_pem,
    )
    emit(data, as_json, lambda: details(dict(data), SETTINGS))


@operator_microsoft_group.command("show")
@json_option
@click.pass_context
def show(ctx: click.Context, as_json: bool) -> None:
    """Show the connection to the MSP's tenant (never its secret); admin."""
    data = runtime(ctx).ports.operator_sign_in.show()
    if data is None:
        raise NotFound("sign-in with Microsoft is not set up (`credsync operator microsoft setup`)")
    emit(data, as_json, lambda: details(dict(data), SETTINGS))


@operator_microsoft_group.command("list")
@json_option
@click.pass_context
def links(ctx: click.Context, as_json: bool) -> None:
    """List the operators linked to Microsoft identities (REVIEW: why a sync disabled one,
    its user being disabled or deleted in the tenant); admin."""
    data = runtime(ctx).ports.operator_sign_in.links()
    rows: list[dict[str, Any]] = [dict(x) for x in data]
    emit(data, as_json, lambda: table(rows, LINKS))


@operator_microsoft_group.command("link")
@click.argument("name")
@click.argument("object_id")
@click.option("--tenant-id", help="Default: the connected tenant.")
@click.option("--username", default="", help="The user's sign-in name (shown in lists).")
@json_option
@click.pass_context
def link(
    ctx: click.Context,
    name: str,
    object_id: str,
    tenant_id: str | None,
    username: str,
    as_json: bool,
) -> None:
    """Link operator NAME to the tenant's user OBJECT_ID (their object id in the tenant): they may
    then sign in with Microsoft (admin; audited).

    \b
    Example:
      credsync operator microsoft link bob 0f8fad5b-d9cb-469f-a165-70867728950e
    """
    data = runtime(ctx).ports.operator_sign_in.link(name, object_id, tenant_id, username)
    emit(data, as_json, f"Operator {data['operator']} is linked to {data['object_id']}.")


@operator_microsoft_group.command("unlink")
@click.argument("name")
@click.pass_context
def unlink(ctx: click.Context, name: str) -> None:
    """Unlink operator NAME from their Microsoft identity (admin; audited).

    \b
    Example:
      credsync operator microsoft unlink bob
    """
    runtime(ctx).ports.operator_sign_in.unlink(name)
    click.echo(f"Operator {name} is no longer linked to a Microsoft identity.")


FOUND = [
    ("kind", "KIND"),
    ("name", "NAME"),
    ("display_name", "DISPLAY NAME"),
    ("object_id", "OBJECT ID"),
    ("enabled", "ENABLED"),
]
REPORT = [
    ("action", "ACTION"),
    ("operator", "OPERATOR"),
    ("username", "USER"),
    ("object_id", "OBJECT ID"),
    ("reason", "REASON"),
]
GROUPS = [
    ("group_name", "GROUP"),
    ("group_id", "GROUP ID"),
    ("role", "ROLE"),
    ("clients", "CLIENTS"),
]


@operator_microsoft_group.group("import")
def import_group() -> None:
    """Import operators from the MSP tenant's users and groups (admin)."""


@import_group.command("search")
@click.argument("query", required=False, default="")
@click.option("--groups", is_flag=True, help="Find groups too.")
@json_option
@click.pass_context
def import_search(ctx: click.Context, query: str, groups: bool, as_json: bool) -> None:
    """The tenant's users (and groups) QUERY finds (words, or a filter; at most 500).

    \b
    Example:
      credsync operator microsoft import search helpdesk --groups
    """
    data = runtime(ctx).ports.operator_sign_in.search(query, groups)
    emit(data, as_json, lambda: table(data, FOUND))


@import_group.command("sync")
@click.argument("ids", nargs=-1)
@click.option("--role", default="viewer", show_default=True, help="The selected users' role.")
@click.option("--client", "clients", multiple=True, help="Their client access (repeat; none: all).")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@json_option
@click.pass_context
def import_sync(
    ctx: click.Context,
    ids: tuple[str, ...],
    role: str,
    clients: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
) -> None:
    """Synchronise: the users IDS (object ids) and the mapped groups' members made
    operators; operators whose user is disabled or deleted in the tenant disabled and marked
    for review (`operator microsoft list`). With no IDS: the groups and the review only.

    \b
    Examples:
      credsync operator microsoft import sync 0f8fad5b-d9cb-469f-a165-70867728950e --role technician
      credsync operator microsoft import sync --dry-run
    """
    data = runtime(ctx).ports.operator_sign_in.sync(list(ids), role, list(clients) or None, dry_run)
    emit(data, as_json, lambda: table(data["lines"], REPORT) if data["lines"] else "Nothing to do.")


@operator_microsoft_group.group("group")
def group_group() -> None:
    """Groups of the tenant whose members the import makes operators (admin)."""


@group_group.command("list")
@json_option
@click.pass_context
def group_list(ctx: click.Context, as_json: bool) -> None:
    """The mapped groups, with their role and client access."""
    data = runtime(ctx).ports.operator_sign_in.group_maps()
    rows = [
        {**g, "clients": "all" if g["clients"] is None else ", ".join(g["clients"])} for g in data
    ]
    emit(data, as_json, lambda: table(rows, GROUPS))


@group_group.command("map")
@click.argument("group_id")
@click.option("--role", required=True, help="The role its members get.")
@click.option("--client", "clients", multiple=True, help="Their client access (repeat; none: all).")
@json_option
@click.pass_context
def group_map(
    ctx: click.Context, group_id: str, role: str, clients: tuple[str, ...], as_json: bool
) -> None:
    """Map the tenant's group GROUP_ID to a role and client access (audited): its members
    (nested groups too) become operators at each `operator microsoft import sync`.

    \b
    Example:
      credsync operator microsoft group map 9a5a9f2e-1c3b-4d5e-8f70-112233445566 \\
        --role technician --client Contoso
    """
    data = runtime(ctx).ports.operator_sign_in.map_group(group_id, role, list(clients) or None)
    emit(data, as_json, f"Group {data['group_name']} maps to role {data['role']}.")


@group_group.command("unmap")
@click.argument("group_id")
@click.pass_context
def group_unmap(ctx: click.Context, group_id: str) -> None:
    """Stop importing GROUP_ID's members (the operators made stay).

    \b
    Example:
      credsync operator microsoft group unmap 9a5a9f2e-1c3b-4d5e-8f70-112233445566
    """
    runtime(ctx).ports.operator_sign_in.unmap_group(group_id)
    click.echo(f"Group {group_id} is no longer imported.")
