"""``credsync capture``: password changes captured at a domain controller.

The subcommands live in two modules, each imported only when its command runs:
:mod:`credsync.cli.commands.capture_admin` (the vault's side: the capture key, enrolled
forwarders) and :mod:`credsync.cli.commands.capture_samba` (the domain controller's side: the
forwarder that drives ``samba-tool user syncpasswords``, and its setup).
"""

from __future__ import annotations

import importlib

import click

__all__ = ["capture_group"]

_COMMANDS: dict[str, tuple[str, str, str]] = {
    # name: (module, attribute, one-line summary)
    "key": (
        "credsync.cli.commands.capture_admin",
        "key_cmd",
        "Print a directory's capture public key (to install on its DCs).",
    ),
    "enroll": (
        "credsync.cli.commands.capture_admin",
        "enroll_cmd",
        "Enrol a forwarder for a directory: its id and token, shown once.",
    ),
    "list": (
        "credsync.cli.commands.capture_admin",
        "list_cmd",
        "List enrolled forwarders and what they delivered.",
    ),
    "revoke": (
        "credsync.cli.commands.capture_admin",
        "revoke_cmd",
        "Revoke a forwarder: its token stops working at once.",
    ),
    "samba": (
        "credsync.cli.commands.capture_samba",
        "samba_cmd",
        "Run the forwarder on a Samba DC (drives samba-tool user syncpasswords).",
    ),
    "samba-setup": (
        "credsync.cli.commands.capture_samba",
        "samba_setup_cmd",
        "Install the capture key into a Samba DC and set its smb.conf option.",
    ),
}


class _CaptureGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        command = getattr(importlib.import_module(target[0]), target[1])
        if not isinstance(command, click.Command):  # pragma: no cover - a wiring mistake
            raise TypeError(f"{target[:2]} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group("capture", cls=_CaptureGroup)
def capture_group() -> None:
    """Capture password changes made in a directory, at its domain controllers.

    The DCs hold only the capture key's public part; captured passwords travel encrypted to
    it in signed batches from an enrolled forwarder (see the README: Two-way sync).
    """
