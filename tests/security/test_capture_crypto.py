"""The capture key against the real GnuPG 2.2 (what Samba 4.17 runs): it imports our public
key and encrypts to it, and we open what it made; the key is v4 RSA-3072 and its secret part
never shows in a repr. Forwarder signatures verify, and nothing else does."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from credsync.crypto.forwarders import new_forwarder_key, parse_token, verify_request
from credsync.crypto.openpgp import CaptureDecryptor, generate_capture_key, public_part
from credsync.errors import InvalidInput
from credsync.types import Secret


@pytest.fixture(scope="module")
def key():  # type: ignore[no-untyped-def]
    return generate_capture_key("credsync capture test-dc")


def _gpg(home: Path, *args: str, data: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--no-tty", *args],
        input=data,
        check=True,
        capture_output=True,
    )


def test_gnupg_imports_our_key_and_we_open_what_it_encrypts(key, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    _gpg(home, "--import", data=key.public_key.encode())
    listing = _gpg(home, "--with-colons", "--list-keys", key.fingerprint).stdout.decode()
    pub = next(line.split(":") for line in listing.splitlines() if line.startswith("pub:"))
    assert pub[2] == "3072"
    assert pub[3] == "1"
    assert "credsync capture test-dc" in listing
    sub = [line.split(":") for line in listing.splitlines() if line.startswith("sub:")]
    assert any("e" in fields[11] and fields[3] == "1" for fields in sub)  # an RSA encryption subkey
    password = "Pässwörd-€-1!"
    message = _gpg(
        home,
        "--encrypt",
        "--armor",
        "--always-trust",
        "-r",
        key.fingerprint,
        data=password.encode("utf-16-le"),
    ).stdout.decode("ascii")
    assert message.startswith("-----BEGIN PGP MESSAGE-----")
    assert CaptureDecryptor(key.secret).decrypt(message).decode("utf-16-le") == password
    assert public_part(key.secret) == (key.fingerprint, key.public_key)
    secret_export = _gpg(home, "--list-secret-keys").stdout
    assert secret_export == b""  # the DC side holds the public key only


def test_a_message_to_another_key_or_no_message_is_refused_by_field(key, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = generate_capture_key("other")
    decryptor = CaptureDecryptor(key.secret)
    with pytest.raises(InvalidInput) as err:
        decryptor.decrypt("not a message")
    assert err.value.field == "ciphertext"
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    _gpg(home, "--import", data=other.public_key.encode())
    message = _gpg(
        home, "--encrypt", "--armor", "--always-trust", "-r", other.fingerprint, data=b"x\0"
    ).stdout.decode()
    with pytest.raises(InvalidInput, match="can't be decrypted"):
        decryptor.decrypt(message)


def test_the_secret_key_never_shows(key) -> None:  # type: ignore[no-untyped-def]
    assert "hidden" in repr(key)
    assert base64.b64encode(key.secret)[:40].decode() not in repr(key)
    assert repr(CaptureDecryptor(key.secret)) == "CaptureDecryptor(<hidden>)"


def test_forwarder_signatures_verify_only_for_their_path_body_and_key() -> None:
    token, public = new_forwarder_key("0b5e0c1e-9d3c-4f55-9a41-6a4a5a1d7c11")
    assert token.reveal().startswith("csf1.0b5e0c1e-9d3c-4f55-9a41-6a4a5a1d7c11.")
    assert "csf1" not in repr(token)
    parsed = parse_token(token)
    assert parsed.forwarder_id == "0b5e0c1e-9d3c-4f55-9a41-6a4a5a1d7c11"
    assert token.reveal().split(".")[2] not in repr(parsed)
    path = "/api/v1/agents/0b5e0c1e-9d3c-4f55-9a41-6a4a5a1d7c11/captures"
    header = parsed.sign(path, b'{"a": 1}')
    assert verify_request(public, header, path, b'{"a": 1}') is None
    assert verify_request(public, header, path, b'{"a": 2}') is not None
    assert verify_request(public, header, path + "x", b'{"a": 1}') is not None
    _, other_public = new_forwarder_key("0b5e0c1e-9d3c-4f55-9a41-6a4a5a1d7c11")
    assert verify_request(other_public, header, path, b'{"a": 1}') is not None
    assert verify_request(public, None, path, b"") == "no Credsync-Signature header"
    assert verify_request(public, "ed25519 !!", path, b"") is not None
    with pytest.raises(InvalidInput) as err:
        parse_token(Secret("cst_not-a-forwarder-token"))
    assert err.value.field == "token"
