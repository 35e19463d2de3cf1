"""Clients, a client's credentials (a page at a time, with their checks) and directories, and
a credential: its fields, reveal (audited; post-redirect-get, see :mod:`credsync.web.reveals`)
of its password or of an earlier one, a new password, its history and its checks."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.sync.views import checks_of, given_up_pushes, last_runs, queued_pushes
from credsync.types import Secret
from credsync.vault.models import Credential
from credsync.web.forms import form_version
from credsync.web.pages import page, page_router, redirect, web_state
from credsync.web.reveals import Revealed
from credsync.web.session import Fields, Viewer, ViewerDep

router = page_router()

PAGE_SIZE = 50  # credentials per page of a client
CLIENTS_PAGE_SIZE = 50  # clients per page of the clients page
HIDE_AFTER_SECONDS = 30  # a revealed password is hidden again after this long (web.js)


@router.get("/")
def home(
    request: Request,
    state: State,
    viewer: ViewerDep,
    archived: bool = Query(False),
    q: str = Query("", max_length=200),
    after: str | None = Query(None, max_length=512),
) -> Response:
    """The clients the operator reaches, by name, a page at a time (the archived ones with
    ``archived``; those whose name contains ``q``), each with its credential, overdue and
    open flag counts (read for the page's clients alone)."""
    actor = viewer.actor
    found = state.vault.clients.page(
        actor, archived=archived, contains=q, after=after, limit=CLIENTS_PAGE_SIZE
    )
    kept = {"archived": "1"} if archived else {}
    if q.strip():
        kept["q"] = q.strip()
    return page(
        request,
        "home.html",
        viewer,
        title="Archived clients" if archived else "Clients",
        archived=archived,
        q=q.strip(),
        found=found,
        clients=found.clients,
        open_flags=state.vault.flags.counts(actor, [c.id for c in found.clients]),
        total_flags=0 if archived else state.vault.flags.total(actor),
        first_page=(f"/?{urlencode(kept)}" if kept else "/") if after else None,
        next_page=f"/?{urlencode({**kept, 'after': found.after})}" if found.after else None,
    )


@router.get("/clients/{ref}")
def client_page(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    after: str | None = Query(None, max_length=512),
    trash: bool = Query(False),
    password_unknown: bool = Query(False),
    overdue: bool = Query(False),
) -> Response:
    """A client: its credentials (by title, a page at a time; those in the trash with
    ``trash``; those whose directory password the vault does not know with
    ``password_unknown``; those overdue for rotation with ``overdue``) with their checks,
    and its directories."""
    vault, actor = state.vault, viewer.actor
    client = vault.clients.get(actor, ref)
    unknown = password_unknown and not trash
    overdue = overdue and not trash and not unknown
    creds = vault.credentials.list(
        actor,
        client.id,
        limit=PAGE_SIZE,
        cursor=after,
        trash=trash,
        password_unknown=unknown,
        overdue=overdue,
    )
    return page(
        request,
        "client.html",
        viewer,
        title=client.name,
        client=client,
        credentials=creds.items,
        next_cursor=creds.next_cursor,
        paged=after is not None,
        trash=trash,
        checks=checks_of(vault.db, actor, [c.id for c in creds.items]),
        directories=vault.directories.list(actor, client.id),
        last_runs=last_runs(vault.db, actor),
        open_flags=vault.flags.counts(actor).get(client.name, 0),
        password_unknown=unknown,
        overdue=overdue,
        unknown_count=sum(vault.credentials.password_unknown_counts(actor, client.id).values()),
    )


def _credential_page(
    request: Request,
    state: State,
    viewer: Viewer,
    cred: Credential,
    revealed: Revealed | None = None,
    *,
    status: int = 200,
    error: str = "",
    hidden_again: bool = False,
) -> Response:
    vault, actor = state.vault, viewer.actor
    return page(
        request,
        "credential.html",
        viewer,
        status=status,
        title=cred.title,
        cred=cred,
        revealed=revealed.current if revealed else None,
        revealed_version=revealed.version if revealed else None,
        hidden_again=hidden_again,
        hide_after=HIDE_AFTER_SECONDS,
        history=vault.credentials.history(actor, None, cred.id),
        checks=checks_of(vault.db, actor, [cred.id]).get(cred.id, []),
        queued=queued_pushes(vault.db, actor, cred.id),
        given_up=given_up_pushes(vault.db, actor, cred.id),
        error=error,
    )


@router.get("/credentials/{ref}")
def credential_page(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    shown: str | None = Query(None, max_length=64),
) -> Response:
    """A credential; with ``shown``, the key of a reveal just made (see
    :mod:`credsync.web.reveals`), the password it revealed, this once."""
    cred = state.vault.credentials.get(viewer.actor, ref, trashed=True)
    revealed = web_state(request).reveals.take(viewer.session_id, cred.id, shown)
    return _credential_page(
        request, state, viewer, cred, revealed, hidden_again=bool(shown) and revealed is None
    )


def _show(request: Request, viewer: Viewer, revealed: Revealed, anchor: str = "") -> Response:
    """To the credential's page, which shows what was revealed once (post-redirect-get)."""
    key = web_state(request).reveals.add(viewer.session_id, revealed)
    return redirect(request, f"/credentials/{revealed.credential_id}?shown={key}{anchor}")


@router.post("/credentials/{ref}/reveal")
def reveal(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Reveal the password and notes (needs secret.reveal; audited), then the page that
    shows them."""
    found = state.vault.credentials.reveal(viewer.actor, state.keys, ref)
    return _show(request, viewer, Revealed(found.credential.id, current=found))


@router.post("/credentials/{ref}/history/{version}/reveal")
def reveal_version(
    ref: str, version: int, request: Request, state: State, viewer: ViewerDep
) -> Response:
    """Reveal one earlier password (needs secret.reveal; audited as a reveal of that
    version), then the page that shows it in the history."""
    [entry] = state.vault.credentials.history(
        viewer.actor, state.keys, ref, reveal=True, version=version
    )
    revealed = Revealed(entry.credential_id, version=entry)
    return _show(request, viewer, revealed, f"#version-{entry.version}")


@router.post("/credentials/{ref}/password")
def set_password(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Store a new password, typed (twice) or generated; in enforce mode it is queued for the
    directories at once."""
    vault, actor = state.vault, viewer.actor
    current = vault.credentials.get(actor, ref)
    generate = fields.get("generate") == "on"
    typed = fields.get("password", "")
    if not generate:
        if not typed:
            return _credential_page(
                request, state, viewer, current, status=400,
                error="Type the new password (twice), or tick 'Generate one'.",
            )  # fmt: skip
        if typed != fields.get("password_again", ""):
            return _credential_page(
                request, state, viewer, current, status=400,
                error="The two passwords differ: nothing was saved.",
            )  # fmt: skip
    cred = vault.credentials.change_password(
        actor,
        state.keys,
        current.id,
        None if generate else Secret(typed),
        generate=generate,
        reason=fields.get("reason", "").strip(),
        expected_version=form_version(fields.get("version")),
    )
    queued = queued_pushes(vault.db, actor, cred.id)
    notice = f"Saved a new password (version {cred.secret_version})."
    if queued:
        names = ", ".join(sorted({q.directory for q in queued}))
        notice += f" Enforce mode: a push to {names} is queued for the agent."
    return redirect(request, f"/credentials/{cred.id}", viewer, notice)
