"""A capture batch as a forwarder sends it (README: Two-way sync and capture, the wire format):
parsed and checked field by field, every refusal an InvalidInput naming the field as the JSON
names it (``events[3].object_guid``). Parsing holds no secret: a password travels only as
its ciphertext."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal, cast

from credsync.errors import InvalidInput

__all__ = [
    "EVENT_KINDS",
    "FORMATS",
    "MAX_BATCH_BYTES",
    "MAX_EVENTS",
    "CaptureBatch",
    "CaptureEvent",
    "EventKind",
    "body_forwarder_id",
    "nt_time",
    "parse_batch",
]

MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_EVENTS = 1000
EventKind = Literal["password", "deleted", "disabled", "changed"]
EVENT_KINDS: tuple[EventKind, ...] = ("password", "deleted", "disabled", "changed")
OPENPGP = "openpgp"
RSA_OAEP = "rsa-oaep-sha256+a256gcm"
X25519_HKDF = "x25519-hkdf-sha256+a256gcm"
LSA_X25519 = "lsa-x25519-hkdf-sha256+a256gcm"  # the Windows password filter's record
FORMATS = (OPENPGP, RSA_OAEP, X25519_HKDF, LSA_X25519)
_NONCE = re.compile(r"^[0-9a-f]{32}$")
_SID = re.compile(r"^S-1-[0-9]+(-[0-9]+){1,15}$")
_MAX_TEXT = 512
_NT_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)
_MAX_NT = 2**63 - 1


def nt_time(value: int) -> dt.datetime | None:
    """An NT time (100-ns intervals since 1601, AD's pwdLastSet) as a UTC time; None for 0
    (must change at next logon) and the 'never' values."""
    if value <= 0 or value >= _MAX_NT:
        return None
    try:
        return _NT_EPOCH + dt.timedelta(microseconds=value // 10)
    except OverflowError:
        return None


@dataclass(frozen=True)
class CaptureEvent:
    kind: EventKind
    object_guid: str
    object_sid: str | None
    sam: str | None
    upn: str | None
    uac: int | None
    pwd_last_set: int | None
    kvno: int | None
    ciphertext_format: str | None
    ciphertext: str | None
    captured_at: dt.datetime
    dc: str | None

    def __repr__(self) -> str:  # the ciphertext is long and of no use in a log
        return (
            f"CaptureEvent(kind={self.kind!r}, object_guid={self.object_guid!r}, "
            f"pwd_last_set={self.pwd_last_set!r}, kvno={self.kvno!r})"
        )

    @property
    def event_key(self) -> str:
        """The idempotency key within a directory: (object_guid, pwd_last_set, kvno); for
        the events that are not password changes, their kind too (an account disabled after
        its password changed has the same pwdLastSet and key version)."""
        key = f"{self.object_guid}|{self.pwd_last_set}|{self.kvno}"
        return key if self.kind == "password" else f"{self.kind}|{key}"

    @property
    def changed_at(self) -> dt.datetime | None:
        """When the password changed, by the directory's clock (pwdLastSet)."""
        return None if self.pwd_last_set is None else nt_time(self.pwd_last_set)


@dataclass(frozen=True)
class CaptureBatch:
    forwarder_id: str
    seq: int
    nonce: str
    sent_at: dt.datetime
    events: tuple[CaptureEvent, ...]


def _load(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BATCH_BYTES:
        raise InvalidInput("the batch is larger than 4 MiB", field="body")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the body is not JSON", field="body") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body is not a JSON object", field="body")
    return data


def body_forwarder_id(body: bytes) -> str | None:
    """The ``forwarder_id`` the body names (None when it names none): checked against the
    path's before anything else of the body. A body that is no JSON object is InvalidInput."""
    value = _load(body).get("forwarder_id")
    return value if isinstance(value, str) else None


def _time(value: object, field: str) -> dt.datetime:
    if not isinstance(value, str) or not value.endswith("Z") or len(value) > 40:
        raise InvalidInput("an RFC 3339 UTC time ending in Z is expected", field=field)
    try:
        parsed = dt.datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        raise InvalidInput("an RFC 3339 UTC time ending in Z is expected", field=field) from None
    return parsed.astimezone(dt.UTC)


def _int(value: object, field: str, *, low: int = 0, high: int = _MAX_NT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"an integer from {low} to {high} is expected", field=field)
    return value


def _opt_int(value: object, field: str) -> int | None:
    return None if value is None else _int(value, field)


def _opt_text(value: object, field: str, max_len: int = _MAX_TEXT) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise InvalidInput(
            f"text of at most {max_len} characters (or null) is expected", field=field
        )
    return value


def _guid(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput("a UUID is expected", field=field)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidInput("a UUID is expected", field=field) from None


def _event(raw: object, at: str) -> CaptureEvent:
    if not isinstance(raw, dict):
        raise InvalidInput("an event is a JSON object", field=at)
    kind = raw.get("kind")
    if kind not in EVENT_KINDS:
        raise InvalidInput(f"kind is one of {', '.join(EVENT_KINDS)}", field=f"{at}.kind")
    sid = _opt_text(raw.get("object_sid"), f"{at}.object_sid", 200)
    if sid is not None and not _SID.match(sid):
        raise InvalidInput("a SID (S-1-5-21-...) is expected", field=f"{at}.object_sid")
    fmt = _opt_text(raw.get("ciphertext_format"), f"{at}.ciphertext_format", 64)
    ciphertext = _opt_text(raw.get("ciphertext"), f"{at}.ciphertext", 256 * 1024)
    if ciphertext is not None and fmt is None:
        raise InvalidInput("a ciphertext needs its format", field=f"{at}.ciphertext_format")
    return CaptureEvent(
        kind=cast(EventKind, kind),
        object_guid=_guid(raw.get("object_guid"), f"{at}.object_guid"),
        object_sid=sid,
        sam=_opt_text(raw.get("sam"), f"{at}.sam", 256),
        upn=_opt_text(raw.get("upn"), f"{at}.upn", 1024),
        uac=_opt_int(raw.get("uac"), f"{at}.uac"),
        pwd_last_set=_opt_int(raw.get("pwd_last_set"), f"{at}.pwd_last_set"),
        kvno=_opt_int(raw.get("kvno"), f"{at}.kvno"),
        ciphertext_format=fmt,
        ciphertext=ciphertext,
        captured_at=_time(raw.get("captured_at"), f"{at}.captured_at"),
        dc=_opt_text(raw.get("dc"), f"{at}.dc", 255),
    )


def parse_batch(body: bytes) -> CaptureBatch:
    """The batch in ``body``; InvalidInput naming the first field that is wrong."""
    data = _load(body)
    forwarder_id = _guid(data.get("forwarder_id"), "forwarder_id")
    seq = _int(data.get("seq"), "seq", low=1)
    nonce = data.get("nonce")
    if not isinstance(nonce, str) or not _NONCE.match(nonce):
        raise InvalidInput("32 lower-case hex digits are expected", field="nonce")
    sent_at = _time(data.get("sent_at"), "sent_at")
    events = data.get("events")
    if not isinstance(events, list):
        raise InvalidInput("a list of events is expected", field="events")
    if len(events) > MAX_EVENTS:
        raise InvalidInput(f"at most {MAX_EVENTS} events a batch", field="events")
    return CaptureBatch(
        forwarder_id=forwarder_id,
        seq=seq,
        nonce=nonce,
        sent_at=sent_at,
        events=tuple(_event(raw, f"events[{i}]") for i, raw in enumerate(events)),
    )
