"""Every httpx / ssl / requests / msal failure and every Graph error answer turned into
credsync's error tree, in this one place.

Messages are ``"<directory>: <what we were doing>: <what was said>"`` with Graph's error code and
message (or the identity platform's AADSTS text) verbatim. None of them holds a secret: httpx,
requests and msal put no request headers or bodies in their exception texts, the token
endpoint's answers never echo the credential, and callers that send a password scrub it from
Graph's words anyway (:func:`scrub`).

=====================================================  ==========================================
failure                                                credsync
=====================================================  ==========================================
certificate check / handshake failed (ssl inside       DirectoryTlsError (OpenSSL's reason)
httpx.ConnectError, requests.SSLError inside msal)
httpx Connect/Read/Write/Pool timeout, ConnectError,   DirectoryUnreachable
RemoteProtocolError; requests ConnectionError/Timeout
token endpoint said no (msal's error result)           DirectoryAuthFailed (AADSTS text)
an unusable credential (bad PEM, encrypted key)        DirectoryAuthFailed
Graph 401 (after one token refresh)                    DirectoryAuthFailed
Graph 403                                              DirectoryDenied (+ what the app needs)
Graph 404                                              AccountNotFound (or the ``not_found`` given)
Graph 429 / 503 / 504 (retries spent)                  DirectoryUnreachable(retry_after=...)
Graph other 5xx                                        TransientConnectorError
Graph 400 about a password's complexity or history     PolicyRejected (only where one was sent)
any other Graph answer or library error                PermanentConnectorError
=====================================================  ==========================================
"""

from __future__ import annotations

import email.utils
import re
import ssl
import time
from collections.abc import Mapping
from typing import Any

import httpx

from credsync.errors import (
    AccountNotFound,
    ConnectorError,
    DirectoryAuthFailed,
    DirectoryDenied,
    DirectoryTlsError,
    DirectoryUnreachable,
    PermanentConnectorError,
    PolicyRejected,
    TransientConnectorError,
)

__all__ = [
    "RETRY_STATUSES",
    "graph_error",
    "graph_words",
    "retry_after",
    "scrub",
    "tls_reason",
    "token_error",
    "translate",
]

RETRY_STATUSES = frozenset({429, 503, 504})
_SSL_REASON = re.compile(r"certificate verify failed: (.*?)(?: \(_ssl\.c:\d+\))?['\")]*$")
_SSL_ANY = re.compile(r"\[SSL: [A-Z0-9_]+\] (.*?)(?: \(_ssl\.c:\d+\))?['\")]*$")
_AAD_NOISE = ("Trace ID:", "Correlation ID:", "Timestamp:")
_ON_PREMISES = "on-premises mastered"
_POLICY_WORDS = ("password complexity", "comply with password", "password policy", "banned")


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, its causes and contexts, and exceptions nested in their args (requests and
    urllib3 wrap the ssl error in the args of their own), without loops."""
    out: list[BaseException] = []
    todo = [exc]
    while todo and len(out) < 20:
        item = todo.pop(0)
        if any(item is seen for seen in out):
            continue
        out.append(item)
        nested = [a for a in getattr(item, "args", ()) if isinstance(a, BaseException)]
        reason = getattr(item, "reason", None)  # urllib3's MaxRetryError
        if isinstance(reason, BaseException):
            nested.append(reason)
        todo.extend(e for e in (item.__cause__, item.__context__, *nested) if e is not None)
    return out


def tls_reason(exc: BaseException) -> str | None:
    """Why a TLS handshake failed (``unable to get local issuer certificate``, ``IP address
    mismatch, certificate is not valid for '127.0.0.1'.``), or None for no TLS failure: also
    when the peer closed the connection during the handshake (the network's failure, as
    ``connectors._tls.tls_reason`` reads it for LDAP)."""
    for item in _chain(exc):
        if isinstance(item, ssl.SSLCertVerificationError):
            return str(item.verify_message or item.reason or item)
    for item in _chain(exc):
        if isinstance(item, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return None
        text = str(item)
        found = _SSL_REASON.search(text)
        if found:
            return found.group(1)
        if isinstance(item, ssl.SSLError):
            found = _SSL_ANY.search(text)
            return found.group(1) if found else str(item.reason or text)
    return None


def _said(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def translate(exc: BaseException, *, name: str, where: str) -> ConnectorError:
    """The credsync error for a library exception raised while doing ``where`` against the
    directory ``name``. Call as ``raise translate(exc, ...) from exc``."""
    if isinstance(exc, ConnectorError):
        return exc
    prefix = f"{name}: {where}"
    reason = tls_reason(exc)
    if reason is not None:
        return DirectoryTlsError(f"{prefix}: TLS failed: {reason}")
    if isinstance(exc, httpx.TransportError | OSError):  # requests' errors are OSErrors
        return DirectoryUnreachable(f"{prefix}: {_said(exc)}")
    return PermanentConnectorError(f"{prefix}: {_said(exc)}")


def token_error(result: Mapping[str, Any], *, name: str, where: str) -> DirectoryAuthFailed:
    """The identity platform's refusal (msal's error result) in its own words: ``AADSTS7000215:
    Invalid client secret provided. ...`` without the trace and correlation lines."""
    description = str(result.get("error_description") or "")
    lines = [
        line.strip()
        for line in description.splitlines()
        if line.strip() and not line.strip().startswith(_AAD_NOISE)
    ]
    error = str(result.get("error") or "error")
    text = " ".join(lines) or error
    if lines and error not in text:
        text = f"{error}: {text}"
    return DirectoryAuthFailed(f"{name}: {where}: {text}")


def graph_words(body: Any) -> tuple[str, str]:
    """(code, message) of Graph's ``{"error": {"code", "message"}}`` body, or ("", "")."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), str(error.get("message") or "")


def retry_after(headers: Mapping[str, str] | httpx.Headers | None) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), or None when absent or unreadable."""
    if not headers:
        return None
    value: str | None = None
    for key, item in headers.items():
        if key.lower() == "retry-after":
            value = str(item).strip()
            break
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def graph_error(
    status: int,
    body: Any,
    *,
    name: str,
    where: str,
    headers: Mapping[str, str] | httpx.Headers | None = None,
    not_found: type[ConnectorError] = AccountNotFound,
    denied_hint: str = "",
    password_sent: bool = False,
) -> ConnectorError:
    """The credsync error for Graph's answer ``status`` with error ``body`` to ``where``."""
    code, message = graph_words(body)
    said = f"{code}: {message}" if code or message else "(no error body)"
    text = f"{name}: {where}: HTTP {status} {said}"
    if status == 401:
        return DirectoryAuthFailed(text)
    if status == 403:
        return DirectoryDenied(f"{text} ({denied_hint})" if denied_hint else text)
    if status == 404:
        return not_found(text)
    if status in RETRY_STATUSES:
        wait = retry_after(headers)
        return DirectoryUnreachable(f"{text} (gave up retrying)", retry_after=wait)
    if status >= 500:
        return TransientConnectorError(text, retry_after=retry_after(headers))
    lowered = message.lower()
    policy = "password" in lowered and any(w in lowered for w in _POLICY_WORDS)
    if password_sent and status == 400 and _ON_PREMISES not in lowered and policy:
        return PolicyRejected(text)
    return PermanentConnectorError(text)


def scrub(err: ConnectorError, secret: str) -> ConnectorError:
    """``err``, or the same kind of error with every occurrence of ``secret`` masked (belt
    and braces: Graph does not echo passwords)."""
    text = str(err)
    if not secret or secret not in text:
        return err
    masked = text.replace(secret, "********")
    if isinstance(err, TransientConnectorError):
        return type(err)(masked, retry_after=err.retry_after)
    return type(err)(masked)
