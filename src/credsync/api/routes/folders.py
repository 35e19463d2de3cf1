"""A client's folders: list, add, delete (an empty one)."""

from __future__ import annotations

from credsync.api.deps import Caller, State
from credsync.api.errors import field_names
from credsync.api.routing import api_router
from credsync.api.schemas import FolderIn
from credsync.vault.models import FolderJson

router = api_router(prefix="/clients/{client}/folders", tags=["folders"])


@router.get("", response_model=list[FolderJson])
def list_folders(client: str, actor: Caller, state: State) -> list[FolderJson]:
    """The client's folders by path. Needs vault.read."""
    return [f.to_json() for f in state.vault.clients.folders(actor, client)]


@router.post("", response_model=FolderJson, status_code=201)
@field_names(folder="path")
def add_folder(client: str, body: FolderIn, actor: Caller, state: State) -> FolderJson:
    """Add a folder (a path such as ``Servers/DCs``; 409 when the client has it already).
    Needs vault.write."""
    return state.vault.clients.add_folder(actor, client, body.path).to_json()


@router.delete("/{folder:path}", response_model=FolderJson)
def delete_folder(client: str, folder: str, actor: Caller, state: State) -> FolderJson:
    """Delete an empty folder (its path, slashes escaped or not). A folder that still holds
    credentials, counting the trash, is refused (400). Needs vault.write."""
    return state.vault.clients.delete_folder(actor, client, folder).to_json()
