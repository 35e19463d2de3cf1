"""``credsync federation``: a client's Office 365 domain federated to the vault (issue 17; the
rules are :mod:`credsync.sync.federation`'s): ``enable`` (people then sign in to Office 365
with their vault password and MFA), ``show``, ``rotate`` the signing certificate, ``disable``
(defederation: back to Microsoft's sign-in, with every person's vault password pushed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from credsync.cli.output import details, emit, json_option, note, table
from credsync.cli.runtime import runtime

__all__ = ["federation_group"]

_ENABLED = [
    ("domain", "Domain"),
    ("directory", "Directory"),
    ("issuer_uri", "Issuer"),
    ("sign_in_uri", "Sign-in"),
    ("sign_out_uri", "Sign-out"),
    ("login_url", "Answers to"),
    ("protocol", "Protocol"),
    ("mfa", "MFA"),
    ("config_id", "Settings id"),
    ("thumbprint", "Certificate"),
    ("identities", "People"),
    ("immutable_ids_written", "Immutable ids set"),
]
_DOMAINS = [
    ("domain", "Domain"),
    ("vault_state", "Vault"),
    ("directory_state", "Directory"),
    ("issuer_uri", "Issuer"),
    ("problems", "Disagreements"),
]
_CERTS = [("state", "Certificate"), ("thumbprint", "SHA-256"), ("not_after", "Expires")]
_PUSH = [("username", "User"), ("person", "Person"), ("outcome", "Outcome"), ("reason", "Reason")]


def _enabled(data: Mapping[str, Any]) -> str:
    shown = {**data, "thumbprint": data["certificate"]["thumbprint"]}
    lines = [
        f"{'Updated' if data['again'] else 'Federated'} {data['domain']} for {data['client']}.",
        details(shown, _ENABLED),
    ]
    if data["users_without_person"]:
        lines.append(
            "Users of the domain linked to no person (they can't sign in through the vault): "
            + ", ".join(data["users_without_person"])
        )
    lines.append(data["note"] + ".")
    return "\n".join(lines)


def _shown(data: Mapping[str, Any]) -> str:
    lines = [f"Client: {data['client']}"]
    if data["directory_error"]:
        lines.append(f"The directory could not be read: {data['directory_error']}")
    rows = [{**d, "problems": "; ".join(d["disagreements"]) or "-"} for d in data["domains"]]
    lines.append(table(rows, _DOMAINS, max_width=80) if rows else "No federated domain.")
    for d in data["domains"]:
        if d["without_identity"]:
            lines.append(
                f"Without an identity in {d['domain']}: {', '.join(d['without_identity'])}"
            )
    if data["certificates"]:
        lines.append(table(data["certificates"], _CERTS, max_width=80))
    return "\n".join(lines)


def _rotated(data: Mapping[str, Any]) -> str:
    cert = data["certificate"]
    said = {
        "begin": "Next signing certificate made and published",
        "finish": "The next signing certificate is now the current one",
        "cancel": "The next signing certificate was dropped",
    }[data["step"]]
    lines = [f"{said} for {data['client']}" + (f": {cert['thumbprint']}" if cert else ".")]
    lines.extend(f"  {domain}: {outcome}" for domain, outcome in data["domains"].items())
    return "\n".join(lines)


def _disabled(data: Mapping[str, Any]) -> str:
    push = data["push"]
    counts = push["counts"]
    lines = [
        f"{data['domain']} of {data['client']} is back to managed sign-in "
        f"({'settings deleted' if data['deleted_config'] else 'no settings were left'}).",
        f"Passwords pushed: {counts['pushed']}; without a password: "
        f"{counts['no_password'] + counts['no_person']}; refused: {counts['refused']}.",
    ]
    if push["lines"]:
        lines.append(table(push["lines"], _PUSH, max_width=80))
    lines.append(data["note"] + ".")
    return "\n".join(lines)


@click.group("federation")
def federation_group() -> None:
    """Office 365 domains federated to the vault: people sign in to Office 365 with their
    vault password and MFA. show needs vault.read; enable, rotate and disable vault.write and
    directory.setup."""


def _confirm(yes: bool, text: str) -> None:
    if not yes:
        click.confirm(text + " Go ahead?", abort=True, err=True)


@federation_group.command("enable")
@click.argument("client")
@click.argument("domain")
@click.option("--url", required=True, help="The vault's public https URL.")
@click.option("--protocol", type=click.Choice(["saml", "wsFed"]), default="saml",
              show_default=True, help="The sign-in protocol Microsoft uses.")  # fmt: skip
@click.option("--mfa", type=click.Choice(["enforce", "accept", "reject"]), default="enforce",
              show_default=True,
              help="Who does MFA: the vault (enforce), either (accept), not it.")  # fmt: skip
@click.option("--directory", default=None, help="The client's directory (default: the only one "
              "that can federate).")  # fmt: skip
@click.option("--yes", is_flag=True, help="Do not ask before federating.")
@json_option
@click.pass_context
def enable_cmd(ctx: click.Context, client: str, domain: str, url: str, protocol: str, mfa: str,
               directory: str | None, yes: bool, as_json: bool) -> None:  # fmt: skip
    """Federate DOMAIN (one of CLIENT's Office 365 domains) to the vault.

    Its users then sign in to Office 365 at the vault's sign-in page. The app needs
    Domain-InternalFederation.ReadWrite.All and the Hybrid Identity Administrator or Global
    Administrator role. Microsoft may take up to 2 hours to apply it.

    \b
    Examples:
      credsync federation enable Contoso contoso.com --url https://vault.example.com
      credsync federation enable Contoso contoso.com --url https://vault.example.com \\
          --mfa accept --yes
    """
    ports = runtime(ctx).ports
    ports.sign_in()
    _confirm(yes, f"{domain}'s users will sign in to Office 365 through the vault; Microsoft "
             "may take up to 2 hours to apply it, sign-ins may fail meanwhile.")  # fmt: skip
    data = ports.federation.enable(client, domain, url, protocol, mfa, directory)
    emit(data, as_json, lambda: _enabled(data))


@federation_group.command("show")
@click.argument("client")
@click.argument("domain", required=False)
@json_option
@click.pass_context
def show_cmd(ctx: click.Context, client: str, domain: str | None, as_json: bool) -> None:
    """Show CLIENT's federated domains (the vault's record and the directory's state, and
    where they disagree), its signing certificates and the users without an identity.

    \b
    Examples:
      credsync federation show Contoso
      credsync federation show Contoso contoso.com --json
    """
    data = runtime(ctx).ports.federation.show(client, domain)
    emit(data, as_json, lambda: _shown(data))


@federation_group.command("rotate")
@click.argument("client")
@click.option("--finish", "step", flag_value="finish", help="Make the next certificate current.")
@click.option("--cancel", "step", flag_value="cancel", help="Drop the next certificate.")
@json_option
@click.pass_context
def rotate_cmd(ctx: click.Context, client: str, step: str | None, as_json: bool) -> None:
    """Rotate CLIENT's signing certificate: a next one published to every federated domain
    first, then (--finish) made current. Sign-ins keep working throughout.

    \b
    Examples:
      credsync federation rotate Contoso
      credsync federation rotate Contoso --finish
      credsync federation rotate Contoso --cancel
    """
    data = runtime(ctx).ports.federation.rotate(client, step or "begin")
    emit(data, as_json, lambda: _rotated(data))


@federation_group.command("disable")
@click.argument("client")
@click.argument("domain")
@click.option("--yes", is_flag=True, help="Do not ask before defederating.")
@json_option
@click.pass_context
def disable_cmd(ctx: click.Context, client: str, domain: str, yes: bool, as_json: bool) -> None:
    """Return DOMAIN to Microsoft's own sign-in and push every person's vault password to
    their Office 365 user; people without a password in the vault are listed.

    \b
    Examples:
      credsync federation disable Contoso contoso.com
      credsync federation disable Contoso contoso.com --yes --json
    """
    ports = runtime(ctx).ports
    ports.sign_in()
    _confirm(yes, f"{domain} will go back to Microsoft's sign-in (up to 2 hours) and each "
             "person's vault password will be set as their Office 365 password.")  # fmt: skip
    data = ports.federation.disable(client, domain)
    emit(data, as_json, lambda: _disabled(data))
    if data["push"]["counts"]["refused"]:
        note("Some passwords were refused: run the command again once Microsoft has applied "
             "the change.")  # fmt: skip
