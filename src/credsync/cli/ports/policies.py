"""Named password policies and passwords generated from one. A policy's record is its name
with its settings (``PolicyJson``, made by ``PasswordPolicy.named_json``); settings are named
as the policy names them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote, path_of

if TYPE_CHECKING:
    from credsync.vault.generator import PolicyJson

__all__ = ["LocalPolicies", "PoliciesPort", "RemotePolicies", "local", "remote"]


class PoliciesPort(Protocol):
    def generate(self, policy: str | None, *, count: int, settings: dict[str, Any]) -> list[str]:
        """``count`` passwords from the named policy (the default when None) with
        ``settings`` changed; nothing is stored."""
        ...

    def add(self, name: str, settings: dict[str, Any]) -> PolicyJson:
        """A new policy: the default one with ``settings`` changed."""
        ...

    def list(self) -> list[PolicyJson]: ...

    def delete(self, name: str) -> None: ...


class LocalPolicies:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def generate(self, policy: str | None, *, count: int, settings: dict[str, Any]) -> list[str]:
        made = self._rt.vault.policies.generate(
            self._rt.actor, policy, count=count, settings=settings
        )
        return [p.reveal() for p in made]

    def add(self, name: str, settings: dict[str, Any]) -> PolicyJson:
        policies = self._rt.vault.policies
        stored = policies.add(self._rt.actor, name, settings)
        return policies.get(stored).named_json(stored)

    def list(self) -> list[PolicyJson]:
        found = self._rt.vault.policies.list(self._rt.actor)
        return [policy.named_json(name) for name, policy in found]

    def delete(self, name: str) -> None:
        self._rt.vault.policies.delete(self._rt.actor, name)


class RemotePolicies:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def generate(self, policy: str | None, *, count: int, settings: dict[str, Any]) -> list[str]:
        path = path_of("policies", policy or "default", "generate")
        passwords: list[str] = self._api.post(path, {"count": count, **settings})["passwords"]
        return passwords

    def add(self, name: str, settings: dict[str, Any]) -> PolicyJson:
        policy: PolicyJson = self._api.post("/policies", {"name": name, **settings})
        return policy

    def list(self) -> list[PolicyJson]:
        rows: list[PolicyJson] = self._api.get("/policies")
        return rows

    def delete(self, name: str) -> None:
        self._api.delete(path_of("policies", name))


def local(rt: LocalVault) -> PoliciesPort:
    return LocalPolicies(rt)


def remote(api: Remote) -> PoliciesPort:
    return RemotePolicies(api)
