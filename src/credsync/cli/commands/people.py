"""operator, role and token commands."""

from __future__ import annotations

import datetime as dt

import click

from credsync.cli.output import details, emit, json_option, note, table
from credsync.cli.runtime import read_secret, runtime

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
    actor = rt.actor
    password = read_secret(f"Password for {name}", from_stdin=password_stdin, confirm=True)
    op = rt.vault.operators.add(actor, name, password, role)
    emit(op.to_json(), as_json, f"Operator {op.name} added with role {op.role}.")


@operator_group.command("list")
@json_option
@click.pass_context
def operator_list(ctx: click.Context, as_json: bool) -> None:
    """List operators (admin)."""
    rt = runtime(ctx)
    rows = [o.to_json() for o in rt.vault.operators.list(rt.actor)]
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
    rt = runtime(ctx)
    data = rt.vault.operators.get(rt.actor, name).to_json()
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
    rt = runtime(ctx)
    op = rt.vault.operators.set_role(rt.actor, name, role)
    emit(op.to_json(), as_json, f"Operator {op.name} now has role {op.role}.")


@operator_group.command("disable")
@click.argument("name")
@click.pass_context
def operator_disable(ctx: click.Context, name: str) -> None:
    """Disable an operator: no sign-in, tokens and sessions stop working (admin).

    \b
    Example:
      credsync operator disable bob
    """
    rt = runtime(ctx)
    op = rt.vault.operators.set_disabled(rt.actor, name, True)
    note(f"Operator {op.name} disabled.")


@operator_group.command("enable")
@click.argument("name")
@click.pass_context
def operator_enable(ctx: click.Context, name: str) -> None:
    """Enable a disabled operator (admin).

    \b
    Example:
      credsync operator enable bob
    """
    rt = runtime(ctx)
    op = rt.vault.operators.set_disabled(rt.actor, name, False)
    note(f"Operator {op.name} enabled.")


@operator_group.command("passwd")
@click.argument("name", required=False)
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@click.pass_context
def operator_passwd(ctx: click.Context, name: str | None, password_stdin: bool) -> None:
    """Change your password, or another operator's (admin).

    \b
    Examples:
      credsync operator passwd
      printf '%s\\n' "$PW" | credsync operator passwd bob --password-stdin
    """
    rt = runtime(ctx)
    actor = rt.actor
    target = name or actor.name
    password = read_secret(f"New password for {target}", from_stdin=password_stdin, confirm=True)
    rt.vault.operators.set_password(actor, target, password)
    note(f"Password of {target} changed.")


@click.group("role")
def role_group() -> None:
    """Roles and the permissions they grant."""


@role_group.command("list")
@json_option
@click.pass_context
def role_list(ctx: click.Context, as_json: bool) -> None:
    """List roles."""
    rt = runtime(ctx)
    rows = [r.to_json() for r in rt.vault.operators.roles(rt.actor)]
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
    rt = runtime(ctx)
    role = rt.vault.operators.add_role(rt.actor, name, list(permissions), description)
    emit(role.to_json(), as_json, f"Role {role.name} added.")


@role_group.command("delete")
@click.argument("name")
@click.pass_context
def role_delete(ctx: click.Context, name: str) -> None:
    """Delete a role nobody holds (admin).

    \b
    Example:
      credsync role delete helpdesk
    """
    rt = runtime(ctx)
    rt.vault.operators.delete_role(rt.actor, name)
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
    rt = runtime(ctx)
    token, secret = rt.vault.access.create_token(
        rt.actor,
        name,
        operator=operator,
        expires_in=dt.timedelta(days=expires_days) if expires_days else None,
    )
    data = {**token.to_json(), "token": secret.reveal()}
    emit(data, as_json, f"{secret.reveal()}\n(store it now: it is not shown again)")


@token_group.command("list")
@click.option("--all", "everyone", is_flag=True, help="Every operator's tokens (admin).")
@json_option
@click.pass_context
def token_list(ctx: click.Context, everyone: bool, as_json: bool) -> None:
    """List API tokens (never their values)."""
    rt = runtime(ctx)
    rows = [t.to_json() for t in rt.vault.access.list_tokens(rt.actor, everyone=everyone)]
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
    rt = runtime(ctx)
    token = rt.vault.access.revoke_token(rt.actor, token_id)
    note(f"Token {token.name} revoked.")
