"""The audit log: entries newest first, and verifying its hash chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote

if TYPE_CHECKING:
    from credsync.vault.audit import VerifyReportJson
    from credsync.vault.models import AuditEntryJson

__all__ = ["AuditPort", "LocalAudit", "RemoteAudit", "local", "remote"]


class AuditPort(Protocol):
    def list(
        self,
        *,
        action: str | None,
        client: str | None,
        target: str | None,
        operator: str | None,
        since: str | None,
        until: str | None,
        limit: int,
    ) -> list[AuditEntryJson]:
        """The newest ``limit`` entries that match every filter given (``action`` may end
        in ``*``: a prefix; ``since`` and ``until``: a day or an ISO 8601 time, see
        :func:`credsync.vault.audit.time_window`)."""
        ...

    def verify(self) -> VerifyReportJson: ...


class LocalAudit:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def list(
        self,
        *,
        action: str | None,
        client: str | None,
        target: str | None,
        operator: str | None,
        since: str | None,
        until: str | None,
        limit: int,
    ) -> list[AuditEntryJson]:
        from credsync.vault.audit import time_window

        vault, actor = self._rt.vault, self._rt.actor
        start, end = time_window(since, until)
        client_id = vault.clients.get(actor, client).id if client else None
        entries = vault.audit.list(
            actor,
            action=action,
            target_id=target,
            client_id=client_id,
            actor_name=operator,
            since=start,
            until=end,
            limit=limit,
        )
        return [e.to_json() for e in entries]

    def verify(self) -> VerifyReportJson:
        return self._rt.vault.audit.verify(self._rt.actor).to_json()


class RemoteAudit:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def list(
        self,
        *,
        action: str | None,
        client: str | None,
        target: str | None,
        operator: str | None,
        since: str | None,
        until: str | None,
        limit: int,
    ) -> list[AuditEntryJson]:
        filters = {
            "action": action,
            "client": client,
            "target": target,
            "operator": operator,
            "since": since,
            "until": until,
        }
        rows: list[AuditEntryJson] = self._api.collect("/audit", limit, **filters)
        return rows

    def verify(self) -> VerifyReportJson:
        report: VerifyReportJson = self._api.get("/audit/verify")
        return report


def local(rt: LocalVault) -> AuditPort:
    return LocalAudit(rt)


def remote(api: Remote) -> AuditPort:
    return RemoteAudit(api)
