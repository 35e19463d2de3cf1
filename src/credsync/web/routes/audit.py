"""The audit log: entries newest first, a page at a time, filtered by action, operator,
client and a range of days; each names its target and client (by id once they are gone) and
shows its details as they were written. Verifying the hash chain. Both need audit.read."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.errors import InvalidInput, NotFound
from credsync.vault import Permission
from credsync.vault.audit import time_window
from credsync.web.forms import Form
from credsync.web.pages import page, page_router
from credsync.web.session import ViewerDep

router = page_router()

PAGE_SIZE = 100
# Where an entry's target has a page of its own (by target type).
TARGET_PAGES = {"credential": "/credentials/", "client": "/clients/", "directory": "/directories/"}


def readable(details: dict[str, Any]) -> list[tuple[str, str]]:
    """An entry's details as (key, value) lines: text as it is, anything else as JSON with
    its characters as they are (no \\u escapes)."""
    return [
        (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for key, value in sorted(details.items())
    ]


@router.get("/audit")
def audit_page(
    request: Request,
    state: State,
    viewer: ViewerDep,
    action: str = Query("", max_length=64),
    operator: str = Query("", max_length=64),
    client: str = Query("", max_length=200),
    since: str = Query("", max_length=40),
    until: str = Query("", max_length=40),
    before: int | None = Query(None, ge=1),
) -> Response:
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.AUDIT_READ)
    asked = {"action": action, "operator": operator, "client": client, "since": since}
    form = Form({**{k: v.strip() for k, v in asked.items()}, "until": until.strip()})
    given = {k: v for k, v in form.values.items() if v}
    clients = vault.clients.list(actor, include_archived=True) if viewer.can("vault.read") else []
    entries = []
    try:
        start, end = time_window(given.get("since"), given.get("until"))
        client_id = vault.clients.get(actor, given["client"]).id if "client" in given else None
    except InvalidInput as exc:
        form.refused(exc)
    except NotFound as exc:
        form.error("client", str(exc))
    else:
        entries = vault.audit.list(
            actor,
            action=given.get("action"),
            actor_name=given.get("operator"),
            client_id=client_id,
            since=start,
            until=end,
            before_seq=before,
            limit=PAGE_SIZE + 1,
        )
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    return page(
        request,
        "audit.html",
        viewer,
        status=400 if form.errors else 200,
        title="Audit log",
        entries=entries,
        details={e.seq: readable(e.details) for e in entries if e.details},
        form=form,
        clients=clients,
        target_pages=TARGET_PAGES,
        query=urlencode(given),
        next_before=entries[-1].seq if more and entries else None,
        paged=before is not None,
    )


@router.get("/audit/verify")
def audit_verify(request: Request, state: State, viewer: ViewerDep) -> Response:
    """Recompute the whole hash chain and compare it with the stored head."""
    report = state.vault.audit.verify(viewer.actor)
    return page(request, "audit_verify.html", viewer, title="Audit chain", report=report.to_json())
