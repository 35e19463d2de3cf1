"""The planner is pure: every rule of credsync.sync.planner, checked directly."""

from __future__ import annotations

import pytest

from credsync.connectors.base import Account
from credsync.sync.model import Action, CredentialState, LinkState, Status
from credsync.sync.planner import cap_pushes, plan, safety_rail
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


CONFIRMED = LinkState("guid-bob", confirmed_stamp="100", confirmed_secret_version=1)


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
                       status="changed_in_directory")  # fmt: skip
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
    links = {f"c-u{n}": LinkState(f"guid-u{n}", "100", 1) for n in range(3)}
    creds = [cred(f"u{n}", ENFORCE, version=2) for n in range(3)]
    items = plan(creds, links, {f"guid-u{n}": account(f"u{n}") for n in range(3)})
    assert [i.action for i in items] == [Action.PUSH] * 3
    assert cap_pushes(items, 3) is None
    reason = cap_pushes(items, 2)
    assert reason is not None
    assert "3 pushes" in reason
    assert "cap of 2" in reason
