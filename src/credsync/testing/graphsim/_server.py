"""HTTP: a Starlette app (identity platform routes and Graph under /v1.0) served over TLS by
uvicorn in a background thread with its own event loop: httptools and uvloop when installed
(as they are with credsync), as ``credsync serve`` has them; h11 and asyncio's loop else."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from . import _fedroutes, _pages, _ropc
from ._auth import aad_time
from ._errors import AadError, aad_error_body
from ._graph import GraphRequest
from ._interactive import PageError, RedirectError
from ._realm import realm_of

if TYPE_CHECKING:
    from ._simulator import GraphSimulator

__all__ = ["ServerThread", "build_app"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]
_NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


async def _drop(request: Request) -> None:
    """Close the connection without an answer (an injected status-0 fault)."""
    cycle = request.scope.get("graphsim.cycle")
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("injected connection drop")
    transport.abort()
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0.001)


def build_app(sim: GraphSimulator) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    def aad_reply(err: AadError) -> Response:
        return JSONResponse(
            aad_error_body(err, when=aad_time(sim.clock)), status_code=err.status, headers=_NO_STORE
        )

    async def discovery(request: Request) -> Response:
        try:
            doc = sim.authority.openid_configuration(sim.url, request.path_params["tenant"])
        except AadError as err:
            return aad_reply(err)
        return JSONResponse(doc)

    async def keys(request: Request) -> Response:
        return JSONResponse(sim.authority.jwks())

    async def token(request: Request) -> Response:
        ref = request.path_params["tenant"]
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        basic = None
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
                basic = (user, secret)
            except (binascii.Error, UnicodeDecodeError):
                basic = None
        tenant = sim.find_tenant(ref)
        if tenant is not None:
            fault = tenant.take_fault("POST", request.url.path)
            if fault is not None:
                if fault.status == 0:
                    await _drop(request)
                    return Response(status_code=500)
                headers = dict(_NO_STORE)
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                body = aad_error_body(
                    AadError(
                        fault.status,
                        fault.code or "temporarily_unavailable",
                        90033,
                        fault.message or "A transient error has occurred. Please try again.",
                    ),
                    when=aad_time(sim.clock),
                )
                return JSONResponse(body, status_code=fault.status, headers=headers)
        endpoints = {f"{sim.url}/{ref}/oauth2/v2.0/token"}
        if tenant is not None:
            endpoints.add(f"{sim.url}/{tenant.id}/oauth2/v2.0/token")
        try:
            answer = sim.authority.token(ref, form, endpoints, basic, sim.url)
        except AadError as err:
            return aad_reply(err)
        return JSONResponse(answer, headers=_NO_STORE)

    async def authorize(request: Request) -> Response:
        """The authorize endpoint: GET shows the sign-in page, POST (the page's form) signs
        the user in; see ``_interactive``."""
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.form()).items()})
        interactive = sim.authority.interactive
        try:
            tenant = sim.authority.tenant(request.path_params["tenant"])
            checked = interactive.authorize(tenant, params)
        except AadError as err:
            return HTMLResponse(_pages.error_page(err), status_code=400, headers=_NO_STORE)
        except PageError as err:
            return HTMLResponse(_pages.error_page(err.error), status_code=400, headers=_NO_STORE)
        except RedirectError as err:
            return RedirectResponse(err.location, status_code=302, headers=_NO_STORE)
        # home realm discovery: a federated user goes to the domain's identity provider
        # (_realm); login_hint / domain_hint on the GET, the typed name on the POST
        hint = params.get("login", "") if request.method == "POST" else params.get("login_hint", "")
        if request.method == "GET" and not hint and params.get("domain_hint"):
            hint = "@" + params["domain_hint"]
        found = realm_of(checked.tenant, hint)
        if found is not None and found[1] is not None:
            login = hint if not hint.startswith("@") else None
            try:
                hop = sim.authority.federation.start(
                    checked.tenant, login, found[0], found[1], sim.url, flow=checked
                )
            except AadError as err:
                return HTMLResponse(_pages.error_page(err), status_code=400, headers=_NO_STORE)
            return _fedroutes.hop_response(hop)
        action = request.url.path
        name = checked.app.display_name
        if request.method == "GET":
            return HTMLResponse(
                _pages.sign_in_page(action, checked.hidden, name), headers=_NO_STORE
            )
        try:
            location = interactive.sign_in(
                checked, params.get("login", ""), params.get("passwd", "")
            )
        except AadError as err:
            page = _pages.sign_in_page(action, checked.hidden, name, err, params.get("login", ""))
            return HTMLResponse(page, status_code=200, headers=_NO_STORE)
        if params.get("response_mode") == "form_post":
            target, _, query = location.partition("?")
            page = _pages.form_post_page(target, dict(parse_qsl(query)))
            return HTMLResponse(page, headers=_NO_STORE)
        return RedirectResponse(location, status_code=302, headers=_NO_STORE)

    async def devicecode(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        try:
            tenant = sim.authority.tenant(request.path_params["tenant"])
            answer = sim.authority.interactive.start_device(tenant, form, sim.url)
        except AadError as err:
            return aad_reply(err)
        return JSONResponse(answer, headers=_NO_STORE)

    async def devicelogin(request: Request) -> Response:
        """The page where a user types a device's code, then signs in (or cancels)."""
        action = request.url.path
        if request.method == "GET":
            return HTMLResponse(_pages.device_page(action), headers=_NO_STORE)
        form = {k: str(v) for k, v in (await request.form()).items()}
        user_code = form.get("otc", "")
        interactive = sim.authority.interactive
        try:
            _, (tenant_id, client_id) = interactive.device_for(user_code)
        except AadError as err:
            return HTMLResponse(_pages.device_page(action, error=err), headers=_NO_STORE)
        tenant = sim.find_tenant(tenant_id)
        app = tenant.apps.get(client_id) if tenant is not None else None
        if tenant is None or app is None:
            return HTMLResponse(_pages.device_page(action), headers=_NO_STORE)
        if "action" not in form:
            page = _pages.device_page(action, user_code, app.display_name)
            return HTMLResponse(page, headers=_NO_STORE)
        decline = form["action"] == "decline"
        try:
            interactive.approve_device(
                tenant, user_code, form.get("login", ""), form.get("passwd", ""), decline=decline
            )
        except AadError as err:
            page = _pages.device_page(action, user_code, app.display_name, err)
            return HTMLResponse(page, headers=_NO_STORE)
        return HTMLResponse(_pages.done_page(app.display_name, decline), headers=_NO_STORE)

    async def user_realm(request: Request) -> Response:
        username = request.path_params["username"]
        tenant = sim.find_tenant(username.rsplit("@", 1)[-1])
        return JSONResponse(_ropc.user_realm(tenant, username), headers=_NO_STORE)

    async def graph(request: Request) -> Response:
        path = request.url.path[len("/v1.0") :] or "/"
        pairs = parse_qsl(
            request.scope.get("query_string", b"").decode("utf-8", "replace"),
            keep_blank_values=True,
        )
        body = await request.body()
        graph_request = GraphRequest.make(request.method, path, pairs, dict(request.headers), body)
        reply = sim.pipeline.handle(graph_request)
        if reply.drop:
            await _drop(request)
            return Response(status_code=500)
        return Response(
            reply.payload(),
            status_code=reply.status,
            headers=reply.headers,
            media_type=reply.content_type,
        )

    async def unknown(request: Request) -> Response:
        return JSONResponse(
            {
                "error": {
                    "code": "BadRequest",
                    "message": f"Invalid version or path: {request.url.path}",
                }
            },
            status_code=400,
        )

    app = Starlette(
        routes=[
            Route("/v1.0", graph, methods=_METHODS),
            Route("/v1.0/{rest:path}", graph, methods=_METHODS),
            Route("/common/userrealm/{username}", user_realm, methods=["GET"]),
            Route("/{tenant}/v2.0/.well-known/openid-configuration", discovery, methods=["GET"]),
            Route("/{tenant}/discovery/v2.0/keys", keys, methods=["GET"]),
            Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
            Route("/{tenant}/oauth2/v2.0/authorize", authorize, methods=["GET", "POST"]),
            Route("/{tenant}/oauth2/v2.0/devicecode", devicecode, methods=["POST"]),
            Route("/devicelogin", devicelogin, methods=["GET", "POST"]),
            *_fedroutes.routes(sim),
            Route("/{rest:path}", unknown, methods=_METHODS),
        ]
    )

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        # uvicorn's send is a bound method of the request's cycle, which holds the transport
        scope["graphsim.cycle"] = getattr(send, "__self__", None)
        await app(scope, receive, send)

    return outer


class ServerThread:
    """uvicorn serving ``app`` on an already bound socket, in a thread of its own."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        sock: socket.socket,
        cert: Path,
        key: Path,
    ) -> None:
        config = uvicorn.Config(
            app,
            ssl_certfile=str(cert),
            ssl_keyfile=str(key),
            # the compiled parser and loop: with h11 and asyncio's pure-Python TLS, HTTP
            # took a quarter of the simulator's CPU per federated sign-in (bench/README.md)
            http="auto",
            loop="auto",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=75,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._loop_factory = config.get_loop_factory()
        self._sock = sock
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="graphsim", daemon=True)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._server.serve(sockets=[self._sock])

    def _run(self) -> None:
        try:
            with asyncio.Runner(loop_factory=self._loop_factory) as runner:
                runner.run(self._serve())
        except BaseException as exc:  # reported by start()
            self._error = exc

    def _abort_connections(self) -> None:
        """Idle keep-alive connections would hold a TLS shutdown open: cut them."""
        for connection in list(self._server.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()

    def connections(self) -> int:
        """How many client connections are open (read from another thread: a snapshot)."""
        return len(list(self._server.server_state.connections))

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the Graph simulator did not start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the Graph simulator did not start in time")
            time.sleep(0.01)

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._abort_connections)
        self._server.should_exit = True
        self._thread.join(timeout=10)
