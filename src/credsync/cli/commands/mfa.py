"""Multi-factor sign-in: ``operator mfa`` (enrol, confirm, status, disable, reset) and
``mfa`` (who must use it), on a local vault or through a server."""

from __future__ import annotations

from typing import Any

import click

from credsync.cli.output import details, emit, json_option, note
from credsync.cli.runtime import interactive, read_secret, runtime
from credsync.errors import InvalidInput

STATUS_COLUMNS = [
    ("operator", "Operator"),
    ("mfa", "MFA"),
    ("totp", "Authenticator app"),
    ("required", "Required"),
    ("recovery_codes_left", "Recovery codes left"),
]


def _status_text(data: dict[str, Any]) -> str:
    """The state, then the security keys (added on the dashboard): name, added, last used."""
    keys = data.get("security_keys") or []
    lines = [details(data, STATUS_COLUMNS), f"Security keys: {len(keys) or 'none'}"]
    for key in keys:
        used = (key.get("last_used_at") or "never")[:16].replace("T", " ")
        added = str(key["created_at"])[:16].replace("T", " ")
        lines.append(f"  {key['name']} (added {added}, last used {used})")
    return "\n".join(lines)


@click.group("mfa")
def operator_mfa_group() -> None:
    """Your second factor (TOTP authenticator app, recovery codes), and an admin's reset."""


@operator_mfa_group.command("status")
@click.argument("name", required=False)
@json_option
@click.pass_context
def mfa_status(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """Show your MFA state (on, pending, off), or an operator's (admin): the authenticator
    app, and the security keys added on the dashboard (names and dates only).

    \b
    Examples:
      credsync operator mfa status
      credsync operator mfa status bob --json
    """
    data = runtime(ctx).ports.mfa.status(name)
    emit(data, as_json, lambda: _status_text(dict(data)))


def _recovery_text(codes: list[str]) -> str:
    lines = "\n".join(f"  {c}" for c in codes)
    return (
        "MFA is on. Recovery codes (each signs in once in place of a code; shown only now, "
        f"keep them somewhere safe):\n{lines}"
    )


@operator_mfa_group.command("enroll")
@json_option
@click.pass_context
def mfa_enroll(ctx: click.Context, as_json: bool) -> None:
    """Set up a TOTP authenticator app: prints the secret and its otpauth:// URI, this once.
    At a terminal it then asks for the app's first code; else confirm it with `credsync
    operator mfa confirm CODE`. An operator who must use MFA and has none may sign in with the
    password alone for this.

    \b
    Examples:
      credsync operator mfa enroll
      credsync operator mfa enroll --json | jq -r .uri | qrencode -t ansiutf8
    """
    rt = runtime(ctx)
    rt.mfa_enrolling = True
    data = rt.ports.mfa.enroll()
    emit(
        data,
        as_json,
        f"Secret: {data['secret']}\nURI:    {data['uri']}\n"
        "Add it to an authenticator app (type the secret, or make a QR code of the URI).",
    )
    if as_json or not interactive():
        note("Confirm with the app's current code: credsync operator mfa confirm CODE")
        return
    code = click.prompt("The app's current code", err=True)
    done = rt.ports.mfa.confirm(str(code))
    click.echo(_recovery_text(done["recovery_codes"]))


@operator_mfa_group.command("confirm")
@click.argument("code")
@json_option
@click.pass_context
def mfa_confirm(ctx: click.Context, code: str, as_json: bool) -> None:
    """Confirm the secret of `operator mfa enroll` with the app's current code: MFA is on,
    and ten recovery codes are printed, this once.

    \b
    Example:
      credsync operator mfa confirm 123456
    """
    rt = runtime(ctx)
    rt.mfa_enrolling = True
    data = rt.ports.mfa.confirm(code)
    emit(data, as_json, lambda: _recovery_text(data["recovery_codes"]))


@operator_mfa_group.command("disable")
@click.argument("code")
@click.option("--password-stdin", is_flag=True, help="Read your password from standard input.")
@json_option
@click.pass_context
def mfa_disable(ctx: click.Context, code: str, password_stdin: bool, as_json: bool) -> None:
    """Turn your second factor off, with your password and a code (or a recovery code);
    refused while MFA is required of you (an admin's `operator mfa reset` starts it over).

    \b
    Example:
      credsync operator mfa disable 123456
    """
    rt = runtime(ctx)
    me = str(rt.ports.people.whoami()["operator"])
    given = rt.settings.operator_password
    if given is not None and not password_stdin:
        password = given
    else:
        password = read_secret(f"Password for {me}", from_stdin=password_stdin)
    data = rt.ports.mfa.disable(password, code)
    emit(data, as_json, f"MFA of {data['operator']} is off.")


@operator_mfa_group.command("reset")
@click.argument("name")
@json_option
@click.pass_context
def mfa_reset(ctx: click.Context, name: str, as_json: bool) -> None:
    """Remove an operator's second factor (the authenticator app, the recovery codes and the
    security keys) and end every session of theirs (admin; audited): they sign in with their
    password and enrol again.

    \b
    Example:
      credsync operator mfa reset bob
    """
    data = runtime(ctx).ports.mfa.reset(name)
    emit(
        data,
        as_json,
        f"MFA of {data['operator']} removed; {data['sessions_ended']} session(s) of theirs ended.",
    )


@click.group("mfa")
def mfa_group() -> None:
    """Who must sign in with a second factor: every operator, or the holders of a role."""


def _requirement_text(data: dict[str, object]) -> str:
    roles = data["roles"]
    listed = ", ".join(str(r) for r in roles) if isinstance(roles, list) and roles else "none"
    return f"Required of every operator: {'yes' if data['vault'] else 'no'}\nRoles: {listed}"


@mfa_group.command("show")
@json_option
@click.pass_context
def mfa_show(ctx: click.Context, as_json: bool) -> None:
    """Show who must use MFA."""
    data = runtime(ctx).ports.mfa.requirement()
    emit(data, as_json, lambda: _requirement_text(dict(data)))


@mfa_group.command("require")
@click.option("--all", "everyone", is_flag=True, help="Every operator.")
@click.option("--role", help="The holders of this role.")
@click.option("--off", is_flag=True, help="Stop requiring it (of everyone, or of --role).")
@json_option
@click.pass_context
def mfa_require(
    ctx: click.Context, everyone: bool, role: str | None, off: bool, as_json: bool
) -> None:
    """Require MFA of every operator (--all) or of a role's holders (--role ROLE), or stop
    (--off) (admin; audited). Operators who must and have not enrolled may then sign in only
    to enrol; API tokens stay single-factor.

    \b
    Examples:
      credsync mfa require --all
      credsync mfa require --role technician
      credsync mfa require --off --role technician
    """
    if everyone == (role is not None):
        raise InvalidInput("give --all or --role ROLE (one of them)")
    data = runtime(ctx).ports.mfa.set_required(not off, role)
    emit(data, as_json, lambda: _requirement_text(dict(data)))
