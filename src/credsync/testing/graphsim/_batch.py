"""POST /$batch: up to 20 requests, each answered by the same pipeline as a request of its own
(permissions, throttling with an inner 429 + Retry-After, injected faults), in the order given
except that ``dependsOn`` waits for its prerequisites; a prerequisite that failed gives its
dependants 424 Failed Dependency. The outer answer is 200 whenever the batch itself parsed;
a batch over 20, with duplicate or missing ids, a ``dependsOn`` naming no request, or a write
without a Content-Type header is refused whole (400). An injected fault with status 0 on an inner
request drops the whole connection."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ._errors import GraphError
from ._graph import Ctx, GraphRequest, Reply, Router

__all__ = ["MAX_REQUESTS", "register"]

MAX_REQUESTS = 20


def _invalid(message: str = "Invalid batch payload format.") -> GraphError:
    return GraphError(400, "BadRequest", message)


def _parse(ctx: Ctx) -> list[dict[str, Any]]:
    body = ctx.json()
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise _invalid()
    if len(requests) > MAX_REQUESTS:
        raise _invalid(f"Number of batch requests exceeds the limit of {MAX_REQUESTS}.")
    ids: set[str] = set()
    for item in requests:
        if not isinstance(item, dict):
            raise _invalid()
        request_id, method, url = item.get("id"), item.get("method"), item.get("url")
        if not isinstance(request_id, str) or not request_id:
            raise _invalid("Batch request id is missing or is not a string.")
        if request_id in ids:
            raise _invalid(f"Batch request contains duplicate request id '{request_id}'.")
        ids.add(request_id)
        if not isinstance(method, str) or not isinstance(url, str) or not url:
            raise _invalid()
        if urlsplit(url).scheme:
            raise _invalid("The url of a batch request must be relative to the version root.")
        headers = item.get("headers") or {}
        if not isinstance(headers, dict):
            raise _invalid()
        if item.get("body") is not None and not any(k.lower() == "content-type" for k in headers):
            raise _invalid(
                f"Write request id : {request_id} does not contain Content-Type header or body."
            )
    for item in requests:
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or any(d not in ids or d == item["id"] for d in depends):
            raise _invalid(
                f"Batch request '{item['id']}' depends on a request that is not in the batch."
            )
    return requests


def _inner(item: dict[str, Any]) -> GraphRequest:
    parts = urlsplit(item["url"])
    path = "/" + unquote(parts.path).lstrip("/")
    if path.lower().startswith("/v1.0/"):
        path = path[5:]
    body = item.get("body")
    raw = b""
    if body is not None:
        import json

        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return GraphRequest.make(
        item["method"],
        path,
        parse_qsl(parts.query, keep_blank_values=True),
        item.get("headers") or {},
        raw,
    )


def _answer(request_id: str, reply: Reply) -> dict[str, Any]:
    headers = {
        k: v
        for k, v in reply.headers.items()
        if k.lower() not in ("request-id", "client-request-id", "x-ms-ags-diagnostic")
    }
    out: dict[str, Any] = {"id": request_id, "status": reply.status, "headers": headers}
    if reply.body is not None:
        if reply.content_type:
            headers["Content-Type"] = (
                reply.content_type.split(";")[0]
                if isinstance(reply.body, str | bytes)
                else "application/json"
            )
        out["body"] = reply.body.decode() if isinstance(reply.body, bytes) else reply.body
    return out


def batch(ctx: Ctx) -> Reply:
    requests = _parse(ctx)
    status: dict[str, int] = {}
    answers: dict[str, dict[str, Any]] = {}
    pending = list(requests)
    while pending:
        progressed = False
        for item in list(pending):
            depends = item.get("dependsOn") or []
            if any(d not in status for d in depends):
                continue
            pending.remove(item)
            progressed = True
            if any(status[d] >= 400 for d in depends):
                status[item["id"]] = 424
                answers[item["id"]] = {
                    "id": item["id"],
                    "status": 424,
                    "headers": {"Content-Type": "application/json"},
                    "body": {
                        "error": {
                            "code": "FailedDependency",
                            "message": "Failed dependency: a request this one depends on failed.",
                        }
                    },
                }
                continue
            inner = _inner(item)
            if inner.path.strip("/").lower() == "$batch":
                reply = Reply(
                    400,
                    {"error": {"code": "BadRequest", "message": "A batch cannot contain a batch."}},
                )
            else:
                reply = ctx.pipeline.handle(inner, (ctx.tenant, ctx.app))
            if reply.drop:
                return reply
            status[item["id"]] = reply.status
            answers[item["id"]] = _answer(item["id"], reply)
        if not progressed:
            raise _invalid("Batch requests depend on each other in a cycle.")
    return Reply(200, {"responses": [answers[item["id"]] for item in requests]})


def register(router: Router) -> None:
    router.add("POST", "/$batch", batch)
