"""The remote agent's keys: what is sealed to an agent opens only for that agent and that call;
its keys never show in a repr and can't be pickled; signatures bind the agent, time, path and
body."""

from __future__ import annotations

import pickle

import pytest

from credsync.agent.remote.wire import aad
from credsync.crypto.agent_keys import AgentKeys, SealError, public_key_bytes, seal, verify_request
from credsync.errors import InvalidInput


def test_a_sealed_value_opens_only_for_its_agent_and_call() -> None:
    mine, other = AgentKeys.generate(), AgentKeys.generate()
    box = public_key_bytes(mine.box_public, "box_key")
    sealed = seal(box, b"Push-Me-Passw0rd!", aad("agent-1", "call-1", "set_password"))
    assert mine.open(sealed, aad("agent-1", "call-1", "set_password")) == b"Push-Me-Passw0rd!"
    for wrong in (
        aad("agent-1", "call-2", "set_password"),  # replayed to another call
        aad("agent-2", "call-1", "set_password"),  # to another agent
        aad("agent-1", "call-1", "verify_password"),  # to another use
    ):
        with pytest.raises(SealError):
            mine.open(sealed, wrong)
    with pytest.raises(SealError):
        other.open(sealed, aad("agent-1", "call-1", "set_password"))
    assert b"Push-Me" not in sealed.encode()


def test_keys_hide_in_reprs_and_refuse_pickling() -> None:
    keys = AgentKeys.generate()
    assert repr(keys) == "AgentKeys(<hidden>)"
    with pytest.raises(TypeError):
        pickle.dumps(keys)
    again = AgentKeys.from_json(keys.to_json())
    assert again.box_public == keys.box_public
    with pytest.raises(InvalidInput, match="malformed"):
        AgentKeys.from_json({"sign_key": "x"})


def test_a_signature_binds_agent_time_path_and_body() -> None:
    keys = AgentKeys.generate()
    public = public_key_bytes(keys.sign_public, "sign_key")
    header = keys.sign("a1", "100", "/api/v1/remote-agents/a1/poll", b"{}")
    assert (
        verify_request(public, header, "a1", "100", "/api/v1/remote-agents/a1/poll", b"{}") is None
    )
    for agent, when, path, body in (
        ("a2", "100", "/api/v1/remote-agents/a1/poll", b"{}"),
        ("a1", "101", "/api/v1/remote-agents/a1/poll", b"{}"),
        ("a1", "100", "/api/v1/remote-agents/a1/results", b"{}"),
        ("a1", "100", "/api/v1/remote-agents/a1/poll", b'{"wait": 1}'),
    ):
        assert verify_request(public, header, agent, when, path, body) is not None
    assert verify_request(public, None, "a1", "100", "/p", b"") is not None
    with pytest.raises(InvalidInput, match="box_key"):
        public_key_bytes("AAAA", "box_key")
