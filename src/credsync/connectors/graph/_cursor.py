"""The Graph connector's delta cursor: opaque text holding the tenant, the deltaLink and the
audit watermark (``entra1:`` and URL-safe base64 of compact JSON). Another tenant's cursor,
another Graph host's deltaLink, or text that is no cursor reads as none (a full read)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import urlsplit

from credsync.connectors.graph import _audits

__all__ = ["cursor_fields", "delta_link", "encode_cursor"]

_CURSOR_PREFIX = "entra1:"


def encode_cursor(tenant: str, link: str, mark: _audits.Watermark) -> str:
    data = json.dumps({"tenant": tenant, "link": link, "audit": mark.dump()}, separators=(",", ":"))
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def cursor_fields(tenant: str, cursor: str | None) -> dict[str, Any]:
    """The cursor's fields if it is one of ``tenant``'s ({} otherwise)."""
    if not cursor or not cursor.startswith(_CURSOR_PREFIX):
        return {}
    raw = cursor[len(_CURSOR_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict) or data.get("tenant") != tenant:
        return {}
    return data


def delta_link(tenant: str, origin: str, cursor: str | None) -> str | None:
    """The deltaLink in ``cursor`` if it is ours: ``tenant``, the Graph host ``origin``."""
    link = cursor_fields(tenant, cursor).get("link")
    if not isinstance(link, str):
        return None
    parts = urlsplit(link)
    if f"{parts.scheme}://{parts.netloc}".lower() != origin or not parts.path.endswith(
        "/users/delta"
    ):
        return None
    return link
