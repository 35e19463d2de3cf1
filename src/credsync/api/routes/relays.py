"""Relays: a client's AD -> Office 365 password relays (list, add, show, change, remove) and
their plans and runs. The rules are :mod:`credsync.vault.relays`'s; plans and runs read the
directories (:mod:`credsync.sync.relay`)."""

from __future__ import annotations

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from credsync.api.deps import Caller, State
from credsync.api.routes.sync import run_coroutine
from credsync.api.routing import api_router
from credsync.sync.relay import RelayReport, RelayReportJson, RelayRunner
from credsync.vault.relay_settings import MatchRule
from credsync.vault.relays import RelayJson

router = api_router(prefix="/relays", tags=["relays"])


class RelaySettingsIn(BaseModel):
    """A relay's settings; in a change only the fields given change (a list replaces)."""

    model_config = ConfigDict(extra="forbid")

    scope_ous: list[str] | None = Field(
        default=None, max_length=50, description="OU DNs whose subtrees are in scope (none: all)."
    )
    scope_groups: list[str] | None = Field(
        default=None, max_length=50, description="Group DNs; members (nested too) are in scope."
    )
    enabled_only: bool | None = None
    filters: list[str] | None = Field(
        default=None, max_length=50, description="ATTRIBUTE=VALUE each, e.g. department=Sales."
    )
    suffix_map: dict[str, str] | list[str] | None = Field(
        default=None, description="AD UPN suffix -> Office 365 UPN suffix."
    )
    match: list[MatchRule] | None = Field(
        default=None, description="Match rules in order (default: link, immutable_id, upn, mail)."
    )
    never_expires: bool | None = None
    mirror_disable: bool | None = None
    allow_admins: list[str] | None = Field(
        default=None, max_length=50, description="Office 365 admins (UPNs) that may be matched."
    )


class RelayIn(RelaySettingsIn):
    client: str = Field(max_length=200)
    name: str = Field(max_length=100)
    source: str = Field(max_length=200, description="The AD directory (name or id).")
    target: str = Field(max_length=200, description="The Entra directory (name or id).")


class RelayPatch(RelaySettingsIn):
    version: int | None = Field(
        default=None, description="Refuse (409) if the relay changed since it was read."
    )


class RelayRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    apply: bool = Field(default=False, description="Link and push (needs directory.setup).")


@router.get("", response_model=list[RelayJson])
def list_relays(
    actor: Caller,
    state: State,
    client: str | None = Query(None, max_length=200, description="Only this client's."),
) -> list[RelayJson]:
    """Relays by client and name (needs vault.read)."""
    return [r.to_json() for r in state.vault.relays.list(actor, client)]


@router.post("", response_model=RelayJson, status_code=201)
def add_relay(body: RelayIn, actor: Caller, state: State) -> RelayJson:
    """Define a relay (needs directory.setup): its source (a directory passwords may come
    from) and target (one they may go to) of the same client, and its settings. A bad value
    is a 400 naming the field."""
    settings = body.model_dump(exclude_unset=True, exclude={"client", "name", "source", "target"})
    relay = state.vault.relays.add(
        actor, body.client, body.name, source=body.source, target=body.target, settings=settings
    )
    return relay.to_json()


@router.get("/{ref}", response_model=RelayJson)
def get_relay(ref: str, actor: Caller, state: State) -> RelayJson:
    """A relay by name (any case) or id (needs vault.read)."""
    return state.vault.relays.get(actor, ref).to_json()


@router.patch("/{ref}", response_model=RelayJson)
def change_relay(ref: str, body: RelayPatch, actor: Caller, state: State) -> RelayJson:
    """Change a relay's settings (needs directory.setup)."""
    given = body.model_dump(exclude_unset=True, exclude={"version"})
    return state.vault.relays.update(actor, ref, given, expected_version=body.version).to_json()


@router.delete("/{ref}", response_model=RelayJson)
def remove_relay(ref: str, actor: Caller, state: State) -> RelayJson:
    """Remove a relay and its pairs (needs directory.setup); the links it made stay."""
    return state.vault.relays.remove(actor, ref).to_json()


@router.post("/{ref}/plan", response_model=RelayReportJson)
def plan_relay(ref: str, actor: Caller, state: State) -> RelayReportJson:
    """For every in-scope source user: the target user it matches and by which rule, or why
    not (needs vault.read). Reads both directories; stores and writes nothing."""

    async def planned() -> RelayReport:
        return await RelayRunner(state.vault, state.keys, actor).plan(ref)

    return run_coroutine(planned).to_json()


@router.post("/{ref}/runs", response_model=RelayReportJson)
def run_relay(
    ref: str, actor: Caller, state: State, body: RelayRunIn | None = None
) -> RelayReportJson:
    """A relay run over the whole scope, stored with the other runs (kind ``relay``): a dry
    run (needs vault.read) unless ``apply`` (needs directory.setup and vault.write)."""
    apply = body.apply if body is not None else False

    async def ran() -> RelayReport:
        return await RelayRunner(state.vault, state.keys, actor).run(
            ref, apply=apply, trigger="api"
        )

    return run_coroutine(ran).to_json()
