"""``credsync capture``: password changes captured at a domain controller.

The subcommands live in two modules, each imported only when its command runs:
:mod:`credsync.cli.commands.capture_admin` (the vault's side: the capture key, enrolled
forwarders) and :mod:`credsync.cli.commands.capture_samba` (the domain controller's side: the
forwarder that drives ``samba-tool user syncpasswords``, and its setup).
"""

from __future__ import annotations

import click

from credsync.cli.app import LazyGroup

__all__ = ["capture_group"]

_COMMANDS = {
    "key": ("credsync.cli.commands.capture_admin", "key_cmd"),
    "enroll": ("credsync.cli.commands.capture_admin", "enroll_cmd"),
    "list": ("credsync.cli.commands.capture_admin", "list_cmd"),
    "revoke": ("credsync.cli.commands.capture_admin", "revoke_cmd"),
    "samba": ("credsync.cli.commands.capture_samba", "samba_cmd"),
    "samba-setup": ("credsync.cli.commands.capture_samba", "samba_setup_cmd"),
}

_SUMMARIES = {
    "key": "Print a directory's capture public key (to install on its DCs).",
    "enroll": "Enrol a forwarder for a directory: its id and token, shown once.",
    "list": "List enrolled forwarders and what they delivered.",
    "revoke": "Revoke a forwarder: its token stops working at once.",
    "samba": "Run the forwarder on a Samba DC (drives samba-tool user syncpasswords).",
    "samba-setup": "Install the capture key into a Samba DC and set its smb.conf option.",
}


@click.group("capture", cls=LazyGroup, commands=_COMMANDS, summaries=_SUMMARIES)
def capture_group() -> None:
    """Capture password changes made in a directory, at its domain controllers.

    The DCs hold only the capture key's public part; captured passwords travel encrypted to
    it in signed batches from an enrolled forwarder (see the README: Two-way sync).
    """
