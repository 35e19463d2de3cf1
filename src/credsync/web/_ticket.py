"""A small signed ticket held in a cookie between the password and the second factor, shared
by the operators' sign-in (:mod:`credsync.web.mfa_step`) and people's
(:mod:`credsync.web.person_session`): a JSON body, base64url, then a keyed digest of it with
a key of the vault's for the caller's purpose (HMAC-SHA256). The body carries its expiry
(``e``, Unix seconds) and the digest of the browser's pre-session cookie it is bound to
(``b``); :func:`unseal` refuses a forged, oversized, expired or other browser's ticket."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from credsync.crypto.keys import MacKey

__all__ = ["MAX_LENGTH", "bound_to", "seal", "unseal"]

MAX_LENGTH = 2048


def bound_to(pre_session_cookie: str) -> str:
    """The digest of the browser's pre-session cookie that a ticket is bound to."""
    return hashlib.sha256(pre_session_cookie.encode()).hexdigest()


def seal(mac: MacKey, body: dict[str, Any]) -> str:
    """The ticket of ``body`` (which holds its ``e`` and ``b``)."""
    data = base64.urlsafe_b64encode(json.dumps(body, sort_keys=True).encode()).decode()
    return f"{data}.{mac.digest(data)}"


def unseal(mac: MacKey, raw: str, bound: str) -> dict[str, Any] | None:
    """The body of the ticket ``raw``: None when it is empty, too long, forged, unreadable,
    expired or bound to another browser than ``bound`` says."""
    data, _, digest = raw.partition(".")
    if not data or not digest or len(raw) > MAX_LENGTH:
        return None
    if not hmac.compare_digest(mac.digest(data), digest):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(data.encode()))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(body, dict) or int(body.get("e", 0)) < time.time():
        return None
    if not hmac.compare_digest(str(body.get("b", "")), bound):
        return None
    return body
