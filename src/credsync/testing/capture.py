"""The vault's side of a capture test world: an OpenPGP key pair in a GnuPG home of its own.

Tests and benchmarks install the public part on the Samba DC (:meth:`SambaDC.capture`) and open
Samba's blobs with the private part, which never goes near the DC. Uses the ``gpg`` binary
(test-only; the product's key store is in :mod:`credsync.crypto`).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GpgKey", "make_gpg_key"]


@dataclass(frozen=True)
class GpgKey:
    home: Path  # holds the private key: the vault's side only
    fingerprint: str
    public_key: str

    def decrypt(self, armoured: str) -> str:
        """The password in a Samba blob (UTF-16-LE inside)."""
        out = subprocess.run(  # noqa: S603 - gpg, fixed arguments
            ["gpg", "--homedir", str(self.home), "--batch", "--quiet", "--decrypt"],  # noqa: S607
            input=armoured.encode("ascii"),
            capture_output=True,
            check=True,
        )
        return out.stdout.decode("utf-16-le")


def make_gpg_key(home: Path) -> GpgKey:
    home.mkdir(mode=0o700, parents=True)
    gpg = ["gpg", "--homedir", str(home), "--batch"]
    subprocess.run(  # noqa: S603
        [
            *gpg,
            "--passphrase",
            "",
            "--quick-gen-key",
            "credsync capture test",
            "rsa2048",
            "encr",
            "never",
        ],
        capture_output=True,
        check=True,
    )
    listing = subprocess.run(  # noqa: S603
        [*gpg, "--with-colons", "--list-keys"], capture_output=True, check=True, text=True
    ).stdout
    fingerprint = next(
        line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr")
    )
    public = subprocess.run(  # noqa: S603
        [*gpg, "--armor", "--export", fingerprint], capture_output=True, check=True, text=True
    ).stdout
    return GpgKey(home, fingerprint, public)
