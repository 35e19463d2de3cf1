"""What applying a capture event comes to: its outcome and the words for it, and the rules
that compare a captured password with the vault's (:mod:`credsync.vault.capture_apply`)."""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Literal

from typing_extensions import TypedDict

from credsync.storage import capture as capture_rows
from credsync.types import Secret
from credsync.vault.capture_batch import CaptureEvent

__all__ = [
    "CHANGED_IN_DIRECTORY",
    "CONFLICT",
    "IN_SYNC",
    "PENDING_FIELD",
    "EventResult",
    "EventResultJson",
    "Outcome",
    "captured_reason",
    "in_step",
    "same",
    "when",
]

Outcome = Literal[
    "accepted", "held", "duplicate", "stale", "unlinked", "out_of_scope", "ignored", "rejected"
]
CHANGED_IN_DIRECTORY = "changed_in_directory"
CONFLICT = "conflict"
PENDING_FIELD = "captured_password"  # the sealed field of a pending capture (its AAD)
IN_SYNC = "in_sync"


class EventResultJson(TypedDict):
    object_guid: str
    pwd_last_set: int | None
    outcome: Outcome
    detail: str


@dataclass(frozen=True)
class EventResult:
    object_guid: str
    pwd_last_set: int | None
    outcome: Outcome
    detail: str

    def to_json(self) -> EventResultJson:
        return {
            "object_guid": self.object_guid,
            "pwd_last_set": self.pwd_last_set,
            "outcome": self.outcome,
            "detail": self.detail,
        }


def when(event: CaptureEvent) -> dt.datetime:
    return event.changed_at or event.captured_at


def captured_reason(side: str, event: CaptureEvent, forwarder: str) -> str:
    """A captured version's reason: who (a capture does not say: a user or an admin), where
    and when by the directory's clock."""
    where = f" (reported by DC {event.dc})" if event.dc else ""
    return (
        f"changed in {side} by a user or admin at "
        f"{when(event).strftime('%Y-%m-%d %H:%M:%S')} UTC{where}, captured by {forwarder}"
    )


def in_step(
    account: capture_rows.AccountState, cred: capture_rows.CredentialState, event: CaptureEvent
) -> bool:
    """The vault's current password is the one the directory was last confirmed to hold, at
    a pwdLastSet no newer than the event's: the vault has not changed since, so the event is
    the directory's newer change (a second change captured after the first was applied)."""
    if account.confirmed_secret_version != cred.secret_version:
        return False
    confirmed = account.confirmed_stamp
    if event.pwd_last_set is None or confirmed is None or not confirmed.isdigit():
        return True
    return int(confirmed) <= event.pwd_last_set


def same(a: Secret, b: Secret) -> bool:
    return hmac.compare_digest(a.reveal().encode("utf-8"), b.reveal().encode("utf-8"))
