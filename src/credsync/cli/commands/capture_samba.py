"""``credsync capture samba`` and ``credsync capture samba-setup``: the domain controller's side.

These run on the DC, as root, with no vault and no database: they only parse options and call
:mod:`credsync.agent.capture`. The forwarder's token comes from ``$CREDSYNC_CAPTURE_TOKEN`` or
``--token-file`` (``--token`` works too, but shows it on the process list); or, instead of a
token, ``--agent-credential`` (a remote agent's credential file, mode 0600, as
``credsync remote-agent register`` writes it) with ``--directory`` (one of the agent's).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from credsync.cli.output import emit, note
from credsync.errors import InvalidInput
from credsync.types import Secret

if TYPE_CHECKING:
    from credsync.agent.capture.client import AgentSigner, CaptureClient
    from credsync.crypto.forwarders import ForwarderToken

__all__ = ["samba_cmd", "samba_setup_cmd"]

F = TypeVar("F", bound=Callable[..., Any])

_DEFAULT_STATE = Path("/var/lib/credsync-capture")


def _token(token: str | None, token_file: Path | None) -> Secret:
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise InvalidInput(
                f"cannot read the token file: {err.strerror}", field="token_file"
            ) from None
        if text:
            return Secret(text)
    if token:
        return Secret(token.strip())
    raise InvalidInput(
        "no forwarder token: set CREDSYNC_CAPTURE_TOKEN or give --token-file "
        "(`credsync capture enroll DIRECTORY` on the server makes one)",
        field="token",
    )


class _Sender:
    """Who the forwarder signs as, and the server it talks to."""

    def __init__(
        self, signer: ForwarderToken | AgentSigner, server: str, ca_file: Path | None
    ) -> None:
        self.signer, self.server, self.ca_file = signer, server, ca_file

    @property
    def label(self) -> str:
        from credsync.agent.capture.client import AgentSigner

        signer = self.signer
        if isinstance(signer, AgentSigner):
            return f"remote agent {signer.agent_id} for {signer.directory}"
        return f"forwarder {signer.forwarder_id}"

    def client(self) -> CaptureClient:
        from credsync.agent.capture.client import CaptureClient

        return CaptureClient(self.server, self.signer, ca_file=self.ca_file)


def _sender(
    server: str | None,
    token: str | None,
    token_file: Path | None,
    ca_file: Path | None,
    agent_credential: Path | None,
    directory: str | None,
) -> _Sender:
    """The forwarder's token, or the agent's credential for one of its directories (a bad
    one stops the command here, not later)."""
    if agent_credential is None:
        if directory is not None:
            raise InvalidInput(
                "--directory goes with --agent-credential (a forwarder token is bound to its "
                "directory already)",
                field="directory",
            )
        if server is None:
            raise InvalidInput("--server is required (https://HOST[:PORT])", field="server")
        from credsync.crypto.forwarders import parse_token

        return _Sender(parse_token(_token(token, token_file)), server, ca_file)
    if token or token_file is not None:
        raise InvalidInput(
            "give a forwarder token or --agent-credential, not both (unset CREDSYNC_CAPTURE_TOKEN)",
            field="agent_credential",
        )
    if not directory or not directory.strip():
        raise InvalidInput(
            "--agent-credential needs --directory: which of the agent's directories this DC "
            "belongs to",
            field="directory",
        )
    from credsync.agent.capture.client import AgentSigner
    from credsync.agent.remote.credential import AgentCredential

    credential = AgentCredential.load(agent_credential)  # refused unless mode 0600
    signer = AgentSigner(credential.agent_id, credential.keys, directory.strip())
    return _Sender(signer, server or credential.server, ca_file or credential.ca_file)


def _server_options(func: F) -> F:
    func = click.option(
        "--directory",
        metavar="NAME",
        help="With --agent-credential: the agent's directory this DC belongs to (name or id).",
    )(func)
    func = click.option(
        "--agent-credential",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Sign as this remote agent (its credential file, mode 600) instead of a "
        "forwarder token.",
    )(func)
    func = click.option(
        "--ca-file",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="PEM of the CA that signed the server's certificate (else the system's).",
    )(func)
    func = click.option(
        "--token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A file holding the forwarder token (mode 600).",
    )(func)
    func = click.option(
        "--token",
        envvar="CREDSYNC_CAPTURE_TOKEN",
        show_envvar=True,
        help="The forwarder token (prefer the environment or --token-file: "
        "a flag's value shows on the process list).",
    )(func)
    func = click.option(
        "--server",
        metavar="URL",
        help="The credsync server, https://HOST[:PORT] (with --agent-credential: the "
        "credential's unless given).",
    )(func)
    func = click.option(
        "--smb-conf",
        required=True,
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="The DC's smb.conf.",
    )(func)
    return func


@click.command("samba")
@_server_options
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=_DEFAULT_STATE,
    show_default=True,
    help="Spool, syncpasswords' cache and cookie, the seq (ciphertext only).",
)
@click.option("--once", is_flag=True, help="One pass (syncpasswords --no-wait), deliver, exit.")
@click.option("--fsync", is_flag=True, help="The hook flushes each spooled record to disk.")
def samba_cmd(
    smb_conf: Path,
    server: str | None,
    token: str | None,
    token_file: Path | None,
    ca_file: Path | None,
    agent_credential: Path | None,
    directory: str | None,
    state_dir: Path,
    once: bool,
    fsync: bool,
) -> None:
    """Forward password changes captured on this Samba DC to the vault.

    Drives `samba-tool user syncpasswords` (run as root on the DC, one DC per domain); each
    changed password arrives encrypted to the directory's capture key and leaves this host
    as that ciphertext, in signed batches. Stops on SIGTERM / Ctrl-C.

    \b
    Examples:
      CREDSYNC_CAPTURE_TOKEN=csf1... credsync capture samba \\
        --server https://vault.example.com --smb-conf /etc/samba/smb.conf
      credsync capture samba --smb-conf /etc/samba/smb.conf \\
        --agent-credential /etc/credsync/agent.json --directory contoso-ad
    """
    from credsync.agent.capture.samba import ForwarderOptions, run_forwarder

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("credsync.capture")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    sender = _sender(server, token, token_file, ca_file, agent_credential, directory)
    note(
        f"credsync capture samba: {sender.label} -> {sender.server} "
        f"(state {state_dir}; SIGTERM stops)"
    )
    options = ForwarderOptions(smb_conf=smb_conf, state_dir=state_dir, once=once, fsync=fsync)

    def connect() -> CaptureClient:
        # made once syncpasswords runs (see run_forwarder); the options were checked by then
        return sender.client()

    status = run_forwarder(connect, options)
    if status:
        raise SystemExit(status)


@click.command("samba-setup")
@_server_options
@click.option(
    "--gnupg-home",
    type=click.Path(file_okay=False, path_type=Path),
    help="The GnuPG home Samba runs with (default: $GNUPGHOME, else root's ~/.gnupg).",
)
@click.option(
    "--check",
    "check_account",
    metavar="ACCOUNT",
    help="Instead of the reminder, verify that the running Samba encrypts ACCOUNT's "
    "current password to the key (set a password after the restart first).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def samba_setup_cmd(
    smb_conf: Path,
    server: str | None,
    token: str | None,
    token_file: Path | None,
    ca_file: Path | None,
    agent_credential: Path | None,
    directory: str | None,
    gnupg_home: Path | None,
    check_account: str | None,
    as_json: bool,
) -> None:
    """Install the directory's capture public key into this Samba DC.

    Imports it into Samba's GnuPG home (refusing a keyring with its secret key), sets
    `password hash gpg key ids` in smb.conf's [global] (a backup next to it) and tells you
    to restart Samba with GNUPGHOME set. Idempotent.

    \b
    Examples:
      credsync capture samba-setup --server https://vault.example.com \\
        --smb-conf /etc/samba/smb.conf --token-file /etc/credsync/capture.token
      credsync capture samba-setup --smb-conf /etc/samba/smb.conf \\
        --agent-credential /etc/credsync/agent.json --directory contoso-ad
    """
    from credsync.agent.capture import setup

    home = gnupg_home or setup.default_gnupg_home()
    client = _sender(server, token, token_file, ca_file, agent_credential, directory).client()
    try:
        key = setup.fetch_key(client)
    finally:
        client.close()
    imported = setup.install_key(key, home)
    backup = setup.set_key_option(smb_conf, key.fingerprint)
    result = {
        "directory": key.directory,
        "fingerprint": key.fingerprint,
        "gnupg_home": str(home),
        "key_imported": imported,
        "smb_conf_changed": backup is not None,
        "backup": None if backup is None else str(backup),
        "check": None,
    }
    if check_account:
        result["check"] = setup.check_account(smb_conf, home, key.fingerprint, check_account)
    lines = [
        f"capture key {key.fingerprint} of {key.directory or 'the directory'}: "
        + ("imported into" if imported else "already in")
        + f" {home}",
        f"{smb_conf}: "
        + (f"set password hash gpg key ids (backup {backup})" if backup else "already set"),
    ]
    if result["check"]:
        lines.append(str(result["check"]))
    elif imported or backup:
        lines.append(
            f"Now restart Samba with GNUPGHOME={home} (it reads the key only at start; "
            "without it every password change fails), then run this again with --check."
        )
    emit(result, as_json, "\n".join(lines))
