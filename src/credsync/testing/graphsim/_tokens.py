"""Opaque, tamper-evident tokens for paging ($skiptoken) and delta ($deltatoken): base64url
JSON plus an HMAC under the simulator's own key, so a token from another simulator, tenant or
kind (or an edited one) is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from jwt.utils import base64url_decode, base64url_encode

__all__ = ["TokenBox"]


class TokenBox:
    def __init__(self) -> None:
        self._key = os.urandom(32)

    def seal(self, payload: dict[str, Any]) -> str:
        data = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        body = base64url_encode(data).decode()
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:12]
        return f"{body}.{base64url_encode(mac).decode()}"

    def open(self, token: str, **expected: Any) -> dict[str, Any] | None:
        """The payload, if ``token`` is ours and carries each ``expected`` item; else None."""
        body, _, mac = token.strip().partition(".")
        try:
            good = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(good, base64url_decode(mac)):
                return None
            payload = json.loads(base64url_decode(body))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(payload, dict):
            return None
        if any(payload.get(key) != value for key, value in expected.items()):
            return None
        return payload
