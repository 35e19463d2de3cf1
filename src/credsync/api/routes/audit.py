"""The audit log: entries newest first, a page at a time, and verifying the hash chain."""

from __future__ import annotations

from fastapi import Query

from credsync.api.deps import Caller, Cursor, Limit, State
from credsync.api.routing import api_router
from credsync.api.schemas import AuditPage
from credsync.vault.audit import VerifyReportJson, time_window
from credsync.vault.listing import bad_cursor

router = api_router(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def list_audit(
    actor: Caller,
    state: State,
    limit: Limit = 100,
    cursor: Cursor = None,
    action: str | None = Query(
        None, max_length=64, description="e.g. credential.reveal, or auth.*"
    ),
    target: str | None = Query(None, max_length=64, description="A target id."),
    operator: str | None = Query(None, max_length=64),
    client: str | None = Query(None, max_length=200, description="A client's name or id."),
    since: str | None = Query(
        None,
        max_length=40,
        description="From this day (2026-03-01) or time (ISO 8601; UTC unless it says).",
    ),
    until: str | None = Query(
        None,
        max_length=40,
        description="To this day (included) or time (left out); as ``since``.",
    ),
) -> AuditPage:
    """Audit entries, newest first, each with the names of its target and client (needs
    audit.read)."""
    before = None
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
            raise bad_cursor()
        before = int(cursor)
    start, end = time_window(since, until)
    client_id = state.vault.clients.get(actor, client).id if client else None
    entries = state.vault.audit.list(
        actor,
        action=action,
        target_id=target,
        client_id=client_id,
        actor_name=operator,
        since=start,
        until=end,
        before_seq=before,
        limit=limit + 1,
    )
    more = len(entries) > limit
    entries = entries[:limit]
    return AuditPage(
        items=[e.to_json() for e in entries], next_cursor=str(entries[-1].seq) if more else None
    )


@router.get("/verify", response_model=VerifyReportJson)
def verify_audit(actor: Caller, state: State) -> VerifyReportJson:
    """Check the whole hash chain (``ok`` false names the first bad entry). Needs audit.read."""
    return state.vault.audit.verify(actor).to_json()
