"""``credsync remote-agent``: agents near their directories, talking to the server over HTTPS
(docs/remote-agent.md). The operators' commands (enroll, list, rotate, revoke) work on a
local vault and through ``--server`` alike (the remote_agents port); ``register`` and ``run``
run on the agent's host, with no vault: only the agent's credential file."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from credsync.cli.output import details, emit, json_option, note, table, when
from credsync.cli.runtime import runtime
from credsync.errors import ConfigError, InvalidInput

__all__ = ["remote_agent_group"]

COLUMNS = [
    ("id", "Id"),
    ("name", "Name"),
    ("directories", "Directories"),
    ("state", "State"),
    ("registered_at", "Registered"),
    ("last_seen_at", "Last seen"),
    ("captures", "Captures"),
]


@click.group("remote-agent")
def remote_agent_group() -> None:
    """Agents near their directories: they reach the server over HTTPS only (outbound), by
    an agent credential bound to the directories they serve; the vault's master key never
    leaves the server (see docs/remote-agent.md)."""


def _enrolment(data: dict[str, object], as_json: bool) -> None:
    agent = data["agent"]
    assert isinstance(agent, dict)  # noqa: S101 - the shape says so
    emit(
        data,
        as_json,
        lambda: (
            details(
                {**agent, "token": data["token"], "expires_at": when(str(data["expires_at"]))},
                [("id", "Agent"), ("name", "Name"), ("token", "Token"), ("expires_at", "Expires")],
            )
            + "\nThe token is shown this once and works once: give it to "
            "`credsync remote-agent register` on the agent's host."
        ),
    )


@remote_agent_group.command("enroll")
@click.argument("name")
@click.option(
    "--directory", "directories", multiple=True, required=True, help="A directory it serves."
)
@json_option
@click.pass_context
def enroll_cmd(ctx: click.Context, name: str, directories: tuple[str, ...], as_json: bool) -> None:
    """Enrol a remote agent NAME for these directories: prints its one-time enrolment token
    (valid 24 hours). Needs directory.setup and directory_admin.use.

    \b
    Examples:
      credsync remote-agent enroll site-a --directory contoso-ad
      credsync remote-agent enroll site-b --directory fabrikam-ad --json
    """
    _enrolment(dict(runtime(ctx).ports.remote_agents.enroll(name, directories)), as_json)


@remote_agent_group.command("list")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List remote agents (revoked ones too), with what each delivered of its directories'
    captures (the last batch's seq and when). Needs directory.setup.

    \b
    Example:
      credsync remote-agent list --json
    """
    rows = runtime(ctx).ports.remote_agents.list()
    shown = [
        {
            **r,
            "directories": ", ".join(r["directories"]),
            "registered_at": when(r["registered_at"]) if r["registered_at"] else "",
            "last_seen_at": when(r["last_seen_at"]) if r["last_seen_at"] else "",
            "captures": ", ".join(_captures(c) for c in r.get("captures") or []),
        }
        for r in rows
    ]
    emit(rows, as_json, lambda: table(shown, COLUMNS, max_width=40) if rows else "No agents.")


def _captures(found: Mapping[str, object]) -> str:
    """What the agent delivered of a directory's captures: its last batch's seq and when."""
    seen = found.get("last_seen_at")
    last = f" at {when(str(seen))}" if seen else ""
    revoked = " (revoked)" if found.get("revoked_at") else ""
    return f"{found['directory']}: batch {found['last_seq']}{last}{revoked}"


@remote_agent_group.command("rotate")
@click.argument("agent")
@json_option
@click.pass_context
def rotate_cmd(ctx: click.Context, agent: str, as_json: bool) -> None:
    """A new enrolment token for AGENT (name or id): its keys stop working now; register it
    again with the token. Needs directory.setup and directory_admin.use.

    \b
    Example:
      credsync remote-agent rotate site-a
    """
    _enrolment(dict(runtime(ctx).ports.remote_agents.rotate(agent)), as_json)


@remote_agent_group.command("revoke")
@click.argument("agent")
@json_option
@click.pass_context
def revoke_cmd(ctx: click.Context, agent: str, as_json: bool) -> None:
    """Revoke AGENT (name or id): its next request is refused. Needs directory.setup.

    \b
    Example:
      credsync remote-agent revoke site-a
    """
    data = runtime(ctx).ports.remote_agents.revoke(agent)
    emit(data, as_json, f"Remote agent {data['name']} revoked.")


_ca_option = click.option(
    "--ca-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Verify the server's certificate against this CA (PEM) instead of the system's.",
)


@remote_agent_group.command("register")
@click.option("--server", "server_url", required=True, help="The server, https://HOST[:PORT].")
@click.option("--token", "token", help="The enrolment token (else $CREDSYNC_AGENT_TOKEN).")
@click.option(
    "--credential",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the agent credential (mode 0600).",
)
@_ca_option
def register_cmd(
    server_url: str, token: str | None, credential: Path, ca_file: Path | None
) -> None:
    """On the agent's host: make the agent's key pairs, register their public parts with the
    enrolment token, and write the credential file (mode 0600). The private keys never leave
    this host.

    \b
    Example:
      CREDSYNC_AGENT_TOKEN=cra1... credsync remote-agent register \\
        --server https://vault.example.com --credential /etc/credsync/agent.json
    """
    import os

    from credsync.agent.remote.client import register
    from credsync.agent.remote.credential import AgentCredential
    from credsync.crypto.agent_keys import AgentKeys

    token = token or os.environ.get("CREDSYNC_AGENT_TOKEN")
    if not token:
        raise InvalidInput("give the enrolment token: --token or $CREDSYNC_AGENT_TOKEN")
    keys = AgentKeys.generate()
    agent = asyncio.run(register(server_url, token, keys, ca_file=ca_file))
    AgentCredential(
        server_url,
        str(agent["id"]),
        str(agent["name"]),
        keys,
        ca_file.resolve() if ca_file else None,
    ).save(credential)
    note(f"registered remote agent {agent['name']} ({agent['id']}); credential in {credential}")


@remote_agent_group.command("run")
@click.option(
    "--credential",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The agent credential written by `credsync remote-agent register`.",
)
def run_cmd(credential: Path) -> None:
    """On the agent's host: serve the agent's directories until SIGTERM / Ctrl-C. It polls
    the server over HTTPS for its work (pushes, periodic runs' reads and checks), makes it
    with the directory's connector and posts the results.

    \b
    Example:
      credsync remote-agent run --credential /etc/credsync/agent.json
    """
    from credsync.agent.remote.client import AgentClient
    from credsync.agent.remote.credential import AgentCredential
    from credsync.agent.remote.runner import RemoteAgentRunner
    from credsync.errors import AgentUnauthenticated

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("credsync.agent")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    cred = AgentCredential.load(credential)

    async def main() -> None:
        client = AgentClient(cred.server, cred.agent_id, cred.keys, ca_file=cred.ca_file)
        runner = RemoteAgentRunner(client, cred.keys)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, runner.stop)
        try:
            await runner.run()
        finally:
            await client.close()

    note(f"credsync remote-agent: {cred.name} -> {cred.server} (Ctrl-C or SIGTERM stops)")
    try:
        asyncio.run(main())
    except AgentUnauthenticated as exc:
        raise ConfigError(f"the server refused this agent: {exc}") from None
    note("credsync remote-agent: stopped")
