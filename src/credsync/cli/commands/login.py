"""``credsync login --microsoft``: sign in to a credsync server with Microsoft, by the device
code flow (a browser anywhere, the code typed there), for an API token of the operator
linked to that Microsoft account."""

from __future__ import annotations

import click

from credsync.cli.output import emit, json_option, note
from credsync.cli.runtime import runtime
from credsync.errors import InvalidInput


@click.command("login")
@click.option(
    "--microsoft",
    is_flag=True,
    help="Sign in with Microsoft (device code flow): the only way this command has.",
)
@click.option("--raw", is_flag=True, help="Print only the token.")
@json_option
@click.pass_context
def login_cmd(ctx: click.Context, microsoft: bool, raw: bool, as_json: bool) -> None:
    """Sign in to a server (--server URL or CREDSYNC_SERVER) with Microsoft, for an API token
    of the operator linked to your Microsoft account (12 hours). Prints the page to open
    and the code to type there (on standard error), waits until you signed in, then an
    `export CREDSYNC_TOKEN=...` line. The server's app registration must allow public client
    flows (see docs/operators-microsoft.md).

    \b
    Examples:
      export CREDSYNC_SERVER=https://vault.example.com
      eval "$(credsync login --microsoft)"
      credsync login --microsoft --raw
    """
    from credsync.cli.remote import Remote
    from credsync.connectors import registry
    from credsync.connectors.operator_sign_in import ProviderConfig

    if not microsoft:
        raise InvalidInput("give --microsoft: sign in with Microsoft (else use an API token)")
    settings = runtime(ctx).settings
    if settings.server is None:
        raise InvalidInput("credsync login signs in to a server: give --server URL")
    api = Remote(settings.server, None, ca_file=settings.server_ca, anonymous=True)
    try:
        found = api.get("/auth/microsoft")
        provider = registry.operator_sign_in(
            ProviderConfig(
                tenant_id=str(found["tenant_id"]),
                client_id=str(found["client_id"]),
                authority=str(found["authority"]),
                ca_pem=found.get("ca_pem"),
            )
        )
        try:
            flow = provider.start_device()
            note(str(flow["message"]))
            id_token = provider.finish_device(flow)
        finally:
            provider.close()
        answer = api.post("/auth/microsoft/token", {"id_token": id_token})
    finally:
        api.close()
    token = str(answer["token"])
    if as_json:
        emit(answer, True, "")
    elif raw:
        click.echo(token)
    else:
        click.echo(f"export CREDSYNC_TOKEN='{token}'")
        note(f"Signed in as {answer['operator']} until {answer['expires_at']}.")
