"""Provisioning people to a client's directory (issue 16, "Provision to Office 365"): the
target directory's settings (read: vault.read; change: directory.setup), the plan (what an
apply would create, update, license; vault.read and directory.setup) and the apply
(directory.setup and vault.write). The rules are :mod:`credsync.sync.provision_people`'s."""

from __future__ import annotations

from credsync.api.deps import Caller, State
from credsync.api.routes.sync import run_coroutine
from credsync.api.routing import api_router
from credsync.api.schemas_provisioning import ProvisionIn, ProvisioningIn
from credsync.sync.provision_people import PeopleProvision, ProvisionSelection
from credsync.sync.provision_people_report import ProvisionReport, ProvisionReportJson
from credsync.vault.provisioning import ProvisioningJson

router = api_router(tags=["people"])


@router.get("/directories/{ref}/provisioning", response_model=ProvisioningJson)
def get_provisioning(ref: str, actor: Caller, state: State) -> ProvisioningJson:
    """The directory's provisioning settings (needs vault.read); version 0: never saved."""
    directory, settings = state.vault.provisioning.settings(actor, ref)
    return settings.to_json(directory.name)


@router.patch("/directories/{ref}/provisioning", response_model=ProvisioningJson)
def change_provisioning(
    ref: str, body: ProvisioningIn, actor: Caller, state: State
) -> ProvisioningJson:
    """Change the directory's provisioning settings (needs directory.setup). A bad value is a
    400 naming the field."""
    given = body.model_dump(exclude_unset=True, exclude={"version"})
    directory, settings = state.vault.provisioning.update(
        actor, ref, given, expected_version=body.version
    )
    return settings.to_json(directory.name)


def _selection(body: ProvisionIn) -> ProvisionSelection:
    return ProvisionSelection(people=tuple(body.people), group=body.group)


@router.post("/people/provision/plan", response_model=ProvisionReportJson)
def plan_provision(body: ProvisionIn, actor: Caller, state: State) -> ProvisionReportJson:
    """What an apply would write, per person (reads the directory; writes nothing)."""

    async def planned() -> ProvisionReport:
        return await PeopleProvision(state.vault, state.keys, actor).plan(
            body.client, body.directory, _selection(body)
        )

    return run_coroutine(planned).to_json()


@router.post("/people/provision/apply", response_model=ProvisionReportJson)
def apply_provision(body: ProvisionIn, actor: Caller, state: State) -> ProvisionReportJson:
    """Provision the selection: per person created, updated, licensed, password set, or
    refused and why."""

    async def done() -> ProvisionReport:
        return await PeopleProvision(state.vault, state.keys, actor).apply(
            body.client, body.directory, _selection(body)
        )

    return run_coroutine(done).to_json()
