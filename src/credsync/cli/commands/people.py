"""operator, role and token commands, on a local vault or through a server (the API's
answers are these commands' ``--json`` already)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from credsync.cli.output import details, emit, json_option, note, table
from credsync.cli.remote import path_of
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
    if rt.remote is None:
        _ = rt.actor  # signed in before the prompt
    password = read_secret(f"Password for {name}", from_stdin=password_stdin, confirm=True)
    if rt.remote is not None:
        body = {"name": name, "role": role, "password": password.reveal()}
        data = rt.remote.post("/operators", body)
    else:
        data = rt.vault.operators.add(rt.actor, name, password, role).to_json()
    emit(data, as_json, f"Operator {data['name']} added with role {data['role']}.")


@operator_group.command("list")
@json_option
@click.pass_context
def operator_list(ctx: click.Context, as_json: bool) -> None:
    """List operators (admin)."""
    rt = runtime(ctx)
    if rt.remote is not None:
        rows = rt.remote.get("/operators")
    else:
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
    if rt.remote is not None:
        data = rt.remote.get(path_of("operators", name))
    else:
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
    if rt.remote is not None:
        data = rt.remote.patch(path_of("operators", name), {"role": role})
    else:
        data = rt.vault.operators.set_role(rt.actor, name, role).to_json()
    emit(data, as_json, f"Operator {data['name']} now has role {data['role']}.")


def _set_disabled(rt: Runtime, name: str, disabled: bool) -> str:
    """Disable or enable an operator; its name as stored."""
    if rt.remote is not None:
        data = rt.remote.patch(path_of("operators", name), {"disabled": disabled})
        return str(data["name"])
    return rt.vault.operators.set_disabled(rt.actor, name, disabled).name


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
    me = str(rt.remote.get("/auth/whoami")["name"]) if rt.remote is not None else rt.actor.name
    target = name or me
    password = read_secret(f"New password for {target}", from_stdin=password_stdin, confirm=True)
    if rt.remote is not None:
        body = {"password": password.reveal()}
        if _same_name(target, me):  # the server wants the current one too
            body["current_password"] = _current_password(rt, me).reveal()
        rt.remote.put(path_of("operators", target, "password"), body)
    else:
        rt.vault.operators.set_password(rt.actor, target, password)
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
    rt = runtime(ctx)
    if rt.remote is not None:
        rows = rt.remote.get("/roles")
    else:
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
    if rt.remote is not None:
        body = {"name": name, "permissions": list(permissions), "description": description}
        data = rt.remote.post("/roles", body)
    else:
        role = rt.vault.operators.add_role(rt.actor, name, list(permissions), description)
        data = role.to_json()
    emit(data, as_json, f"Role {data['name']} added.")


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
    if rt.remote is not None:
        rt.remote.delete(path_of("roles", name))
    else:
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
    data: dict[str, Any]
    if rt.remote is not None:
        body = {"name": name, "operator": operator, "expires_days": expires_days}
        data = rt.remote.post("/tokens", body)
    else:
        token, secret = rt.vault.access.create_token(
            rt.actor,
            name,
            operator=operator,
            expires_in=dt.timedelta(days=expires_days) if expires_days else None,
        )
        data = {**token.to_json(), "token": secret.reveal()}
    emit(data, as_json, f"{data['token']}\n(store it now: it is not shown again)")


@token_group.command("list")
@click.option("--all", "everyone", is_flag=True, help="Every operator's tokens (admin).")
@json_option
@click.pass_context
def token_list(ctx: click.Context, everyone: bool, as_json: bool) -> None:
    """List API tokens (never their values)."""
    rt = runtime(ctx)
    if rt.remote is not None:
        rows = rt.remote.get("/tokens", all=everyone)
    else:
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
    if rt.remote is not None:
        name = rt.remote.delete(path_of("tokens", token_id))["name"]
    else:
        name = rt.vault.access.revoke_token(rt.actor, token_id).name
    note(f"Token {name} revoked.")
