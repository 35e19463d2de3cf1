"""The planner is pure: every rule of credsync.sync.planner, checked directly."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from credsync.connectors.base import Account
from credsync.sync.model import Action, Attempt, CredentialState, LinkState, Status
from credsync.sync.planner import Rules, cap_pushes, plan, safety_rail
from credsync.types import SyncMode

REPORT, ENFORCE = SyncMode.REPORT, SyncMode.ENFORCE


def account(name: str, **extra: object) -> Account:
    values: dict[str, object] = {
        "id": f"guid-{name}",
        "username": name,
        "upn": f"{name}@example.test",
        "domain": "EXAMPLE",
        "password_stamp": "100",
    }
    values.update(extra)
    return Account(**values)  # type: ignore[arg-type]


def cred(
    username: str, mode: SyncMode = REPORT, version: int = 1, cid: str = ""
) -> CredentialState:
    return CredentialState(cid or f"c-{username}", username.title(), username, mode, version)


def one(creds, links=None, accounts=(), **kw):
    items = plan(creds, links or {}, {a.id: a for a in accounts}, **kw)
    assert len(items) == len(creds)
    return items[0] if len(items) == 1 else items


CONFIRMED = LinkState(
    "guid-bob", confirmed_stamp="100", confirmed_secret_version=1, link_confirmed=True
)


@pytest.mark.parametrize("name", ["bob", "BOB", "EXAMPLE\\bob", "example\\Bob", "bob@example.test"])
def test_unlinked_credentials_link_by_any_name_and_then_verify(name: str) -> None:
    item = one([cred(name)], accounts=[account("bob")])
    assert item.new_link
    assert item.account_id == "guid-bob"
    assert (item.action, item.status) == (Action.VERIFY, Status.PENDING)
    assert "never checked" in item.detail


def test_a_netbios_prefix_matches_when_the_connector_knows_no_domain() -> None:
    item = one([cred("OTHER\\bob")], accounts=[account("bob", domain=None)])
    assert item.account_id == "guid-bob"


def test_another_domains_prefix_never_matches_an_account_of_a_known_domain() -> None:
    """FILESRV1\\Administrator is not the Administrator of the client's next machine (each
    workgroup machine is a directory of its own, its accounts' domain its name)."""
    item = one(
        [cred("FILESRV1\\administrator")], accounts=[account("administrator", domain="FILESRV2")]
    )
    assert (item.action, item.status) == (Action.FLAG, Status.UNMATCHED)


def test_unmatched_and_ambiguous_are_flagged_never_guessed() -> None:
    unmatched = one([cred("carol")], accounts=[account("bob")])
    assert (unmatched.action, unmatched.status) == (Action.FLAG, Status.UNMATCHED)
    twins = [account("bob"), account("bob2", id="guid-2", upn="bob")]
    ambiguous = one([cred("bob")], accounts=twins)
    assert (ambiguous.action, ambiguous.status) == (Action.FLAG, Status.AMBIGUOUS)
    assert "2 accounts" in ambiguous.detail
    assert not ambiguous.new_link


def test_two_credentials_for_one_account_conflict() -> None:
    first, second = one(
        [cred("bob", cid="c1"), cred("EXAMPLE\\bob", cid="c2")], accounts=[account("bob")]
    )
    assert first.new_link
    assert first.action is Action.VERIFY
    assert (second.action, second.status) == (Action.FLAG, Status.CONFLICT)
    assert "c1" in second.detail


def test_an_account_linked_to_another_credential_conflicts() -> None:
    links = {"c-other": LinkState("guid-bob")}
    item = plan([cred("bob")], links, {"guid-bob": account("bob")})[0]
    assert (item.action, item.status) == (Action.FLAG, Status.CONFLICT)


def test_an_account_claimed_by_another_directory_conflicts() -> None:
    item = one([cred("bob")], accounts=[account("bob")], claimed_elsewhere={"guid-bob": "hq"})
    assert (item.status, item.action) == (Status.CONFLICT, Action.FLAG)
    assert "'hq'" in item.detail


def test_a_linked_account_that_is_gone_is_account_missing() -> None:
    item = one([cred("bob")], {"c-bob": CONFIRMED})
    assert (item.action, item.status) == (Action.FLAG, Status.ACCOUNT_MISSING)


def test_links_follow_the_stable_id_through_renames() -> None:
    renamed = account("robert", id="guid-bob")
    item = one([cred("bob")], {"c-bob": CONFIRMED}, [renamed])
    assert (item.action, item.status) == (Action.NONE, Status.IN_SYNC)


def test_unchanged_on_both_sides_needs_no_bind() -> None:
    item = one([cred("bob")], {"c-bob": CONFIRMED}, [account("bob")])
    assert (item.action, item.status) == (Action.NONE, Status.IN_SYNC)
    assert "no bind" in item.detail


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ({"enabled": False}, Status.ACCOUNT_DISABLED),
        ({"locked_out": True}, Status.LOCKED_OUT),
    ],
)
@pytest.mark.parametrize("mode", [REPORT, ENFORCE])
def test_disabled_and_locked_accounts_are_flagged_without_a_bind(state, status, mode) -> None:
    item = one([cred("bob", mode, version=2)], {"c-bob": CONFIRMED}, [account("bob", **state)])
    assert (item.action, item.status) == (Action.FLAG, status)


def test_an_expired_password_is_flagged_in_report_and_pushed_in_enforce() -> None:
    expired = account("bob", password_expired=True, password_stamp="0")
    report = one([cred("bob")], {"c-bob": CONFIRMED}, [expired])
    assert (report.action, report.status) == (Action.FLAG, Status.PASSWORD_EXPIRED)
    enforce = one([cred("bob", ENFORCE)], {"c-bob": CONFIRMED}, [expired])
    assert enforce.action is Action.PUSH
    in_step = one([cred("bob")], {"c-bob": CONFIRMED}, [account("bob", password_expired=True)])
    assert (in_step.action, in_step.status) == (Action.FLAG, Status.PASSWORD_EXPIRED)


def test_directory_change_means_one_bind_and_enforce_pushes_on_mismatch() -> None:
    changed = account("bob", password_stamp="200")
    report = one([cred("bob")], {"c-bob": CONFIRMED}, [changed])
    assert (report.action, report.push_on_mismatch) == (Action.VERIFY, False)
    assert "changed since the last good check" in report.detail
    enforce = one([cred("bob", ENFORCE)], {"c-bob": CONFIRMED}, [changed])
    assert (enforce.action, enforce.push_on_mismatch) == (Action.VERIFY, True)


def test_vault_change_pushes_in_enforce_and_verifies_in_report() -> None:
    enforce = one([cred("bob", ENFORCE, version=2)], {"c-bob": CONFIRMED}, [account("bob")])
    assert enforce.action is Action.PUSH
    assert "1 -> 2" in enforce.detail
    report = one([cred("bob", REPORT, version=2)], {"c-bob": CONFIRMED}, [account("bob")])
    assert report.action is Action.VERIFY


def test_never_a_second_failed_bind_for_the_same_stamp() -> None:
    failed = LinkState("guid-bob", "100", 1, failed_stamp="200", failed_secret_version=1,
                       status="changed_in_directory", link_confirmed=True)  # fmt: skip
    changed = account("bob", password_stamp="200")
    report = one([cred("bob")], {"c-bob": failed}, [changed])
    assert (report.action, report.status) == (Action.FLAG, Status.CHANGED_IN_DIRECTORY)
    assert "not repeated" in report.detail
    # Even with a new secret in the vault: the rule is per pwdLastSet value.
    newer = one([cred("bob", version=2)], {"c-bob": failed}, [changed])
    assert newer.action is Action.FLAG
    enforce = one([cred("bob", ENFORCE)], {"c-bob": failed}, [changed])
    assert enforce.action is Action.PUSH
    assert "without a bind" in enforce.detail
    # Once the directory's password changes again, one bind is allowed again.
    again = one([cred("bob")], {"c-bob": failed}, [account("bob", password_stamp="300")])
    assert again.action is Action.VERIFY


def test_an_accepted_directory_state_stays_quiet_until_it_changes() -> None:
    accepted = LinkState("guid-bob", "100", 1, accepted_stamp="200")
    quiet = one([cred("bob")], {"c-bob": accepted}, [account("bob", password_stamp="200")])
    assert (quiet.action, quiet.status, quiet.accepted) == (
        Action.NONE,
        Status.PASSWORD_UNKNOWN,
        True,
    )
    moved = one([cred("bob")], {"c-bob": accepted}, [account("bob", password_stamp="300")])
    assert moved.action is Action.VERIFY


def test_a_safety_rail_turns_every_item_into_a_skip() -> None:
    items = plan([cred("bob"), cred("carol")], {}, {}, abort_reason="because")
    assert {(i.action, i.status, i.detail) for i in items} == {
        (Action.SKIP, Status.SKIPPED, "because")
    }


def test_safety_rail_rules() -> None:
    assert "no accounts" in safety_rail(
        accounts_read=0, last_count=None, min_ratio_percent=50, full=True
    )
    assert safety_rail(accounts_read=0, last_count=5, min_ratio_percent=50, full=False) is None
    low = safety_rail(accounts_read=40, last_count=100, min_ratio_percent=50, full=True)
    assert low is not None
    assert "40 accounts" in low
    assert "100" in low
    assert safety_rail(accounts_read=50, last_count=100, min_ratio_percent=50, full=True) is None
    assert safety_rail(accounts_read=1, last_count=9, min_ratio_percent=50, full=True) is None


def test_push_cap() -> None:
    links = {f"c-u{n}": LinkState(f"guid-u{n}", "100", 1, link_confirmed=True) for n in range(3)}
    creds = [cred(f"u{n}", ENFORCE, version=2) for n in range(3)]
    items = plan(creds, links, {f"guid-u{n}": account(f"u{n}") for n in range(3)})
    assert [i.action for i in items] == [Action.PUSH] * 3
    assert cap_pushes(items, 3) is None
    reason = cap_pushes(items, 2)
    assert reason is not None
    assert "3 pushes" in reason
    assert "cap of 2" in reason


# -- links confirmed for pushes (issue 13) ------------------------------------------------------
def test_a_new_link_in_enforce_is_checked_but_never_pushed() -> None:
    item = one([cred("bob", ENFORCE)], accounts=[account("bob")])
    assert item.new_link
    assert item.awaits_confirmation
    assert (item.action, item.push_on_mismatch) == (Action.VERIFY, False)


def test_a_new_link_in_report_mode_awaits_nothing() -> None:
    item = one([cred("bob")], accounts=[account("bob")])
    assert not item.awaits_confirmation


@pytest.mark.parametrize(
    ("acct", "version"),
    [
        ({"password_stamp": "200"}, 1),  # drift: enforce would bind then push
        ({}, 2),  # a vault change: enforce would push without a bind
        ({"password_expired": True, "password_stamp": "0"}, 1),  # expired: enforce would push
    ],
)
def test_an_unconfirmed_link_in_enforce_pushes_nothing(acct, version) -> None:
    link = LinkState("guid-bob", "100", 1)  # checked before, never confirmed for pushes
    item = one([cred("bob", ENFORCE, version=version)], {"c-bob": link}, [account("bob", **acct)])
    assert item.awaits_confirmation
    assert item.action is not Action.PUSH
    assert not item.push_on_mismatch
    confirmed = one(
        [cred("bob", ENFORCE, version=version)],
        {"c-bob": replace(link, link_confirmed=True)},
        [account("bob", **acct)],
    )
    assert confirmed.action is Action.PUSH or confirmed.push_on_mismatch
    assert not confirmed.awaits_confirmation


def test_a_bind_that_failed_is_not_repeated_while_the_link_awaits_confirmation() -> None:
    link = LinkState("guid-bob", failed_stamp="100", failed_secret_version=1, status="mismatch")
    item = one([cred("bob", ENFORCE)], {"c-bob": link}, [account("bob")])
    assert (item.action, item.status) == (Action.FLAG, Status.MISMATCH)
    assert item.awaits_confirmation


# -- pushes whose outcome is unknown (issue 13) ---------------------------------------------------
AT = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def attempted(stamp: str | None = "100", version: int = 2, **link: object) -> LinkState:
    """A confirmed link in step at version 1 and stamp 100, with a push of ``version``
    attempted while the account's stamp was ``stamp``, outcome unknown."""
    values: dict[str, object] = {
        "confirmed_stamp": "100",
        "confirmed_secret_version": 1,
        "link_confirmed": True,
        "attempt": Attempt("run-before", version, stamp, AT),
    }
    values.update(link)
    return LinkState("guid-bob", **values)  # type: ignore[arg-type]


def test_an_attempt_whose_stamp_did_not_move_did_not_take_and_is_pushed_again() -> None:
    item = one([cred("bob", ENFORCE, version=2)], {"c-bob": attempted()}, [account("bob")])
    assert (item.action, item.settled) == (Action.PUSH, "not_pushed")
    assert item.settles is not None
    assert item.settles.run_id == "run-before"
    assert "did not take" in item.detail


def test_an_attempt_whose_stamp_moved_is_checked_with_one_bind() -> None:
    moved = account("bob", password_stamp="300")
    item = one([cred("bob", ENFORCE, version=2)], {"c-bob": attempted()}, [moved])
    assert (item.action, item.push_on_mismatch, item.settled) == (Action.VERIFY, True, None)
    assert item.settles is not None
    assert "one bind tells whether it took" in item.detail
    report = one([cred("bob", REPORT, version=2)], {"c-bob": attempted()}, [moved])
    assert (report.action, report.push_on_mismatch) == (Action.VERIFY, False)


def test_an_attempt_is_never_checked_with_a_second_bind_for_the_same_stamp() -> None:
    link = attempted(failed_stamp="300")
    item = one(
        [cred("bob", ENFORCE, version=2)], {"c-bob": link}, [account("bob", password_stamp="300")]
    )
    assert item.settled == "not_pushed"
    assert item.action is Action.PUSH  # without a bind


def test_an_attempt_the_vault_moved_past_is_superseded() -> None:
    item = one(
        [cred("bob", ENFORCE, version=3)],
        {"c-bob": attempted()},
        [account("bob", password_stamp="300")],
    )
    assert (item.action, item.settled) == (Action.PUSH, "superseded")
    assert "1 -> 3" in item.detail


def test_an_attempt_on_a_disabled_account_waits() -> None:
    item = one(
        [cred("bob", ENFORCE, version=2)],
        {"c-bob": attempted()},
        [account("bob", enabled=False, password_stamp="300")],
    )
    assert (item.action, item.status, item.settles) == (Action.FLAG, Status.ACCOUNT_DISABLED, None)


def test_a_timestamp_only_directory_takes_a_moved_stamp_for_the_push() -> None:
    graph = Rules(can_verify=False)
    moved = account("bob", password_stamp="300", password_changed_at=AT)
    item = one([cred("bob", ENFORCE, version=2)], {"c-bob": attempted()}, [moved], rules=graph)
    assert (item.action, item.status, item.confirm_version) == (Action.CONFIRM, Status.IN_SYNC, 2)
    assert item.settles is not None
    still = one(
        [cred("bob", ENFORCE, version=2)], {"c-bob": attempted()}, [account("bob")], rules=graph
    )
    assert (still.action, still.settled) == (Action.PUSH, "not_pushed")


@pytest.mark.parametrize("mode", [REPORT, ENFORCE])
def test_a_shell_is_never_bound_nor_pushed_until_its_placeholder_is_replaced(
    mode: SyncMode,
) -> None:
    shell = LinkState(
        "guid-bob", accepted_stamp="90", status="password_unknown", link_confirmed=True,
        shell_version=1,
    )  # fmt: skip
    moved = account("bob", password_stamp="200")  # the password changed in the directory
    item = one([cred("bob", mode)], {"c-bob": shell}, [moved])
    assert (item.action, item.status) == (Action.NONE, Status.PASSWORD_UNKNOWN)
    assert "auto-create" in item.detail
    # A password set since (version 2): an ordinary credential again.
    item = one([cred("bob", mode, version=2)], {"c-bob": shell}, [moved])
    assert item.action in (Action.VERIFY, Action.PUSH)


def test_a_disabled_shell_account_is_still_flagged_disabled() -> None:
    shell = LinkState("guid-bob", link_confirmed=True, shell_version=1)
    item = one([cred("bob")], {"c-bob": shell}, [account("bob", enabled=False)])
    assert item.status is Status.ACCOUNT_DISABLED
