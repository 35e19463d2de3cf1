"""Error shapes: Graph's ``{"error": {code, message, innerError}}`` and the identity platform's
AADSTS form ``{error, error_description, error_codes, timestamp, trace_id, correlation_id}``.

Handlers raise :class:`GraphError` / :class:`AadError`; the pipeline turns them into responses.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = [
    "AadError",
    "GraphError",
    "aad_error_body",
    "bad_request",
    "graph_error_body",
    "not_found",
    "unsupported_query",
]


class GraphError(Exception):
    """A Graph error response: HTTP status, Graph error code and message, extra headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def unsupported_query(message: str) -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", message)


def not_found(key: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects "
        "are not present.",
    )


def graph_error_body(
    code: str, message: str, *, date: str, request_id: str, client_request_id: str | None
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": date,
                "request-id": request_id,
                "client-request-id": client_request_id or request_id,
            },
        }
    }


class AadError(Exception):
    """An identity platform refusal: HTTP status, OAuth error, AADSTS number and text."""

    def __init__(self, status: int, error: str, number: int, text: str) -> None:
        super().__init__(f"AADSTS{number}: {text}")
        self.status = status
        self.error = error
        self.number = number
        self.text = text


def aad_error_body(err: AadError, *, when: str) -> dict[str, Any]:
    """``when`` is the identity platform's "2026-11-22 07:41:03Z" form."""
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    description = (
        f"AADSTS{err.number}: {err.text}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {when}"
    )
    return {
        "error": err.error,
        "error_description": description,
        "error_codes": [err.number],
        "timestamp": when,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={err.number}",
    }
