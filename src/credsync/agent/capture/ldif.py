"""Samba's per-object LDIF (from ``samba-tool user syncpasswords``) -> one capture event.

``syncpasswords`` hands its ``--script`` the current state of the requested attributes as LDIF
(``CHANGETYPE_NONE``): ``attr: value`` lines, ``attr:: base64`` for values that are not safe
text, long lines folded with a leading space, ``#`` comments. Samba's writer prints objectGUID
and objectSid as text through the schema; a raw 16-byte GUID or a binary SID (as a plain LDIF
writer would give them) is decoded too.

Which records become events (the first pass delivers every account, later passes fire on any
change):

* ``isDeleted: TRUE`` -> ``deleted`` (alone);
* a ``virtualSambaGPG`` blob -> ``password`` (the blob as is: ciphertext; the server answers
  ``duplicate`` when it already has that pwdLastSet/kvno, e.g. after a rename);
* a disabled account (uac bit 0x2) -> ``disabled`` too (after its password event, if any);
* anything else carries nothing for the vault: no event (the spool file is dropped).
"""

from __future__ import annotations

import base64
import binascii
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["LdifError", "events_from_ldif", "parse_ldif", "rfc3339", "sid_text"]

_UF_ACCOUNTDISABLE = 0x2


class LdifError(ValueError):
    """A spooled record that is not LDIF we understand (the message says where)."""


@dataclass(frozen=True)
class _Record:
    attrs: dict[str, list[bytes]]

    def first(self, name: str) -> bytes | None:
        values = self.attrs.get(name.lower())
        return values[0] if values else None

    def text(self, name: str) -> str | None:
        value = self.first(name)
        return None if value is None else value.decode("utf-8", errors="strict")

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return int(value.strip())
        except ValueError:
            raise LdifError(f"{name} is not a number") from None


def parse_ldif(data: bytes) -> dict[str, list[bytes]]:
    """The attributes of one LDIF record (names lower-cased, values as bytes, ``dn`` included)."""
    lines: list[bytes] = []
    for raw in data.replace(b"\r\n", b"\n").split(b"\n"):
        if raw.startswith(b" ") and lines:
            lines[-1] += raw[1:]
        elif raw.startswith(b"#"):
            lines.append(b"#")  # a comment; a folded one continues as a comment
        elif raw.strip():
            lines.append(raw)
    attrs: dict[str, list[bytes]] = {}
    for line in lines:
        if line.startswith(b"#"):
            continue
        name, sep, rest = line.partition(b":")
        if not sep or not name:
            raise LdifError("a line without 'attribute:'")
        if rest.startswith(b":"):
            try:
                value = base64.b64decode(rest[1:].strip(), validate=True)
            except binascii.Error:
                raise LdifError(f"{name.decode(errors='replace')}: bad base64") from None
        elif rest.startswith(b"<"):
            raise LdifError("URL values are not supported")
        else:
            value = rest[1:] if rest.startswith(b" ") else rest
        attrs.setdefault(name.decode("ascii", errors="replace").lower(), []).append(value)
    if "dn" not in attrs:
        raise LdifError("no dn")
    return attrs


def _guid_text(value: bytes) -> str:
    if len(value) == 16:  # the raw objectGUID, little-endian as AD stores it
        return str(uuid.UUID(bytes_le=value))
    try:
        return str(uuid.UUID(value.decode("ascii").strip()))
    except ValueError:
        raise LdifError("objectGUID is not a GUID") from None


def sid_text(value: bytes) -> str:
    """A SID as ``S-1-...`` from its text or its binary form."""
    if value.startswith(b"S-"):
        return value.decode("ascii").strip()
    if len(value) < 8 or len(value) != 8 + 4 * value[1]:
        raise LdifError("objectSid is not a SID")
    authority = int.from_bytes(value[2:8], "big")
    subs = struct.unpack(f"<{value[1]}I", value[8:])
    return "S-" + "-".join(str(part) for part in (value[0], authority, *subs))


def rfc3339(moment: datetime) -> str:
    """``2026-12-06T14:00:00.123456Z`` (UTC, microseconds) as the wire format writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _kinds(record: _Record, has_blob: bool) -> list[str]:
    if (record.text("isDeleted") or "").strip().upper() == "TRUE":
        return ["deleted"]
    kinds = ["password"] if has_blob else []
    uac = record.integer("userAccountControl")
    if uac is not None and uac & _UF_ACCOUNTDISABLE:
        kinds.append("disabled")
    return kinds


def events_from_ldif(data: bytes, *, captured_at: datetime, dc: str | None) -> list[dict[str, Any]]:
    """The wire events for one spooled LDIF record (none when it carries nothing)."""
    record = _Record(parse_ldif(data))
    blob = record.first("virtualSambaGPG")
    kinds = _kinds(record, blob is not None and blob.strip() != b"")
    if not kinds:
        return []
    guid = record.first("objectGUID")
    if guid is None:
        raise LdifError("no objectGUID")
    sid = record.first("objectSid")
    ciphertext = None
    if "password" in kinds and blob is not None:
        try:
            ciphertext = blob.decode("ascii")
        except UnicodeDecodeError:
            raise LdifError("virtualSambaGPG is not ASCII-armoured") from None
    base = {
        "object_guid": _guid_text(guid),
        "object_sid": None if sid is None else sid_text(sid),
        "sam": record.text("sAMAccountName"),
        "upn": record.text("userPrincipalName"),
        "uac": record.integer("userAccountControl"),
        "pwd_last_set": record.integer("pwdLastSet"),
        "kvno": record.integer("msDS-KeyVersionNumber"),
        "captured_at": rfc3339(captured_at),
        "dc": dc,
    }
    return [
        {
            "kind": kind,
            **base,
            "ciphertext_format": "openpgp" if kind == "password" else None,
            "ciphertext": ciphertext if kind == "password" else None,
        }
        for kind in kinds
    ]
