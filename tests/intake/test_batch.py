"""A capture batch parsed field by field: each refusal names the field as the JSON does; NT
times; the idempotency key (a password change's, and an account event's apart from it)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from credsync.errors import InvalidInput
from credsync.vault.capture_batch import nt_time, parse_batch

GUID = "6d7a2454-b4db-47dc-a9f6-e9f17656e31b"
FORWARDER = "0b5e0c1e-9d3c-4f55-9a41-6a4a5a1d7c11"


def _body(**changes: Any) -> bytes:
    event = {
        "kind": "password",
        "object_guid": GUID.upper(),
        "object_sid": "S-1-5-21-1-2-3-1104",
        "sam": "alice",
        "upn": "alice@example.test",
        "uac": 512,
        "pwd_last_set": 134093000000000000,
        "kvno": 3,
        "ciphertext_format": "openpgp",
        "ciphertext": "-----BEGIN PGP MESSAGE-----\n...",
        "captured_at": "2026-12-06T14:00:00.123456Z",
        "dc": "dc1",
    }
    event.update(changes.pop("event", {}))
    data = {
        "forwarder_id": FORWARDER,
        "seq": 4,
        "nonce": "0123456789abcdef0123456789abcdef",
        "sent_at": "2026-12-06T14:00:01Z",
        "events": [event],
    }
    data.update(changes)
    return json.dumps(data).encode()


def test_a_good_batch() -> None:
    batch = parse_batch(_body())
    assert (batch.forwarder_id, batch.seq) == (FORWARDER, 4)
    assert batch.sent_at == dt.datetime(2026, 12, 6, 14, 0, 1, tzinfo=dt.UTC)
    [event] = batch.events
    assert event.object_guid == GUID  # canonical lower case
    assert event.event_key == f"{GUID}|134093000000000000|3"
    assert event.changed_at == dt.datetime(2025, 12, 4, 5, 33, 20, tzinfo=dt.UTC)
    assert "BEGIN PGP" not in repr(event)
    disabled = parse_batch(_body(event={"kind": "disabled", "ciphertext": None}))
    assert disabled.events[0].event_key == f"disabled|{GUID}|134093000000000000|3"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"seq": 0}, "seq"),
        ({"seq": True}, "seq"),
        ({"nonce": "0123"}, "nonce"),
        ({"nonce": "0123456789ABCDEF0123456789ABCDEF"}, "nonce"),
        ({"sent_at": "2026-12-06T14:00:01+02:00"}, "sent_at"),
        ({"events": {}}, "events"),
        ({"forwarder_id": "x"}, "forwarder_id"),
        ({"event": {"kind": "rename"}}, "events[0].kind"),
        ({"event": {"object_guid": "nope"}}, "events[0].object_guid"),
        ({"event": {"object_sid": "S-1"}}, "events[0].object_sid"),
        ({"event": {"pwd_last_set": -1}}, "events[0].pwd_last_set"),
        ({"event": {"kvno": "3"}}, "events[0].kvno"),
        ({"event": {"ciphertext_format": None}}, "events[0].ciphertext_format"),
        ({"event": {"captured_at": None}}, "events[0].captured_at"),
        ({"event": {"dc": "x" * 256}}, "events[0].dc"),
    ],
)
def test_a_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_batch(_body(**changes))
    assert refused.value.field == field


def test_nt_times() -> None:
    assert nt_time(0) is None  # must change at next logon
    assert nt_time(2**63 - 1) is None  # never
    assert nt_time(116444736000000000) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
