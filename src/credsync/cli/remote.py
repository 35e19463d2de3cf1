"""The REST API's client for the CLI against a running server (``--server URL`` /
``CREDSYNC_SERVER``), with an API token (``CREDSYNC_TOKEN``): what the remote ports
(:mod:`credsync.cli.ports`) send their requests through.

The API's errors come back as the exceptions a local command raises (by their codes, with
the message the server gave), so a command exits and says the same either way: a refused
input with the fields it concerns (the answer's ``details``), so that the command names its
flags as it would locally.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from credsync.errors import (
    AuthenticationFailed,
    ConfigError,
    CredsyncError,
    InvalidInput,
    StorageError,
    error_of_code,
)
from credsync.types import Secret

if TYPE_CHECKING:
    import httpx

__all__ = ["PAGE_MAX", "Remote", "path_of"]

CONFIRM_ENFORCE = "confirm_enforce"  # a switch to enforce the server wants confirmed
REFUSED = frozenset({"invalid_input", "invalid_request"})  # answers that may name fields
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


def _fields_of(details: Any) -> tuple[str, ...]:
    """The fields a refused input concerns, from the answer's ``details``: the request's
    fields as the service names them (a request validation's, ``body.x``, name the request
    the CLI built rather than its flags, and are not read)."""
    if not isinstance(details, list):
        return ()
    named = (d.get("field") for d in details if isinstance(d, dict))
    fields = (f for f in named if isinstance(f, str) and f)
    return tuple(
        dict.fromkeys(f for f in fields if f.partition(".")[0] not in _LOCATIONS or "." not in f)
    )


PAGE_MAX = 500  # the most items a page of the API holds

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def path_of(*parts: str) -> str:
    """An API path from segments, each escaped (names may hold spaces or slashes)."""
    return "/" + "/".join(_segment(part) for part in parts)


def _segment(part: str) -> str:
    text = quote(part, safe="")
    # A bare "." or ".." would be taken for a dot-segment and resolved away.
    return text.replace(".", "%2E") if text in (".", "..") else text


def _unreachable(url: str, err: Exception) -> CredsyncError:
    """A server that did not answer: unreachable, as a local vault's database would be (exit
    7), but for a certificate not trusted, which is the configuration's (exit 2)."""
    cause: BaseException | None = err
    while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        return ConfigError(
            f"the credsync server at {url} has a certificate this machine does not trust "
            f"({cause.verify_message}): name its CA in CREDSYNC_SERVER_CA"
        )
    return StorageError(f"cannot reach the credsync server at {url}: {err or type(err).__name__}")


class Remote:
    def __init__(
        self,
        url: str,
        token: Secret | None,
        *,
        ca_file: Path | None = None,
        anonymous: bool = False,
    ) -> None:
        """``anonymous``: no token (the routes open to anyone: ``credsync login``)."""
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--server {url!r}: give the server's URL, http(s)://HOST[:PORT]")
        if token is None and not anonymous:
            raise AuthenticationFailed(
                "--server needs an API token in CREDSYNC_TOKEN (`credsync token create` on the "
                "server's vault, or POST /api/v1/tokens)"
            )
        import httpx  # only when a command really goes to a server

        host = (urlsplit(url).hostname or "").lower()
        if url.startswith("http://") and host not in _LOOPBACK:
            from credsync.cli.output import note

            note(
                f"warning: {url} is plain http: the API token and any password or export go "
                "over the network unencrypted (serve with --tls-cert, or behind an HTTPS proxy)"
            )
        self.url = url
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as err:
                raise ConfigError(f"CREDSYNC_SERVER_CA {ca_file}: {err}") from None
        self._http: httpx.Client = httpx.Client(
            base_url=f"{url}/api/v1",
            headers={} if token is None else {"Authorization": f"Bearer {token.reveal()}"},
            verify=verify,
            timeout=120,
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"Remote({self.url!r})"

    def close(self) -> None:
        self._http.close()

    def call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> Any:
        """The answer's JSON (None for 204); an error answer raises the matching exception."""
        response = self.request(method, path, params=params, body=body)
        self.raise_for_error(response)
        return None if response.status_code == 204 else self.json_of(response)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content: bytes | Iterable[bytes] | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        """The answer as it came, an error too (``raise_for_error``): for a body or an answer
        that is not JSON, such as CSV."""
        import httpx

        query = {k: v for k, v in (params or {}).items() if v is not None}
        headers = {"Content-Type": content_type} if content_type else None
        try:
            return self._http.request(
                method, path, params=query, json=body, content=content, headers=headers
            )
        except httpx.TransportError as err:
            raise _unreachable(self.url, err) from None

    def json_of(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise CredsyncError(
                f"the server at {self.url} answered {response.status_code} without JSON "
                "(is it a credsync server?)"
            ) from None

    def raise_for_error(self, response: httpx.Response) -> None:
        """An error answer as the exception a local command raises: a switch to enforce
        to confirm as the service's EnforceUnconfirmed (with what it would overwrite)."""
        if response.status_code < 400:
            return
        data = self.json_of(response)
        error = data.get("error", {}) if isinstance(data, dict) else {}
        code = str(error.get("code"))
        if code == CONFIRM_ENFORCE and isinstance(error.get("enforce"), dict):
            from credsync.sync.enforce import EnforcePreview, EnforceUnconfirmed

            raise EnforceUnconfirmed(EnforcePreview.from_json(error["enforce"]))
        message = str(error.get("message") or f"HTTP {response.status_code}")
        if code in REFUSED:  # with the fields it concerns, as a local command's
            raise InvalidInput(message, field=_fields_of(error.get("details")))
        raise error_of_code(code)(message)

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.call("POST", path, params=params, body=body)

    def put(self, path: str, body: Any = None) -> Any:
        return self.call("PUT", path, body=body)

    def patch(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.call("PATCH", path, params=params, body=body)

    def delete(self, path: str, **params: Any) -> Any:
        return self.call("DELETE", path, params=params)

    def collect(self, path: str, limit: int, **params: Any) -> list[Any]:
        """The first ``limit`` items of a paged list (``items`` and ``next_cursor``), a page
        (at most :data:`PAGE_MAX`) at a time, up to its last page (or one that would loop)."""
        rows: list[Any] = []
        cursor: str | None = None
        while len(rows) < limit:
            size = min(PAGE_MAX, limit - len(rows))
            page = self.get(path, limit=size, cursor=cursor, **params)
            rows += page["items"][:size]
            if not page["items"] or page["next_cursor"] in (None, cursor):
                break
            cursor = page["next_cursor"]
        return rows
