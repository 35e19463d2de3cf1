"""operator, role and token commands, on a local vault or through a server."""

from __future__ import annotations

import click

from credsync.cli.output import details, emit, json_option, note, table
from credsync.cli.runtime import Runtime, interactive, read_secret, runtime
from credsync.errors import InvalidInput
from credsync.types import Secret

OPERATOR_COLUMNS = [
    ("name", "Name"),
    ("role", "Role"),
    ("disabled", "Disabled"),
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


@click.group("operator")
def operator_group() -> None:
    """Operators: the people and scripts that use the vault."""


@operator_group.command("add")
@click.argument("name")
@click.option("--role", required=True, help="admin, technician, directory_manager, auditor, ...")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
@click.pass_context
def operator_add(
    ctx: click.Context, name: str, role: str, password_stdin: bool, as_json: bool
) -> None:
    """Add an operator (admin).

    \b
    Example:
      printf '%s' "$PW" | credsync operator add bob --role technician --password-stdin
    """
    rt = runtime(ctx)
    rt.ports.sign_in()  # before the prompt
    password = read_secret(f"Password for {name}", from_stdin=password_stdin, confirm=True)
    data = rt.ports.people.add_operator(name, role, password)
    emit(data, as_json, f"Operator {data['name']} added with role {data['role']}.")


@operator_group.command("list")
@json_option
@click.pass_context
def operator_list(ctx: click.Context, as_json: bool) -> None:
    """List operators (admin)."""
    rows = runtime(ctx).ports.people.operators()
    emit(rows, as_json, lambda: table(rows, OPERATOR_COLUMNS))


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
    emit(data, as_json, lambda: details(data, [(k, h) for k, h in OPERATOR_COLUMNS]))


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
    """Disable an operator: no sign-in, tokens and sessions stop working (admin).

    \b
    Example:
      credsync operator disable bob
    """
    note(f"Operator {_set_disabled(runtime(ctx), name, True)} disabled.")


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
@click.pass_context
def operator_passwd(ctx: click.Context, name: str | None, password_stdin: bool) -> None:
    """Change your password, or another operator's (admin).

    Through a server, your own password changes only with the current one: from
    CREDSYNC_OPERATOR_PASSWORD, or a prompt.

    \b
    Examples:
      credsync operator passwd
      printf '%s\\n' "$PW" | credsync operator passwd bob --password-stdin
    """
    rt = runtime(ctx)
    me = str(rt.ports.people.whoami()["operator"])
    target = name or me
    password = read_secret(f"New password for {target}", from_stdin=password_stdin, confirm=True)
    rt.ports.people.set_password(target, password, current=lambda: _current_password(rt, me))
    note(f"Password of {target} changed.")


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
@click.argument("token_id")
@click.pass_context
def token_revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke an API token.

    \b
    Examples:
      credsync token list --json
      credsync token revoke 5b1e0d2c-8f4a-4d7e-9c61-2f0a7b3e9d14
    """
    name = runtime(ctx).ports.people.revoke_token(token_id)["name"]
    note(f"Token {name} revoked.")
