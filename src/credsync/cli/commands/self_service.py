"""``mail``: the vault's mail server (set, show, test; admin) and, in the ``person`` group,
``invite`` (an onboarding invitation by mail; vault.write) and ``password-policy`` (a client's
password policy for its people; vault.write); on a local vault or through a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from credsync.cli.output import details, emit, json_option
from credsync.cli.runtime import read_secret, runtime
from credsync.errors import InvalidInput
from credsync.vault.mail import SECURITIES, MailSetup

__all__ = ["invite_cmd", "mail_group", "people_policy_cmd"]

SETTINGS = [
    ("host", "Host"),
    ("port", "Port"),
    ("security", "Security"),
    ("allow_plain", "Plain allowed"),
    ("username", "Username"),
    ("has_password", "Password set"),
    ("from_address", "From"),
    ("public_url", "Public URL"),
    ("has_ca", "Own CA"),
    ("invite_days", "Invitations live (days)"),
    ("updated_at", "Updated"),
    ("updated_by", "Updated by"),
]


@click.group("mail")
def mail_group() -> None:
    """The mail server onboarding invitations and password resets go out through (admin)."""


@mail_group.command("set")
@click.option("--host", help="The SMTP server's name or address.")
@click.option("--port", type=int, help="Its port (default by security: 587, 465 or 25).")
@click.option(
    "--security",
    type=click.Choice(SECURITIES),
    help="starttls (the default), tls, or none (in clear: only to this machine unless "
    "--allow-plain).",
)
@click.option(
    "--allow-plain/--no-allow-plain",
    default=None,
    help="Allow security none to another machine (logged and audited).",
)
@click.option("--username", help="Sign in to the server as (empty: no sign-in).")
@click.option(
    "--password-stdin", is_flag=True, help="Read the sign-in's password from standard input."
)
@click.option("--clear-password", is_flag=True, help="Remove the stored password.")
@click.option("--from", "from_address", help="The From address, e.g. 'IT <it@msp.example>'.")
@click.option("--public-url", help="The vault's address as people reach it (links start so).")
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CA certificate (PEM) to trust for the server instead of the system's.",
)
@click.option("--system-ca", is_flag=True, help="Trust the system's CAs again (drop --ca-file).")
@click.option("--invite-days", type=int, help="How long an invitation link lives (1-90 days).")
@json_option
@click.pass_context
def mail_set(ctx: click.Context, /, as_json: bool, **options: Any) -> None:
    """Set the mail server, or change what is given (admin; audited). The password is sealed
    under the master key and never shown back.

    \b
    Examples:
      cat pw.txt | credsync mail set --host smtp.msp.example --username vault \\
        --password-stdin --from 'IT <it@msp.example>' --public-url https://vault.msp.example
      credsync mail set --host 127.0.0.1 --port 25 --security none
    """
    rt = runtime(ctx)
    given: dict[str, Any] = {}
    for key in ("host", "port", "security", "allow_plain", "username", "from_address",
                "public_url", "invite_days"):  # fmt: skip
        if options[key] is not None:
            given[key] = options[key]
    if options["password_stdin"]:
        given["password"] = read_secret("Password", from_stdin=True, what="mail password")
    if options["clear_password"]:
        given["clear_password"] = True
    if options["system_ca"]:
        given["ca_pem"] = ""
    elif options["ca_file"] is not None:
        try:
            given["ca_pem"] = options["ca_file"].read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"can't read {options['ca_file']}: {exc}", field="ca_pem") from None
    data = rt.ports.self_service.set_mail(MailSetup(**given))  # type: ignore[typeddict-item]
    emit(data, as_json, lambda: details(dict(data), SETTINGS))


@mail_group.command("show")
@json_option
@click.pass_context
def mail_show(ctx: click.Context, as_json: bool) -> None:
    """Show the mail server settings (never the password); admin.

    \b
    Example:
      credsync mail show --json
    """
    data = runtime(ctx).ports.self_service.show_mail()
    emit(data, as_json, lambda: details(dict(data), SETTINGS))


@mail_group.command("test")
@click.argument("address")
@click.pass_context
def mail_test(ctx: click.Context, address: str) -> None:
    """Send a test message to ADDRESS (admin; audited). A failure names the server and what it
    said.

    \b
    Example:
      credsync mail test it@msp.example
    """
    click.echo(runtime(ctx).ports.self_service.test_mail(address))


@click.command("invite")
@click.argument("person")
@click.option("--client", help="The person's client (when several have the username).")
@json_option
@click.pass_context
def invite_cmd(ctx: click.Context, person: str, client: str | None, as_json: bool) -> None:
    """Send PERSON (awaiting onboarding, with an e-mail) an onboarding invitation: a one-time
    link to choose their password and set up their authenticator app. A new one voids the
    older. Needs vault.write; audited.

    \b
    Example:
      credsync person invite anna.berg --client Contoso
    """
    data = runtime(ctx).ports.self_service.invite(person, client)
    emit(data, as_json, lambda: f"Invitation sent to {data['email']} (valid until "
                                f"{data['expires_at']}).")  # fmt: skip


@click.command("password-policy")
@click.argument("client")
@click.argument("policy", required=False)
@click.pass_context
def people_policy_cmd(ctx: click.Context, client: str, policy: str | None) -> None:
    """Choose the named password policy (`credsync policy`) CLIENT's people's passwords must
    meet; without POLICY, back to the vault's default for people. Needs vault.write; audited.

    \b
    Examples:
      credsync person password-policy Contoso people-strict
      credsync person password-policy Contoso
    """
    chosen = runtime(ctx).ports.self_service.set_people_policy(client, policy)
    click.echo(f"Client {client}'s people's password policy: {chosen}.")
