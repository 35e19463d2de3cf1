"""Two-way mode in the planner (credsync.sync.two_way): the vault's changes are pushed as in
enforce, a change made in the directory is left alone for its capture, the newest change
wins when both sides changed, and the effective mode alone decides."""

from __future__ import annotations

import datetime as dt

import pytest

from credsync.connectors.base import Account
from credsync.sync.model import Action, CredentialState, LinkState, PlanItem, Status
from credsync.sync.planner import BASELINE_TOLERANCE, Rules, plan
from credsync.types import SyncMode

TWO_WAY, ENFORCE, REPORT = SyncMode.TWO_WAY, SyncMode.ENFORCE, SyncMode.REPORT
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
TIMESTAMPS = Rules(can_verify=False, knows_authors=True)  # a directory like Entra


def account(stamp: str = "100", changed: dt.datetime | None = T0, **extra: object) -> Account:
    values: dict[str, object] = {
        "id": "guid-bob",
        "username": "bob",
        "upn": "bob@example.test",
        "domain": "EXAMPLE",
        "password_stamp": stamp,
        "password_changed_at": changed,
    }
    values.update(extra)
    return Account(**values)  # type: ignore[arg-type]


def cred(
    mode: SyncMode = TWO_WAY, version: int = 1, stored: dt.datetime | None = T0
) -> CredentialState:
    return CredentialState("c-bob", "Bob", "bob", mode, version, stored)


def link(**extra: object) -> LinkState:
    values: dict[str, object] = {
        "confirmed_stamp": "100",
        "confirmed_secret_version": 1,
        "link_confirmed": True,
    }
    values.update(extra)
    return LinkState("guid-bob", **values)  # type: ignore[arg-type]


def one(
    credential: CredentialState, state: LinkState, acct: Account, rules: Rules | None = None
) -> PlanItem:
    (item,) = plan([credential], {credential.id: state}, {acct.id: acct}, rules=rules)
    return item


LATER = T0 + dt.timedelta(hours=1)
LATEST = T0 + dt.timedelta(hours=2)


def test_in_step_is_in_sync_without_a_bind() -> None:
    item = one(cred(), link(), account())
    assert (item.action, item.status) == (Action.NONE, Status.IN_SYNC)


def test_a_vault_change_is_pushed_as_in_enforce() -> None:
    item = one(cred(version=2, stored=LATER), link(), account())
    assert (item.action, item.status) == (Action.PUSH, Status.PENDING)
    assert "version 1 -> 2" in item.detail


def test_a_directory_change_is_not_pushed_over_and_waits_for_its_capture() -> None:
    item = one(cred(), link(), account(stamp="200", changed=LATER))
    assert (item.action, item.status) == (Action.FLAG, Status.CHANGED_IN_DIRECTORY)
    assert "waiting for its capture" in item.detail
    assert not item.push_on_mismatch  # no bind, no push: the account is left alone


def test_the_same_directory_change_in_enforce_is_pushed_over() -> None:
    """The effective mode alone decides: enforce binds once and pushes on a mismatch."""
    item = one(cred(ENFORCE), link(), account(stamp="200", changed=LATER))
    assert (item.action, item.push_on_mismatch) == (Action.VERIFY, True)
    report = one(cred(REPORT), link(), account(stamp="200", changed=LATER))
    assert (report.action, report.push_on_mismatch) == (Action.VERIFY, False)


def test_both_changed_the_vaults_newer_change_wins() -> None:
    item = one(cred(version=2, stored=LATEST), link(), account(stamp="200", changed=LATER))
    assert (item.action, item.status) == (Action.PUSH, Status.PENDING)
    assert "both sides changed" in item.detail
    assert "the vault's is newer" in item.detail


def test_both_changed_the_directorys_newer_change_wins() -> None:
    item = one(cred(version=2, stored=LATER), link(), account(stamp="200", changed=LATEST))
    assert (item.action, item.status) == (Action.FLAG, Status.CHANGED_IN_DIRECTORY)
    assert "both sides changed" in item.detail
    assert "the directory's is newer" in item.detail
    assert "waiting for its capture" in item.detail


def test_both_changed_with_an_unknown_time_overwrites_nothing() -> None:
    item = one(cred(version=2, stored=None), link(), account(stamp="200", changed=LATER))
    assert (item.action, item.status) == (Action.FLAG, Status.CHANGED_IN_DIRECTORY)
    assert "which is newer is not known" in item.detail


def test_a_link_not_confirmed_is_checked_as_in_report_and_awaits_confirmation() -> None:
    item = one(cred(version=2, stored=LATER), link(link_confirmed=False), account())
    assert item.awaits_confirmation
    assert item.action is Action.VERIFY
    assert not item.push_on_mismatch


def test_never_checked_the_vaults_newer_password_is_pushed_on_a_mismatch() -> None:
    fresh = link(confirmed_stamp=None, confirmed_secret_version=None)
    item = one(cred(stored=LATER), fresh, account(changed=T0))
    assert (item.action, item.push_on_mismatch, item.waits_for_capture) == (
        Action.VERIFY,
        True,
        False,
    )


def test_never_checked_the_directorys_newer_password_waits_for_its_capture() -> None:
    fresh = link(confirmed_stamp=None, confirmed_secret_version=None)
    item = one(cred(stored=T0), fresh, account(changed=LATER))
    assert (item.action, item.push_on_mismatch, item.waits_for_capture) == (
        Action.VERIFY,
        False,
        True,
    )
    # A bind that already failed for this stamp is not repeated either way.
    failed = link(confirmed_stamp=None, confirmed_secret_version=None, failed_stamp="100")
    kept = one(cred(stored=T0), failed, account(changed=LATER))
    assert (kept.action, kept.status) == (Action.FLAG, Status.CHANGED_IN_DIRECTORY)
    pushed = one(cred(stored=LATEST), failed, account(changed=LATER))
    assert pushed.action is Action.PUSH


def test_an_accepted_directory_state_stays_until_the_vault_changes_after_it() -> None:
    accepted = link(accepted_stamp="200")
    item = one(cred(), accepted, account(stamp="200", changed=LATER))
    assert (item.action, item.status, item.accepted) == (
        Action.NONE,
        Status.PASSWORD_UNKNOWN,
        True,
    )
    newer = one(cred(version=2, stored=LATEST), accepted, account(stamp="200", changed=LATER))
    assert newer.action is Action.PUSH


@pytest.mark.parametrize(
    ("version", "stamp", "expected"),
    [
        (1, "100", (Action.NONE, Status.IN_SYNC)),
        (2, "100", (Action.PUSH, Status.PENDING)),
        (1, "200", (Action.FLAG, Status.CHANGED_IN_DIRECTORY)),
    ],
    ids=["in-step", "vault-changed", "directory-changed"],
)
def test_a_timestamp_only_directory_in_two_way(
    version: int, stamp: str, expected: tuple[Action, Status]
) -> None:
    changed = LATER if stamp == "200" else T0
    item = one(
        cred(version=version, stored=T0), link(), account(stamp=stamp, changed=changed), TIMESTAMPS
    )
    assert (item.action, item.status) == expected
    if item.status is Status.CHANGED_IN_DIRECTORY:
        # No capture there: the flag says what an operator can do instead.
        assert "not captured" in item.detail
        assert "judged by the timestamp alone" in item.detail


def test_a_timestamp_only_directorys_first_check_in_two_way() -> None:
    fresh = link(confirmed_stamp=None, confirmed_secret_version=None)
    within = one(cred(), fresh, account(changed=T0 + BASELINE_TOLERANCE), TIMESTAMPS)
    assert within.action is Action.PUSH
    after = one(cred(), fresh, account(changed=LATER), TIMESTAMPS)
    assert (after.action, after.status) == (Action.FLAG, Status.CHANGED_IN_DIRECTORY)


def test_an_account_synced_from_on_premises_is_denied_as_in_enforce() -> None:
    item = one(
        cred(),
        link(),
        account(stamp="200", changed=LATER, synced_from_on_premises=True),
        TIMESTAMPS,
    )
    assert (item.action, item.status) == (Action.FLAG, Status.DENIED)
