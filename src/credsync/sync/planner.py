"""The planner: a pure function from vault state + directory state to a list of actions.

It never talks to a directory or a database, so every rule below is tested directly.

Per credential (effective mode report or enforce), in order:

1. **Link.** A linked credential follows its account by stable id. An unlinked one is matched
   by name (sAMAccountName, ``DOMAIN\\name``, UPN; case-insensitive): no account is
   ``unmatched``, several are ``ambiguous``, an account already linked to another credential
   or claimed by another directory is a ``conflict``. None of these is guessed.
2. **Account state.** Gone: ``account_missing``. Disabled, locked out, password expired: that
   status, and no bind (a bind would count as a bad logon or fail anyway).
3. **Timestamp first** (DESIGN.md, "Verify without locking anyone out"). The directory's
   password stamp (pwdLastSet) and the vault's secret version both unchanged since the last
   good check or push: ``in_sync`` with no bind.
4. **Vault changed, enforce:** push (vault wins).
5. **Accepted, report mode:** an operator accepted the directory's state at this very stamp
   without giving its password: ``password_unknown``, no bind, no flag (the same for a
   timestamp-only directory, below), until either side changes.
6. **Otherwise one bind** (verify), unless a bind already failed for this very stamp: never
   more than one failed bind per account per stamp. Then report mode keeps the last status;
   enforce mode pushes without binding.

**Timestamp-only directories** (Entra ID: a password can't be checked without a sign-in, so
the connector has no ``verify_bind``). Steps 1, 2 and 3 are the same; then, with the
directory's lastPasswordChangeDateTime as the stamp:

- never confirmed (a new link): enforce pushes (only a push makes both sides known to match);
  report takes a **baseline**: the directory's last change no later than
  :data:`BASELINE_TOLERANCE` after the vault's password was stored is taken as in step
  (``confirm``), a later one is ``changed_in_directory``;
- the stamp moved since the last push or confirmation: report flags
  ``changed_in_directory``, enforce pushes;
- the vault's password changed and the directory's didn't: report flags ``mismatch`` (the
  directory still has the old one), enforce pushes.

Accounts synced from on-premises AD (``synced_from_on_premises``) are never pushed through
Entra: when the credential is linked in another directory of the client (its AD), that side
decides (``skipped`` here, saying where); otherwise enforce flags them ``denied`` with what
to do. A directory that pushes with "change at next sign-in" (``force_change``) expects the
must-change state it leaves behind: that is in step until the user signs in.

Safety rails: a run that read no accounts, or far fewer than the last full pass, acts on
nothing; more pushes planned than the cap stops the run before it pushes anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
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
from credsync.types import SyncMode

__all__ = ["BASELINE_TOLERANCE", "Rules", "cap_pushes", "plan", "safety_rail"]

# A timestamp-only directory's first check: a password set in the directory up to this long
# after the vault's was stored is taken as the same one (an operator generates a password in
# the vault, then pastes it into the portal).
BASELINE_TOLERANCE = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Rules:
    """What the planner must know about the directory beyond its accounts.

    ``can_verify``: the connector checks a password by binding (AD); False for a
    timestamp-only directory (Entra). ``force_change``: pushes leave the account in
    "change at next sign-in". ``managed_elsewhere``: credential id -> the name of another
    directory of the client that links it (where an on-premises-synced account is managed).
    """

    can_verify: bool = True
    force_change: bool = False
    managed_elsewhere: Mapping[str, str] | None = None


def safety_rail(
    *, accounts_read: int, last_count: int | None, min_ratio_percent: int, full: bool
) -> str | None:
    """Why a run must act on nothing, or None. Only a full pass can tell (an incremental run
    that reads nothing is the normal case)."""
    if not full:
        return None
    if accounts_read == 0:
        return (
            "the directory returned no accounts under the base DN: acting on nothing "
            "(check the base DN and the bind credential's rights)"
        )
    if last_count and last_count >= 10 and accounts_read * 100 < last_count * min_ratio_percent:
        return (
            f"the directory returned {accounts_read} accounts, far fewer than the "
            f"{last_count} of the last full pass (under {min_ratio_percent}%): acting on "
            "nothing until this is explained (lower the directory's min_account_ratio to accept)"
        )
    return None


class _Names:
    """Accounts by every name they answer to."""

    def __init__(self, accounts: Iterable[Account]) -> None:
        self._by_name: dict[str, list[Account]] = {}
        for account in accounts:
            for name in account.names():
                self._by_name.setdefault(name, []).append(account)

    def find(self, username: str) -> list[Account]:
        wanted = username.strip().casefold()
        if not wanted:
            return []
        found = list(self._by_name.get(wanted, ()))
        if not found and "\\" in wanted:
            # DOMAIN\name where the connector knows no NetBIOS domain: match the name part.
            found = list(self._by_name.get(wanted.split("\\", 1)[1], ()))
        return found


def plan(
    credentials: Iterable[CredentialState],
    links: Mapping[str, LinkState],
    accounts: Mapping[str, Account],
    *,
    claimed_elsewhere: Mapping[str, str] | None = None,
    abort_reason: str | None = None,
    rules: Rules | None = None,
) -> list[PlanItem]:
    """One item per credential, in the order given.

    ``links``: by credential id. ``accounts``: every account in scope, by stable id (removed
    ones absent). ``claimed_elsewhere``: account id -> the other directory that links it.
    ``abort_reason``: a safety rail fired; every item is a skip saying why. ``rules``: see
    :class:`Rules` (the default: a directory that binds, like AD).
    """
    rules = rules or Rules()
    claimed_elsewhere = claimed_elsewhere or {}
    names = _Names(accounts.values())
    linked_to: dict[str, str] = {link.account_id: cid for cid, link in links.items()}
    items: list[PlanItem] = []
    for cred in credentials:
        link = links.get(cred.id)
        if abort_reason is not None:
            account_id = link.account_id if link else None
            items.append(
                PlanItem(
                    cred.id,
                    cred.title,
                    account_id,
                    cred.username,
                    Action.SKIP,
                    Status.SKIPPED,
                    abort_reason,
                )
            )
            continue
        if link is None:
            item = _link(cred, names, linked_to, claimed_elsewhere)
            if item.action is not Action.NONE:
                items.append(item)
                continue
            matched = accounts[item.account_id or ""]
            linked_to[matched.id] = cred.id
            checked = _check(cred, LinkState(matched.id), matched, rules)
            items.append(replace(checked, new_link=True))
            continue
        account = accounts.get(link.account_id)
        if account is None:
            items.append(
                PlanItem(
                    cred.id,
                    cred.title,
                    link.account_id,
                    cred.username,
                    Action.FLAG,
                    Status.ACCOUNT_MISSING,
                    "the linked account is no longer in the directory (deleted, or moved "
                    "out of the base DN)",
                )
            )
            continue
        items.append(_check(cred, link, account, rules))
    return items


def _link(
    cred: CredentialState,
    names: _Names,
    linked_to: Mapping[str, str],
    claimed_elsewhere: Mapping[str, str],
) -> PlanItem:
    """Action.NONE with the account's id when the credential can be linked; otherwise a
    flag saying why not."""

    def flag(status: Status, detail: str, account_id: str | None = None) -> PlanItem:
        return PlanItem(cred.id, cred.title, account_id, cred.username, Action.FLAG, status, detail)

    found = names.find(cred.username)
    if not found:
        return flag(Status.UNMATCHED, f"no account named {cred.username!r} in the directory")
    if len(found) > 1:
        listed = ", ".join(sorted(a.upn or a.username for a in found))
        return flag(
            Status.AMBIGUOUS, f"{len(found)} accounts answer to {cred.username!r}: {listed}"
        )
    account = found[0]
    other = linked_to.get(account.id)
    if other is not None and other != cred.id:
        return flag(
            Status.CONFLICT,
            f"account {account.username!r} is already linked to credential {other}",
            account.id,
        )
    if account.id in claimed_elsewhere:
        return flag(
            Status.CONFLICT,
            f"account {account.username!r} is already linked in directory "
            f"{claimed_elsewhere[account.id]!r}",
            account.id,
        )
    return PlanItem(
        cred.id, cred.title, account.id, account.username, Action.NONE, Status.PENDING, ""
    )


def _check(cred: CredentialState, link: LinkState, account: Account, rules: Rules) -> PlanItem:
    def item(action: Action, status: Status, detail: str, **extra: bool) -> PlanItem:
        return PlanItem(
            cred.id, cred.title, account.id, account.username, action, status, detail, **extra
        )

    enforce = cred.mode is SyncMode.ENFORCE
    if not account.enabled:
        return item(Action.FLAG, Status.ACCOUNT_DISABLED, "the account is disabled")
    if account.locked_out:
        return item(Action.FLAG, Status.LOCKED_OUT, "the account is locked out")
    if account.synced_from_on_premises and not rules.can_verify:
        managed = (rules.managed_elsewhere or {}).get(cred.id)
        if managed is not None:
            return item(
                Action.NONE,
                Status.SKIPPED,
                "synced from an on-premises directory: its password is checked and pushed "
                f"through directory {managed!r}",
            )
    stamp = account.password_stamp
    vault_changed = link.confirmed_secret_version != cred.secret_version
    directory_changed = stamp is None or link.confirmed_stamp != stamp
    if not vault_changed and not directory_changed:
        if account.must_change_password and rules.force_change:
            return item(
                Action.NONE,
                Status.IN_SYNC,
                "the vault's password, set with 'change at next sign-in': the user has not "
                "signed in since",
            )
        if account.password_expired:
            return item(
                Action.FLAG,
                Status.PASSWORD_EXPIRED,
                "the password is the vault's, but it has expired or must be changed",
            )
        # "No bind" only where a check could have been one: a timestamp-only directory never
        # binds, and its operators would wonder what bind was spared.
        spared = ": no bind" if rules.can_verify else ""
        return item(
            Action.NONE,
            Status.IN_SYNC,
            f"password unchanged on both sides since the last good check{spared}",
        )
    if not rules.can_verify:
        return _check_stamp(cred, link, account, item)
    if enforce and vault_changed and link.confirmed_secret_version is not None:
        return item(
            Action.PUSH,
            Status.PENDING,
            f"the vault's password changed (version {link.confirmed_secret_version} -> "
            f"{cred.secret_version})",
        )
    if not enforce and link.accepted_stamp is not None and link.accepted_stamp == stamp:
        return item(Action.NONE, Status.PASSWORD_UNKNOWN, UNKNOWN_TO_THE_VAULT, accepted=True)
    if account.password_expired:
        # A bind would fail for expiry whatever the password: don't spend a bad logon.
        if enforce:
            return item(
                Action.PUSH,
                Status.PENDING,
                "the directory's password expired or must be changed: pushing the vault's",
            )
        return item(
            Action.FLAG,
            Status.PASSWORD_EXPIRED,
            "the account's password has expired or must be changed",
        )
    if stamp is not None and link.failed_stamp == stamp:
        previous = Status(link.status) if link.status in _FAILED else Status.MISMATCH
        if enforce:
            return item(
                Action.PUSH,
                Status.PENDING,
                "a bind already failed since the password last changed: pushing without a bind",
            )
        return item(
            Action.FLAG,
            previous,
            "a bind already failed since the password last changed: not repeated (lockout safety)",
        )
    why = (
        "the directory's password changed since the last good check"
        if (link.confirmed_stamp is not None and directory_changed)
        else "the vault's password changed"
        if vault_changed and link.confirmed_secret_version
        else ("never checked")
    )
    return item(Action.VERIFY, Status.PENDING, why + ": one bind", push_on_mismatch=enforce)


_FAILED = {Status.MISMATCH.value, Status.CHANGED_IN_DIRECTORY.value}


class _Item(Protocol):
    def __call__(self, action: Action, status: Status, detail: str, **extra: bool) -> PlanItem:
        """A plan item for the credential and account being checked."""


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "an unknown time"


def _check_stamp(cred: CredentialState, link: LinkState, account: Account, item: _Item) -> PlanItem:
    """A timestamp-only directory, when one side changed since the last push or confirmation
    (see the module docstring)."""
    enforce = cred.mode is SyncMode.ENFORCE
    stamp = account.password_stamp
    changed_at = _when(account.password_changed_at)
    if account.synced_from_on_premises and enforce:
        return item(
            Action.FLAG,
            Status.DENIED,
            "synced from an on-premises directory: this directory refuses password writes "
            "for it. Manage it through the client's on-premises directory: add that "
            "directory and this credential links there.",
        )
    if link.accepted_stamp is not None and link.accepted_stamp == stamp and not enforce:
        return item(Action.NONE, Status.PASSWORD_UNKNOWN, UNKNOWN_TO_THE_VAULT, accepted=True)
    never = link.confirmed_stamp is None and link.confirmed_secret_version is None
    if never:
        if enforce:
            return item(
                Action.PUSH,
                Status.PENDING,
                "first check: this directory can't confirm a password without a sign-in, so "
                "the vault's is pushed to make both sides known to match",
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
                        f"before the vault's was stored ({_when(stored)}); this directory "
                        "can't confirm a password, so later changes are compared with this",
                    ),
                    confirm_version=cred.secret_version,
                )
            return item(
                Action.FLAG,
                Status.CHANGED_IN_DIRECTORY,
                f"the password was changed in the directory {changed_at}, after the vault's "
                f"was stored ({_when(stored)})",
            )
        return item(
            Action.FLAG,
            Status.CHANGED_IN_DIRECTORY,
            "the directory does not say when the password was last changed: it can't be "
            "compared (resolve by pushing, or accept the directory's)",
        )
    if link.confirmed_stamp != stamp:
        if enforce:
            return item(
                Action.PUSH,
                Status.PENDING,
                f"the password was changed in the directory ({changed_at}): pushing the vault's",
            )
        return item(
            Action.FLAG,
            Status.CHANGED_IN_DIRECTORY,
            f"someone changed the password in the directory ({changed_at}) since the "
            "vault's last push or confirmation",
        )
    # Only the vault changed.
    if enforce:
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


def cap_pushes(items: list[PlanItem], cap: int) -> str | None:
    """Why the plan must not start, when it holds more certain pushes than ``cap``."""
    pushes = sum(1 for i in items if i.action is Action.PUSH)
    if pushes > cap:
        return (
            f"the plan holds {pushes} pushes, over this directory's cap of {cap} per run: "
            "nothing was pushed (raise push_cap with `credsync directory set`, or move "
            "credentials to report mode)"
        )
    return None
