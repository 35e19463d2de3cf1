"""The planner: a pure function from vault state + directory state to a list of actions.

It never talks to a directory or a database, so every rule below is tested directly.

Per credential (effective mode report, enforce or two-way), in order:

1. **Link.** A linked credential follows its account by stable id. An unlinked one is matched
   by name (sAMAccountName, ``DOMAIN\\name``, UPN; case-insensitive): no account is
   ``unmatched``, several are ``ambiguous``, an account already linked to another credential
   or claimed by another directory is a ``conflict``. None of these is guessed.
2. **Account state.** Gone: ``account_missing``. Disabled, locked out, password expired: that
   status, and no bind (a bind would count as a bad logon or fail anyway).
3. **Timestamp first** (DESIGN.md, "Verify without locking anyone out"). The directory's
   password stamp (pwdLastSet) and the vault's secret version both unchanged since the last
   good check or push: ``in_sync`` with no bind.
4. **Vault changed, enforce or two-way:** push (vault wins). **Two-way** (through a confirmed
   link) never pushes over a change made in the directory: it waits for its capture, flagged
   ``changed_in_directory``; the rules are :mod:`credsync.sync.two_way`'s.
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
  ``changed_in_directory``, enforce pushes; the flag names who changed it and how when the
  directory says (``password_changed_by``: Entra's audit log), else it says it judged by the
  timestamp alone (where the directory could have named someone);
- the vault's password changed and the directory's didn't: report flags ``mismatch`` (the
  directory still has the old one), enforce pushes.

**Links confirmed for pushes.** A link a run makes by matching names is stored unconfirmed;
until an operator with directory.setup confirms it (:mod:`credsync.sync.confirm`), a
credential in enforce or two-way mode is checked as in report mode (a bind where the
directory can, a timestamp where it can't; no baseline is taken for a timestamp-only
directory, whose first push waits for the confirmation) and the item
``awaits_confirmation``: nothing is pushed, and its flag says so. Whoever made the
credential, and through whatever door.

**Shells** (auto-create made the credential when the run first saw its account, with no
password: :mod:`credsync.vault.auto_create`): while its placeholder is the credential's
secret, the item is ``password_unknown`` with no bind and no push, whatever the mode, until
the account's first capture (or an operator's password) replaces it.

**A push whose outcome is unknown** (an earlier run recorded the attempt, then stopped or
lost the directory before it answered) is settled first, without locking anyone out:

- the vault's password changed since: the attempt is ``superseded`` (the normal rules push
  the new one, in enforce mode);
- the directory's password stamp is the one it had just before the attempt: the push did not
  take (``not_pushed``), and the normal rules decide (enforce pushes again);
- it moved since: a directory that binds checks with one bind (success: pushed; failure:
  not pushed, and enforce pushes again; never a second bind for that stamp); a
  timestamp-only one takes the move for the push (``confirm``).

A disabled or locked-out account leaves the attempt for a later run.

Accounts synced from on-premises AD (``synced_from_on_premises``) are never pushed through
Entra: when the credential is linked in another directory of the client (its AD), that side
decides (``skipped`` here, saying where); otherwise enforce flags them ``denied`` with what
to do. A directory that pushes with "change at next sign-in" (``force_change``) expects the
must-change state it leaves behind: that is in step until the user signs in.

Safety rails: a run that read no accounts, or far fewer than the last full pass, acts on
nothing; more pushes planned than the cap stops the run before it pushes anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from credsync.connectors.base import Account
from credsync.sync.model import (
    UNKNOWN_TO_THE_VAULT,
    Action,
    Attempt,
    CredentialState,
    LinkState,
    PlanItem,
    Status,
)
from credsync.sync.stamps import BASELINE_TOLERANCE, Item, check_stamp, when
from credsync.sync.two_way import two_way
from credsync.types import SyncMode

__all__ = [
    "BASELINE_TOLERANCE",
    "SHELL_DETAIL",
    "Rules",
    "cap_pushes",
    "plan",
    "safety_rail",
    "supersede",
]

SHELL_DETAIL = (
    "made by auto-create: the vault has no password for this account yet (its first captured "
    "change brings it): no bind, never pushed"
)


@dataclass(frozen=True)
class Rules:
    """What the planner must know about the directory beyond its accounts.

    ``can_verify``: the connector checks a password by binding (AD); False for a
    timestamp-only directory (Entra). ``force_change``: pushes leave the account in
    "change at next sign-in". ``managed_elsewhere``: credential id -> the name of another
    directory of the client that links it (where an on-premises-synced account is managed).
    ``knows_authors``: the directory names who changed a password where it can (the
    accounts' ``password_changed_by``); a change it does not name is said to be judged by
    its timestamp alone.
    """

    can_verify: bool = True
    knows_authors: bool = False
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
            # DOMAIN\name where the connector knows no NetBIOS domain: match the name part
            # (only accounts without a domain: MACHINE\Administrator of one workgroup machine
            # is not the Administrator of the client's next machine).
            part = wanted.split("\\", 1)[1]
            found = [a for a in self._by_name.get(part, ()) if not a.domain]
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
    """The check of a linked credential (see the module docstring); enforce and two-way push
    only through a confirmed link."""
    pushes = cred.mode.pushes and link.link_confirmed
    checked = _check_link(cred, link, account, rules, pushes)
    if cred.mode.pushes and not link.link_confirmed:
        return replace(checked, awaits_confirmation=True)
    return checked


def _check_link(
    cred: CredentialState, link: LinkState, account: Account, rules: Rules, pushes: bool
) -> PlanItem:
    def item(
        action: Action,
        status: Status,
        detail: str,
        *,
        push_on_mismatch: bool = False,
        accepted: bool = False,
    ) -> PlanItem:
        return PlanItem(
            cred.id,
            cred.title,
            account.id,
            account.username,
            action,
            status,
            detail,
            push_on_mismatch=push_on_mismatch,
            accepted=accepted,
        )

    if not account.enabled:
        return item(Action.FLAG, Status.ACCOUNT_DISABLED, "the account is disabled")
    if account.locked_out:
        return item(Action.FLAG, Status.LOCKED_OUT, "the account is locked out")
    if link.shell_version is not None and link.shell_version == cred.secret_version:
        return item(Action.NONE, Status.PASSWORD_UNKNOWN, SHELL_DETAIL)
    attempt = link.attempt
    if attempt is None:
        return _check_state(cred, link, account, rules, pushes, item)
    settled = _settle(cred, link, attempt, account, rules, pushes, item)
    if isinstance(settled, PlanItem):
        return replace(settled, settles=attempt)
    how, note = settled
    rest = _check_state(cred, replace(link, attempt=None), account, rules, pushes, item)
    return replace(rest, settles=attempt, settled=how, detail=f"{note}; {rest.detail}")


def _attempt_words(attempt: Attempt) -> str:
    return (
        f"the push of version {attempt.secret_version} by run {attempt.run_id[:8]} "
        f"({when(attempt.at)}) ended without an outcome"
    )


def _settle(
    cred: CredentialState,
    link: LinkState,
    attempt: Attempt,
    account: Account,
    rules: Rules,
    pushes: bool,
    item: Item,
) -> PlanItem | tuple[str, str]:
    """A push an earlier run attempted without recording its outcome (see the module
    docstring): the item that finds out, or how it ended and why (the normal check follows)."""
    stamp, what = account.password_stamp, _attempt_words(attempt)
    if attempt.secret_version != cred.secret_version:
        return (
            "superseded",
            f"{what}; the vault's password changed since (version {cred.secret_version})",
        )
    unchanged = stamp == attempt.stamp and (stamp is not None or not rules.can_verify)
    if unchanged or (rules.can_verify and stamp is not None and link.failed_stamp == stamp):
        return "not_pushed", f"{what}: it did not take (the directory's password is unchanged)"
    if rules.can_verify:
        return item(
            Action.VERIFY,
            Status.PENDING,
            f"{what} and the directory's password changed since: one bind tells whether it took",
            push_on_mismatch=pushes,
        )
    return replace(
        item(
            Action.CONFIRM,
            Status.IN_SYNC,
            f"{what}; the directory's password changed since "
            f"({when(account.password_changed_at)}): taken as that push",
        ),
        confirm_version=attempt.secret_version,
    )


def _check_state(
    cred: CredentialState,
    link: LinkState,
    account: Account,
    rules: Rules,
    pushes: bool,
    item: Item,
) -> PlanItem:
    """Steps 3-5 of the module docstring (or the timestamp-only rules); ``pushes``: enforce
    mode through a confirmed link."""
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
    refused = account.synced_from_on_premises and not rules.can_verify  # denied, below
    if (
        pushes
        and cred.mode is SyncMode.TWO_WAY
        and not refused
        and (vault_changed or directory_changed)
    ):
        decided = two_way(
            cred, link, account, item, can_verify=rules.can_verify, authors=rules.knows_authors
        )
        if decided is not None:
            return decided
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
        return check_stamp(cred, link, account, item, pushes, authors=rules.knows_authors)
    if pushes and vault_changed and link.confirmed_secret_version is not None:
        return item(
            Action.PUSH,
            Status.PENDING,
            f"the vault's password changed (version {link.confirmed_secret_version} -> "
            f"{cred.secret_version})",
        )
    if not pushes and link.accepted_stamp is not None and link.accepted_stamp == stamp:
        return item(Action.NONE, Status.PASSWORD_UNKNOWN, UNKNOWN_TO_THE_VAULT, accepted=True)
    if account.password_expired:
        # A bind would fail for expiry whatever the password: don't spend a bad logon.
        if pushes:
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
        if pushes:
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
    return item(Action.VERIFY, Status.PENDING, why + ": one bind", push_on_mismatch=pushes)


_FAILED = {Status.MISMATCH.value, Status.CHANGED_IN_DIRECTORY.value}


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


def supersede(item: PlanItem, link: LinkState | None) -> PlanItem:
    """A push decided elsewhere through a link with an attempt of unknown outcome: that
    attempt is superseded by this push."""
    if item.action is not Action.PUSH or link is None or link.attempt is None:
        return item
    return replace(item, settles=link.attempt, settled="superseded")
