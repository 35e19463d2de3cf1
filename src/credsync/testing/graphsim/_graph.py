"""Graph's request pipeline, shared by HTTP requests and the inner requests of ``$batch``:
token -> route -> injected fault -> throttling -> permission -> handler, with Graph's error
shape for every refusal and its headers (request-id, client-request-id, x-ms-resource-unit,
x-ms-throttle-*) on every answer."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._errors import GraphError, bad_request, graph_error_body
from ._ops import expire_deleted
from ._permissions import ROUTES, allows
from ._throttle import read_cost

if TYPE_CHECKING:
    from ._auth import Authority
    from ._tenant import SimApp, SimTenant
    from ._tokens import TokenBox

__all__ = ["Ctx", "GraphRequest", "Pipeline", "Reply", "Router", "collection"]

_SAFE = "$,'():@"
_JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)


@dataclass
class GraphRequest:
    method: str
    path: str  # below /v1.0, e.g. "/users/{id}"
    query: dict[str, str] = field(default_factory=dict)  # $-options with lower-cased names
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""

    @staticmethod
    def make(
        method: str,
        path: str,
        pairs: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> GraphRequest:
        query = {(k.lower() if k.startswith("$") else k): v for k, v in pairs}
        return GraphRequest(
            method.upper(), path, query, {k.lower(): v for k, v in headers.items()}, body
        )


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able; str/bytes for text/plain
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without an answer

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()

    @property
    def content_type(self) -> str | None:
        if self.body is None:
            return None
        if isinstance(self.body, str | bytes):
            return "text/plain"
        return _JSON_TYPE


@dataclass
class Ctx:
    """What a handler sees: who calls, the request, the path parameters, and helpers."""

    tenant: SimTenant
    app: SimApp
    roles: frozenset[str]
    request: GraphRequest
    params: dict[str, str]
    base: str  # e.g. https://127.0.0.1:PORT
    tokens: TokenBox
    pipeline: Pipeline

    def option(self, name: str) -> str | None:
        return self.request.query.get(name)

    @property
    def eventual(self) -> bool:
        return self.request.headers.get("consistencylevel", "").lower() == "eventual"

    def json(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"")
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise GraphError(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set "
                "and payload is of valid JSON format.",
            )
        return body

    def require(self, route: str) -> None:
        if not allows(route, self.roles):
            raise denied()

    def link(self, path: str, options: Mapping[str, str]) -> str:
        query = "&".join(f"{k}={quote(v, safe=_SAFE)}" for k, v in options.items())
        return f"{self.base}/v1.0{path}" + (f"?{query}" if query else "")

    def context_url(self, fragment: str) -> str:
        return f"{self.base}/v1.0/$metadata#{fragment}"


def denied() -> GraphError:
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def collection(
    ctx: Ctx, fragment: str, items: list[Any], next_link: str | None = None, **extra: Any
) -> Reply:
    body: dict[str, Any] = {"@odata.context": ctx.context_url(fragment)}
    body.update(extra)
    if next_link:
        body["@odata.nextLink"] = next_link
    body["value"] = items
    return Reply(200, body)


Handler = Callable[[Ctx], Reply]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str | None, Handler]] = []
        self.roots: set[str] = set()

    def add(self, method: str, template: str, handler: Handler, key: str | None = "") -> None:
        """``key``: the :data:`ROUTES` entry deciding access ("" = method + template; None: the
        handler checks)."""
        if key == "":
            key = f"{method} {template}"
        if key is not None and key not in ROUTES:
            raise KeyError(key)
        pattern = ""
        for segment in template.strip("/").split("/"):
            if segment.startswith("{"):
                pattern += f"/(?P<{segment[1:-1]}>[^/]+)"
            elif segment in ("delta",):
                pattern += r"/delta(?:\(\))?"
            elif "{" in segment:  # a key in the segment: directoryRoles(roleTemplateId='{x}')
                parts = re.split(r"\{(\w+)\}", segment)
                pattern += "/" + "".join(
                    f"(?P<{part}>[^/']+)" if odd else re.escape(part)
                    for odd, part in ((i % 2 == 1, p) for i, p in enumerate(parts))
                )
            else:
                pattern += "/" + re.escape(segment)
        self._routes.append((method, re.compile(pattern + "/?", re.IGNORECASE), key, handler))
        self.roots.add(template.strip("/").split("/")[0].lower())

    def match(self, method: str, path: str) -> tuple[str | None, Handler, dict[str, str]]:
        methods_seen = False
        for route_method, pattern, key, handler in self._routes:
            found = pattern.fullmatch(path)
            if found:
                if route_method == method:
                    return key, handler, found.groupdict()
                methods_seen = True
        if methods_seen:
            raise GraphError(
                405,
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
            )
        segments = [s for s in path.split("/") if s]
        if not segments:
            raise bad_request("Invalid request.", "BadRequest")
        unknown = segments[0] if segments[0].lower() not in self.roots else segments[-1]
        raise bad_request(f"Resource not found for the segment '{unknown}'.", "BadRequest")


class Pipeline:
    def __init__(
        self, router: Router, authority: Authority, tokens: TokenBox, base: Callable[[], str]
    ) -> None:
        self.router = router
        self.authority = authority
        self.tokens = tokens
        self._base = base

    def handle(
        self, request: GraphRequest, caller: tuple[SimTenant, SimApp] | None = None
    ) -> Reply:
        """Answer one Graph request; ``caller`` is given for the inner requests of a batch."""
        request_id = str(uuid.uuid4())
        tenant: SimTenant | None = None
        try:
            if caller is None:
                tenant, app, _claims = self.authority.validate(request.headers.get("authorization"))
            else:
                tenant, app = caller
            reply = self._route(request, tenant, app)
        except GraphError as err:
            body = graph_error_body(
                err.code,
                err.message,
                date=self.authority.clock.iso_now(),
                request_id=request_id,
                client_request_id=request.headers.get("client-request-id"),
            )
            reply = Reply(err.status, body, dict(err.headers))
        reply.headers.setdefault("request-id", request_id)
        reply.headers.setdefault(
            "client-request-id", request.headers.get("client-request-id") or request_id
        )
        reply.headers["x-ms-ags-diagnostic"] = json.dumps(
            {
                "ServerInfo": {
                    "DataCenter": "Simulator",
                    "Slice": "E",
                    "Ring": "5",
                    "ScaleUnit": "000",
                }
            }
        )
        if tenant is not None and not reply.drop:
            tenant.count_status(reply.status)
        return reply

    def _route(self, request: GraphRequest, tenant: SimTenant, app: SimApp) -> Reply:
        write = request.method != "GET"
        is_batch = request.path.strip("/").lower() == "$batch"
        if is_batch:
            tenant.stats_add("batches")
        else:
            tenant.stats_add("requests")
            tenant.stats_add("writes" if write else "reads")
        tenant.latency.wait(request.method, "/v1.0" + request.path)  # injected (see _faults)
        key, handler, params = self.router.match(request.method, request.path)
        fault = tenant.take_fault(request.method, "/v1.0" + request.path)
        dropped_after = fault is not None and fault.status == 0 and fault.after
        if fault is not None and not dropped_after:
            if fault.status == 0:
                return Reply(0, drop=True)
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            )
            raise GraphError(
                fault.status,
                fault.code or _FAULT_CODES.get(fault.status, "UnknownError"),
                fault.message or _FAULT_MESSAGES.get(fault.status, "Injected failure."),
                headers,
            )
        if not is_batch:
            cost = read_cost(request.path, "$select" in request.query) if not write else 1
            decision = tenant.throttler.charge(
                app.client_id, write, cost, self.authority.clock.monotonic()
            )
            extra = {"x-ms-resource-unit": str(cost)}
            if decision.used_fraction > 0.8:
                extra["x-ms-throttle-limit-percentage"] = f"{min(decision.used_fraction, 1.8):.1f}"
            if not decision.allowed:
                extra.update(
                    {
                        "Retry-After": str(decision.retry_after),
                        "x-ms-throttle-scope": f"Tenant/Write/{tenant.id}"
                        if decision.tenant_wide
                        else f"Tenant_Application/{'Write' if write else 'Read'}"
                        f"/{app.client_id}/{tenant.id}",
                        "x-ms-throttle-information": "WriteLimitExceeded"
                        if write
                        else "ResourceUnitLimitExceeded",
                    }
                )
                raise GraphError(429, "TooManyRequests", "Too many requests.", extra)
        else:
            extra = {}
        roles = frozenset(app.permissions)
        if key is not None and not allows(key, roles):
            err = denied()
            err.headers.update(extra)
            raise err
        ctx = Ctx(tenant, app, roles, request, params, self._base(), self.tokens, self)
        try:
            with tenant.store.lock:
                expire_deleted(tenant)
                reply = handler(ctx)
        except GraphError as err:
            if dropped_after:
                return Reply(0, drop=True)
            err.headers.update(extra)
            raise
        if dropped_after:  # handled (a write is done), and the answer lost with the connection
            return Reply(0, drop=True)
        reply.headers.update(extra)
        return reply


_FAULT_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "Request_ResourceNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
_FAULT_MESSAGES = {
    429: "Too many requests.",
    500: "An internal server error occurred.",
    503: "The service is temporarily unavailable. Please retry later.",
    504: "The request timed out.",
}
