"""The check of deleted and disabled objects (issue 16): which of a client's people and
groups have a deleted, disabled or gone object in one of its directories, and the chosen
action per object. The rules are :mod:`credsync.sync.deleted_check`'s: the check needs
directory.setup and vault.read on the client, apply also vault.write."""

from __future__ import annotations

from credsync.api.deps import Caller, State
from credsync.api.routes.sync import run_coroutine
from credsync.api.routing import api_router
from credsync.api.schemas_deleted import DeletedApplyIn, DeletedCheckIn
from credsync.sync.deleted_check import DeletedCheck
from credsync.sync.deleted_report import Choice, DeletedApplyJson, DeletedCheckJson

router = api_router(prefix="/people/deleted", tags=["people"])


@router.post("/check", response_model=DeletedCheckJson)
def check_deleted(body: DeletedCheckIn, actor: Caller, state: State) -> DeletedCheckJson:
    """The client's people and groups whose object in the directory is deleted, disabled or
    gone, each with the actions that apply; writes nothing."""

    async def found() -> DeletedCheckJson:
        return await DeletedCheck(state.vault, state.keys, actor).check(
            body.client, body.directory, include_kept=body.include_kept
        )

    return run_coroutine(found)


@router.post("/apply", response_model=DeletedApplyJson)
def apply_deleted(body: DeletedApplyIn, actor: Caller, state: State) -> DeletedApplyJson:
    """Carry out the chosen actions (disable, delete, restore, keep): one line per object,
    done, refused or skipped and why."""
    choices = [
        Choice(c.object_id, c.action, kind=c.kind, new_username=c.new_username)
        for c in body.choices
    ]

    async def done() -> DeletedApplyJson:
        return await DeletedCheck(state.vault, state.keys, actor).apply(
            body.client, body.directory, choices
        )

    return run_coroutine(done)
