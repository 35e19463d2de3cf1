"""The values the sync engine speaks in: statuses, actions, plan items, outcomes."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from credsync.types import SyncMode

__all__ = [
    "AGENT_TRIGGER",
    "PROBLEMS",
    "UNKNOWN_TO_THE_VAULT",
    "Action",
    "Attempt",
    "CredentialState",
    "LinkState",
    "Outcome",
    "PlanItem",
    "Status",
]


AGENT_TRIGGER = "agent"  # the trigger of the agent's runs (periodic ones, pushes, selections)


class Status(enum.StrEnum):
    """What a check found (DESIGN.md's statuses), plus the three outcomes of linking."""

    IN_SYNC = "in_sync"
    MISMATCH = "mismatch"
    CHANGED_IN_DIRECTORY = "changed_in_directory"
    ACCOUNT_MISSING = "account_missing"
    ACCOUNT_DISABLED = "account_disabled"
    LOCKED_OUT = "locked_out"
    PASSWORD_EXPIRED = "password_expired"  # noqa: S105 - a status name
    UNREACHABLE = "unreachable"
    TLS_ERROR = "tls_error"
    DENIED = "denied"
    POLICY_REJECTED = "policy_rejected"
    ERROR = "error"
    UNMATCHED = "unmatched"  # no account has the credential's username
    AMBIGUOUS = "ambiguous"  # several accounts have it
    CONFLICT = "conflict"  # the account is already claimed by another credential or directory
    PENDING = "pending"  # not known until the action is done (a verify)
    SKIPPED = "skipped"  # the run acted on nothing (a safety rail) or stopped
    # The directory's password is not the vault's, and the vault does not know it: an
    # operator accepted the directory's state without giving its password. Not a problem (no
    # flag): a state shown on the credential until a password is set, accepted with the
    # password, or pushed (storage.links.PASSWORD_UNKNOWN is the same word).
    PASSWORD_UNKNOWN = "password_unknown"  # noqa: S105 - a status name

    # A link in enforce mode that no operator with directory.setup confirmed yet: checked,
    # never pushed (its flag's status; see credsync.sync.confirm).
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    # A report item: a push recorded as attempted whose outcome the run never recorded (it
    # stopped); the next run checks first. Never a flag's status.
    ATTEMPTED = "attempted"


PROBLEMS = frozenset(Status) - {
    Status.IN_SYNC,
    Status.PENDING,
    Status.SKIPPED,
    Status.PASSWORD_UNKNOWN,
    Status.ATTEMPTED,
}

UNKNOWN_TO_THE_VAULT = (
    "the directory's password is unknown to the vault: an operator accepted it without giving "
    "it (set the password in the vault, or resolve by accepting it with the password, or push)"
)


class Action(enum.StrEnum):
    NONE = "none"  # nothing to do: in step (no bind), or a known problem not worth a retry
    VERIFY = "verify"  # one bind with the vault's secret
    PUSH = "push"  # set the directory's password to the vault's secret
    FLAG = "flag"  # record a problem; nothing is sent to the directory
    SKIP = "skip"  # not acted on this run (see the detail)
    # Record the directory's password stamp as agreeing with the vault's version, without a
    # call to the directory: a timestamp-only directory (Entra) taking its first baseline.
    CONFIRM = "confirm"
    # A credential made by auto-create for an account the run saw first (nothing is sent to
    # the directory; see credsync.vault.auto_create).
    CREATE = "create"


@dataclass(frozen=True)
class CredentialState:
    id: str
    title: str
    username: str
    mode: SyncMode  # the effective mode: report, enforce or two_way
    secret_version: int
    secret_changed_at: dt.datetime | None = None  # when the current version was stored


@dataclass(frozen=True)
class Attempt:
    """A push recorded as attempted whose outcome no run recorded (the run stopped, or the
    directory went away before it answered): which run, the secret version sent, the
    account's password stamp just before, and when."""

    run_id: str
    secret_version: int
    stamp: str | None
    at: dt.datetime


@dataclass(frozen=True)
class LinkState:
    """A link as the planner sees it. ``link_confirmed``: an operator with directory.setup
    confirmed it for pushes (a link a run makes by matching names is not, and pushes nothing
    until it is). ``attempt``: a push whose outcome is unknown. ``shell_version``: see the
    field."""

    account_id: str
    confirmed_stamp: str | None = None
    confirmed_secret_version: int | None = None
    failed_stamp: str | None = None
    failed_secret_version: int | None = None
    accepted_stamp: str | None = None
    status: str | None = None
    link_confirmed: bool = False
    attempt: Attempt | None = None
    # Auto-create made the credential as a shell (no password known) and this secret version
    # is its placeholder: never verified nor pushed while it is the credential's.
    shell_version: int | None = None


@dataclass(frozen=True)
class PlanItem:
    """What a run will do for one credential, and why (``detail``, for people).

    ``status`` is known at plan time except for a verify (PENDING). ``push_on_mismatch``:
    enforce mode pushes when the verify fails. ``new_link``: the link is made by this run.
    ``awaits_confirmation``: the credential is in enforce mode but its link is not confirmed:
    checked as in report mode, and flagged ``awaiting_confirmation``. ``settles``: a push an
    earlier run attempted without recording its outcome, which this item settles: ``settled``
    says how when the plan knows already (``not_pushed``, ``superseded``), else the outcome
    of the item's check tells (a verify or a confirm of the attempted version: pushed).
    ``waits_for_capture``: see the field.
    """

    credential_id: str | None
    title: str
    account_id: str | None
    account_name: str
    action: Action
    status: Status
    detail: str
    new_link: bool = False
    push_on_mismatch: bool = False
    accepted: bool = False  # an operator accepted the directory's state at this stamp
    confirm_version: int | None = None  # Action.CONFIRM: the secret version being confirmed
    awaits_confirmation: bool = False
    settles: Attempt | None = None
    settled: str | None = None
    # Two-way mode, a first check whose directory password is the newer: a failed bind is
    # ``changed_in_directory``, waiting for its capture, never a push (see credsync.sync.two_way).
    waits_for_capture: bool = False


@dataclass(frozen=True)
class Outcome:
    """What applying one plan item did. ``pushed``: how this run's own push of the item
    ended (``pushed``, ``failed``, ``unknown``: the directory went away before it answered),
    None when it pushed nothing. ``settled``: how the earlier attempt the item settles ended
    (``pushed``, ``not_pushed``, ``superseded``), None when it settles none or could not
    tell yet."""

    item: PlanItem
    status: Status
    action: Action  # what was actually done (a verify that led to a push says push)
    detail: str
    pushed: str | None = None
    settled: str | None = None
