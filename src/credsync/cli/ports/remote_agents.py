"""Remote agents, the operators' side: enrol, list, rotate, revoke."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote, path_of

if TYPE_CHECKING:
    from credsync.vault.remote_agents import AgentEnrolmentJson, RemoteAgentJson

__all__ = ["LocalRemoteAgents", "RemoteAgentsPort", "RemoteRemoteAgents", "local", "remote"]


class RemoteAgentsPort(Protocol):
    def enroll(self, name: str, directories: Sequence[str]) -> AgentEnrolmentJson:
        """A new agent and its one-time enrolment token."""
        ...

    def list(self) -> list[RemoteAgentJson]: ...

    def rotate(self, ref: str) -> AgentEnrolmentJson: ...

    def revoke(self, ref: str) -> RemoteAgentJson: ...


class LocalRemoteAgents:
    def __init__(self, rt: LocalVault) -> None:
        from credsync.vault.remote_agents import RemoteAgents

        self._rt = rt
        self._agents = RemoteAgents(rt.vault)

    def enroll(self, name: str, directories: Sequence[str]) -> AgentEnrolmentJson:
        return self._agents.enroll(self._rt.actor, name, directories).to_json()

    def list(self) -> list[RemoteAgentJson]:
        return [a.to_json() for a in self._agents.list(self._rt.actor)]

    def rotate(self, ref: str) -> AgentEnrolmentJson:
        return self._agents.rotate(self._rt.actor, ref).to_json()

    def revoke(self, ref: str) -> RemoteAgentJson:
        return self._agents.revoke(self._rt.actor, ref).to_json()


class RemoteRemoteAgents:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def enroll(self, name: str, directories: Sequence[str]) -> AgentEnrolmentJson:
        made: AgentEnrolmentJson = self._api.post(
            "/remote-agents", {"name": name, "directories": list(directories)}
        )
        return made

    def list(self) -> list[RemoteAgentJson]:
        rows: list[RemoteAgentJson] = self._api.get("/remote-agents")
        return rows

    def rotate(self, ref: str) -> AgentEnrolmentJson:
        made: AgentEnrolmentJson = self._api.post(path_of("remote-agents", ref, "rotate"))
        return made

    def revoke(self, ref: str) -> RemoteAgentJson:
        done: RemoteAgentJson = self._api.post(path_of("remote-agents", ref, "revoke"))
        return done


def local(rt: LocalVault) -> RemoteAgentsPort:
    return LocalRemoteAgents(rt)


def remote(api: Remote) -> RemoteAgentsPort:
    return RemoteRemoteAgents(api)
