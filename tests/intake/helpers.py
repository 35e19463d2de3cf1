"""What the capture-intake tests share: the real ``gpg`` encrypting as Samba does (to the
directory's capture key, the password in UTF-16-LE), and a forwarder that signs its batches
with its real token."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from credsync.crypto.forwarders import parse_token
from credsync.types import Secret


def gpg_encrypt(public_key: str, fingerprint: str, password: str) -> str:
    """``password`` (UTF-16-LE) encrypted by GnuPG 2.2 to the key, ASCII-armoured: what
    Samba's virtualSambaGPG holds."""
    with tempfile.TemporaryDirectory() as home:
        base = ["gpg", "--homedir", home, "--batch", "--quiet", "--no-tty"]
        subprocess.run(
            [*base, "--import"], input=public_key.encode(), check=True, capture_output=True
        )
        done = subprocess.run(
            [*base, "--encrypt", "--armor", "--always-trust", "-r", fingerprint],
            input=password.encode("utf-16-le"),
            check=True,
            capture_output=True,
        )
    return done.stdout.decode("ascii")


def now_text(delta: float = 0.0) -> str:
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delta)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def batch_body(
    sender_id: str, seq: int, events: list[dict[str, Any]], overrides: dict[str, Any]
) -> bytes:
    """A capture batch's JSON body from sender ``sender_id`` (a forwarder's or an agent's id):
    ``seq``, a fresh nonce, the time now, ``events``; ``overrides`` replace any field."""
    data: dict[str, Any] = {
        "forwarder_id": sender_id,
        "seq": seq,
        "nonce": secrets.token_hex(16),
        "sent_at": now_text(),
        "events": events,
    }
    data.update(overrides)
    return json.dumps(data).encode()


def password_event(
    guid: str, pwd_last_set: int | None, ciphertext: str | None, **extra: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "kind": "password",
        "object_guid": guid,
        "object_sid": None,
        "sam": None,
        "upn": None,
        "uac": 512,
        "pwd_last_set": pwd_last_set,
        "kvno": None,
        "ciphertext_format": "openpgp" if ciphertext is not None else None,
        "ciphertext": ciphertext,
        "captured_at": now_text(),
        "dc": "dc1",
    }
    event.update(extra)
    return event


@dataclass
class TestForwarder:
    """An enrolled forwarder: its id and token (kept out of the repr), posting signed
    batches through ``http`` with the next seq each time."""

    __test__ = False

    http: TestClient
    forwarder_id: str
    token: str = field(repr=False)
    seq: int = 0

    @property
    def path(self) -> str:
        return f"/api/v1/agents/{self.forwarder_id}/captures"

    def body(self, events: list[dict[str, Any]], **overrides: Any) -> bytes:
        self.seq += 1
        return batch_body(self.forwarder_id, self.seq, events, overrides)

    def signature(self, body: bytes, path: str | None = None) -> str:
        return parse_token(Secret(self.token)).sign(path or self.path, body)

    def post_raw(
        self, body: bytes, *, signature: str | None = None, path: str | None = None
    ) -> Response:
        headers = {"Content-Type": "application/json"}
        sig = signature if signature is not None else self.signature(body, path)
        if sig:
            headers["Credsync-Signature"] = sig
        return self.http.post(path or self.path, content=body, headers=headers)

    def post(self, events: list[dict[str, Any]], **overrides: Any) -> Response:
        return self.post_raw(self.body(events, **overrides))
