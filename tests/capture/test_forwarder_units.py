"""The forwarder's pure parts: LDIF decoding, the token and signature, smb.conf editing."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from credsync.agent.capture.ldif import LdifError, events_from_ldif, parse_ldif, sid_text
from credsync.agent.capture.setup import set_key_option

NOW = datetime(2026, 12, 6, 14, 0, 0, 123456, tzinfo=UTC)
GUID = uuid.UUID("7d305f8b-19ec-4a0a-8664-84f4405639f9")
SID = "S-1-5-21-477432651-3675207734-583152926-1102"
SID_BYTES = bytes([1, 5, 0, 0, 0, 0, 0, 5]) + b"".join(
    n.to_bytes(4, "little") for n in (21, 477432651, 3675207734, 583152926, 1102)
)
BLOB = "-----BEGIN PGP MESSAGE-----\n\nhQEMA...\n-----END PGP MESSAGE-----\n"


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _fold(line: str, width: int = 20) -> str:
    return "\n ".join(line[i : i + width] for i in range(0, len(line), width))


def test_samba_text_values_and_folded_base64_become_one_password_event() -> None:
    ldif = (
        "# a comment\n"
        "dn: CN=alice,OU=x,DC=example,DC=test\n"
        f"objectGUID: {GUID}\n"
        f"objectSid: {SID}\n"
        "sAMAccountName: alice\n"
        "userPrincipalName: alice@example.test\n"
        "userAccountControl: 512\n"
        "pwdLastSet: 134093000000000000\n"
        "msDS-KeyVersionNumber: 3\n" + _fold(f"virtualSambaGPG:: {_b64(BLOB.encode())}") + "\n\n"
    )
    (event,) = events_from_ldif(ldif.encode(), captured_at=NOW, dc="dc1")
    assert event == {
        "kind": "password",
        "object_guid": str(GUID),
        "object_sid": SID,
        "sam": "alice",
        "upn": "alice@example.test",
        "uac": 512,
        "pwd_last_set": 134093000000000000,
        "kvno": 3,
        "ciphertext_format": "openpgp",
        "ciphertext": BLOB,
        "captured_at": "2026-12-06T14:00:00.123456Z",
        "dc": "dc1",
    }


def test_binary_guid_and_sid_are_decoded_as_ad_prints_them() -> None:
    ldif = f"dn: CN=b\nobjectGUID:: {_b64(GUID.bytes_le)}\nobjectSid:: {_b64(SID_BYTES)}\n"
    ldif += "userAccountControl: 514\n"
    (event,) = events_from_ldif(ldif.encode(), captured_at=NOW, dc=None)
    assert event["kind"] == "disabled"
    assert event["object_guid"] == str(GUID)
    assert event["object_sid"] == SID
    assert event["ciphertext"] is None
    assert sid_text(SID_BYTES) == SID


def test_a_record_without_a_blob_carries_nothing_and_a_deleted_one_says_so() -> None:
    plain = f"dn: CN=c\nobjectGUID: {GUID}\nuserAccountControl: 512\n".encode()
    assert events_from_ldif(plain, captured_at=NOW, dc=None) == []
    gone = f"dn: CN=c\\0ADEL:x,CN=Deleted Objects\nobjectGUID: {GUID}\nisDeleted: TRUE\n"
    assert [e["kind"] for e in events_from_ldif(gone.encode(), captured_at=NOW, dc=None)] == [
        "deleted"
    ]


@pytest.mark.parametrize(
    "data", [b"objectGUID: x\n", b"dn: a\nno colon here\n", b"dn: a\nobjectGUID:: !!!\n"]
)
def test_unreadable_ldif_is_an_ldif_error(data: bytes) -> None:
    with pytest.raises(LdifError):
        events_from_ldif(data + b"virtualSambaGPG: x\n", captured_at=NOW, dc=None)
    assert parse_ldif(b"dn: a\n") == {"dn": [b"a"]}


def test_smb_conf_gets_the_option_in_global_once_keeping_everything_else(tmp_path: Path) -> None:
    conf = tmp_path / "smb.conf"
    original = (
        "# Global parameters\n[global]\n\tnetbios name = DC1\n"
        "\tpassword hash gpg key ids = OLDKEY\n; a comment\n\n[sysvol]\n\tpath = /x\n"
    )
    conf.write_text(original)
    backup = set_key_option(conf, "ABCDEF")
    assert backup is not None
    assert backup.read_text() == original
    text = conf.read_text()
    assert text == original.replace("OLDKEY", "ABCDEF")
    assert set_key_option(conf, "ABCDEF") is None  # idempotent: no rewrite, no new backup

    bare = tmp_path / "bare.conf"
    bare.write_text("[global]\n\tserver role = active directory domain controller\n")
    set_key_option(bare, "ABCDEF")
    assert bare.read_text().splitlines()[:2] == ["[global]", "\tpassword hash gpg key ids = ABCDEF"]
