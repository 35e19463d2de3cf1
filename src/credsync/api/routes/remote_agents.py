"""Remote agents (docs/remote-agent.md): operators enrol, list, rotate and revoke them
(``directory.setup``; enrolling and rotating also ``directory_admin.use``: an agent uses the
directories' admin credentials); the agents themselves register their public keys with a
one-time enrolment token, then poll for their calls and post the answers, each request signed
with their key (no operator token: an agent's key works on no other route). The rules are
:mod:`credsync.vault.remote_agents`'s; the work is :mod:`credsync.agent.relay`'s."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import Header, Request
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from credsync.api.deps import Caller, State
from credsync.api.errors import ApiError
from credsync.api.routing import api_router
from credsync.crypto.agent_keys import SIGNATURE_HEADER, TIME_HEADER
from credsync.types import Secret
from credsync.vault.remote_agents import (
    AgentEnrolmentJson,
    AgentIdentity,
    RemoteAgentJson,
    RemoteAgents,
)

router = api_router(prefix="/remote-agents", tags=["remote agents"])

MAX_BODY = 16 * 1024 * 1024  # an agent's answers (a directory's accounts) at most


class AgentEnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=100, description="The agent's name (unique).")
    directories: list[str] = Field(
        min_length=1, max_length=100, description="The directories it serves (names or ids)."
    )


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=200, description="The one-time enrolment token.")
    sign_key: str = Field(max_length=100, description="Ed25519 public key, base64 (32 bytes).")
    box_key: str = Field(max_length=100, description="X25519 public key, base64 (32 bytes).")


class CallsOut(TypedDict):
    calls: list[dict[str, Any]]


class TakenOut(TypedDict):
    taken: int


AgentSignature = Annotated[str | None, Header(alias=SIGNATURE_HEADER)]
AgentTime = Annotated[str | None, Header(alias=TIME_HEADER)]


def _agents(state: State) -> RemoteAgents:
    return RemoteAgents(state.vault)


# -- operators -------------------------------------------------------------------------------------
@router.post("", response_model=AgentEnrolmentJson, status_code=201)
def enroll_agent(body: AgentEnrolIn, actor: Caller, state: State) -> AgentEnrolmentJson:
    """Enrol a remote agent for these directories: the agent and its one-time enrolment
    ``token`` (shown this once; valid 24 hours). Needs directory.setup and
    directory_admin.use."""
    return _agents(state).enroll(actor, body.name, body.directories).to_json()


@router.get("", response_model=list[RemoteAgentJson])
def list_agents(actor: Caller, state: State) -> list[RemoteAgentJson]:
    """The remote agents (revoked ones too). Needs directory.setup."""
    return [a.to_json() for a in _agents(state).list(actor)]


@router.post("/{ref}/rotate", response_model=AgentEnrolmentJson)
def rotate_agent(ref: str, actor: Caller, state: State) -> AgentEnrolmentJson:
    """A new enrolment token: the agent's keys stop working now; it registers again with new
    ones. Needs directory.setup and directory_admin.use."""
    return _agents(state).rotate(actor, ref).to_json()


@router.post("/{ref}/revoke", response_model=RemoteAgentJson)
def revoke_agent(ref: str, actor: Caller, state: State) -> RemoteAgentJson:
    """Revoke a remote agent: its next request is refused. Needs directory.setup."""
    return _agents(state).revoke(actor, ref).to_json()


# -- the agents ------------------------------------------------------------------------------------
@router.post("/register", response_model=RemoteAgentJson)
def register_agent(body: RegisterIn, state: State) -> RemoteAgentJson:
    """The agent's public keys, with its one-time enrolment token (then used up). No
    operator token: the enrolment token is the authentication."""
    return _agents(state).register(Secret(body.token), body.sign_key, body.box_key).to_json()


async def _signed(
    request: Request, state: State, agent_id: str, signature: str | None, when: str | None
) -> tuple[AgentIdentity, dict[str, Any]]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ApiError(413, "too_large", "an agent's request is at most 16 MiB")
    identity = await asyncio.to_thread(
        _agents(state).authenticate, agent_id, signature, when, request.url.path, body
    )
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise ApiError(400, "invalid_input", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_input", "the body is not a JSON object")
    return identity, data


@router.post("/{agent_id}/poll", response_model=CallsOut)
async def poll_calls(
    agent_id: str,
    request: Request,
    state: State,
    signature: AgentSignature = None,
    when: AgentTime = None,
) -> CallsOut:
    """The calls waiting for the agent (body ``{"wait": seconds}``, at most 20): connector
    calls of its directories' runs, secrets sealed to its key. Signed by the agent."""
    identity, data = await _signed(request, state, agent_id, signature, when)
    wait = data.get("wait", 0)
    if not isinstance(wait, int | float) or isinstance(wait, bool) or wait < 0:
        raise ApiError(400, "invalid_input", "wait: a number of seconds, 0 to 20")
    return CallsOut(calls=await state.relay.poll(identity, float(wait)))


@router.post("/{agent_id}/results", response_model=TakenOut)
async def post_results(
    agent_id: str,
    request: Request,
    state: State,
    signature: AgentSignature = None,
    when: AgentTime = None,
) -> TakenOut:
    """The agent's answers to its calls (body ``{"results": [...]}``; see
    docs/remote-agent.md). Signed by the agent."""
    identity, data = await _signed(request, state, agent_id, signature, when)
    results = data.get("results")
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise ApiError(400, "invalid_input", "results: a list of objects")
    return TakenOut(taken=state.relay.answer(identity, results))
