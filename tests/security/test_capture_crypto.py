"""The capture key against the real GnuPG 2.2 (what Samba 4.17 runs): it imports our public
key and encrypts to it, and we open what it made; a new key is v4 Curve25519 (an RSA-3072 key
made before still opens) and its secret part never shows in a repr. The Windows agent's
formats open only with their own key, account and change. Forwarder signatures verify, and
nothing else does."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from credsync.crypto.forwarders import new_forwarder_key, parse_token, verify_request
from credsync.crypto.openpgp import (
    CaptureDecryptor,
    CaptureKey,
    generate_capture_key,
    public_part,
    rsa_oaep_encrypt,
    x25519_encrypt,
)
from credsync.errors import InvalidInput
from credsync.types import Secret


@pytest.fixture(scope="module")
def key():  # type: ignore[no-untyped-def]
    return generate_capture_key("credsync capture test-dc")


@pytest.fixture(scope="module")
def rsa_key():  # type: ignore[no-untyped-def]
    return generate_capture_key("credsync capture old-dc", "rsa3072")


@pytest.fixture(autouse=True)
def _no_agent_left(tmp_path: Path):  # type: ignore[no-untyped-def]
    """gpg starts a gpg-agent for its home (to list secret keys): stop it with the test, so
    the suite leaves no process behind."""
    yield
    home = tmp_path / "gnupg"
    if home.exists():
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "all"], check=False, capture_output=True
        )


def _gpg(home: Path, *args: str, data: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--no-tty", *args],
        input=data,
        check=True,
        capture_output=True,
    )


def _gpg_opens(key: CaptureKey, home: Path) -> None:
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


def _listing(key: CaptureKey, home: Path) -> tuple[list[str], list[list[str]], str]:
    home.mkdir(mode=0o700)
    _gpg(home, "--import", data=key.public_key.encode())
    listing = _gpg(home, "--with-colons", "--list-keys", key.fingerprint).stdout.decode()
    pub = next(line.split(":") for line in listing.splitlines() if line.startswith("pub:"))
    sub = [line.split(":") for line in listing.splitlines() if line.startswith("sub:")]
    return pub, sub, listing


def test_gnupg_imports_our_key_and_we_open_what_it_encrypts(key, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "gnupg"
    pub, sub, listing = _listing(key, home)
    assert (pub[3], pub[16]) == ("22", "ed25519")  # EdDSA primary key, v4
    assert "credsync capture test-dc" in listing
    # a Cv25519 (ECDH, algorithm 18) encryption subkey
    assert any("e" in fields[11] and (fields[3], fields[16]) == ("18", "cv25519") for fields in sub)
    _gpg_opens(key, home)


def test_an_rsa_key_made_before_still_opens_what_gnupg_encrypts(rsa_key, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "gnupg"
    pub, sub, _ = _listing(rsa_key, home)
    assert (pub[2], pub[3]) == ("3072", "1")
    assert any("e" in fields[11] and fields[3] == "1" for fields in sub)  # RSA encryption subkey
    _gpg_opens(rsa_key, home)


def test_the_x25519_format_opens_only_with_its_key_account_and_change(key) -> None:  # type: ignore[no-untyped-def]
    aad = b"6f1c0c1e-9d3c-4f55-9a41-6a4a5a1d7c11\n133800000000000000"
    plain = "Filter-Agent-€-8!".encode("utf-16-le")
    blob = x25519_encrypt(key.public_key, plain, aad)
    assert x25519_encrypt(key.public_key, plain, aad) != blob  # a fresh ephemeral key each
    decryptor = CaptureDecryptor(key.secret)
    assert decryptor.decrypt_x25519(blob, aad) == plain
    other = generate_capture_key("other")
    refusals = [
        (decryptor, blob, aad + b"1"),  # another change
        (CaptureDecryptor(other.secret), blob, aad),  # another key
        (decryptor, blob[:-8] + ("A" if blob[-8] != "A" else "B") + blob[-7:], aad),  # tampered
        (decryptor, "AAAA", aad),  # too short
        (decryptor, "not base64!", aad),
        (decryptor, base64.b64encode(bytes(32 + 12 + 20)).decode(), aad),  # a low-order point
    ]
    for opener, ciphertext, data in refusals:
        with pytest.raises(InvalidInput) as err:
            opener.decrypt_x25519(ciphertext, data)
        assert err.value.field == "ciphertext"
        assert ciphertext not in str(err.value)


def test_each_windows_format_needs_its_kind_of_key(key, rsa_key) -> None:  # type: ignore[no-untyped-def]
    aad = b"guid\n1"
    old = rsa_oaep_encrypt(rsa_key.public_key, b"p\0", aad)
    assert CaptureDecryptor(rsa_key.secret).decrypt_rsa_oaep(old, aad) == b"p\0"
    with pytest.raises(InvalidInput, match="x25519-hkdf-sha256") as err:
        CaptureDecryptor(key.secret).decrypt_rsa_oaep(old, aad)
    assert err.value.field == "ciphertext_format"
    new = x25519_encrypt(key.public_key, b"p\0", aad)
    with pytest.raises(InvalidInput, match="rsa-oaep-sha256") as err:
        CaptureDecryptor(rsa_key.secret).decrypt_x25519(new, aad)
    assert err.value.field == "ciphertext_format"


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


def test_the_x25519_format_is_what_the_readme_says(key) -> None:  # type: ignore[no-untyped-def]
    """Made here by the documented recipe alone (what a Windows agent would implement), from
    the subkey's public key in the armoured key, it opens."""
    import os

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import x25519
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    from pysequoia import Cert
    from pysequoia.packet import PacketPile, Tag

    packets = list(PacketPile.from_bytes(bytes(Cert.from_bytes(key.public_key.encode()))))
    # the Cv25519 subkey: algorithm 18, OID 1.3.6.1.4.1.3029.1.5.1, point 0x40 || 32 bytes
    subkey = next(p.body for p in packets if p.tag == Tag.PublicSubkey and p.body[5] == 18)
    recipient = subkey[20:52]
    assert subkey[19] == 0x40
    ephemeral = x25519.X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(recipient))
    info = b"credsync-capture x25519-hkdf-sha256+a256gcm v1" + ephemeral_public + recipient
    aes = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)
    nonce = os.urandom(12)
    aad = b"6f1c0c1e-9d3c-4f55-9a41-6a4a5a1d7c11\n133800000000000001"
    sealed = AESGCM(aes).encrypt(nonce, "Wind0ws-€".encode("utf-16-le"), aad)
    blob = base64.b64encode(ephemeral_public + nonce + sealed).decode()
    opened = CaptureDecryptor(key.secret).decrypt_x25519(blob, aad)
    assert opened.decode("utf-16-le") == "Wind0ws-€"


def test_the_key_json_gives_the_windows_filter_its_key_only_for_curve25519(key, rsa_key) -> None:  # type: ignore[no-untyped-def]
    """``x25519_public_hex`` (install.ps1's -RecipientKey): the raw X25519 key of the
    Cv25519 subkey; null for an RSA key, which the filter can't seal to."""
    from credsync.crypto.openpgp import x25519_recipient
    from credsync.vault.capture import CaptureKeyInfo

    info = CaptureKeyInfo("d", key.fingerprint, key.public_key).to_json()
    assert info["x25519_public_hex"] == x25519_recipient(key.public_key).hex()
    assert len(bytes.fromhex(info["x25519_public_hex"])) == 32
    old = CaptureKeyInfo("d", rsa_key.fingerprint, rsa_key.public_key).to_json()
    assert old["x25519_public_hex"] is None
