"""Clients: list (with open flag counts), add, show, change, archive."""

from __future__ import annotations

from typing import Any

from fastapi import Query

from credsync.api.deps import Caller, State
from credsync.api.enforce import CONFIRM_RESPONSES, unconfirmed
from credsync.api.routing import api_router
from credsync.api.schemas import ClientIn, ClientPatch
from credsync.sync.enforce import EnforceSwitches, EnforceUnconfirmed
from credsync.types import SyncMode
from credsync.vault import Actor, Permission
from credsync.vault.models import ClientJson

router = api_router(prefix="/clients", tags=["clients"])


@router.get("", response_model=list[ClientJson])
def list_clients(
    actor: Caller,
    state: State,
    archived: bool = Query(False, description="Include archived clients."),
) -> list[ClientJson]:
    """Every client with its open flag count. Needs vault.read."""
    counts = state.vault.flags.counts(actor)
    return [
        c.to_json(open_flags=counts.get(c.name, 0))
        for c in state.vault.clients.list(actor, include_archived=archived)
    ]


@router.post("", response_model=ClientJson, status_code=201)
def add_client(body: ClientIn, actor: Caller, state: State) -> ClientJson:
    """Add a client (409 when the name is taken, in any case). Needs vault.write."""
    client = state.vault.clients.add(
        actor,
        state.keys,
        body.name,
        directory_sync=body.directory_sync,
        default_sync_mode=SyncMode(body.default_sync_mode),
        rotate_every_days=body.rotate_every_days,
    )
    return client.to_json(open_flags=0)


def _get(actor: Actor, state: State, ref: str) -> ClientJson:
    client = state.vault.clients.get(actor, ref)
    return client.to_json(open_flags=state.vault.flags.counts(actor).get(client.name, 0))


@router.get("/{ref}", response_model=ClientJson)
def get_client(ref: str, actor: Caller, state: State) -> ClientJson:
    """A client by id, id prefix or name. Needs vault.read."""
    return _get(actor, state, ref)


@router.patch("/{ref}", response_model=ClientJson, responses=CONFIRM_RESPONSES)
def change_client(
    ref: str,
    body: ClientPatch,
    actor: Caller,
    state: State,
    confirm: bool = Query(False, description="Go ahead with a switch to enforce or two_way."),
) -> Any:
    """Rename, set directory sync, the default sync mode and the rotation interval
    (``rotate_every_days``: given as null or 0, no rotation), archive or unarchive. A switch
    of the default to ``enforce`` or ``two_way`` is refused (409 ``confirm_enforce``, naming the
    accounts it would overwrite) unless ``confirm=true``. Needs vault.write (and
    directory.setup for the switch and the default)."""
    vault = state.vault
    current = vault.clients.get(actor, ref)
    version = body.version  # checked by the first change; the ones after follow it
    # Every permission first, so that a refused change leaves nothing half done.
    actor.require(Permission.VAULT_WRITE)
    if body.directory_sync is not None or body.default_sync_mode is not None:
        actor.require(Permission.DIRECTORY_SETUP)
    default_mode = SyncMode(body.default_sync_mode) if body.default_sync_mode else None
    switches, before = EnforceSwitches(vault), current
    try:
        switches.check_client_default(actor, current, default_mode, confirmed=confirm)
    except EnforceUnconfirmed as need:
        return unconfirmed(need)
    if body.name is not None and body.name != current.name:
        current = vault.clients.rename(actor, current.id, body.name, expected_version=version)
        version = None
    if body.directory_sync is not None or body.default_sync_mode is not None:
        current = vault.clients.configure(
            actor,
            current.id,
            directory_sync=body.directory_sync,
            default_sync_mode=default_mode,
            expected_version=version,
        )
        switches.default_switched(actor, before, default_mode)
        version = None
    if "rotate_every_days" in body.model_fields_set:
        current = vault.clients.set_rotation(
            actor, current.id, body.rotate_every_days, expected_version=version
        )
        version = None
    if body.archived is not None:
        current = vault.clients.set_archived(
            actor, current.id, body.archived, expected_version=version
        )
    return _get(actor, state, current.id)
