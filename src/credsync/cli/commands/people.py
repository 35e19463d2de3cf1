"""operator, role and token commands, on a local vault or through a server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from credsync.cli.commands.mfa import operator_mfa_group
from credsync.cli.commands.sign_in import operator_microsoft_group
from credsync.cli.output import details, emit, json_option, note, table
from credsync.cli.runtime import Runtime, interactive, read_secret, runtime
from credsync.errors import InvalidInput
from credsync.types import Secret

OPERATOR_COLUMNS = [
    ("name", "Name"),
    ("role", "Role"),
    ("access", "Clients"),
    ("disabled", "Disabled"),
    ("mfa", "MFA"),
    ("last_login_at", "Last login"),
    ("id", "Id"),
]
TOKEN_COLUMNS = [
    ("id", "Id"),
    ("name", "Name"),
    ("operator", "Operator"),
    ("created_at", "Created"),
    ("expires_at", "Expires"),
    ("last_used_at", "Last used"),
    ("revoked", "Revoked"),
]


def access_text(op: Mapping[str, Any]) -> str:
    """An operator's client access in words: all, all (admin), or the clients' names."""
    clients = op.get("clients")
    if clients is None:
        return str(op.get("client_access") or "all")
    return ", ".join(c["name"] for c in clients)


def _shown(op: Mapping[str, Any]) -> dict[str, Any]:
    return {**op, "access": access_text(op)}


@click.group("operator")
def operator_group() -> None:
    """Operators: the people and scripts that use the vault."""


@operator_group.command("add")
@click.argument("name")
@click.option("--role", required=True, help="admin, technician, directory_manager, auditor, ...")
@click.option(
    "--client",
    "clients",
    multiple=True,
    help="Only this client (name or id; repeat for more). Without: every client.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@click.pass_context
def operator_add(
    ctx: click.Context,
    name: str,
    role: str,
    clients: tuple[str, ...],
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Add an operator (admin). Roles say what they may do; --client says where (every
    client without it).

    \b
    Example:
      printf '%s' "$PW" | credsync operator add bob --role technician --password-stdin
      credsync operator add carol --role technician --client Contoso --client Fabrikam
    """
    rt = runtime(ctx)
    rt.ports.sign_in()  # before the prompt
    password = read_secret(f"Password for {name}", from_stdin=password_stdin, confirm=True)
    data = rt.ports.people.add_operator(name, role, password, list(clients) or None)
    emit(
        data,
        as_json,
        f"Operator {data['name']} added with role {data['role']} (clients: {access_text(data)}).",
    )


@operator_group.command("clients")
@click.argument("name")
@click.option(
    "--client",
    "clients",
    multiple=True,
    help="Only this client (name or id; repeat for more).",
)
@click.option("--all-clients", is_flag=True, help="Every client.")
@json_option
@click.pass_context
def operator_clients(
    ctx: click.Context, name: str, clients: tuple[str, ...], all_clients: bool, as_json: bool
) -> None:
    """Set which clients an operator may reach (admin): every client, or only those given.
    A client outside it, and all it holds, answers as one that does not exist. It applies
    from their next command or request on; an admin always reaches every client.

    \b
    Example:
      credsync operator clients bob --client Contoso --client Fabrikam
      credsync operator clients bob --all-clients
    """
    if all_clients == bool(clients):
        raise InvalidInput("give --client (one or more) or --all-clients", field="clients")
    data = runtime(ctx).ports.people.set_clients(name, None if all_clients else list(clients))
    emit(data, as_json, f"Operator {data['name']} now reaches: {access_text(data)}.")


@operator_group.command("list")
@json_option
@click.pass_context
def operator_list(ctx: click.Context, as_json: bool) -> None:
    """List operators (admin)."""
    rows = runtime(ctx).ports.people.operators()
    emit(rows, as_json, lambda: table([_shown(r) for r in rows], OPERATOR_COLUMNS))


@operator_group.command("show")
@click.argument("name")
@json_option
@click.pass_context
def operator_show(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show an operator.

    \b
    Example:
      credsync operator show bob --json
    """
    data = runtime(ctx).ports.people.operator(name)
    emit(data, as_json, lambda: details(_shown(data), [(k, h) for k, h in OPERATOR_COLUMNS]))


@operator_group.command("set-role")
@click.argument("name")
@click.argument("role")
@json_option
@click.pass_context
def operator_set_role(ctx: click.Context, name: str, role: str, as_json: bool) -> None:
    """Give an operator another role (admin).

    \b
    Example:
      credsync operator set-role bob auditor
    """
    data = runtime(ctx).ports.people.set_role(name, role)
    emit(data, as_json, f"Operator {data['name']} now has role {data['role']}.")


def _set_disabled(rt: Runtime, name: str, disabled: bool) -> str:
    """Disable or enable an operator; its name as stored."""
    return str(rt.ports.people.set_disabled(name, disabled)["name"])


@operator_group.command("disable")
@click.argument("name")
@click.pass_context
def operator_disable(ctx: click.Context, name: str) -> None:
    """Disable an operator (admin): no sign-in, every web and CLI session of theirs ends for
    good (enabling them again does not bring one back), and their API tokens are refused until
    they are enabled (`credsync token revoke --all --operator NAME` ends those for good).

    \b
    Example:
      credsync operator disable bob
    """
    name = _set_disabled(runtime(ctx), name, True)
    note(
        f"Operator {name} disabled: every session of theirs ended; their API tokens are "
        "refused until they are enabled."
    )


@operator_group.command("enable")
@click.argument("name")
@click.pass_context
def operator_enable(ctx: click.Context, name: str) -> None:
    """Enable a disabled operator (admin).

    \b
    Example:
      credsync operator enable bob
    """
    note(f"Operator {_set_disabled(runtime(ctx), name, False)} enabled.")


@operator_group.command("passwd")
@click.argument("name", required=False)
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@click.option("--revoke-tokens", is_flag=True, help="Revoke the operator's API tokens too.")
@click.pass_context
def operator_passwd(
    ctx: click.Context, name: str | None, password_stdin: bool, revoke_tokens: bool
) -> None:
    """Change your password, or another operator's (admin).

    Every web and CLI session of the operator ends, yours too if it is yours (sign in or
    `credsync unlock` again). API tokens keep working unless --revoke-tokens is given; after
    a password that may have leaked, give it (or `credsync token revoke --all` later).
    Through a server, your own password changes only with the current one: from
    CREDSYNC_OPERATOR_PASSWORD, or a prompt.

    \b
    Examples:
      credsync operator passwd
      printf '%s\\n' "$PW" | credsync operator passwd bob --password-stdin --revoke-tokens
    """
    rt = runtime(ctx)
    me = str(rt.ports.people.whoami()["operator"])
    target = name or me
    password = read_secret(f"New password for {target}", from_stdin=password_stdin, confirm=True)
    change = rt.ports.people.set_password(
        target, password, current=lambda: _current_password(rt, me), revoke_tokens=revoke_tokens
    )
    who = change["operator"]
    note(
        f"Password of {who} changed; {change['sessions_ended']} web and CLI session(s) of "
        "theirs ended."
    )
    if change["tokens_revoked"]:
        note(f"{change['tokens_revoked']} API token(s) of {who} revoked.")
    if change["tokens_left"]:
        others = "" if _same_name(who, me) else f" --operator {who}"
        note(
            f"{change['tokens_left']} API token(s) of {who} still work: "
            f"`credsync token revoke --all{others}` revokes them."
        )


def _same_name(a: str, b: str) -> bool:
    from credsync.vault.validate import name_key  # not at import: the vault is heavy

    return name_key(a) == name_key(b)


def _current_password(rt: Runtime, me: str) -> Secret:
    given = rt.settings
    if given.operator_password is not None and (
        given.operator is None or _same_name(given.operator, me)
    ):
        return given.operator_password
    if interactive():
        return read_secret(f"Current password for {me}", what="current password")
    raise InvalidInput(
        "changing your own password through a server needs your current one: set "
        "CREDSYNC_OPERATOR_PASSWORD, or run the command at a terminal"
    )


operator_group.add_command(operator_mfa_group)  # operator mfa ... (credsync.cli.commands.mfa)
operator_group.add_command(operator_microsoft_group)  # (credsync.cli.commands.sign_in)


@click.group("role")
def role_group() -> None:
    """Roles and the permissions they grant."""


@role_group.command("list")
@json_option
@click.pass_context
def role_list(ctx: click.Context, as_json: bool) -> None:
    """List roles."""
    rows = runtime(ctx).ports.people.roles()
    columns = [("name", "Name"), ("permissions", "Permissions"), ("builtin", "Built in")]
    emit(rows, as_json, lambda: table(rows, columns, max_width=90))


@role_group.command("add")
@click.argument("name")
@click.option("--permission", "permissions", multiple=True, required=True, help="Repeat.")
@click.option("--description", default="")
@json_option
@click.pass_context
def role_add(
    ctx: click.Context, name: str, permissions: tuple[str, ...], description: str, as_json: bool
) -> None:
    """Add a role (admin). Permissions: vault.read, vault.write, secret.reveal, vault.export,
    directory.setup, directory_admin.use, audit.read, admin.

    \b
    Example:
      credsync role add helpdesk --permission vault.read --permission secret.reveal
    """
    data = runtime(ctx).ports.people.add_role(name, list(permissions), description)
    emit(data, as_json, f"Role {data['name']} added.")


@role_group.command("set")
@click.argument("name")
@click.option(
    "--permission", "permissions", multiple=True, help="Repeat; replaces the role's permissions."
)
@click.option("--description", default=None)
@json_option
@click.pass_context
def role_set(
    ctx: click.Context,
    name: str,
    permissions: tuple[str, ...],
    description: str | None,
    as_json: bool,
) -> None:
    """Change a custom role's permissions or description (admin; built-in roles stay as
    they are). Its holders have the new permissions from their next command on.

    \b
    Example:
      credsync role set helpdesk --permission vault.read --permission secret.reveal
    """
    data = runtime(ctx).ports.people.change_role(
        name, permissions=list(permissions) or None, description=description
    )
    emit(data, as_json, f"Role {data['name']} changed: {', '.join(data['permissions'])}.")


@role_group.command("delete")
@click.argument("name")
@click.pass_context
def role_delete(ctx: click.Context, name: str) -> None:
    """Delete a role nobody holds (admin).

    \b
    Example:
      credsync role delete helpdesk
    """
    runtime(ctx).ports.people.delete_role(name)
    note(f"Role {name} deleted.")


@click.group("token")
def token_group() -> None:
    """API tokens: let a script act as an operator without a password."""


@token_group.command("create")
@click.argument("name")
@click.option("--operator", help="For another operator (admin).")
@click.option("--expires-days", type=click.IntRange(1, 3650), help="Lifetime in days.")
@json_option
@click.pass_context
def token_create(
    ctx: click.Context, name: str, operator: str | None, expires_days: int | None, as_json: bool
) -> None:
    """Create an API token; it is printed once and never again.

    \b
    Example:
      credsync token create backup-job --expires-days 90 --json | jq -r .token
    """
    data = runtime(ctx).ports.people.create_token(
        name, operator=operator, expires_days=expires_days
    )
    emit(data, as_json, f"{data['token']}\n(store it now: it is not shown again)")


@token_group.command("list")
@click.option("--all", "everyone", is_flag=True, help="Every operator's tokens (admin).")
@json_option
@click.pass_context
def token_list(ctx: click.Context, everyone: bool, as_json: bool) -> None:
    """List API tokens (never their values)."""
    rows = runtime(ctx).ports.people.tokens(everyone=everyone)
    emit(rows, as_json, lambda: table(rows, TOKEN_COLUMNS) if rows else "No tokens.")


@token_group.command("revoke")
@click.argument("token_id", required=False)
@click.option("--all", "every", is_flag=True, help="Every token of yours (or of --operator).")
@click.option("--operator", help="With --all: another operator's tokens (admin).")
@click.pass_context
def token_revoke(
    ctx: click.Context, token_id: str | None, every: bool, operator: str | None
) -> None:
    """Revoke an API token, or all of yours (the one in use too) with --all.

    \b
    Examples:
      credsync token list --json
      credsync token revoke 5b1e0d2c-8f4a-4d7e-9c61-2f0a7b3e9d14
      credsync token revoke --all
      credsync token revoke --all --operator bob
    """
    if every == bool(token_id):
        raise InvalidInput("give a token's id, or --all")
    if operator is not None and not every:
        raise InvalidInput("--operator goes with --all")
    people = runtime(ctx).ports.people
    if token_id:
        note(f"Token {people.revoke_token(token_id)['name']} revoked.")
        return
    done = people.revoke_all_tokens(operator)
    note(f"{done['revoked']} API token(s) of {done['operator']} revoked.")
