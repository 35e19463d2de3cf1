"""Flags on the dashboard: the open flags a page at a time (100, the most recently opened
first), filtered by client, directory, status and age, with their resolve actions; several
at once with the checkboxes ("push selected", "accept selected"); and confirming new links
(awaiting_confirmation: directory.setup, after a page naming the accounts the next run
overwrites).

A flag that holds a captured password (report mode: "the captured password is available:
accept it"; or a two-way conflict the vault won) offers **Accept the captured password**:
one click, no confirmation page (it changes the vault only: the password the directory
already has becomes the credential's, as the API's ``POST /flags/accept`` does), and the
same for the ticked flags. Needs vault.read and vault.write.

Pushing (one flag or several) and accepting the directory's state without its password (one
or several) first show a confirmation page naming what will happen: for a push, the directory
accounts whose password is overwritten; for an acceptance, the credentials whose directory
password the vault then does not know. Confirmed, they go through the same service calls as
the API's (:class:`~credsync.sync.resolve.Resolver`), each flag checked on its own. Accepting
with the directory's password (one flag) is done at once: the password is checked first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response

from credsync.api.deps import State
from credsync.errors import ConnectorError, InvalidInput, NotFound, SyncError
from credsync.sync.confirm import LinkConfirmations
from credsync.sync.enforce import EnforceUnconfirmed
from credsync.sync.engine import Engine
from credsync.sync.model import Status
from credsync.sync.resolve import LINKING, BulkItem, Resolver
from credsync.types import Secret
from credsync.vault import Permission
from credsync.vault.capture_views import captured_flags
from credsync.vault.flags import Flag, FlagFilter
from credsync.web.pages import local_path, page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

router = page_router()

PAGE_SIZE = 100  # flags per page
MAX_PICKED = 500  # flags one bulk action takes
_FILTERS = ("client", "directory", "status", "older_than", "since")
_DONE = {
    "pushed": "pushed the vault's password to the directory",
    "accepted": "accepted the directory's state (its password stays unknown to the vault)",
    "accepted_password": "stored the directory's password in the vault",
}

Action = Literal["push", "accept"]


async def picked_flags(request: Request) -> list[str]:
    """The flags ticked on a form (``flag``, once per flag; at most 500)."""
    if request.method != "POST":
        return []
    form = await request.form()
    return [v.strip() for v in form.getlist("flag") if isinstance(v, str) and v.strip()][
        :MAX_PICKED
    ]


Picked = Annotated[list[str], Depends(picked_flags)]


def _query(**given: str | None) -> str:
    kept = {k: v for k, v in given.items() if v}
    return f"?{urlencode(kept)}" if kept else ""


@router.get("/flags")
def flags_page(
    request: Request,
    state: State,
    viewer: ViewerDep,
    client: str | None = Query(None, max_length=200),
    directory: str | None = Query(None, max_length=100),
    status: str | None = Query(None, max_length=32),
    older_than: str | None = Query(None, max_length=40),
    since: str | None = Query(None, max_length=40),
    after: str | None = Query(None, max_length=64),
) -> Response:
    """Open flags (every one, or of a client, directory, status or age), the most recently
    opened first, a page at a time, with their resolve actions."""
    vault, actor = state.vault, viewer.actor
    given = {
        "client": client or None,
        "directory": directory or None,
        "status": status or None,
        "older_than": older_than or None,
        "since": since or None,
    }
    shown_client = vault.clients.get(actor, given["client"]) if given["client"] else None
    where = FlagFilter(
        shown_client.id if shown_client else None,
        given["directory"],
        given["status"],
        given["older_than"],
        given["since"],
    )
    found, next_cursor = vault.flags.page(actor, where, limit=PAGE_SIZE, cursor=after or None)
    here = "/flags" + _query(**given, after=after)
    clients = vault.clients.list(actor)
    ids = {c.name: c.id for c in clients}
    unknown = sorted(vault.credentials.password_unknown_counts(actor).items())
    return page(
        request,
        "flags.html",
        viewer,
        title="Open flags",
        flags=found,
        total=vault.flags.count(actor, where),
        client=shown_client,
        filters=given,
        filtered=any(given.values()),
        clients=clients,
        directories=vault.directories.list(actor),
        statuses=sorted(s.value for s in Status if s not in (Status.PENDING, Status.SKIPPED)),
        next_page="/flags" + _query(**given, after=next_cursor) if next_cursor else None,
        first_page="/flags" + _query(**given) if after else None,
        here=here,
        can_resolve=viewer.can("vault.write") and viewer.can("directory_admin.use"),
        can_accept_captured=viewer.can("vault.write"),
        captured=captured_flags(vault.db, actor, found),
        linking=LINKING,
        unknown=[(name, ids.get(name), count) for name, count in unknown],
        unknown_total=sum(count for _, count in unknown),
    )


def _require(viewer: Viewer) -> None:
    viewer.actor.require(
        Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_ADMIN_USE
    )


def _why_not(flag: Flag) -> str | None:
    """Why a flag can't be resolved from here (None: it can)."""
    if not flag.open:
        return f"already resolved ({flag.resolution})"
    if flag.status in LINKING:
        return "about linking: correct the username (or the directory), then sync again"
    return None


def _confirm_page(
    request: Request, state: State, viewer: Viewer, action: Action, ids: Sequence[str], back: str
) -> Response:
    flags = state.vault.flags.of_ids(viewer.actor, ids)
    known = {f.id for f in flags}
    ready = [f for f in flags if _why_not(f) is None]
    left_out = [(f.title, f.directory, _why_not(f) or "") for f in flags if _why_not(f)]
    left_out += [(ref, "", "no such flag") for ref in dict.fromkeys(ids) if ref not in known]
    title = "Push the vault's password?" if action == "push" else "Accept the directory's state?"
    return page(
        request,
        "flags_confirm.html",
        viewer,
        title=title,
        action=action,
        flags=ready,
        left_out=left_out,
        back=back,
    )


def _notice(done: list[BulkItem]) -> tuple[str, str]:
    """What a resolution of one or several flags says on the page it returns to."""
    good = [d for d in done if d.outcome in ("pushed", "accepted")]
    bad = [d for d in done if d.outcome not in ("pushed", "accepted")]
    parts = []
    if len(done) == 1 and done[0].flag is not None:
        flag, item = done[0].flag, done[0]
        what = f"{flag.title} ({flag.directory})"
        if good:
            return f"Flag on {what} resolved: {_DONE[item.outcome]}.", "ok"
        verb = "push" if item.outcome == "failed" else "resolution"
        return f"The {verb} for {what} did not work: {item.detail}", "error"
    if good:
        how = _DONE[good[0].outcome]
        parts.append(f"{len(good)} flag{'' if len(good) == 1 else 's'} resolved: {how}.")
    if bad:
        reasons = "; ".join(
            f"{d.flag.title if d.flag else d.flag_id[:8]}: {d.detail}" for d in bad[:5]
        )
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        parts.append(f"{len(bad)} not resolved: {reasons}{more}.")
    return " ".join(parts) or "Nothing was resolved.", "error" if bad else "ok"


def _resolve_many(
    request: Request, state: State, viewer: Viewer, action: Action, ids: Sequence[str], back: str
) -> Response:
    actor = viewer.actor
    resolver = Resolver(state.vault, Engine(state.vault, state.keys, actor), actor)
    many = resolver.push_many if action == "push" else resolver.accept_many
    done = asyncio.run(many(ids))
    text, kind = _notice(done)
    return redirect(request, back, viewer, text, kind)


def _act(
    request: Request,
    state: State,
    viewer: Viewer,
    fields: dict[str, str],
    action: str,
    ids: Sequence[str],
) -> Response:
    """Confirm first, then resolve (a form with ``confirmed=yes``); each flag on its own."""
    _require(viewer)
    back = local_path(fields.get("back"), "/flags")
    if action not in ("push", "accept"):
        raise InvalidInput("choose to push the vault's passwords or to accept the directories'")
    if not ids:
        return redirect(request, back, viewer, "Tick the flags to act on first.", "error")
    chosen: Action = "push" if action == "push" else "accept"
    if fields.get("confirmed") != "yes":
        return _confirm_page(request, state, viewer, chosen, ids, back)
    return _resolve_many(request, state, viewer, chosen, ids, back)


@router.post("/flags/selected")
def selected_flags(
    request: Request, state: State, viewer: ViewerDep, fields: Fields, picked: Picked
) -> Response:
    """The ticked flags: push the vault's passwords (``action=push``) or accept the
    directories' states (``action=accept``), after a confirmation page; or accept their
    captured passwords (``action=accept_captured``) at once."""
    action = fields.get("action", "")
    if action == "accept_captured":
        return _accept_captured(request, state, viewer, fields, picked)
    return _act(request, state, viewer, fields, action, picked)


def _accept_captured(
    request: Request, state: State, viewer: Viewer, fields: dict[str, str], ids: Sequence[str]
) -> Response:
    """Make each flag's captured password the credential's (see the module docstring)."""
    actor = viewer.actor
    actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
    back = local_path(fields.get("back"), "/flags")
    if not ids:
        return redirect(request, back, viewer, "Tick the flags to act on first.", "error")
    titles = {f.id: f"{f.title} ({f.directory})" for f in state.vault.flags.of_ids(actor, ids)}
    done = state.vault.capture_intake.accept_many(actor, state.keys, list(ids))
    good = [d for d in done if d.outcome == "accepted"]
    bad = [d for d in done if d.outcome != "accepted"]

    def name(ref: str) -> str:
        return next((t for i, t in titles.items() if i.startswith(ref)), ref[:8])

    if len(done) == 1 and good:
        text = (
            f"Flag on {name(good[0].flag_id)} resolved: the captured password is the "
            f"credential's now (version {good[0].secret_version})."
        )
        return redirect(request, back, viewer, text, "ok")
    parts = []
    if good:
        parts.append(
            f"{len(good)} flag{'' if len(good) == 1 else 's'} resolved: the captured "
            "password is the credential's now."
        )
    if bad:
        reasons = "; ".join(f"{name(d.flag_id)}: {d.detail}" for d in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        parts.append(f"{len(bad)} not resolved: {reasons}{more}.")
    return redirect(request, back, viewer, " ".join(parts), "error" if bad else "ok")


@router.post("/flags/{flag_id}/accept-captured")
def accept_captured_flag(
    flag_id: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Make the flag's captured password the credential's current one, at once."""
    return _accept_captured(request, state, viewer, fields, [flag_id])


@router.post("/flags/{flag_id}/push")
def push_flag(
    flag_id: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Push the vault's password to the directory now, whatever the credential's mode (after
    a confirmation page naming the account it overwrites)."""
    return _act(request, state, viewer, fields, "push", [flag_id])


@router.post("/flags/{flag_id}/accept")
def accept_flag(
    flag_id: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Accept the directory's password when one is given (checked first), else its state
    (report mode; after a confirmation page)."""
    password = fields.get("password", "")
    if not password:
        return _act(request, state, viewer, fields, "accept", [flag_id])
    _require(viewer)
    back = local_path(fields.get("back"), "/flags")
    actor = viewer.actor
    resolver = Resolver(state.vault, Engine(state.vault, state.keys, actor), actor)
    try:
        result = asyncio.run(resolver.accept(flag_id, Secret(password)))
    except (InvalidInput, ConnectorError, SyncError) as exc:
        return redirect(request, back, viewer, f"Not resolved: {exc}", "error")
    flag = result.flag
    text = f"Flag on {flag.title} ({flag.directory}) resolved: {_DONE[result.outcome]}."
    if result.detail:
        text += f" {result.detail[:1].upper()}{result.detail[1:]}."
    return redirect(request, back, viewer, text, "ok")


# -- confirming new links (awaiting_confirmation) ----------------------------------------
@router.post("/flags/confirm")
def confirm_links(
    request: Request, state: State, viewer: ViewerDep, fields: Fields, chosen: Picked
) -> Response:
    """Confirm new links for pushes: first a page naming the accounts the next run
    overwrites, then (``confirm=yes``) the confirmation. Needs vault.write and
    directory.setup."""
    actor = viewer.actor
    actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)
    back = local_path(fields.get("back"), "/flags")
    confirmations = LinkConfirmations(state.vault)
    try:
        done = confirmations.confirm(actor, chosen, confirmed=fields.get("confirm") == "yes")
    except EnforceUnconfirmed as need:
        flags = [state.vault.flags.get(actor, ref) for ref in chosen]
        return page(
            request,
            "links_confirm.html",
            viewer,
            title="Confirm new links",
            flags=flags,
            impact=need.preview.impact,
            summary=need.preview.summary,
            back=back,
        )
    except (InvalidInput, NotFound) as exc:
        return redirect(request, back, viewer, f"Not confirmed: {exc}", "error")
    count = sum(1 for f in done if f.resolution == "confirmed")
    what = (
        "1 link: the next run pushes through it"
        if count == 1
        else (f"{count} links: the next run pushes through them")
    )
    return redirect(request, back, viewer, f"Confirmed {what}.")
