"""Operators and API tokens on the dashboard, with the services ``credsync operator``/``token``
and the API use (the services check the permissions and write the audit entries).

Operators (admin): the list, adding one with a role and a password, and an operator's page:
its role, its client access (every client, or the clients ticked), disabling or enabling it
(its sessions and tokens stop at once), a new password for another operator, and its API
tokens. One's own page is open to every operator (its tokens).

API tokens: every operator's own (``/tokens``: create, revoke), everyone's with admin
(``/tokens?all=1``), and an admin creates one for another operator from that operator's
page. A new token's value is on the page that answers its creation, that once; only its
SHA-256 is stored.
"""

from __future__ import annotations

import datetime as dt

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.errors import Conflict, InvalidInput, NotFound
from credsync.types import Secret
from credsync.vault import Permission
from credsync.vault.models import ApiToken, Operator
from credsync.web.forms import Form
from credsync.web.pages import local_path, page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()

MAX_TOKEN_DAYS = 3650  # as the API's


def _role_names(state: State, viewer: Viewer) -> list[str]:
    return [r.name for r in state.vault.operators.roles(viewer.actor)]


def _passwords(form: Form, fields: dict[str, str]) -> str:
    """The new password typed twice (never kept in the form's values)."""
    typed = fields.get("password", "")
    if not typed:
        form.error("password", "Type the password (twice).")
    elif typed != fields.get("password_again", ""):
        form.error("password_again", "The two passwords differ.")
    return typed


# -- operators -------------------------------------------------------------------------------
@router.get("/operators")
def operators(request: Request, state: State, viewer: ViewerDep) -> Response:
    """Every operator with their role and last sign-in (admin)."""
    found = state.vault.operators.list(viewer.actor)
    return page(request, "operators.html", viewer, title="Operators", operators=found)


def _new_page(
    request: Request, state: State, viewer: Viewer, form: Form, *, status: int = 200
) -> Response:
    return page(
        request,
        "operator_form.html",
        viewer,
        status=status,
        title="Add an operator",
        form=form,
        roles=_role_names(state, viewer),
        clients=state.vault.clients.list(viewer.actor, include_archived=True),
    )


@router.get("/operators/new")
def new_operator(request: Request, state: State, viewer: ViewerDep) -> Response:
    viewer.actor.require(Permission.ADMIN)
    return _new_page(request, state, viewer, Form({"role": "technician"}))


@router.post("/operators/new")
def add_operator(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Add the operator, then their page; a refused form comes back (without the passwords)."""
    actor = viewer.actor
    actor.require(Permission.ADMIN)
    ticked = _ticked(fields)
    form = Form(
        {
            "name": fields.get("name", "").strip(),
            "role": fields.get("role", "").strip(),
            "access": "all" if fields.get("access", "all") == "all" else "listed",
            "clients": ",".join(ticked),
        }
    )
    if not form.values["name"]:
        form.error("name", "Give the operator a name.")
    if not form.values["role"]:
        form.error("role", "Choose a role.")
    password = _passwords(form, fields)
    if not form.errors:
        try:
            op = state.vault.operators.add(
                actor,
                form.values["name"],
                Secret(password),
                form.values["role"],
                None if form.values["access"] == "all" else ticked,
            )
        except NotFound as exc:  # the role
            form.error("role", str(exc))
        except (InvalidInput, Conflict) as exc:
            form.refused(exc)
        else:
            notice = f"Added {op.name} ({op.role}). They sign in with the password you gave."
            return redirect(request, f"/operators/{op.id}", viewer, notice)
    return _new_page(request, state, viewer, form, status=400)


def _ticked(fields: dict[str, str]) -> list[str]:
    """The ids of the clients ticked in a client-access form (``client_<id>`` boxes)."""
    return [k.removeprefix("client_") for k in fields if k.startswith("client_")]


def _tokens_of(state: State, viewer: Viewer, op: Operator) -> list[ApiToken]:
    if op.id == viewer.actor.operator_id:
        return state.vault.access.list_tokens(viewer.actor)
    every = state.vault.access.list_tokens(viewer.actor, everyone=True)
    return [t for t in every if t.operator == op.name]


def _operator_page(
    request: Request,
    state: State,
    viewer: Viewer,
    ref: str,
    *,
    form: Form | None = None,
    status: int = 200,
) -> Response:
    op = state.vault.operators.get(viewer.actor, ref)
    admin = viewer.can(Permission.ADMIN.value)
    return page(
        request,
        "operator.html",
        viewer,
        status=status,
        title=op.name,
        op=op,
        me=op.id == viewer.actor.operator_id,
        roles=_role_names(state, viewer) if admin else [],
        clients=state.vault.clients.list(viewer.actor, include_archived=True) if admin else [],
        tokens=_tokens_of(state, viewer, op),
        form=form or Form({}),
    )


@router.get("/operators/{ref}")
def operator_page(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """An operator (oneself, or anyone with admin)."""
    return _operator_page(request, state, viewer, ref)


@router.post("/operators/{ref}/role")
def set_role(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Give another role (admin; the last active admin keeps theirs). It applies to the
    operator's next request."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.ADMIN)
    op = vault.operators.get(actor, ref)
    role = fields.get("role", "").strip()
    if role == op.role:
        return redirect(request, f"/operators/{op.id}", viewer, "Nothing changed.", "info")
    try:
        op = vault.operators.set_role(actor, op.id, role)
    except (InvalidInput, NotFound) as exc:
        form = Form({"role": role})
        form.error("role", str(exc))
        return _operator_page(request, state, viewer, op.id, form=form, status=400)
    return redirect(request, f"/operators/{op.id}", viewer, f"{op.name} is now {op.role}.")


@router.post("/operators/{ref}/clients")
def set_clients(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Client access: every client, or only the clients ticked (admin). It applies to the
    operator's next request."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.ADMIN)
    op = vault.operators.get(actor, ref)
    chosen = None if fields.get("access") == "all" else _ticked(fields)
    try:
        op = vault.operators.set_clients(actor, op.id, chosen)
    except InvalidInput as exc:
        form = Form({})
        form.error("clients", str(exc))
        return _operator_page(request, state, viewer, op.id, form=form, status=400)
    shown = op.client_access if op.clients is None else ", ".join(n for _, n in op.clients)
    return redirect(request, f"/operators/{op.id}", viewer, f"{op.name} now reaches: {shown}.")


def _set_disabled(
    ref: str, request: Request, state: State, viewer: Viewer, disabled: bool
) -> Response:
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.ADMIN)
    op = vault.operators.get(actor, ref)
    try:
        op = vault.operators.set_disabled(actor, op.id, disabled)
    except InvalidInput as exc:
        form = Form({})
        form.error("disabled", str(exc))
        return _operator_page(request, state, viewer, op.id, form=form, status=400)
    notice = (
        f"Disabled {op.name}: their sign-in, sessions and API tokens stopped working."
        if disabled
        else f"Enabled {op.name}: they can sign in again."
    )
    return redirect(request, f"/operators/{op.id}", viewer, notice)


@router.post("/operators/{ref}/disable")
def disable_operator(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Disable (admin; not the last active admin)."""
    return _set_disabled(ref, request, state, viewer, True)


@router.post("/operators/{ref}/enable")
def enable_operator(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Enable again (admin)."""
    return _set_disabled(ref, request, state, viewer, False)


@router.post("/operators/{ref}/password")
def reset_password(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """A new password for another operator (admin). One's own is changed with the current
    one, which this form does not ask for: ``credsync operator passwd``."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.ADMIN)
    op = vault.operators.get(actor, ref)
    form = Form({})
    if op.id == actor.operator_id:
        form.error("password", "Change your own password with `credsync operator passwd`.")
        return _operator_page(request, state, viewer, op.id, form=form, status=400)
    password = _passwords(form, fields)
    if not form.errors:
        try:
            change = vault.operators.set_password(actor, op.id, Secret(password))
        except InvalidInput as exc:
            form.error("password", str(exc))
        else:
            ended = change.sessions_ended
            told = f"Set {op.name}'s password; {ended} web and CLI session(s) of theirs ended."
            if change.tokens_left:
                told += (
                    f" {change.tokens_left} API token(s) of theirs still work: revoke them on"
                    " the API tokens page if the old password may have leaked."
                )
            return redirect(request, f"/operators/{op.id}", viewer, told)
    return _operator_page(request, state, viewer, op.id, form=form, status=400)


# -- API tokens ------------------------------------------------------------------------------
def _tokens_page(
    request: Request,
    state: State,
    viewer: Viewer,
    *,
    everyone: bool = False,
    form: Form | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        "tokens.html",
        viewer,
        status=status,
        title="Everyone's API tokens" if everyone else "Your API tokens",
        tokens=state.vault.access.list_tokens(viewer.actor, everyone=everyone),
        everyone=everyone,
        form=form or Form({}),
    )


@router.get("/tokens")
def tokens(
    request: Request, state: State, viewer: ViewerDep, everyone: bool = Query(False, alias="all")
) -> Response:
    """Your API tokens (never their values), or everyone's (admin)."""
    return _tokens_page(request, state, viewer, everyone=everyone)


@router.post("/tokens/new")
def create_token(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Create a token (for yourself; for another operator with admin): the page shows its
    value this once."""
    actor = viewer.actor
    form = Form(
        {
            "name": fields.get("name", "").strip(),
            "expires_days": fields.get("expires_days", "").strip(),
            "operator": fields.get("operator", "").strip(),
        }
    )
    days = None
    if not form.values["name"]:
        form.error("name", "Give the token a name (what it is for).")
    if form.values["expires_days"]:
        try:
            days = int(form.values["expires_days"])
        except ValueError:
            days = 0
        if not 1 <= days <= MAX_TOKEN_DAYS:
            form.error("expires_days", f"The lifetime is 1 to {MAX_TOKEN_DAYS} days, or empty.")
    back = local_path(fields.get("back"), "/tokens")
    if not form.errors:
        try:
            token, secret = state.vault.access.create_token(
                actor,
                form.values["name"],
                operator=form.values["operator"] or None,
                expires_in=dt.timedelta(days=days) if days else None,
            )
        except InvalidInput as exc:
            form.refused(exc)
        else:
            return page(
                request,
                "token_created.html",
                viewer,
                title=f"API token {token.name}",
                token=token,
                value=secret.reveal(),
                back=back,
            )
    if form.values["operator"]:  # from an operator's page
        return _operator_page(
            request, state, viewer, form.values["operator"], form=form, status=400
        )
    return _tokens_page(request, state, viewer, form=form, status=400)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    token_id: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Revoke a token (your own, or anyone's with admin): it stops working at once."""
    token = state.vault.access.revoke_token(viewer.actor, token_id)
    back = local_path(fields.get("back"), "/tokens")
    return redirect(request, back, viewer, f"Revoked {token.operator}'s token {token.name}.")
