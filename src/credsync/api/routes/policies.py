"""Named password policies (list, add, delete; ``default`` is built in) and passwords
generated from one, as ``credsync policy`` and ``credsync generate`` do."""

from __future__ import annotations

from fastapi import Response

from credsync.api.deps import Caller, State
from credsync.api.routing import api_router
from credsync.api.schemas_policies import GeneratedOut, GenerateIn, PolicyIn
from credsync.vault.generator import PolicyJson

router = api_router(prefix="/policies", tags=["policies"])


@router.get("", response_model=list[PolicyJson])
def list_policies(actor: Caller, state: State) -> list[PolicyJson]:
    """Every password policy, the built-in ``default`` first (needs vault.read)."""
    return [p.named_json(name) for name, p in state.vault.policies.list(actor)]


@router.post("", response_model=PolicyJson, status_code=201)
def add_policy(body: PolicyIn, actor: Caller, state: State) -> PolicyJson:
    """Add a named policy: the settings given, the default policy's for the rest (needs
    admin)."""
    name = state.vault.policies.add(actor, body.name, body.settings())
    return state.vault.policies.get(name).named_json(name)


@router.delete("/{name}", status_code=204)
def delete_policy(name: str, actor: Caller, state: State) -> Response:
    """Delete a named policy (needs admin; ``default`` is built in and stays)."""
    state.vault.policies.delete(actor, name)
    return Response(status_code=204)


@router.post("/{name}/generate", response_model=GeneratedOut)
def generate_passwords(
    name: str, body: GenerateIn, response: Response, actor: Caller, state: State
) -> GeneratedOut:
    """``count`` passwords from the named policy (``default``: the built-in one) with the
    settings given changed; nothing is stored (needs vault.read)."""
    passwords = state.vault.policies.generate(
        actor, name, count=body.count, settings=body.settings()
    )
    response.headers["Cache-Control"] = "no-store"
    return GeneratedOut(passwords=[p.reveal() for p in passwords])
