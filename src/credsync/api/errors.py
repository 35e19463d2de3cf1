"""One JSON error shape for every error the API returns, and the mapping from credsync's
exception tree to HTTP statuses (domain errors know nothing of HTTP).

::

    {"error": {"status": 404, "code": "not_found", "message": "no client named 'X'",
               "details": [...]}}

``details`` says which field was wrong and what was wrong with it: for request validation
(``"body.name"``: where and which), and for a refused input that concerns a field
(:class:`~credsync.errors.InvalidInput` with ``field``: the field as the request names it,
``"tenant_id"``). It never echoes the value sent (it may be a password).

A service's fields are named as the API's JSON fields are, so by default a field is answered
as the service names it; a route whose input is named otherwise says so with
:func:`field_names` (``@field_names(folder="path")``). (The CLI against a server reads these
names back: a rename is a name the CLI command must know too, so rename only what must be.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from credsync.api.denials import record_denial
from credsync.api.fields import VAULT_CHECK
from credsync.errors import (
    AuthError,
    ConfigError,
    Conflict,
    ConnectorError,
    CredsyncError,
    IntegrityError,
    InvalidInput,
    MailError,
    NotFound,
    PermissionDenied,
    PolicyRejected,
    StorageError,
    SyncError,
    TooManyAttempts,
    VaultLocked,
    WrongPassphrase,
)

__all__ = [
    "HTTP_STATUSES",
    "ApiError",
    "error_body",
    "field_names",
    "install_error_handlers",
    "status_of",
]

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


# The HTTP status of each error class; a class not here answers its nearest parent's (along
# the MRO): RunInProgress is a Conflict (409), SchemaOutOfDate a StorageError (503).
HTTP_STATUSES: Mapping[type[CredsyncError], int] = MappingProxyType(
    {
        CredsyncError: 500,
        ConfigError: 500,
        InvalidInput: 400,
        AuthError: 401,
        PermissionDenied: 403,
        TooManyAttempts: 429,
        VaultLocked: 503,
        WrongPassphrase: 503,
        NotFound: 404,
        Conflict: 409,
        IntegrityError: 500,
        StorageError: 503,
        ConnectorError: 502,
        MailError: 502,
        PolicyRejected: 422,
        SyncError: 409,
    }
)


def status_of(err: CredsyncError | type[CredsyncError]) -> tuple[int, str]:
    """The HTTP status and the code of an error's answer (see :mod:`credsync.errors`)."""
    cls = err if isinstance(err, type) else type(err)
    status = next(HTTP_STATUSES[c] for c in cls.__mro__ if c in HTTP_STATUSES)
    return status, cls.code


F = TypeVar("F", bound=Callable[..., Any])
_FIELD_NAMES = "__credsync_field_names__"


def field_names(**names: str) -> Callable[[F], F]:
    """Declare the names a route gives the service's fields where they differ
    (``query="q"``): an :class:`InvalidInput` about one is answered with the route's name in
    ``details``. Goes on the route's function (it is returned as it is)."""

    def declare(endpoint: F) -> F:
        setattr(endpoint, _FIELD_NAMES, {**getattr(endpoint, _FIELD_NAMES, {}), **names})
        return endpoint

    return declare


def _details(request: Request, exc: InvalidInput) -> list[dict[str, str]] | None:
    """The fields a refused input concerns, named as the route names them."""
    if not exc.fields:
        return None
    route = request.scope.get("route")
    names = getattr(getattr(route, "endpoint", None), _FIELD_NAMES, {})
    named = dict.fromkeys(names.get(field, field) for field in exc.fields)
    return [{"field": field, "problem": str(exc)} for field in named]


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
    if isinstance(exc, PermissionDenied):
        await record_denial(request, exc, via="api")
    status, code = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        headers = {**(headers or {}), "Retry-After": str(int(retry_after))}
    if status >= 500:
        log.warning("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    details = _details(request, exc) if isinstance(exc, InvalidInput) else None
    return _response(status, code, str(exc), details, headers=headers)


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
    if errors and errors[0].get("type") == VAULT_CHECK:
        # Refused in the vault's words (credsync.api.fields): answered as the service's
        # refusal is, its fields named as the route names them; what a local command says.
        fields = (errors[0].get("ctx") or {}).get("fields") or ()
        refused = InvalidInput(details[0]["problem"], field=tuple(fields))
        named = _details(request, refused) or details[:1]
        return _response(422, "invalid_request", str(refused), named)
    first = details[0] if details else {"field": "", "problem": "invalid"}
    message = f"{first['field']}: {first['problem']}" if first["field"] else first["problem"]
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
