"""The admin's page of operators who sign in with Microsoft (``/microsoft-sign-in``): the
connection to the MSP's tenant (set up or changed; the secret is never shown, and left empty
the stored one stays) and the operators linked to identities there (link, unlink). The
services check the permission (admin) and write the audit entries."""

from __future__ import annotations

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.errors import Conflict, ConnectorError, InvalidInput, NotFound
from credsync.sync.operator_import import OperatorImport
from credsync.types import Secret
from credsync.vault import Permission
from credsync.web.forms import Form
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()
PAGE = "/microsoft-sign-in"
_SETUP_FIELDS = ("tenant_id", "client_id", "redirect_uri", "authority", "ca_pem")


def _page(
    request: Request,
    state: State,
    viewer: Viewer,
    *,
    setup: Form | None = None,
    link: Form | None = None,
    status: int = 200,
) -> Response:
    service = state.vault.operator_sign_in
    settings = service.show(viewer.actor)
    if setup is None:
        values: dict[str, object] = {} if settings is None else dict(settings.to_json())
        setup = Form({k: str(values.get(k) or "") for k in _SETUP_FIELDS if k != "ca_pem"})
        if not setup.values.get("redirect_uri"):
            base = str(request.base_url).rstrip("/")
            setup.values["redirect_uri"] = f"{base}/sign-in/microsoft/callback"
    return page(
        request, "microsoft_sign_in.html", viewer, status=status,
        title="Sign-in with Microsoft", settings=settings, setup=setup,
        link=link or Form({}), links=service.links(viewer.actor),
        operators=state.vault.operators.list(viewer.actor),
    )  # fmt: skip


@router.get(PAGE)
def show(request: Request, state: State, viewer: ViewerDep) -> Response:
    viewer.actor.require(Permission.ADMIN)
    return _page(request, state, viewer)


@router.post(PAGE)
def setup(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Connect the tenant (or change the connection); a refused form comes back (without
    the secret) with the field named."""
    viewer.actor.require(Permission.ADMIN)
    form = Form({k: fields.get(k, "").strip() for k in _SETUP_FIELDS})
    secret = fields.get("client_secret", "").strip()
    try:
        state.vault.operator_sign_in.setup(
            viewer.actor,
            state.keys,
            tenant_id=form.values["tenant_id"],
            client_id=form.values["client_id"],
            redirect_uri=form.values["redirect_uri"],
            client_secret=Secret(secret) if secret else None,
            authority=form.values["authority"] or None,
            ca_pem=form.values["ca_pem"] or None,
        )
    except InvalidInput as exc:
        form.refused(exc)
        return _page(request, state, viewer, setup=form, status=400)
    return redirect(request, PAGE, viewer, "Sign-in with Microsoft is set up.")


@router.post(f"{PAGE}/link")
def link(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    viewer.actor.require(Permission.ADMIN)
    form = Form({k: fields.get(k, "").strip() for k in ("operator", "object_id", "username")})
    try:
        linked = state.vault.operator_sign_in.link(
            viewer.actor,
            form.values["operator"],
            form.values["object_id"],
            username=form.values["username"],
        )
    except NotFound as exc:
        form.error("operator", str(exc))
    except (InvalidInput, Conflict) as exc:
        form.refused(exc)
    else:
        notice = f"{linked.operator} may now sign in with Microsoft."
        return redirect(request, PAGE, viewer, notice)
    return _page(request, state, viewer, link=form, status=400)


@router.post(f"{PAGE}/unlink")
def unlink(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    viewer.actor.require(Permission.ADMIN)
    name = fields.get("operator", "").strip()
    state.vault.operator_sign_in.unlink(viewer.actor, name)
    return redirect(request, PAGE, viewer, f"{name} no longer signs in with Microsoft.")


# -- the import of operators -----------------------------------------------------------------
IMPORT_PAGE = f"{PAGE}/import"


def _import_page(
    request: Request,
    state: State,
    viewer: Viewer,
    *,
    query: str = "",
    found: list[dict[str, object]] | None = None,
    report: dict[str, object] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    return page(
        request, "microsoft_import.html", viewer, status=status,
        title="Import operators from Microsoft", query=query, found=found, report=report,
        error=error, groups=state.vault.operator_groups.list(viewer.actor),
        roles=[r.name for r in state.vault.operators.roles(viewer.actor)],
        configured=state.vault.operator_sign_in.configured(),
    )  # fmt: skip


@router.get(IMPORT_PAGE)
def import_page(request: Request, state: State, viewer: ViewerDep, q: str = "") -> Response:
    """Search the tenant's users and groups (with ``q``), select, import; the mapped groups."""
    viewer.actor.require(Permission.ADMIN)
    if not q.strip():
        return _import_page(request, state, viewer)
    try:
        found = OperatorImport(state.vault, state.keys).search(viewer.actor, q, groups=True)
    except (InvalidInput, NotFound, ConnectorError) as exc:
        return _import_page(request, state, viewer, query=q, error=str(exc), status=400)
    return _import_page(request, state, viewer, query=q, found=list(found))


@router.post(IMPORT_PAGE)
def import_sync(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Import the users ticked (``user_<id>`` boxes) with the role chosen, and synchronise
    the mapped groups and the review; the report on the page."""
    viewer.actor.require(Permission.ADMIN)
    ids = [k.removeprefix("user_") for k in fields if k.startswith("user_")]
    role = fields.get("role", "viewer")
    try:
        report = OperatorImport(state.vault, state.keys).sync(viewer.actor, ids, role=role)
    except (InvalidInput, NotFound, ConnectorError) as exc:
        return _import_page(request, state, viewer, error=str(exc), status=400)
    return _import_page(request, state, viewer, report=report.to_json())


@router.post(f"{PAGE}/groups")
def map_group(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    viewer.actor.require(Permission.ADMIN)
    try:
        OperatorImport(state.vault, state.keys).map_group(
            viewer.actor, fields.get("group_id", ""), fields.get("role", ""), None
        )
    except (InvalidInput, NotFound, ConnectorError) as exc:
        return _import_page(request, state, viewer, error=str(exc), status=400)
    return redirect(request, IMPORT_PAGE, viewer, "The group is mapped.")


@router.post(f"{PAGE}/groups/unmap")
def unmap_group(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    viewer.actor.require(Permission.ADMIN)
    state.vault.operator_groups.remove(viewer.actor, fields.get("group_id", ""))
    return redirect(request, IMPORT_PAGE, viewer, "The group is no longer imported.")
