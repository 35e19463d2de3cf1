"""The remote agents page (``/remote-agents``, directory.setup; enrolling and rotating need
directory_admin.use too): the agents, enrolling one (its one-time token shown on the answer
page only), rotating and revoking. See docs/remote-agent.md; the services check the
permissions and write the audit entries."""

from __future__ import annotations

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.errors import InvalidInput, NotFound
from credsync.vault import Permission
from credsync.vault.remote_agents import Enrolment, RemoteAgents
from credsync.web.forms import Form
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()
PAGE = "/remote-agents"


def _page(
    request: Request,
    state: State,
    viewer: Viewer,
    *,
    form: Form | None = None,
    status: int = 200,
    enrolment: Enrolment | None = None,
) -> Response:
    agents = RemoteAgents(state.vault).list(viewer.actor)
    return page(
        request, "remote_agents.html", viewer, status=status, title="Remote agents",
        agents=agents, form=form or Form({"name": "", "directories": ""}),
        enrolment=enrolment,
    )  # fmt: skip


@router.get(PAGE)
def show(request: Request, state: State, viewer: ViewerDep) -> Response:
    viewer.actor.require(Permission.DIRECTORY_SETUP)
    return _page(request, state, viewer)


@router.post(PAGE)
def enroll(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Enrol an agent: the answer page shows its token, this once."""
    viewer.actor.require(Permission.DIRECTORY_SETUP, Permission.DIRECTORY_ADMIN_USE)
    form = Form({k: fields.get(k, "").strip() for k in ("name", "directories")})
    refs = [d.strip() for d in form.values["directories"].split(",") if d.strip()]
    try:
        made = RemoteAgents(state.vault).enroll(viewer.actor, form.values["name"], refs)
    except (InvalidInput, NotFound) as exc:
        form.refused(exc)
        return _page(request, state, viewer, form=form, status=400)
    return _page(request, state, viewer, enrolment=made)


@router.post(PAGE + "/{ref}/rotate")
def rotate(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """A new token (shown this once); the agent's keys stop working now."""
    viewer.actor.require(Permission.DIRECTORY_SETUP, Permission.DIRECTORY_ADMIN_USE)
    try:
        made = RemoteAgents(state.vault).rotate(viewer.actor, ref)
    except InvalidInput as exc:
        return redirect(request, PAGE, viewer, str(exc), "error")
    return _page(request, state, viewer, enrolment=made)


@router.post(PAGE + "/{ref}/revoke")
def revoke(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    viewer.actor.require(Permission.DIRECTORY_SETUP)
    done = RemoteAgents(state.vault).revoke(viewer.actor, ref)
    return redirect(request, PAGE, viewer, f"Remote agent {done.name} is revoked.")
