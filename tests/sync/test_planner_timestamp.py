"""The planner's rules for a timestamp-only directory (Entra: no bind), checked directly."""

from __future__ import annotations

import datetime as dt

import pytest

from credsync.connectors.base import Account
from credsync.sync.model import Action, CredentialState, LinkState, Status
from credsync.sync.planner import BASELINE_TOLERANCE, Rules, plan
from credsync.types import SyncMode

REPORT, ENFORCE = SyncMode.REPORT, SyncMode.ENFORCE
STORED = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)  # when the vault's password was stored
STAMP = "2026-11-01T11:00:00Z"
GRAPH = Rules(can_verify=False)


def entra(changed: dt.datetime = STORED - dt.timedelta(hours=1), **extra: object) -> Account:
    values: dict[str, object] = {
        "id": "oid-ann",
        "username": "ann@contoso.test",
        "upn": "ann@contoso.test",
        "password_stamp": changed.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "password_changed_at": changed,
    }
    values.update(extra)
    return Account(**values)  # type: ignore[arg-type]


def cred(mode: SyncMode = REPORT, version: int = 1) -> CredentialState:
    return CredentialState("c-ann", "Ann", "ann@contoso.test", mode, version, STORED)


def check(credential: CredentialState, account: Account, link: LinkState | None = None,
          rules: Rules = GRAPH):  # fmt: skip
    links = {credential.id: link} if link else {}
    [item] = plan([credential], links, {account.id: account}, rules=rules)
    return item


def confirmed(account: Account, version: int = 1) -> LinkState:
    """A link confirmed for pushes, in step at ``version`` with the account's stamp."""
    return LinkState(
        account.id,
        confirmed_stamp=account.password_stamp,
        confirmed_secret_version=version,
        link_confirmed=True,
    )


def test_first_check_in_report_takes_a_baseline_when_the_directory_is_older() -> None:
    item = check(cred(), entra())
    assert item.new_link
    assert (item.action, item.status) == (Action.CONFIRM, Status.IN_SYNC)
    assert item.confirm_version == 1
    assert "baseline" in item.detail


def test_a_portal_reset_just_after_storing_is_within_the_tolerance() -> None:
    item = check(cred(), entra(STORED + BASELINE_TOLERANCE - dt.timedelta(seconds=1)))
    assert item.action is Action.CONFIRM


def test_first_check_in_report_flags_a_later_directory_change() -> None:
    item = check(cred(), entra(STORED + BASELINE_TOLERANCE + dt.timedelta(minutes=1)))
    assert (item.action, item.status) == (Action.FLAG, Status.CHANGED_IN_DIRECTORY)
    assert "after the vault's was stored" in item.detail


def test_first_check_without_a_directory_timestamp_is_flagged_not_guessed() -> None:
    item = check(cred(), entra(password_stamp=None, password_changed_at=None))
    assert (item.action, item.status) == (Action.FLAG, Status.CHANGED_IN_DIRECTORY)


def test_first_check_of_a_new_link_in_enforce_waits_for_its_confirmation() -> None:
    item = check(cred(ENFORCE), entra())
    assert item.new_link
    assert item.awaits_confirmation
    assert (item.action, item.status) == (Action.FLAG, Status.AWAITING_CONFIRMATION)
    assert "pushed once the link is confirmed" in item.detail


def test_first_check_in_enforce_through_a_confirmed_link_pushes() -> None:
    account = entra()
    link = LinkState(account.id, link_confirmed=True)
    item = check(cred(ENFORCE), account, link)
    assert (item.action, item.status) == (Action.PUSH, Status.PENDING)
    assert not item.awaits_confirmation


def test_an_unconfirmed_link_in_enforce_is_reported_never_pushed() -> None:
    before, after = entra(), entra(STORED + dt.timedelta(days=1))
    link = LinkState(before.id, confirmed_stamp=before.password_stamp, confirmed_secret_version=1)
    changed = check(cred(ENFORCE), after, link)
    assert (changed.action, changed.status) == (Action.FLAG, Status.CHANGED_IN_DIRECTORY)
    assert changed.awaits_confirmation
    newer = check(cred(ENFORCE, version=2), before, link)
    assert (newer.action, newer.status) == (Action.FLAG, Status.MISMATCH)


def test_unchanged_on_both_sides_is_in_sync_without_any_call() -> None:
    account = entra()
    item = check(cred(), account, confirmed(account))
    assert (item.action, item.status) == (Action.NONE, Status.IN_SYNC)
    # A directory that never binds is not said to have been spared one.
    assert item.detail == "password unchanged on both sides since the last good check"
    assert "no bind" in check(cred(), account, confirmed(account), Rules()).detail


@pytest.mark.parametrize(("mode", "action", "status"), [
    (REPORT, Action.FLAG, Status.CHANGED_IN_DIRECTORY),
    (ENFORCE, Action.PUSH, Status.PENDING),
])  # fmt: skip
def test_a_directory_change_since_the_last_push(mode, action, status) -> None:
    before = entra()
    after = entra(STORED + dt.timedelta(days=1))
    item = check(cred(mode), after, confirmed(before))
    assert (item.action, item.status) == (action, status)


@pytest.mark.parametrize(("mode", "action", "status"), [
    (REPORT, Action.FLAG, Status.MISMATCH),
    (ENFORCE, Action.PUSH, Status.PENDING),
])  # fmt: skip
def test_a_vault_change_not_yet_in_the_directory(mode, action, status) -> None:
    account = entra()
    item = check(cred(mode, version=2), account, confirmed(account, version=1))
    assert (item.action, item.status) == (action, status)
    assert "version 1 -> 2" in item.detail


def test_an_accepted_directory_password_stays_quiet_in_report_mode() -> None:
    before, after = entra(), entra(STORED + dt.timedelta(days=1))
    link = LinkState(
        after.id,
        confirmed_stamp=before.password_stamp,
        confirmed_secret_version=1,
        accepted_stamp=after.password_stamp,
    )
    item = check(cred(), after, link)
    assert (item.action, item.status, item.accepted) == (
        Action.NONE,
        Status.PASSWORD_UNKNOWN,
        True,
    )


def test_on_premises_synced_accounts_are_never_pushed_through_entra() -> None:
    synced = entra(synced_from_on_premises=True)
    item = check(cred(ENFORCE), synced)
    assert (item.action, item.status) == (Action.FLAG, Status.DENIED)
    assert "client's on-premises directory" in item.detail


def test_on_premises_synced_accounts_linked_in_ad_are_decided_there() -> None:
    synced = entra(STORED + dt.timedelta(days=1), synced_from_on_premises=True)
    rules = Rules(can_verify=False, managed_elsewhere={"c-ann": "contoso-ad"})
    for mode in (REPORT, ENFORCE):
        item = check(cred(mode), synced, confirmed(entra()), rules)
        assert (item.action, item.status) == (Action.NONE, Status.SKIPPED)
        assert "'contoso-ad'" in item.detail


def test_on_premises_synced_accounts_are_still_reported_in_report_mode() -> None:
    synced = entra(STORED + dt.timedelta(days=1), synced_from_on_premises=True)
    item = check(cred(), synced, confirmed(entra()))
    assert item.status is Status.CHANGED_IN_DIRECTORY


def test_force_change_leaves_a_must_change_account_in_sync() -> None:
    account = entra(must_change_password=True, password_expired=True)
    link = confirmed(account)
    assert check(cred(), account, link).status is Status.PASSWORD_EXPIRED
    forced = check(cred(), account, link, Rules(can_verify=False, force_change=True))
    assert (forced.action, forced.status) == (Action.NONE, Status.IN_SYNC)


def test_disabled_accounts_are_flagged_first() -> None:
    item = check(cred(ENFORCE), entra(enabled=False))
    assert item.status is Status.ACCOUNT_DISABLED


@pytest.mark.parametrize(
    ("now_after_stamp", "waits"),
    [
        (0.0, True),  # the stamp's own second: wait for it to pass
        (0.6, True),
        (1.0, False),  # the next second already
        (5.0, False),
        (-0.8, True),  # the directory's clock a little ahead: wait for its second to pass
        (-3.0, False),  # far ahead: the directory's clock is off, waiting would not help
    ],
)
def test_a_push_waits_for_the_second_of_the_stamp_it_replaces(
    now_after_stamp: float, waits: bool
) -> None:
    from credsync.sync.stamps import SAME_SECOND_WAIT_MAX, same_second_wait

    stamp = dt.datetime(2026, 12, 7, 8, 0, 0, tzinfo=dt.UTC)
    now = stamp.timestamp() + now_after_stamp
    wait = same_second_wait(entra(changed=stamp), now)
    if waits:
        assert 0 < wait <= SAME_SECOND_WAIT_MAX + 0.05
        assert int(now + wait) > int(stamp.timestamp())  # the write lands in a later second
    else:
        assert wait == 0.0
    assert same_second_wait(Account(id="x", username="x"), now) == 0.0  # no stamp: no wait
