"""Capture, the vault's side: a directory's capture key, its forwarders (enrol, list,
revoke), and accepting captured passwords that flags hold pending."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote, path_of

if TYPE_CHECKING:
    from credsync.vault.capture import CaptureKeyJson, EnrolmentJson, ForwarderJson
    from credsync.vault.capture_intake import AcceptedJson

__all__ = ["CapturePort", "LocalCapture", "RemoteCapture", "local", "remote"]


class CapturePort(Protocol):
    def key(self, directory: str) -> CaptureKeyJson:
        """The directory's capture key's public part (made on first ask)."""
        ...

    def enroll(self, directory: str, name: str | None) -> EnrolmentJson:
        """A new forwarder: its id and token (shown once)."""
        ...

    def list(self, directory: str | None) -> list[ForwarderJson]: ...

    def revoke(self, forwarder_id: str) -> ForwarderJson: ...

    def accept(self, flags: Sequence[str]) -> builtins.list[AcceptedJson]:
        """Accept the captured passwords these flags hold: one result per flag, in order."""
        ...


class LocalCapture:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def key(self, directory: str) -> CaptureKeyJson:
        return self._rt.vault.capture.key(self._rt.actor, directory, self._rt.keys).to_json()

    def enroll(self, directory: str, name: str | None) -> EnrolmentJson:
        return self._rt.vault.capture.enroll(self._rt.actor, directory, name).to_json()

    def list(self, directory: str | None) -> list[ForwarderJson]:
        return [f.to_json() for f in self._rt.vault.capture.list(self._rt.actor, directory)]

    def revoke(self, forwarder_id: str) -> ForwarderJson:
        return self._rt.vault.capture.revoke(self._rt.actor, forwarder_id).to_json()

    def accept(self, flags: Sequence[str]) -> builtins.list[AcceptedJson]:
        intake = self._rt.vault.capture_intake
        return [a.to_json() for a in intake.accept_many(self._rt.actor, self._rt.keys, flags)]


class RemoteCapture:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def key(self, directory: str) -> CaptureKeyJson:
        found: CaptureKeyJson = self._api.get(path_of("directories", directory, "capture", "key"))
        return found

    def enroll(self, directory: str, name: str | None) -> EnrolmentJson:
        body = {"name": name} if name else {}
        made: EnrolmentJson = self._api.post(
            path_of("directories", directory, "capture", "forwarders"), body
        )
        return made

    def list(self, directory: str | None) -> list[ForwarderJson]:
        rows: list[ForwarderJson] = self._api.get("/capture/forwarders", directory=directory)
        return rows

    def revoke(self, forwarder_id: str) -> ForwarderJson:
        done: ForwarderJson = self._api.post(
            path_of("capture", "forwarders", forwarder_id, "revoke")
        )
        return done

    def accept(self, flags: Sequence[str]) -> builtins.list[AcceptedJson]:
        results: builtins.list[AcceptedJson] = []
        for start in range(0, len(flags), 500):  # the API takes 500 flags a request
            body = {"flags": list(flags[start : start + 500])}
            results += self._api.post("/flags/accept", body)["results"]
        return results


def local(rt: LocalVault) -> CapturePort:
    return LocalCapture(rt)


def remote(api: Remote) -> CapturePort:
    return RemoteCapture(api)
