"""Graph over httpx: tokens on every request, retries that honour Retry-After, paging that
refuses to loop.

* **Retries**: 429, 503 and 504 are tried again after the answer's Retry-After (seconds or an
  HTTP date; without one, a short backoff with jitter), at most :data:`MAX_ATTEMPTS` times and
  :data:`MAX_WAIT` seconds in all; then the answer goes back to the caller, which raises
  DirectoryUnreachable with ``retry_after``. A 429 also holds back every other request of this
  connector until its Retry-After has passed (one shared "not before" time), so concurrent
  callers stay near the allowed rate instead of hammering. A lost connection is retried (a few
  times, quickly) only for GETs; a write may have landed. A 401 drops the token and is tried
  once more with a new one.
* **Paging** follows ``@odata.nextLink`` (absolute URLs, which must stay on the Graph host: our
  token goes nowhere else). A link already followed in this listing, or more than
  :data:`MAX_PAGES` pages, is a PermanentConnectorError naming it. The next page is fetched
  while the caller works through the current one.
* **Event loops**: httpx connections and asyncio locks belong to the loop that made them. The
  client keeps one set per running loop; a small keeper task closes a loop's httpx client when
  that loop shuts down (``asyncio.run`` cancels leftover tasks before closing), so tests that
  call the connector through several ``asyncio.run`` calls leak no sockets.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import ssl
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from credsync import telemetry
from credsync.connectors.base import DirectoryConfig
from credsync.connectors.graph._auth import TokenSource
from credsync.connectors.graph._errors import RETRY_STATUSES, retry_after, translate
from credsync.errors import DirectoryUnreachable, PermanentConnectorError

__all__ = ["MAX_ATTEMPTS", "MAX_PAGES", "MAX_WAIT", "GraphClient", "ssl_context"]

MAX_ATTEMPTS = 8  # tries of one request that Graph throttles or finds busy
MAX_WAIT = 120.0  # seconds one request may spend waiting for retries in all
CONNECT_ATTEMPTS = 3  # tries of a GET whose connection failed
MAX_PAGES = 50_000
HANDOFF_TURNS = 8  # event loop turns given to the next page's request (see _handed_off)
MAX_CONNECTIONS = 32
CONTEXTS = 64  # TLS contexts kept (one per set of trusted CAs)
# Idle connections kept this long: past the periodic runs' default interval (60 s), so that a
# run reuses its directory's connection instead of a new TLS handshake (httpx's default: 5 s).
KEEPALIVE_SECONDS = 150.0


def ssl_context(config: DirectoryConfig) -> ssl.SSLContext:
    """Certificate and host name checks against the directory's CAs (``ca_file`` and/or
    ``ca_pem``; neither: the system store); no checks at all only when the directory says
    ``insecure_skip_verify``. One context per set of CAs, shared by the connectors that trust
    the same ones (a context holding the system store costs about 0.8 MB: an agent serving
    500 tenants would hold 400 MB of copies)."""
    cafile = str(config.ca_file) if config.ca_file is not None else None
    return _shared_context(
        config.insecure_skip_verify, cafile, file_stamp(cafile), config.ca_pem or None
    )


def file_stamp(path: str | None) -> int:
    """The CA file's modification time (a changed file gets a new context); 0 if none."""
    if path is None:
        return 0
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0  # the context's load reports it


@functools.lru_cache(maxsize=CONTEXTS)
def _shared_context(
    insecure: bool, cafile: str | None, _stamp: int, cadata: str | None
) -> ssl.SSLContext:
    if insecure:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(cafile=cafile, cadata=cadata)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def backoff(attempt: int) -> float:
    """A short wait with jitter before try ``attempt + 1`` when Graph gave no Retry-After."""
    return float(min(8.0, 0.25 * 2**attempt) * (0.5 + random.random()))  # noqa: S311 - jitter


@dataclass
class _LoopState:
    loop: asyncio.AbstractEventLoop
    http: httpx.AsyncClient
    token_lock: asyncio.Lock
    keeper: asyncio.Task[None]


class GraphClient:
    """Requests to one Graph endpoint as one app. ``transport`` replaces httpx's network
    transport (tests); ``session`` replaces the requests session msal uses."""

    def __init__(
        self,
        config: DirectoryConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        session: Any = None,
    ) -> None:
        self.config = config
        self.name = config.name
        parts = urlsplit(config.url.strip() or "https://graph.microsoft.com")
        self.origin = f"{parts.scheme}://{parts.netloc}".lower()
        self.base = f"{self.origin}{parts.path.rstrip('/')}/v1.0"
        self.auth = TokenSource(config, session=session)
        self._transport = transport
        self._state: _LoopState | None = None
        self._not_before = 0.0  # monotonic time before which no request is sent (throttled)

    # --- per-loop resources -----------------------------------------------------------------
    def state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._state
        if state is not None and state.loop is loop:
            return state
        http = httpx.AsyncClient(
            base_url=self.base,
            verify=ssl_context(self.config),
            http2=False,
            timeout=httpx.Timeout(self.config.timeout),
            limits=httpx.Limits(
                max_connections=MAX_CONNECTIONS,
                max_keepalive_connections=MAX_CONNECTIONS,
                keepalive_expiry=KEEPALIVE_SECONDS,
            ),
            transport=self._transport,
            headers={"Accept": "application/json"},
        )
        keeper = loop.create_task(_keep_until_cancelled(http), name="credsync-graph-keeper")
        self._state = _LoopState(loop, http, asyncio.Lock(), keeper)
        return self._state

    async def close(self) -> None:
        state, self._state = self._state, None
        if state is not None and not state.loop.is_closed():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is state.loop:
                state.keeper.cancel()
                await asyncio.wait([state.keeper])
        await asyncio.to_thread(self.auth.close)

    # --- throttling -------------------------------------------------------------------------
    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (Graph said 429 to one of our requests)."""
        self._not_before = max(self._not_before, time.monotonic() + seconds)

    async def _gate(self) -> float:
        """Wait while requests are held back; how long that was."""
        waited = 0.0
        while (delay := self._not_before - time.monotonic()) > 0:
            await asyncio.sleep(delay)
            waited += delay
        return waited

    def url_for(self, link: str) -> str:
        """``link`` (absolute, from Graph) if it is on our Graph host, else an error: our
        token must not be sent anywhere else."""
        if not link.lower().startswith(self.origin + "/"):
            raise PermanentConnectorError(f"{self.name}: Graph sent a link off its host: {link}")
        return link

    # --- requests ---------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        url: str,
        *,
        where: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        retry_connection: bool | None = None,
        sent: asyncio.Event | None = None,
    ) -> httpx.Response:
        """The answer to ``method url`` after retries (any status: the caller maps errors).
        ``sent``: set once a request's body is on the wire (see :meth:`pages`)."""
        state = self.state()
        extensions = {"trace": _trace_sent(sent)} if sent is not None else None
        retry_connection = method == "GET" if retry_connection is None else retry_connection
        attempt, connect_attempt, waited, refreshed = 0, 0, 0.0, False
        while True:
            waited += await self._gate()
            token = await self.auth.token(state.token_lock)
            try:
                response = await state.http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                    extensions=extensions,
                )
            except httpx.HTTPError as exc:
                err = translate(exc, name=self.name, where=where)
                connect_attempt += 1
                if (
                    retry_connection
                    and type(err) is DirectoryUnreachable
                    and connect_attempt < CONNECT_ATTEMPTS
                ):
                    await asyncio.sleep(backoff(connect_attempt - 1) / 2)
                    continue
                raise err from exc
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self.auth.invalidate(token)
                continue
            if response.status_code in RETRY_STATUSES:
                delay = retry_after(response.headers)
                delay = backoff(attempt) if delay is None else delay
                if response.status_code == 429:
                    self.hold(delay)
                attempt += 1
                if attempt >= MAX_ATTEMPTS or waited + delay > MAX_WAIT:
                    telemetry.events().throttle(response.status_code, None)
                    return response
                telemetry.events().throttle(response.status_code, delay)
                await asyncio.sleep(delay)
                waited += delay
                continue
            return response

    async def get_json(
        self,
        url: str,
        *,
        where: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        sent: asyncio.Event | None = None,
    ) -> tuple[int, Any, httpx.Response]:
        """(status, parsed body or None, response) of a GET (``sent``: see :meth:`request`)."""
        response = await self.request(
            "GET", url, where=where, params=params, headers=headers, sent=sent
        )
        return response.status_code, _json(response), response

    async def pages(
        self,
        path: str,
        *,
        where: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncGenerator[tuple[int, Any, httpx.Response], None]:
        """Each page of a listing as (status, body, response), following nextLinks (with the
        same ``headers``), the next page's request written before a page is handed over
        (:func:`_handed_off`). A page with an error status ends the listing (the caller
        raises)."""
        seen: set[str] = set()
        fetch: asyncio.Task[tuple[int, Any, httpx.Response]] | None = asyncio.ensure_future(
            self.get_json(path, where=where, params=params, headers=headers)
        )
        try:
            count = 0
            while fetch is not None:
                status, body, response = await fetch
                fetch, count = None, count + 1
                link = body.get("@odata.nextLink") if status == 200 and body else None
                if isinstance(link, str) and link:
                    if link in seen:
                        raise PermanentConnectorError(
                            f"{self.name}: {where}: Graph sent a nextLink already followed in "
                            f"this listing (page {count + 1}), refusing to loop: {link}"
                        )
                    if count >= MAX_PAGES:
                        raise PermanentConnectorError(
                            f"{self.name}: {where}: more than {MAX_PAGES} pages, giving up "
                            f"(next: {link})"
                        )
                    seen.add(link)
                    sent = asyncio.Event()
                    fetch = asyncio.ensure_future(
                        self.get_json(self.url_for(link), where=where, headers=headers, sent=sent)
                    )
                    await _handed_off(fetch, sent)
                yield status, body, response
        finally:
            if fetch is not None:
                await _discard(fetch)


def _trace_sent(sent: asyncio.Event) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    """httpcore's ``trace`` extension: ``sent`` set once the request's body has been written
    (HTTP/1.1 and HTTP/2 name the step alike)."""

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith(".send_request_body.complete"):
            sent.set()

    return trace


async def _handed_off(fetch: asyncio.Future[Any], sent: asyncio.Event) -> None:
    """The event loop's turns the next page's request takes to be written (three or so), given
    before the caller works on this page: the task made for it only runs when the caller
    waits, and a caller that parses and stores a page without waiting (a streamed full read)
    asked for the next page only once done with this one, so the directory produced each page
    while we stood waiting and we parsed each while it stood idle (issue 19). At most
    :data:`HANDOFF_TURNS` (a request waiting for a connection, a token or a throttle's hold
    is not waited for)."""
    for _ in range(HANDOFF_TURNS):
        if sent.is_set() or fetch.done():
            return
        await asyncio.sleep(0)


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


async def _discard(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait for it, retrieving its exception so none goes unlogged."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()


async def _keep_until_cancelled(http: httpx.AsyncClient) -> None:
    """Hold ``http`` open until cancelled (by close() or by the loop shutting down)."""
    try:
        await asyncio.get_running_loop().create_future()
    finally:
        await http.aclose()
