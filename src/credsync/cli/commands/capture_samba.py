"""``credsync capture samba`` and ``credsync capture samba-setup``: the domain controller's side.

These run on the DC, as root, with no vault and no database: they only parse options and call
:mod:`credsync.agent.capture`. The forwarder's token comes from ``$CREDSYNC_CAPTURE_TOKEN`` or
``--token-file`` (``--token`` works too, but shows it on the process list).
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
    from credsync.agent.capture.client import CaptureClient

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


def _client(server: str, token: Secret, ca_file: Path | None) -> CaptureClient:
    from credsync.agent.capture.client import CaptureClient
    from credsync.crypto.forwarders import parse_token

    return CaptureClient(server, parse_token(token), ca_file=ca_file)


def _server_options(func: F) -> F:
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
        required=True,
        metavar="URL",
        help="The credsync server, https://HOST[:PORT].",
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
    server: str,
    token: str | None,
    token_file: Path | None,
    ca_file: Path | None,
    state_dir: Path,
    once: bool,
    fsync: bool,
) -> None:
    """Forward password changes captured on this Samba DC to the vault.

    Drives `samba-tool user syncpasswords` (run as root on the DC, one DC per domain); each
    changed password arrives encrypted to the directory's capture key and leaves this host
    as that ciphertext, in signed batches. Stops on SIGTERM / Ctrl-C.

    \b
    Example:
      CREDSYNC_CAPTURE_TOKEN=csf1... credsync capture samba \\
        --server https://vault.example.com --smb-conf /etc/samba/smb.conf
    """
    from credsync.agent.capture.samba import ForwarderOptions, run_forwarder

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("credsync.capture")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    from credsync.crypto.forwarders import parse_token

    signer = parse_token(_token(token, token_file))  # a bad token stops it here, not later
    note(
        f"credsync capture samba: forwarder {signer.forwarder_id} -> {server} "
        f"(state {state_dir}; SIGTERM stops)"
    )
    options = ForwarderOptions(smb_conf=smb_conf, state_dir=state_dir, once=once, fsync=fsync)

    def connect() -> CaptureClient:
        # made once syncpasswords runs (see run_forwarder); the options were checked by then
        from credsync.agent.capture.client import CaptureClient

        return CaptureClient(server, signer, ca_file=ca_file)

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
    server: str,
    token: str | None,
    token_file: Path | None,
    ca_file: Path | None,
    gnupg_home: Path | None,
    check_account: str | None,
    as_json: bool,
) -> None:
    """Install the directory's capture public key into this Samba DC.

    Imports it into Samba's GnuPG home (refusing a keyring with its secret key), sets
    `password hash gpg key ids` in smb.conf's [global] (a backup next to it) and tells you
    to restart Samba with GNUPGHOME set. Idempotent.

    \b
    Example:
      credsync capture samba-setup --server https://vault.example.com \\
        --smb-conf /etc/samba/smb.conf --token-file /etc/credsync/capture.token
    """
    from credsync.agent.capture import setup

    home = gnupg_home or setup.default_gnupg_home()
    client = _client(server, _token(token, token_file), ca_file)
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
