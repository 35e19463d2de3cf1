"""Who changed a password: the directory audit log's password activities, read since a
watermark, in words for people.

``GET /auditLogs/directoryAudits`` needs the application permissions AuditLog.Read.All and
Directory.Read.All (https://learn.microsoft.com/en-us/graph/api/directoryaudit-list); without
them Graph answers 403 ``Authorization_RequestDenied`` and a run says so once and judges by
lastPasswordChangeDateTime alone. The entry's shape and the ``$filter`` fields are at
https://learn.microsoft.com/en-us/graph/api/resources/directoryaudit; the activity names at
https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-audit-activities.

* Read: ``category eq 'UserManagement' and result eq 'success'``, from the watermark (the
  newest activityDateTime seen) minus :data:`OVERLAP`: entries show up 2-5 minutes after
  the change (Microsoft's former latency table), so a late one is still found by the next
  run. Entries already seen (their ids, kept while inside the overlap) are skipped, so none
  is reported twice. The activity names are matched here (the filter has no ``or``).
* Matched to users by ``targetResources[].id``. The vault's own resets (initiatedBy.app.appId
  is its own app id) are never "changed in the directory": such an entry leaves its user
  unattributed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ACTIVITIES",
    "OVERLAP",
    "Attribution",
    "Watermark",
    "attribute",
    "describe",
    "query",
]

CORE, SSPR = "Core Directory", "Self-service Password Management"
ACTIVITIES = frozenset(
    {
        (CORE, "Reset user password"),
        (CORE, "Change user password"),
        (CORE, "Set force change user password"),
        (SSPR, "Reset password (self-service)"),
        (SSPR, "Change password (self-service)"),
        (SSPR, "Reset password (by admin)"),
    }
)
OVERLAP = dt.timedelta(minutes=10)


def _parse(text: Any) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Watermark:
    """Where the audit read stands: the newest activityDateTime seen, and the ids of the
    entries seen inside the overlap window (kept in the connector's cursor)."""

    at: dt.datetime | None = None
    seen: dict[str, str] = field(default_factory=dict)  # entry id -> its activityDateTime

    @classmethod
    def load(cls, data: Any) -> Watermark:
        if not isinstance(data, dict):
            return cls()
        at = _parse(data.get("at"))
        seen = data.get("seen")
        pairs = seen if isinstance(seen, dict) else {}
        return cls(at, {str(k): str(v) for k, v in pairs.items()})

    def dump(self) -> dict[str, Any]:
        return {"at": _iso(self.at) if self.at else None, "seen": dict(sorted(self.seen.items()))}

    def since(self) -> dt.datetime | None:
        return self.at - OVERLAP if self.at else None

    def add(self, entry_id: str, moment: dt.datetime) -> None:
        self.seen[entry_id] = _iso(moment)
        if self.at is None or moment > self.at:
            self.at = moment

    def prune(self) -> None:
        """Forget the ids older than the overlap window (they are never read again)."""
        start = self.since()
        if start is None:
            return
        for key, text in list(self.seen.items()):
            moment = _parse(text)
            if moment is None or moment < start:
                del self.seen[key]


def query(since: dt.datetime | None) -> dict[str, str]:
    """The list request's parameters (see the module docstring)."""
    clauses = ["category eq 'UserManagement'", "result eq 'success'"]
    if since is not None:
        clauses.append(f"activityDateTime ge {_iso(since)}")
    return {"$filter": " and ".join(clauses)}


@dataclass(frozen=True)
class Attribution:
    """The newest password activity found for a user: when, and who and how (None: the
    vault's own push)."""

    at: dt.datetime
    by: str | None


def describe(entry: Mapping[str, Any], own_app_id: str) -> str | None:
    """Who and how, in words; None for the vault's own app."""
    activity = str(entry.get("activityDisplayName") or "")
    service = str(entry.get("loggedByService") or "")
    initiator = entry.get("initiatedBy") or {}
    app = initiator.get("app") if isinstance(initiator, dict) else None
    user = initiator.get("user") if isinstance(initiator, dict) else None
    targets = entry.get("targetResources") or []
    target_ids = {str(t.get("id")) for t in targets if isinstance(t, dict)}
    if isinstance(app, dict) and app.get("appId"):
        if str(app["appId"]).lower() == own_app_id.lower():
            return None
        name = app.get("displayName") or app["appId"]
        verb = "changed" if "Change" in activity else "reset"
        return f"{verb} by the app {name}"
    who = None
    self_done = False
    if isinstance(user, dict):
        who = user.get("userPrincipalName") or user.get("displayName") or user.get("id")
        self_done = str(user.get("id")) in target_ids
    if service == SSPR:
        if activity == "Reset password (by admin)":
            return f"reset by {who or 'an administrator'} (self-service password management)"
        if activity.startswith("Change"):
            return "changed by the user (self-service)"
        return "self-service reset by the user"
    if activity == "Change user password" and (self_done or who is None):
        return "changed by the user"
    if self_done:
        return "changed by the user"
    verb = "changed" if activity.startswith("Change") else "reset"
    force = " (must change at next sign-in)" if activity.startswith("Set force") else ""
    return f"{verb} by {who or 'someone'} in the portal{force}"


def attribute(
    entries: Iterable[Mapping[str, Any]], mark: Watermark, own_app_id: str
) -> dict[str, Attribution]:
    """User id -> the newest new password activity naming it (entries already seen, failed
    ones and other activities skipped); ``mark`` takes in every entry read."""
    found: dict[str, Attribution] = {}
    for entry in entries:
        key = str(entry.get("id") or "")
        moment = _parse(entry.get("activityDateTime"))
        if not key or moment is None or key in mark.seen:
            continue
        mark.add(key, moment)
        service = str(entry.get("loggedByService") or "")
        if (service, str(entry.get("activityDisplayName") or "")) not in ACTIVITIES:
            continue
        if entry.get("result") != "success":
            continue
        by = describe(entry, own_app_id)
        for target in entry.get("targetResources") or []:
            if not isinstance(target, dict) or not target.get("id"):
                continue
            user_id = str(target["id"])
            before = found.get(user_id)
            if before is None or moment >= before.at:
                found[user_id] = Attribution(moment, by)
    mark.prune()
    return found
