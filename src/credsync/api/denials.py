"""A request refused for a permission (or its CSRF token), logged and audited as
``permission.denied`` (rate-limited: :mod:`credsync.vault.denials`), by the API's error
handler and the dashboard's pages alike.

Its target is what the request's path named: the first path parameter of the route, of the
kind the segment before it names (``/credentials/{ref}/reveal``: the credential ``ref``;
``/clients/{client}/credentials``: the client); a route without one names the kind alone
(``/operators``: ``operator``, no id). Its operation is the method and the route
(``POST /api/v1/credentials/{ref}/reveal``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from credsync.api import API_PREFIX
from credsync.api.deps import server_state
from credsync.errors import CredsyncError, PermissionDenied
from credsync.vault.denials import kind_of

__all__ = ["record_denial", "target_of"]

log = logging.getLogger("credsync.api")


def target_of(route_path: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, id as given) of what a route's path names (see the module's doc)."""
    path = route_path.removeprefix(API_PREFIX)
    segments = [segment for segment in path.split("/") if segment]
    for at, segment in enumerate(segments):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1].partition(":")[0]
            kind = kind_of(segments[at - 1]) if at else "vault"
            return kind, str(params.get(name, ""))
    return (kind_of(segments[0]) if segments else "vault"), ""


async def record_denial(request: Request, denied: PermissionDenied, *, via: str) -> None:
    """Log and audit the refusal of ``request`` (``via``: ``api`` or ``dashboard``); a
    failure to audit is logged, never answered instead of the refusal."""
    route_path = getattr(request.scope.get("route"), "path", None) or request.url.path
    if request.url.path.startswith(f"{API_PREFIX}/") and not route_path.startswith(API_PREFIX):
        route_path = API_PREFIX + route_path  # a route of an included router: its own path
    kind, target = target_of(route_path, request.path_params)
    try:
        await run_in_threadpool(
            server_state(request).vault.denials.record,
            denied,
            via=via,
            operation=f"{request.method} {route_path}",
            target_kind=kind,
            target_id=target,
        )
    except CredsyncError as err:
        log.warning("a refusal was not audited: %s: %s", type(err).__name__, err)
