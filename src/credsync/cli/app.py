"""The root command group; each subcommand's module is imported only when it runs."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

__all__ = ["LazyGroup", "cli"]

_COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("credsync.cli.commands.setup", "init_cmd"),
    "unlock": ("credsync.cli.commands.setup", "unlock_cmd"),
    "login": ("credsync.cli.commands.login", "login_cmd"),
    "lock": ("credsync.cli.commands.setup", "lock_cmd"),
    "whoami": ("credsync.cli.commands.setup", "whoami_cmd"),
    "key": ("credsync.cli.commands.setup", "key_group"),
    "db": ("credsync.cli.commands.setup", "db_group"),
    "backup": ("credsync.cli.commands.backup", "backup_cmd"),
    "restore": ("credsync.cli.commands.backup", "restore_cmd"),
    "client": ("credsync.cli.commands.clients", "client_group"),
    "folder": ("credsync.cli.commands.clients", "folder_group"),
    "cred": ("credsync.cli.commands.creds", "cred_group"),
    "generate": ("credsync.cli.commands.policy", "generate_cmd"),
    "policy": ("credsync.cli.commands.policy", "policy_group"),
    "import": ("credsync.cli.commands.transfer", "import_cmd"),
    "export": ("credsync.cli.commands.transfer", "export_cmd"),
    "operator": ("credsync.cli.commands.people", "operator_group"),
    "role": ("credsync.cli.commands.people", "role_group"),
    "mfa": ("credsync.cli.commands.mfa", "mfa_group"),
    "token": ("credsync.cli.commands.people", "token_group"),
    "audit": ("credsync.cli.commands.audit", "audit_group"),
    "directory": ("credsync.cli.commands.directories", "directory_group"),
    "sync": ("credsync.cli.commands.sync", "sync_group"),
    "flags": ("credsync.cli.commands.sync", "flags_group"),
    "runs": ("credsync.cli.commands.runs", "runs_group"),
    "quarantine": ("credsync.cli.commands.quarantine", "quarantine_group"),
    "agent": ("credsync.cli.commands.sync", "agent_cmd"),
    "capture": ("credsync.cli.commands.capture", "capture_group"),
    "relay": ("credsync.cli.commands.relay", "relay_group"),
    "remote-agent": ("credsync.cli.commands.remote_agents", "remote_agent_group"),
    "federation": ("credsync.cli.commands.federation", "federation_group"),
    "person": ("credsync.cli.commands.persons", "person_group"),
    "mail": ("credsync.cli.commands.self_service", "mail_group"),
    "group": ("credsync.cli.commands.groups", "group_group"),
    "simulate": ("credsync.cli.commands.simulate", "simulate_group"),
    "serve": ("credsync.cli.commands.serve", "serve_cmd"),
    "demo": ("credsync.cli.commands.demo", "demo_cmd"),
}

_SUMMARIES = {
    "init": "Create a vault: master passphrase and first admin.",
    "unlock": "Open a session so later commands skip the key derivation.",
    "login": "Sign in to a server with Microsoft (device code) for an API token.",
    "lock": "End your session(s).",
    "whoami": "Show who you are acting as, and where the vault is.",
    "key": "Master key: rotate the passphrase.",
    "db": "Database schema: status and upgrade.",
    "backup": "Write an encrypted backup of the whole vault (online).",
    "restore": "Restore a backup into an empty home or database.",
    "client": "Clients (customer organisations).",
    "folder": "Folders inside a client.",
    "cred": "Credentials: add, list, search, show, set passwords, history, trash.",
    "generate": "Print generated passwords.",
    "policy": "Named password policies.",
    "import": "Import credentials from CSV.",
    "export": "Export a client's credentials to CSV (audited).",
    "operator": "Operators who use the vault.",
    "role": "Roles and their permissions.",
    "mfa": "Who must sign in with a second factor (MFA).",
    "token": "API tokens for scripts.",
    "audit": "The audit log: list and verify.",
    "directory": "Directories: add, test, configure the connections to directory services.",
    "sync": "Directory sync: plan, run, and the stored runs with their reports.",
    "flags": "Open problems found by sync checks: list and resolve.",
    "runs": "Stored sync runs: prune what the retention no longer keeps.",
    "quarantine": "Actions held back by a threshold: list, approve, discard, restore, accept.",
    "agent": "Run continuously: periodic runs and immediate pushes.",
    "capture": "Capture password changes made in a directory (keys, forwarders, Samba).",
    "relay": "Relays: AD passwords carried to Office 365 at once.",
    "remote-agent": "Agents near their directories, over HTTPS: enrol, register, run, revoke.",
    "federation": "Office 365 domains federated to the vault: enable, show, rotate, disable.",
    "person": "People: a client's end users (identities, accounts, login credential).",
    "mail": "The mail server for onboarding invitations and password resets.",
    "group": "Groups of a client's people: security and Microsoft 365, members.",
    "simulate": "Simulators for trying credsync without a tenant (Microsoft Graph).",
    "serve": "Serve the REST API, the web dashboard and the agent.",
    "demo": "Try credsync with no setup: a throwaway vault and a simulated tenant.",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when they run: ``commands`` maps a name to
    (module, attribute), ``summaries`` a name to its line in ``--help``. Subcommands defined
    with the group itself (``@group.command``) sit beside them, listed by their own help."""

    def __init__(
        self,
        *args: Any,
        commands: Mapping[str, tuple[str, str]],
        summaries: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = commands
        self.summaries = summaries

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.lazy_commands, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = self.lazy_commands.get(cmd_name)
        if target is None:
            return None
        module = importlib.import_module(target[0])
        command = getattr(module, target[1])
        if not isinstance(command, click.Command):  # pragma: no cover - a wiring mistake
            raise TypeError(f"{target} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (name, self.summaries[name])
            if name in self.lazy_commands
            else (name, self.commands[name].get_short_help_str(formatter.width - 6 - len(name)))
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    commands=_COMMANDS,
    summaries=_SUMMARIES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  credsync init --admin alice                 create a vault (prompts for secrets)
  eval "$(credsync unlock)"                   open a session for this shell
  credsync client add "Contoso Ltd"
  printf '%s' "$PW" | credsync cred add "Contoso Ltd" --title "Domain admin" \\
      --username 'CONTOSO\\admin' --password-stdin
  credsync cred search contoso admin --json

Environment: CREDSYNC_HOME, CREDSYNC_DATABASE_URL, CREDSYNC_PASSPHRASE, CREDSYNC_SESSION,
CREDSYNC_OPERATOR + CREDSYNC_OPERATOR_PASSWORD (+ CREDSYNC_OPERATOR_OTP), CREDSYNC_TOKEN (see
the README).""",
)
@click.version_option(package_name="credsync", prog_name="credsync")
@click.option(
    "--home",
    envvar="CREDSYNC_HOME",
    type=click.Path(file_okay=False),
    help="Data directory (default ~/.local/share/credsync; env CREDSYNC_HOME).",
)
@click.option(
    "--server",
    metavar="URL",
    help="Work against a running credsync server's API (env CREDSYNC_SERVER; sign in with "
    "CREDSYNC_TOKEN).",
)
@click.pass_context
def cli(ctx: click.Context, home: str | None, server: str | None) -> None:
    """credsync: a credential vault that keeps passwords in step with directories.

    Every command runs as an operator: from CREDSYNC_SESSION (credsync unlock), CREDSYNC_TOKEN,
    CREDSYNC_OPERATOR + CREDSYNC_OPERATOR_PASSWORD, or a prompt.
    """
    ctx.ensure_object(dict)
    ctx.obj["home"] = home
    ctx.obj["server"] = server
