"""The planner's rules for a timestamp-only directory (Entra ID: a password can't be checked
without a sign-in), when one side changed since the last push or confirmation; the rules
themselves are written out in :mod:`credsync.sync.planner`'s docstring, which calls
:func:`check_stamp`."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Protocol

from credsync.connectors.base import Account
from credsync.sync.model import (
    UNKNOWN_TO_THE_VAULT,
    Action,
    CredentialState,
    LinkState,
    PlanItem,
    Status,
)

__all__ = [
    "BASELINE_TOLERANCE",
    "SAME_SECOND_WAIT_MAX",
    "Item",
    "changed_by",
    "check_stamp",
    "same_second_wait",
    "when",
]

# A timestamp-only directory's first check: a password set in the directory up to this long
# after the vault's was stored is taken as the same one (an operator generates a password in
# the vault, then pastes it into the portal).
BASELINE_TOLERANCE = dt.timedelta(minutes=10)


# The longest a push to a timestamp-only directory waits for the second of the account's
# password stamp to pass (see same_second_wait); a stamp further ahead of this machine's clock
# is the directory's clock being off, which waiting would not help.
SAME_SECOND_WAIT_MAX = 2.0


def same_second_wait(account: Account, now: float) -> float:
    """Seconds a push to ``account`` should wait (0: none), for a directory whose password
    stamp is to the second and whose passwords can't be checked (Entra ID's
    ``lastPasswordChangeDateTime``): a push whose outcome is lost is settled by whether the
    stamp moved, and a push landing in the same second as the stamp it replaces would not move
    it: it would be taken for not done and sent again. So the push waits until the stamp's
    second is over (by ``now``, this machine's clock, ``time.time()``)."""
    if account.password_changed_at is None:
        return 0.0
    over = int(account.password_changed_at.timestamp()) + 1.0
    wait = over - now
    if wait <= 0 or wait > SAME_SECOND_WAIT_MAX:
        return 0.0
    return wait + 0.05  # a margin for the clocks' difference within the second


class Item(Protocol):
    def __call__(
        self,
        action: Action,
        status: Status,
        detail: str,
        *,
        push_on_mismatch: bool = False,
        accepted: bool = False,
    ) -> PlanItem:
        """A plan item for the credential and account being checked."""


def when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "an unknown time"


def changed_by(account: Account, authors: bool) -> str:
    """Who changed the password and how, after a comma (", reset by x in the portal"); where
    the directory could have named someone and did not (``authors``), that the timestamp alone
    tells; nothing for a directory that never names anyone."""
    if account.password_changed_by:
        return f", {account.password_changed_by}"
    if authors:
        return " (no audit entry names who, yet: judged by the timestamp alone)"
    return ""


def check_stamp(
    cred: CredentialState,
    link: LinkState,
    account: Account,
    item: Item,
    pushes: bool,
    *,
    authors: bool = False,
) -> PlanItem:
    """A timestamp-only directory, when one side changed since the last push or confirmation
    (see the module docstring); ``pushes``: enforce mode through a confirmed link;
    ``authors``: the directory names who changed a password where it can."""
    enforce = cred.mode.pushes  # enforce or two-way: pushes once the link is confirmed
    stamp = account.password_stamp
    changed_at = when(account.password_changed_at)
    if account.synced_from_on_premises and enforce:
        return item(
            Action.FLAG,
            Status.DENIED,
            "synced from an on-premises directory: this directory refuses password writes "
            "for it. Manage it through the client's on-premises directory: add that "
            "directory and this credential links there.",
        )
    if link.accepted_stamp is not None and link.accepted_stamp == stamp and not pushes:
        return item(Action.NONE, Status.PASSWORD_UNKNOWN, UNKNOWN_TO_THE_VAULT, accepted=True)
    never = link.confirmed_stamp is None and link.confirmed_secret_version is None
    if never:
        if pushes:
            return item(
                Action.PUSH,
                Status.PENDING,
                "first check: this directory can't confirm a password without a sign-in, so "
                "the vault's is pushed to make both sides known to match",
            )
        if enforce:  # a link not confirmed yet: no baseline, the first push waits for it
            return item(
                Action.FLAG,
                Status.AWAITING_CONFIRMATION,
                f"first check in {cred.mode.spelled} mode: this directory can't confirm a "
                "password without a sign-in, so the vault's is pushed once the link is confirmed",
            )
        stored = cred.secret_changed_at
        moment = account.password_changed_at
        if stamp is not None and moment is not None and stored is not None:
            if moment <= stored + BASELINE_TOLERANCE:
                return replace(
                    item(
                        Action.CONFIRM,
                        Status.IN_SYNC,
                        f"baseline: the directory's password was last changed {changed_at}, "
                        f"before the vault's was stored ({when(stored)}); this directory "
                        "can't confirm a password, so later changes are compared with this",
                    ),
                    confirm_version=cred.secret_version,
                )
            return item(
                Action.FLAG,
                Status.CHANGED_IN_DIRECTORY,
                f"the password was changed in the directory {changed_at}"
                f"{changed_by(account, authors)}, after the vault's was stored ({when(stored)})",
            )
        return item(
            Action.FLAG,
            Status.CHANGED_IN_DIRECTORY,
            "the directory does not say when the password was last changed: it can't be "
            "compared (resolve by pushing, or accept the directory's)",
        )
    if link.confirmed_stamp != stamp:
        if pushes:
            return item(
                Action.PUSH,
                Status.PENDING,
                f"the password was changed in the directory ({changed_at}): pushing the vault's",
            )
        return item(
            Action.FLAG,
            Status.CHANGED_IN_DIRECTORY,
            f"the password was changed in the directory ({changed_at})"
            f"{changed_by(account, authors)}, since the vault's last push or confirmation",
        )
    # Only the vault changed.
    if pushes:
        return item(
            Action.PUSH,
            Status.PENDING,
            f"the vault's password changed (version {link.confirmed_secret_version} -> "
            f"{cred.secret_version})",
        )
    return item(
        Action.FLAG,
        Status.MISMATCH,
        f"the vault's password changed (version {link.confirmed_secret_version} -> "
        f"{cred.secret_version}) and the directory's has not since ({changed_at}): the "
        "directory still has the old one",
    )
