"""Capture tests: the machine's Samba DC with two-way capture set up (once per session).

``capture_dc`` restarts the shared DC once (``scripts/samba-dc capture``) so that Samba encrypts
every new password to ``test_capture_key``'s public key; the private key stays in this session's
temporary GnuPG home (the vault's side), never on the DC.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from credsync.testing.capture import GpgKey, make_gpg_key
from credsync.testing.samba import OuWorld, SambaDC, SambaFacts


@pytest.fixture(scope="session")
def test_capture_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GpgKey]:
    key = make_gpg_key(tmp_path_factory.mktemp("vault-gpg") / "home")
    yield key
    subprocess.run(
        ["gpgconf", "--homedir", str(key.home), "--kill", "gpg-agent"],
        capture_output=True,
        check=False,
    )


@pytest.fixture(scope="session")
def capture_dc(samba_dc: SambaFacts, test_capture_key: GpgKey) -> SambaFacts:
    """The shared DC, encrypting new passwords to ``test_capture_key`` (one restart)."""
    fingerprint = SambaDC().capture(test_capture_key.public_key)
    assert fingerprint == test_capture_key.fingerprint
    return SambaDC().facts()


@pytest.fixture
def capture_ou(capture_dc: SambaFacts) -> Iterator[OuWorld]:
    """A fresh OU on the capture-enabled DC (made after its restart)."""
    world = OuWorld.create(capture_dc, prefix="cap")
    try:
        yield world
    finally:
        world.close()
