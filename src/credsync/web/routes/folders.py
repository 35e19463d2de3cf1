"""A client's folders on the dashboard: the list (vault.read), adding one and deleting an
empty one (vault.write), with the services ``credsync folder`` and the API use."""

from __future__ import annotations

from types import MappingProxyType

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.errors import Conflict, InvalidInput
from credsync.vault import Permission
from credsync.vault.models import Client
from credsync.web.forms import Form
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()


class FolderForm(Form):
    """A new folder's path as typed."""

    default_field = "path"
    field_names = MappingProxyType({"folder": "path"})  # the service's name for a path


def _folders_page(
    request: Request,
    state: State,
    viewer: Viewer,
    client: Client,
    form: FolderForm | None = None,
    *,
    status: int = 200,
    error: str = "",
) -> Response:
    return page(
        request,
        "folders.html",
        viewer,
        status=status,
        title=f"{client.name}: folders",
        client=client,
        folders=state.vault.clients.folders(viewer.actor, client.id),
        form=form or FolderForm({}),
        error=error,
    )


@router.get("/clients/{ref}/folders")
def folders(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The client's folders by path."""
    client = state.vault.clients.get(viewer.actor, ref)
    return _folders_page(request, state, viewer, client)


@router.post("/clients/{ref}/folders")
def add_folder(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Add a folder (a path such as ``Servers/Domain controllers``)."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    client = vault.clients.get(actor, ref)
    form = FolderForm({"path": fields.get("path", "").strip()})
    if not form.values["path"]:
        form.error("path", "Give the folder's path.")
    else:
        try:
            folder = vault.clients.add_folder(actor, client.id, form.values["path"])
        except (InvalidInput, Conflict) as exc:
            form.refused(exc)
        else:
            return redirect(
                request, f"/clients/{client.id}/folders", viewer, f"Added folder {folder.path}."
            )
    return _folders_page(request, state, viewer, client, form, status=400)


@router.post("/clients/{ref}/folders/delete")
def delete_folder(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Delete an empty folder (one that holds credentials, the trash's too, is refused)."""
    vault, actor = state.vault, viewer.actor
    actor.require(Permission.VAULT_WRITE)
    client = vault.clients.get(actor, ref)
    try:
        folder = vault.clients.delete_folder(actor, client.id, fields.get("path", ""))
    except InvalidInput as exc:
        message = str(exc)
        return _folders_page(
            request,
            state,
            viewer,
            client,
            status=400,
            error="Nothing was deleted: " + message[:1].lower() + message[1:],
        )
    return redirect(
        request, f"/clients/{client.id}/folders", viewer, f"Deleted folder {folder.path}."
    )
