"""One JSON error shape for every error the API returns, and the mapping from credsync's
exception tree to HTTP statuses (domain errors know nothing of HTTP).

::

    {"error": {"status": 404, "code": "not_found", "message": "no client named 'X'",
               "details": [...]}}

``details`` is there only for request validation (which field, what was wrong), and never
echoes the value sent (it may be a password).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from credsync.api.fields import VAULT_CHECK
from credsync.errors import CredsyncError

__all__ = ["ApiError", "error_body", "install_error_handlers", "status_of"]

log = logging.getLogger("credsync.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


class ApiError(Exception):
    """An error the API itself raises (rate limits, a bad cursor...), in the same shape."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def status_of(err: CredsyncError) -> tuple[int, str]:
    """The HTTP status and the code of an error's answer (see :mod:`credsync.errors`)."""
    return err.http_status, err.code


def error_body(status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(status, code, message, details), status, headers=headers)


async def _credsync_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, CredsyncError):  # pragma: no cover - registered for CredsyncError only
        raise exc
    status, code = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        headers = {**(headers or {}), "Retry-After": str(int(retry_after))}
    if status >= 500:
        log.warning("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return _response(status, code, str(exc), headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, ApiError):  # pragma: no cover - registered for ApiError only
        raise exc
    return _response(exc.status, exc.code, exc.message, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(
        exc, RequestValidationError
    ):  # pragma: no cover - registered for RequestValidationError only
        raise exc
    errors = exc.errors()
    details = [
        {"field": ".".join(str(part) for part in e.get("loc", ())), "problem": e.get("msg", "")}
        for e in errors
    ]
    first = details[0] if details else {"field": "", "problem": "invalid"}
    message = f"{first['field']}: {first['problem']}" if first["field"] else first["problem"]
    if errors and errors[0].get("type") == VAULT_CHECK:
        message = first["problem"]  # the vault's own words, as a local command says it
    return _response(422, "invalid_request", message, details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(
        exc, StarletteHTTPException
    ):  # pragma: no cover - registered for StarletteHTTPException only
        raise exc
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers) if exc.headers else None
    return _response(exc.status_code, code, message, headers=headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "%s %s failed: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc
    )
    return _response(500, "internal_error", "an unexpected error: the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CredsyncError, _credsync_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
