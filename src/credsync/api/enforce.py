"""The API's answer to a switch to enforce or two_way that is not confirmed yet (see
:mod:`credsync.sync.enforce`): 409 ``confirm_enforce``, the summary as the message and what it
would overwrite in ``enforce`` (whose ``mode`` says which)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from credsync.api.errors import error_body
from credsync.api.schemas import EnforceUnconfirmedOut
from credsync.sync.enforce import EnforceUnconfirmed

__all__ = ["CONFIRM_CODE", "CONFIRM_RESPONSES", "unconfirmed"]

CONFIRM_CODE = "confirm_enforce"
CONFIRM_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {
        "model": EnforceUnconfirmedOut,
        "description": "Conflict: a switch to enforce or two_way to confirm (confirm_enforce, "
        "with enforce: what it would overwrite), a stale version or a taken name",
    }
}


def unconfirmed(need: EnforceUnconfirmed) -> JSONResponse:
    """409 ``confirm_enforce``: send the request again confirmed to go ahead."""
    body = error_body(
        409,
        CONFIRM_CODE,
        f'{need} Send the request again with "confirm": true to go ahead.',
    )
    body["error"]["enforce"] = need.preview.to_json()
    return JSONResponse(body, 409)
