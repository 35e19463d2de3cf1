"""Saved import selections (issue 16): a client's named selections of a directory's people and
groups, re-synchronised by the agent at their interval or run here by hand, each run's counts
and refused lines kept. The rules are :mod:`credsync.sync.people_selections`'s: every route
needs directory.setup and vault.write (and vault.read) on the client."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from credsync.api.deps import Caller, State
from credsync.api.routes.people_import import IntoGroupPolicyIn
from credsync.api.routes.sync import run_coroutine
from credsync.api.routing import api_router
from credsync.sync.people_import import Selection
from credsync.sync.people_selection_model import MAX_INTERVAL, SelectionJson, SelectionRunJson
from credsync.sync.people_selections import SavedSelections

router = api_router(prefix="/clients/{client}/people/import/selections", tags=["people"])


class SelectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    directory: str = Field(max_length=200, description="One of the client's directories.")
    name: str = Field(max_length=100, description="Unique per client (any case).")
    ids: list[str] = Field(default_factory=list, max_length=5000)
    query: str | None = Field(default=None, max_length=2000)
    groups: bool = False
    members: bool = False
    interval: int | None = Field(
        default=None,
        ge=0,
        le=MAX_INTERVAL,
        description="Seconds between the agent's runs (at least 300); null or 0: by hand only.",
    )
    enabled: bool = True
    provisioning: IntoGroupPolicyIn | None = None


def _saved(state: State, actor: Caller) -> SavedSelections:
    return SavedSelections(state.vault, state.keys, actor)


@router.post("", response_model=SelectionJson)
def save_selection(client: str, body: SelectionIn, actor: Caller, state: State) -> SelectionJson:
    """Save a selection (a name the client has already: replace it)."""
    selection = Selection(
        ids=tuple(body.ids), query=body.query, groups=body.groups, members=body.members
    )
    policy = body.provisioning.policy() if body.provisioning else None
    made = _saved(state, actor).save(
        client, body.directory, body.name, selection, interval=body.interval,
        enabled=body.enabled, provisioning=policy,
    )  # fmt: skip
    return made.to_json()


@router.get("", response_model=list[SelectionJson])
def list_selections(client: str, actor: Caller, state: State) -> list[SelectionJson]:
    """The client's saved selections, with how each one's last run went."""
    return [s.to_json() for s in _saved(state, actor).list(client)]


@router.get("/{name}", response_model=SelectionJson)
def get_selection(client: str, name: str, actor: Caller, state: State) -> SelectionJson:
    return _saved(state, actor).get(client, name).to_json()


@router.get("/{name}/runs", response_model=list[SelectionRunJson])
def selection_runs(client: str, name: str, actor: Caller, state: State) -> list[SelectionRunJson]:
    """The selection's newest runs first: counts and refused lines."""
    return _saved(state, actor).runs(client, name)


@router.post("/{name}/run", response_model=SelectionRunJson)
def run_selection(client: str, name: str, actor: Caller, state: State) -> SelectionRunJson:
    """Run it now (409 while another run of it is under way)."""
    saved = _saved(state, actor)

    async def done() -> SelectionRunJson:
        return await saved.run(client, name)

    return run_coroutine(done)


@router.delete("/{name}", response_model=SelectionJson)
def remove_selection(client: str, name: str, actor: Caller, state: State) -> SelectionJson:
    """Forget the selection and its runs (what it imported stays)."""
    return _saved(state, actor).remove(client, name).to_json()
