"""The forwarder's DC side on the real Samba DC: the hook journals what syncpasswords gives it,
the spooled blob is ciphertext that only the vault's key opens, and nothing on the DC side holds
the password in clear."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from credsync.agent.capture.ldif import events_from_ldif
from credsync.agent.capture.samba import initialise, sync_once
from credsync.agent.capture.setup import CaptureKey, check_account, install_key
from credsync.agent.capture.spool import Spool
from credsync.errors import ConfigError, InvalidInput
from credsync.testing.capture import make_gpg_key
from credsync.testing.samba import OuWorld, SambaFacts

from .conftest import CaptureEnv


def _events_for(spool: Spool, guid: str) -> list[dict[str, object]]:
    found = []
    for record in spool.records():
        for event in events_from_ldif(record.data, captured_at=datetime.now(UTC), dc="dc1"):
            if event["object_guid"] == guid:
                found.append(event)
    return found


def _clear(spool: Spool) -> None:
    """Drop what is spooled (as a delivery would), sealing the journal first."""
    spool.seal()
    for sealed in spool.waiting():
        spool.finish([sealed])


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_an_admin_reset_and_a_users_own_change_are_spooled_as_ciphertext(
    capture_env: CaptureEnv, capture_ou: OuWorld, tmp_path: Path
) -> None:
    capture_dc = capture_env.facts
    spool = Spool(tmp_path / "state")
    spool.prepare()
    initialise(spool, capture_dc.smb_conf)
    user = capture_ou.create_user()
    assert sync_once(spool, capture_dc.smb_conf) == 0
    first = _events_for(spool, user.guid)
    assert first
    assert first[-1]["kind"] == "password"
    assert first[-1]["sam"] == user.name
    assert first[-1]["upn"] == user.upn
    assert str(first[-1]["object_sid"]).startswith("S-1-5-21-")
    assert capture_env.decrypt(str(first[-1]["ciphertext"])) == user.password
    _clear(spool)

    reset = "Adm1n-Reset#Pässwörd"
    capture_ou.admin.reset_password(user.dn, reset)
    assert sync_once(spool, capture_dc.smb_conf) == 0
    (event,) = _events_for(spool, user.guid)
    assert event["ciphertext_format"] == "openpgp"
    assert capture_env.decrypt(str(event["ciphertext"])) == reset
    assert int(str(event["pwd_last_set"])) > int(str(first[-1]["pwd_last_set"]))
    _clear(spool)

    own = "Own-Change#42-Ünïcode"
    capture_ou.admin.change_password_as_user(user.dn, reset, own)
    assert sync_once(spool, capture_dc.smb_conf) == 0
    (event,) = _events_for(spool, user.guid)
    assert capture_env.decrypt(str(event["ciphertext"])) == own

    # Nothing on the DC's side holds a password in clear: state dir, spool, cache, logs, and
    # the DC's own keyring has no secret key.
    dc_side = _all_bytes(spool.state_dir)
    for secret in (user.password, reset, own):
        for encoding in ("utf-8", "utf-16-le"):
            assert secret.encode(encoding) not in dc_side
    keyring = capture_dc.state_dir / "dc" / "gnupg"
    listing = subprocess.run(
        ["gpg", "--homedir", str(keyring), "--batch", "--list-secret-keys"],
        capture_output=True,
        check=False,
    )
    assert listing.stdout == b""


def test_a_disabled_or_deleted_account_goes_as_such(
    capture_dc: SambaFacts, capture_ou: OuWorld, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "state")
    spool.prepare()
    initialise(spool, capture_dc.smb_conf)
    user = capture_ou.create_user()
    assert sync_once(spool, capture_dc.smb_conf) == 0
    _clear(spool)
    capture_ou.admin.disable(user.dn)
    assert sync_once(spool, capture_dc.smb_conf) == 0
    kinds = [e["kind"] for e in _events_for(spool, user.guid)]
    # The blob is still the current password's (the server answers duplicate), then the news.
    assert kinds == ["password", "disabled"]
    _clear(spool)
    capture_ou.admin.delete(user.dn)
    assert sync_once(spool, capture_dc.smb_conf) == 0
    assert [e["kind"] for e in _events_for(spool, user.guid)] == ["deleted"]


def test_setup_imports_only_the_public_key_and_checks_the_running_dc(
    capture_env: CaptureEnv, capture_ou: OuWorld, tmp_path: Path
) -> None:
    vault_side = make_gpg_key(tmp_path / "vault-side")  # a keyring WITH the secret key
    key = CaptureKey("samba", vault_side.fingerprint, vault_side.public_key)
    home = tmp_path / "gnupg"
    assert install_key(key, home) is True
    assert install_key(key, home) is False  # idempotent
    with pytest.raises(ConfigError, match="SECRET key"):
        install_key(key, vault_side.home)  # a keyring that could decrypt: refused
    with pytest.raises(InvalidInput):
        install_key(CaptureKey("samba", "0" * 40, vault_side.public_key), tmp_path / "g2")

    # The running DC encrypts to the session vault's key, not to this one.
    facts = capture_env.facts
    user = capture_ou.create_user()
    dc_home = facts.state_dir / "dc" / "gnupg"
    said = check_account(facts.smb_conf, dc_home, capture_env.fingerprint, user.name)
    assert "capture works" in said
    with pytest.raises(ConfigError, match="another key"):
        check_account(facts.smb_conf, home, vault_side.fingerprint, user.name)
