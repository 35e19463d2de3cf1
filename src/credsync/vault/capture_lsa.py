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

On the wire (the capture endpoint's events), the forwarder sends the record as it is, as the
``ciphertext`` of format ``lsa-x25519-hkdf-sha256+a256gcm``, with the ``object_guid``,
``object_sid``, ``sam`` and ``pwd_last_set`` it read from the DC by LDAP. The vault opens it
only when the record is the event's: the record's account is the event's ``sam`` (case
aside), its RID the last part of ``object_sid``, and the change it reports is not newer than
the notification (``pwd_last_set`` at most :data:`SKEW` after ``notified_at``: LSA notifies
after the change is committed, so a later ``pwdLastSet`` is another change, and this record's
password is not that change's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from credsync.crypto.openpgp import CaptureDecryptor
from credsync.errors import InvalidInput
from credsync.types import Secret
from credsync.vault.capture_batch import CaptureEvent

__all__ = [
    "LSA_MAGIC",
    "MAX_RECORD_BYTES",
    "SKEW",
    "LsaRecord",
    "open_lsa_event",
    "open_record",
    "parse_record",
]

LSA_MAGIC = "credsync-lsa-capture v1"
MAX_RECORD_BYTES = 64 * 1024
_FORMAT = "x25519-hkdf-sha256+a256gcm"
_FIELDS = ("domain", "account", "rid", "notified_at", "format", "ciphertext")
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
SKEW = 120 * 10_000_000  # 120 s in FILETIME units (100 ns)


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


def open_lsa_event(decryptor: CaptureDecryptor, event: CaptureEvent) -> bytes:
    """The UTF-16-LE password of an event whose ciphertext is a filter record, once the record
    is shown to be this event's (see the module's docstring); InvalidInput (``ciphertext``)
    saying which binding failed, never quoting the record."""
    assert event.ciphertext is not None  # noqa: S101 - only events with a ciphertext come here
    record = parse_record(event.ciphertext.encode("utf-8"))
    try:
        account = record.account_name
    except UnicodeDecodeError:
        raise _bad("the account is not UTF-8") from None
    if event.sam is None or account.casefold() != event.sam.casefold():
        raise InvalidInput("the record is for another account than sam", field="ciphertext")
    if event.object_sid is None or event.object_sid.rsplit("-", 1)[-1] != str(record.rid):
        raise InvalidInput("the record's RID is not object_sid's", field="ciphertext")
    if event.pwd_last_set is None or event.pwd_last_set > record.notified_at + SKEW:
        raise InvalidInput(
            "the record is older than the change pwd_last_set reports", field="ciphertext"
        )
    return decryptor.decrypt_x25519(record.ciphertext, record.aad)
