"""Signing in as the app: msal's client-credentials flow, one application object, tokens cached.

* **Credential**: ``bind_password`` holds either the app's client secret or PEM text with its
  private key and certificate (both blocks, any order). The ``credential`` option says which
  ("certificate" or "secret"); left empty, text holding a private key block *and* a certificate
  block is a certificate credential, anything else a client secret. Certificates sign msal's
  client assertion (PS256 with the SHA-256 thumbprint, and the certificate in ``x5c``). An
  encrypted private key is refused with a clear DirectoryAuthFailed: the vault already keeps
  the key encrypted, so store it unencrypted there.
* **One msal.ConfidentialClientApplication** per connector, made on first use (msal reads the
  authority's OpenID configuration then, once) and reused, so msal's in-memory token cache
  answers until the token is near expiry. Its HTTP client is our own ``requests.Session`` with
  ``trust_env = False`` (REQUESTS_CA_BUNDLE would otherwise override ``verify``) verifying
  against the directory's CAs: ``ca_file``, or ``ca_pem`` written to a private temporary file
  removed by :meth:`TokenSource.close`, or both in one file; ``verify=False`` only when the
  directory says ``insecure_skip_verify``.
* msal blocks: it runs in a worker thread, one call at a time (an ``asyncio.Lock`` the caller
  gives per event loop). A token is also remembered here until 5 minutes before it expires
  (half its lifetime for short ones), so a request costs no thread hop; :meth:`invalidate`
  forgets it - here and in msal's cache - when Graph answers 401 to it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
import re
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning

from credsync.connectors.base import DirectoryConfig
from credsync.connectors.graph._errors import token_error, translate
from credsync.errors import ConnectorError, DirectoryAuthFailed

__all__ = [
    "DEFAULT_AUTHORITY",
    "DEFAULT_SCOPE",
    "Token",
    "TokenSource",
    "decode_claims",
    "parse_credential",
]

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
_KEY_LABELS = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY")
_MARGIN = 300.0  # seconds before expiry a remembered token is renewed


class _Adapter(HTTPAdapter):
    """requests' adapter with a default timeout, counting token requests."""

    def __init__(self, timeout: float) -> None:
        super().__init__(max_retries=0)
        self._timeout = timeout
        self.token_posts = 0

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        if request.method == "POST" and urlsplit(request.url or "").path.endswith("/token"):
            self.token_posts += 1
        return super().send(request, *args, **kwargs)


def _session(verify: str | bool, timeout: float) -> tuple[requests.Session, _Adapter]:
    """requests without the environment's CA bundle and proxies (``trust_env`` off). Without
    verification (the directory's explicit, logged choice) urllib3 would warn on every token
    request: that warning is silenced."""
    if verify is False:
        warnings.filterwarnings("ignore", category=InsecureRequestWarning)
    session = requests.Session()
    session.trust_env = False
    session.verify = verify
    adapter = _Adapter(timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter


def parse_credential(text: str, option: str) -> tuple[str, Any]:
    """("certificate", msal's credential dict) or ("secret", the secret) for ``text``;
    DirectoryAuthFailed naming what is wrong (never quoting the text)."""
    kind = option.strip().lower()
    if kind not in ("", "certificate", "secret"):
        raise DirectoryAuthFailed(
            f"credential option {option!r} is neither 'certificate' nor 'secret'"
        )
    blocks = [(m.group(1), m.group(0)) for m in _PEM.finditer(text)]
    keys = [pem for label, pem in blocks if label in _KEY_LABELS]
    encrypted = [label for label, pem in blocks if "ENCRYPTED" in label or "ENCRYPTED" in pem]
    certs = [pem for label, pem in blocks if label == "CERTIFICATE"]
    if kind == "" and (keys or encrypted) and certs:
        kind = "certificate"
    if kind != "certificate":
        return "secret", text
    if encrypted:
        raise DirectoryAuthFailed(
            "the certificate credential's private key is encrypted, which is not supported: "
            "store the key unencrypted in the credential (the vault encrypts it)"
        )
    if len(keys) != 1 or not certs:
        raise DirectoryAuthFailed(
            "a certificate credential must hold one private key and the certificate, both in "
            f"PEM (found {len(keys)} private key block(s) and {len(certs)} certificate(s))"
        )
    return "certificate", {"private_key": keys[0], "public_certificate": certs[0]}


def decode_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT access token, unverified (only to show what was granted)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


class Token:
    __slots__ = ("expires_in", "fresh", "value")

    def __init__(self, value: str, expires_in: float, fresh: bool) -> None:
        self.value = value
        self.expires_in = expires_in
        self.fresh = fresh  # from the token endpoint (not msal's cache)

    def __repr__(self) -> str:
        return f"Token(expires_in={self.expires_in:.0f}, fresh={self.fresh})"


class TokenSource:
    """Tokens for Graph from the identity platform; see the module docstring."""

    def __init__(self, config: DirectoryConfig, *, session: Any = None) -> None:
        self._config = config
        self._name = config.name
        tenant = config.options.get("tenant_id", "").strip()
        base = (config.options.get("authority") or "").strip() or DEFAULT_AUTHORITY
        self.authority = f"{base.rstrip('/')}/{tenant}"
        self.tenant_id = tenant
        self.scope = (config.options.get("scope") or "").strip() or DEFAULT_SCOPE
        self.credential_kind = ""
        self._session = session
        self._adapter: _Adapter | None = None
        self._app: Any = None
        self._ca_temp: Path | None = None
        self._remembered: tuple[str, float] | None = None  # (token, renew at monotonic)
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"TokenSource(authority={self.authority!r}, client_id={self._config.bind_username!r})"
        )

    @property
    def token_posts(self) -> int:
        """How many times a token was asked of the token endpoint."""
        return self._adapter.token_posts if self._adapter is not None else 0

    # --- trust ------------------------------------------------------------------------------
    def _verify(self) -> str | bool:
        config = self._config
        if config.insecure_skip_verify:
            return False
        if config.ca_pem:
            if self._ca_temp is None:
                text = config.ca_pem
                if config.ca_file is not None:
                    text = Path(config.ca_file).read_text() + "\n" + text
                fd, name = tempfile.mkstemp(prefix="credsync-graph-ca-", suffix=".pem")
                with os.fdopen(fd, "w") as out:
                    out.write(text)
                self._ca_temp = Path(name)
            return str(self._ca_temp)
        if config.ca_file is not None:
            return str(config.ca_file)
        return True  # requests' own CA bundle (trust_env is off, so no environment override)

    # --- msal -------------------------------------------------------------------------------
    def _application(self) -> Any:
        if self._app is not None:
            return self._app
        config = self._config
        if not self.tenant_id:
            raise DirectoryAuthFailed(f"{self._name}: sign in: no tenant_id option given")
        kind, credential = parse_credential(
            config.bind_password.reveal(), config.options.get("credential", "")
        )
        self.credential_kind = kind
        if self._session is None:
            self._session, self._adapter = _session(self._verify(), config.timeout)
        self._app = msal.ConfidentialClientApplication(
            config.bind_username,
            client_credential=credential,
            authority=self.authority,
            http_client=self._session,
            instance_discovery=False,
        )
        return self._app

    def _acquire(self) -> Token:
        """In a worker thread: a token from msal's cache or the token endpoint."""
        where = f"get a token from {self.authority}"
        with self._thread_lock:
            try:
                app = self._application()
            except ConnectorError as err:
                raise type(err)(f"{self._name}: {where}: {err}") from None
            except ValueError as exc:  # msal could not read the authority or the credential
                raise _setup_error(exc, name=self._name, where=where) from exc
            except Exception as exc:
                raise translate(exc, name=self._name, where=where) from exc
            try:
                result = app.acquire_token_for_client(scopes=[self.scope])
            except OSError as exc:  # requests' errors are OSErrors
                raise translate(exc, name=self._name, where=where) from exc
            except Exception as exc:  # signing the client assertion failed
                raise DirectoryAuthFailed(
                    f"{self._name}: {where}: the certificate credential could not sign the "
                    f"client assertion ({type(exc).__name__}): check its private key"
                ) from exc
        if not isinstance(result, dict) or "access_token" not in result:
            raise token_error(result if isinstance(result, dict) else {}, name=self._name,
                              where=where)  # fmt: skip
        fresh = result.get("token_source") != "cache"
        return Token(str(result["access_token"]), float(result.get("expires_in") or 0), fresh)

    async def token(self, lock: asyncio.Lock) -> str:
        """A valid access token (remembered, from msal's cache, or new)."""
        remembered = self._remembered
        if remembered is not None and time.monotonic() < remembered[1]:
            return remembered[0]
        async with lock:
            remembered = self._remembered
            if remembered is not None and time.monotonic() < remembered[1]:
                return remembered[0]
            token = await asyncio.to_thread(self._acquire)
            margin = _MARGIN if token.expires_in > 2 * _MARGIN else token.expires_in / 2
            self._remembered = (token.value, time.monotonic() + token.expires_in - margin)
            return token.value

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (Graph refused it): the next :meth:`token` asks the endpoint."""
        if self._remembered is not None and self._remembered[0] == token:
            self._remembered = None
        app = self._app
        if app is None:
            return
        cache = app.token_cache
        for item in list(cache.search(cache.CredentialType.ACCESS_TOKEN)):
            if item.get("secret") == token:
                cache.remove_at(item)

    def close(self) -> None:
        if self._ca_temp is not None:
            with contextlib.suppress(OSError):
                self._ca_temp.unlink()
            self._ca_temp = None
        if self._adapter is not None and self._session is not None:
            self._session.close()  # ours (an injected session belongs to its owner)
            self._session = None
        self._adapter = None
        self._app = None
        self._remembered = None


def _setup_error(exc: ValueError, *, name: str, where: str) -> ConnectorError:
    """msal's ValueError while reading the authority (the OpenID configuration could not be
    had: a wrong tenant or authority) or the credential, as DirectoryAuthFailed."""
    for item in (exc, exc.__context__, exc.__cause__):
        text = str(item or "")
        if "OIDC Discovery failed" in text:
            status = re.search(r"HTTP status: (\d+)", text)
            said = text.split("Error: ", 1)[-1]
            try:
                body = json.loads(said)
            except ValueError:
                body = None
            if isinstance(body, dict) and body.get("error_description"):
                return token_error(body, name=name, where=where)
            code = status.group(1) if status else "?"
            return DirectoryAuthFailed(
                f"{name}: {where}: the authority's OpenID configuration answered HTTP {code}: "
                f"{said[:300]} (check the tenant id and the authority)"
            )
    if "authority configuration" in str(exc):
        return DirectoryAuthFailed(f"{name}: {where}: {exc}")
    return DirectoryAuthFailed(
        f"{name}: {where}: the credential could not be used ({type(exc).__name__}): a "
        "certificate credential needs an unencrypted private key and its certificate in PEM"
    )
