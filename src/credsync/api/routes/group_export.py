"""The export of a client's groups to one of its directories (issue 16, Passly's group export
rules): the settings, a plan, and an apply. The rules are
:mod:`credsync.sync.provision_groups`'s: a plan needs directory.setup and vault.read, an
apply and a change of the settings directory.setup and vault.write."""

from __future__ import annotations

from fastapi import Query

from credsync.api.deps import Caller, State
from credsync.api.routes.sync import run_coroutine
from credsync.api.routing import api_router
from credsync.api.schemas_group_export import (
    GroupExportApplyIn,
    GroupExportPlanIn,
    GroupExportSettingsIn,
)
from credsync.sync.provision_groups import (
    ExportPlan,
    GroupExportPlanJson,
    GroupExportSettingsJson,
    ProvisionGroups,
)

router = api_router(prefix="/groups/export", tags=["groups"])


@router.get("/settings", response_model=GroupExportSettingsJson)
def export_settings(
    actor: Caller,
    state: State,
    client: str = Query(max_length=200),
    directory: str = Query(max_length=200),
) -> GroupExportSettingsJson:
    """The directory's group export settings (the defaults until changed)."""
    return ProvisionGroups(state.vault, state.keys, actor).settings(client, directory).to_json()


@router.patch("/settings", response_model=GroupExportSettingsJson)
def change_export_settings(
    body: GroupExportSettingsIn, actor: Caller, state: State
) -> GroupExportSettingsJson:
    """Change the settings given (the others stay); audited."""
    changes = body.model_dump(exclude={"client", "directory"}, exclude_none=True)
    service = ProvisionGroups(state.vault, state.keys, actor)
    return service.configure(body.client, body.directory, changes).to_json()


@router.post("/plan", response_model=GroupExportPlanJson)
def plan_export(body: GroupExportPlanIn, actor: Caller, state: State) -> GroupExportPlanJson:
    """What an apply would do, per group (its object: linked, matched, to create, or why
    not; the members to add and remove) and the duplicates to remove; writes nothing."""

    async def planned() -> ExportPlan:
        return await ProvisionGroups(state.vault, state.keys, actor).plan(
            body.client, body.directory, body.groups
        )

    return run_coroutine(planned).to_json()


@router.post("/apply", response_model=GroupExportPlanJson)
def apply_export(body: GroupExportApplyIn, actor: Caller, state: State) -> GroupExportPlanJson:
    """Plan again and carry it out; duplicates are removed only when ``confirm_duplicates``
    is exactly their ids (another list is refused before any write)."""

    async def done() -> ExportPlan:
        return await ProvisionGroups(state.vault, state.keys, actor).apply(
            body.client, body.directory, body.groups, confirm_duplicates=body.confirm_duplicates
        )

    return run_coroutine(done).to_json()
