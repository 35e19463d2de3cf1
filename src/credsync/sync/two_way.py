"""The planner's rules for a credential in two-way mode (capture + push) whose link is confirmed
for pushes, when either side changed since the last push or confirmation.

Two-way pushes the vault's changes as enforce does (at once through the push queue, and on
drift in the periodic runs), but a change made in the directory is the directory's to tell:
its password arrives by capture (:mod:`credsync.sync` never sees it), so a run never pushes
over it. With the directory's password stamp (pwdLastSet, lastPasswordChangeDateTime):

- **only the vault changed**: pushed, as in enforce (the planner's own rules; :func:`two_way`
  answers None);
- **only the directory changed** (its stamp moved since the vault last set or confirmed the
  password): flagged ``changed_in_directory``, "waiting for its capture", with no bind and no
  push; the run leaves the account alone until a capture makes the captured password the
  vault's (then both sides are in step), or an operator pushes or accepts;
- **both changed**: the newest wins, by the directory's change time and the vault's: the
  vault's newer, it is pushed (the detail says whose change lost); the directory's newer,
  or either time unknown, flagged ``changed_in_directory`` as above (nothing is overwritten
  that can't be shown to be older);
- **accepted**: an operator accepted the directory's state at this very stamp without its
  password: ``password_unknown``, as in report mode, until the vault's password changes after
  the directory's did (then it is pushed);
- **never checked** (a new link): a directory that binds checks with one bind; a mismatch is
  pushed over when the vault's password was stored after the directory's last change, and
  otherwise waits for its capture (``changed_in_directory``). A bind that already failed for
  this stamp is not repeated: the same choice is made without it. A timestamp-only directory
  pushes when the directory's last change is no later than the baseline tolerance after the
  vault's was stored (as enforce does: only a push makes both sides known to match), and
  otherwise flags.

A timestamp-only directory (Entra) has no capture: there the flag says what an operator can
do instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from credsync.connectors.base import Account
from credsync.sync.model import (
    UNKNOWN_TO_THE_VAULT,
    Action,
    CredentialState,
    LinkState,
    PlanItem,
    Status,
)
from credsync.sync.stamps import BASELINE_TOLERANCE, Item, changed_by, when

__all__ = ["WAITING", "two_way", "vault_newer"]

WAITING = "waiting for its capture (two-way mode does not push over a change made in the directory)"
_NO_CAPTURE = (
    "two-way mode does not push over a change made in the directory, and this directory's "
    "passwords are not captured: accept the directory's password (give it), or push the vault's"
)


def vault_newer(
    cred: CredentialState, account: Account, tolerance: dt.timedelta = dt.timedelta(0)
) -> bool | None:
    """Whether the vault's password was stored after the directory's last change (that one
    up to ``tolerance`` later counting as before); None when either time is unknown."""
    stored, changed = cred.secret_changed_at, account.password_changed_at
    if stored is None or changed is None:
        return None
    return changed <= stored + tolerance


def _waiting(can_verify: bool) -> str:
    return WAITING if can_verify else _NO_CAPTURE


def two_way(
    cred: CredentialState,
    link: LinkState,
    account: Account,
    item: Item,
    *,
    can_verify: bool,
    authors: bool = False,
) -> PlanItem | None:
    """The item for a two-way credential through a confirmed link when the directory's side
    changed, was accepted or was never checked (see the module docstring); None when only the
    vault changed (the planner pushes, as in enforce) or the directory gives no stamp."""
    stamp = account.password_stamp
    if stamp is None:
        return None
    vault_changed = link.confirmed_secret_version != cred.secret_version
    changed_at = when(account.password_changed_at)
    by = changed_by(account, authors)
    if link.accepted_stamp is not None and link.accepted_stamp == stamp:
        if vault_changed and vault_newer(cred, account):
            return item(
                Action.PUSH,
                Status.PENDING,
                f"the vault's password changed ({when(cred.secret_changed_at)}) after the "
                f"directory's state was accepted (changed {changed_at}): pushing the vault's",
            )
        return item(Action.NONE, Status.PASSWORD_UNKNOWN, UNKNOWN_TO_THE_VAULT, accepted=True)
    if link.confirmed_stamp is None and link.confirmed_secret_version is None:
        return _first(cred, link, account, item, can_verify=can_verify, by=by)
    if link.confirmed_stamp == stamp:
        return None
    if not vault_changed:
        return item(
            Action.FLAG,
            Status.CHANGED_IN_DIRECTORY,
            f"the password was changed in the directory ({changed_at}){by}, since the vault's "
            f"last push or confirmation: {_waiting(can_verify)}",
        )
    both = (
        f"both sides changed since the last sync: the vault's password (version "
        f"{link.confirmed_secret_version} -> {cred.secret_version}, {when(cred.secret_changed_at)})"
        f" and the directory's ({changed_at}{by})"
    )
    newer = vault_newer(cred, account)
    if newer:
        return item(
            Action.PUSH, Status.PENDING, f"{both}; the vault's is newer: pushing the vault's"
        )
    which = "the directory's is newer" if newer is False else "which is newer is not known"
    return item(
        Action.FLAG, Status.CHANGED_IN_DIRECTORY, f"{both}; {which}: {_waiting(can_verify)}"
    )


def _first(
    cred: CredentialState,
    link: LinkState,
    account: Account,
    item: Item,
    *,
    can_verify: bool,
    by: str,
) -> PlanItem:
    """A link never checked, in two-way mode (see the module docstring)."""
    stored, changed_at = when(cred.secret_changed_at), when(account.password_changed_at)
    if not can_verify:
        if vault_newer(cred, account, BASELINE_TOLERANCE):
            return item(
                Action.PUSH,
                Status.PENDING,
                f"first check: the directory's password was last changed {changed_at}, before "
                f"the vault's was stored ({stored}); this directory can't confirm a password "
                "without a sign-in, so the vault's is pushed to make both sides known to match",
            )
        return item(
            Action.FLAG,
            Status.CHANGED_IN_DIRECTORY,
            f"first check: the password was changed in the directory {changed_at}{by}, after the "
            f"vault's was stored ({stored}), or when is not known: {_NO_CAPTURE}",
        )
    newer = bool(vault_newer(cred, account))
    if link.failed_stamp is not None and link.failed_stamp == account.password_stamp:
        if newer:
            return item(
                Action.PUSH,
                Status.PENDING,
                "a bind already failed since the password last changed, and the vault's "
                f"password ({stored}) is newer than the directory's ({changed_at}): pushing "
                "without a bind",
            )
        return item(
            Action.FLAG,
            Status.CHANGED_IN_DIRECTORY,
            "a bind already failed since the password last changed (not repeated: lockout "
            f"safety), and the directory's ({changed_at}) is not older than the vault's "
            f"({stored}): {WAITING}",
        )
    if newer:
        return item(Action.VERIFY, Status.PENDING, "never checked: one bind", push_on_mismatch=True)
    return replace(
        item(
            Action.VERIFY,
            Status.PENDING,
            f"never checked: one bind; the directory's password ({changed_at}) is not older "
            f"than the vault's ({stored}), so a mismatch waits for its capture",
        ),
        waits_for_capture=True,
    )
