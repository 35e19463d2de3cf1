"""The audit log: entries newest first, a page at a time, and verifying the hash chain
(both need audit.read)."""

from __future__ import annotations

import json

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.web.pages import page, page_router
from credsync.web.session import ViewerDep

router = page_router()

PAGE_SIZE = 100


@router.get("/audit")
def audit_page(
    request: Request,
    state: State,
    viewer: ViewerDep,
    action: str = Query("", max_length=64),
    operator: str = Query("", max_length=64),
    before: int | None = Query(None, ge=1),
) -> Response:
    entries = state.vault.audit.list(
        viewer.actor,
        action=action.strip() or None,
        actor_name=operator.strip() or None,
        before_seq=before,
        limit=PAGE_SIZE + 1,
    )
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    return page(
        request,
        "audit.html",
        viewer,
        title="Audit log",
        entries=entries,
        details={e.seq: json.dumps(e.details, sort_keys=True) for e in entries if e.details},
        action=action,
        operator=operator,
        next_before=entries[-1].seq if more and entries else None,
        paged=before is not None,
    )


@router.get("/audit/verify")
def audit_verify(request: Request, state: State, viewer: ViewerDep) -> Response:
    """Recompute the whole hash chain and compare it with the stored head."""
    report = state.vault.audit.verify(viewer.actor)
    return page(request, "audit_verify.html", viewer, title="Audit chain", report=report.to_json())
