"""The Windows password filter's spool record (``windows/filter/credsyncfilter.c``), read and
opened on the vault's side.

The filter runs inside lsass on a Windows DC. It knows the account's name and RID, the new
password, and the moment it was told; not the objectGUID or pwdLastSet (that is LDAP, which the
forwarder adds later, outside lsass). So it seals the UTF-16-LE password with the capture key's
``x25519-hkdf-sha256+a256gcm`` format
(:meth:`credsync.crypto.openpgp.CaptureDecryptor.decrypt_x25519`)
and binds what it knows as the associated data::

    credsync-lsa-capture v1 \\n domain \\n account \\n rid \\n notified_at

(``domain`` and ``account`` UTF-8 with every byte outside printable ASCII, space and ``%``
percent-encoded, ``rid`` decimal, ``notified_at`` a decimal
FILETIME: 100 ns since 1601-01-01 UTC). A record is ASCII lines of ``name value``::

    credsync-lsa-capture v1
    domain EXAMPLE
    account alice.smith
    rid 1105
    notified_at 134411449838333344
    format x25519-hkdf-sha256+a256gcm
    ciphertext <base64: ephemeral X25519 key || nonce || AES-256-GCM ciphertext and tag>

A ciphertext moved to another record (another account, RID, domain or time) does not open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from credsync.crypto.openpgp import CaptureDecryptor
from credsync.errors import InvalidInput
from credsync.types import Secret

__all__ = ["LSA_MAGIC", "MAX_RECORD_BYTES", "LsaRecord", "open_record", "parse_record"]

LSA_MAGIC = "credsync-lsa-capture v1"
MAX_RECORD_BYTES = 64 * 1024
_FORMAT = "x25519-hkdf-sha256+a256gcm"
_FIELDS = ("domain", "account", "rid", "notified_at", "format", "ciphertext")
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LsaRecord:
    """One spool record as written (``domain`` and ``account`` still percent-encoded)."""

    domain: str
    account: str
    rid: int
    notified_at: int
    ciphertext: str

    @property
    def aad(self) -> bytes:
        return "\n".join(
            (LSA_MAGIC, self.domain, self.account, str(self.rid), str(self.notified_at))
        ).encode("ascii")

    @property
    def account_name(self) -> str:
        """The account's name (``sAMAccountName`` as LSA gave it)."""
        return unquote(self.account, errors="strict")

    @property
    def domain_name(self) -> str:
        return unquote(self.domain, errors="strict")

    @property
    def notified(self) -> datetime:
        return _FILETIME_EPOCH + timedelta(microseconds=self.notified_at // 10)


def _bad(why: str) -> InvalidInput:
    return InvalidInput(f"not a password filter record: {why}", field="ciphertext")


def parse_record(data: bytes) -> LsaRecord:
    """A record's fields; InvalidInput (``ciphertext``) naming what is wrong."""
    if len(data) > MAX_RECORD_BYTES:
        raise _bad("too large")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise _bad("not ASCII") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != LSA_MAGIC:
        raise _bad(f"the first line is not {LSA_MAGIC!r}")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(" ")
        if not sep or name not in _FIELDS or name in fields:
            raise _bad("an unknown, repeated or malformed line")
        fields[name] = value
    missing = [name for name in _FIELDS if name not in fields]
    if missing:
        raise _bad(f"{missing[0]} is missing")
    if fields["format"] != _FORMAT:
        raise _bad(f"format is not {_FORMAT}")
    rid, notified_at = fields["rid"], fields["notified_at"]
    if not (rid.isdigit() and notified_at.isdigit()) or int(rid) >= 2**32:
        raise _bad("rid and notified_at must be decimal numbers")
    return LsaRecord(
        domain=fields["domain"],
        account=fields["account"],
        rid=int(rid),
        notified_at=int(notified_at),
        ciphertext=fields["ciphertext"],
    )


def open_record(decryptor: CaptureDecryptor, record: LsaRecord) -> Secret:
    """The password sealed in ``record``; InvalidInput (``ciphertext``) when it does not open
    with this capture key and this record's associated data, or is not UTF-16-LE text."""
    plain = decryptor.decrypt_x25519(record.ciphertext, record.aad)
    try:
        return Secret(plain.decode("utf-16-le"))
    except UnicodeDecodeError:
        raise InvalidInput("the password is not UTF-16-LE text", field="ciphertext") from None
