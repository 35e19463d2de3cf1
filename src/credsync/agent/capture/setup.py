"""``credsync capture samba-setup``: install a directory's capture key into a Samba DC.

Steps, each idempotent: fetch the key from the server (signed by the forwarder's token), import
its public part into the GnuPG home Samba uses, refuse if that keyring holds a secret key for
it (the DC must never be able to decrypt), set ``password hash gpg key ids`` in smb.conf's
``[global]`` (other lines and comments kept; the previous file saved as ``smb.conf.credsync-bak``)
and say that Samba must be restarted with ``GNUPGHOME`` pointing there: Samba reads the option
and its keyring only when it starts (SIGHUP does not reload them: measured with 4.17), and with
the option set but the key missing every password change fails (``operationsError``).

:func:`check_account` verifies a running DC: the account's current ``virtualSambaGPG`` is
encrypted to the key (so a password set after the restart is captured).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from credsync.agent.capture.client import CaptureClient, ServerUnavailable
from credsync.agent.capture.ldif import LdifError, parse_ldif
from credsync.agent.capture.samba import samba_tool
from credsync.errors import ConfigError, InvalidInput

__all__ = [
    "CaptureKey",
    "SetupResult",
    "check_account",
    "default_gnupg_home",
    "fetch_key",
    "install_key",
    "set_key_option",
]

OPTION = "password hash gpg key ids"
_OPTION_RE = re.compile(r"^\s*password\s+hash\s+gpg\s+key\s+ids\s*=", re.IGNORECASE)
_SECTION_RE = re.compile(r"^\s*\[([^\]]+)\]")


@dataclass(frozen=True)
class CaptureKey:
    directory: str
    fingerprint: str
    public_key: str


@dataclass(frozen=True)
class SetupResult:
    fingerprint: str
    gnupg_home: Path
    key_imported: bool
    smb_conf_changed: bool
    backup: Path | None


def default_gnupg_home() -> Path:
    """``$GNUPGHOME``, else root's ``~/.gnupg`` (Samba runs as root)."""
    env = os.environ.get("GNUPGHOME")
    return Path(env) if env else Path("~root").expanduser() / ".gnupg"


def fetch_key(client: CaptureClient) -> CaptureKey:
    try:
        reply = client.capture_key()
    except ServerUnavailable as err:
        raise ConfigError(f"the server did not answer: {err}") from err
    if reply.status != 200:
        raise ConfigError(
            f"the server refused the capture key ({reply.status} {reply.code}): {reply.message}"
        )
    body = reply.body
    fingerprint, public_key = body.get("fingerprint"), body.get("public_key")
    if not isinstance(fingerprint, str) or not isinstance(public_key, str):
        raise ConfigError("the server's capture-key answer lacks fingerprint or public_key")
    return CaptureKey(str(body.get("directory", "")), fingerprint.upper(), public_key)


def _gpg(home: Path, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(  # noqa: S603 - gpg with our own arguments
            ["gpg", "--homedir", str(home), "--batch", "--no-tty", *args],  # noqa: S607
            input=data,
            capture_output=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ConfigError(f"cannot run gpg: {err}") from err


def _fingerprints(listing: bytes, record: str = "fpr") -> list[str]:
    return [
        line.split(":")[9]
        for line in listing.decode("utf-8", "replace").splitlines()
        if line.startswith(f"{record}:")
    ]


def install_key(key: CaptureKey, home: Path) -> bool:
    """Import ``key``'s public part into ``home``; refuse a secret key. Returns whether it was
    not there before."""
    if "PRIVATE KEY BLOCK" in key.public_key:
        raise InvalidInput("the server sent a private key: refusing it", field="public_key")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    home.chmod(0o700)
    shown = _gpg(
        home,
        "--with-colons",
        "--import-options",
        "show-only",
        "--import",
        data=key.public_key.encode(),
    )
    if key.fingerprint not in _fingerprints(shown.stdout):
        raise InvalidInput(
            "the public key does not have the announced fingerprint", field="fingerprint"
        )
    secret = _gpg(home, "--with-colons", "--list-secret-keys", key.fingerprint)
    if secret.returncode == 0 and _fingerprints(secret.stdout):
        raise ConfigError(
            f"{home} holds the SECRET key {key.fingerprint}: a DC must hold only the public "
            "key (remove it with gpg --delete-secret-keys)"
        )
    present = _gpg(home, "--with-colons", "--list-keys", key.fingerprint).returncode == 0
    if not present:
        imported = _gpg(home, "--import", data=key.public_key.encode())
        if imported.returncode != 0:
            raise ConfigError(f"gpg --import into {home} failed")
    return not present


def set_key_option(smb_conf: Path, fingerprint: str) -> Path | None:
    """Set ``password hash gpg key ids = fingerprint`` in [global]; the backup's path, or None
    when the file already said so (unchanged)."""
    try:
        text = smb_conf.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read {smb_conf}: {err}") from err
    lines = text.splitlines(keepends=True)
    wanted = f"\t{OPTION} = {fingerprint}\n"
    section, header, found = None, None, False
    out: list[str] = []
    for line in lines:
        match = _SECTION_RE.match(line)
        if match:
            section = match.group(1).strip().lower()
            if section == "global" and header is None:
                header = len(out)
        elif section == "global" and _OPTION_RE.match(line):
            if found:
                continue  # a repeated option: keep one
            found = True
            line = wanted
        out.append(line)
    if not found:
        if header is None:
            out[:0] = ["[global]\n", wanted]
        else:
            out.insert(header + 1, wanted)
    new = "".join(out)
    if new == text:
        return None
    backup = smb_conf.with_name(smb_conf.name + ".credsync-bak")
    shutil.copy2(smb_conf, backup)
    tmp = smb_conf.with_name(smb_conf.name + ".credsync-tmp")
    tmp.write_text(new, encoding="utf-8")
    shutil.copymode(smb_conf, tmp)
    tmp.replace(smb_conf)
    return backup


def _key_ids(home: Path, fingerprint: str) -> set[str]:
    listing = _gpg(home, "--with-colons", "--list-keys", fingerprint).stdout.decode()
    return {
        line.split(":")[4].upper()
        for line in listing.splitlines()
        if line.startswith(("pub:", "sub:"))
    }


def check_account(smb_conf: Path, home: Path, fingerprint: str, account: str) -> str:
    """Whether ``account``'s current password is held encrypted to ``fingerprint`` by the DC:
    a sentence saying so, or :class:`ConfigError` saying what is missing."""
    try:
        got = subprocess.run(  # noqa: S603 - samba-tool with our own arguments
            [
                samba_tool(),
                "user",
                "getpassword",
                account,
                "--attributes=pwdLastSet,virtualSambaGPG",
                "-s",
                str(smb_conf),
            ],
            capture_output=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ConfigError(f"cannot run samba-tool: {err}") from err
    if got.returncode != 0:
        raise ConfigError(f"samba-tool user getpassword {account} failed")
    try:
        record = got.stdout.split(b"\n\n", 1)[0]  # then "Got password OK"
        blob = parse_ldif(record).get("virtualsambagpg")
    except LdifError as err:
        raise ConfigError(f"samba-tool's answer was unreadable: {err}") from err
    if not blob:
        raise ConfigError(
            f"{account} has no captured (encrypted) password: Samba is not running with the "
            "key, or the password was set before; restart Samba with GNUPGHOME and set one"
        )
    packets = _gpg(home, "--list-packets", data=blob[0])
    ids = set(re.findall(r"keyid ([0-9A-Fa-f]{16})", packets.stdout.decode()))
    if not {i.upper() for i in ids} & _key_ids(home, fingerprint):
        raise ConfigError(f"{account}'s password is encrypted to another key ({sorted(ids)})")
    return f"{account}'s current password is encrypted to {fingerprint}: capture works"
