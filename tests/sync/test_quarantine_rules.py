"""The quarantine's rules as pure functions (:mod:`credsync.sync.quarantine`): the
thresholds' figures, what counts as a change in the directory, and what a plan becomes."""

from __future__ import annotations

import datetime as dt

from credsync.connectors.base import Account
from credsync.storage.quarantine import HELD, QuarantineRow
from credsync.sync.model import Action, LinkState, PlanItem, Status
from credsync.sync.quarantine import (
    PERCENT_FLOOR,
    Limits,
    inbound_changes,
    outbound_reason,
    screen_inbound,
)


def _item(n: int, action: Action = Action.NONE, *, new_link: bool = False) -> PlanItem:
    return PlanItem(f"c{n}", f"cred {n}", f"a{n}", f"user{n}", action, Status.IN_SYNC, "",
                    new_link=new_link)  # fmt: skip


def _link(n: int, status: str = "in_sync", stamp: str | None = "100") -> LinkState:
    return LinkState(f"a{n}", confirmed_stamp=stamp, status=status, link_confirmed=True)


def _account(n: int, *, enabled: bool = True, stamp: str = "100") -> Account:
    return Account(f"a{n}", f"user{n}", enabled=enabled, password_stamp=stamp)


def test_a_count_over_the_cap_is_crossed_with_its_figures() -> None:
    assert Limits(3, 0).crossed(3, 10, "pushes", "push_cap") is None
    said = Limits(3, 0).crossed(4, 10, "pushes", "push_cap")
    assert said == "4 pushes, over this directory's push_cap of 3"


def test_a_percentage_counts_from_the_floor_on() -> None:
    limits = Limits(1000, 20)
    assert limits.crossed(PERCENT_FLOOR - 1, 10, "changes", "inbound_cap") is None
    said = limits.crossed(PERCENT_FLOOR, 10, "changes", "inbound_cap")
    assert said is not None
    assert "(50%), over this directory's inbound_cap_percent of 20%" in said
    assert Limits(1000, 0).crossed(9, 10, "changes", "inbound_cap") is None  # 0: off
    assert limits.crossed(9, 0, "changes", "inbound_cap") is None  # no links known


def test_outbound_counts_certain_pushes_only() -> None:
    items = [_item(1, Action.PUSH), _item(2, Action.PUSH), _item(3, Action.VERIFY)]
    assert outbound_reason(items, 3, Limits(2, 0)) is None
    reason = outbound_reason([*items, _item(4, Action.PUSH)], 4, Limits(2, 0))
    assert reason is not None
    assert reason.startswith("quarantined by the outbound threshold: 3 pushes planned")


def test_what_counts_as_a_change_in_the_directory() -> None:
    items = [_item(n) for n in range(1, 8)] + [_item(8, new_link=True)]
    links = {f"c{n}": _link(n) for n in range(1, 9)}
    links["c5"] = _link(5, status="account_disabled")  # known disabled: no change
    links["c6"] = _link(6, status="account_missing")  # known gone
    links["c7"] = _link(7, stamp=None)  # never confirmed: no stamp to compare
    accounts = {
        "a1": _account(1, enabled=False),
        "a3": _account(3, stamp="200"),
        "a4": _account(4),
        "a5": _account(5, enabled=False),
        "a7": _account(7, stamp="300"),
        # a2 and a6 are gone; a8 is new, linked by this run
    }
    found = {c.item.credential_id: (c.action, c.observed) for c in
             inbound_changes(items, links, accounts)}  # fmt: skip
    assert found == {
        "c1": ("disabled", "disabled"),
        "c2": ("deleted", "deleted"),
        "c3": ("password_changed", "stamp:200"),
    }


def test_over_the_threshold_the_changed_links_are_skipped_the_rest_planned() -> None:
    items = [_item(n, Action.VERIFY) for n in range(1, 5)]
    links = {f"c{n}": _link(n) for n in range(1, 5)}
    accounts = {f"a{n}": _account(n, enabled=n == 4) for n in range(1, 5)}
    out, held, why = screen_inbound(items, links, accounts, seen=set(), held={},
                                    limits=Limits(2, 0), linked=4)  # fmt: skip
    assert why is not None
    assert [c.item.credential_id for c in held] == ["c1", "c2", "c3"]
    assert [i.action for i in out] == [Action.SKIP] * 3 + [Action.VERIFY]
    under, none, no = screen_inbound(items, links, accounts, seen=set(), held={},
                                     limits=Limits(3, 0), linked=4)  # fmt: skip
    assert (under, none, no) == (items, [], None)


def test_a_change_held_once_is_not_counted_again_and_stays_skipped() -> None:
    items = [_item(n, Action.VERIFY) for n in range(1, 4)]
    links = {f"c{n}": _link(n) for n in range(1, 4)}
    accounts = {f"a{n}": _account(n, enabled=False) for n in range(1, 4)}
    row = QuarantineRow("q1234567", "cl", "d", "r", "inbound", "c1", "a1", "user1", "disabled",
                        "disabled", "held", HELD, dt.datetime.now(dt.UTC))  # fmt: skip
    out, held, why = screen_inbound(
        items, links, accounts, seen={("a1", "disabled"), ("a2", "disabled")},
        held={"a1": row}, limits=Limits(0, 0), linked=3,
    )  # fmt: skip
    assert [c.item.credential_id for c in held] == ["c3"]  # a2: accepted before
    assert out[0].action is Action.SKIP
    assert "held in quarantine (q1234567)" in out[0].detail
    assert out[1].action is Action.VERIFY  # accepted: planned as usual
    assert out[2].action is Action.SKIP
    assert why is not None


def test_a_missing_account_found_outside_the_scope_is_out_of_scope_not_deleted() -> None:
    items = [_item(n, Action.FLAG) for n in range(1, 5)]
    links = {f"c{n}": _link(n) for n in range(1, 5)}
    found = {c.item.credential_id: c.action
             for c in inbound_changes(items, links, {}, moved={"a1", "a2"})}  # fmt: skip
    assert found == {"c1": "out_of_scope", "c2": "out_of_scope", "c3": "deleted",
                     "c4": "deleted"}  # fmt: skip
    out, held, why = screen_inbound(items, links, {}, seen=set(), held={},
                                    limits=Limits(3, 0), linked=4, moved={"a1", "a2"})  # fmt: skip
    assert len(held) == 4  # both kinds count under the same threshold
    assert why is not None
    assert "4 linked accounts changed in the directory (2 deleted, 2 out of scope)" in why
    assert all(i.action is Action.SKIP for i in out)


def test_a_gone_account_held_as_deleted_is_not_counted_again_as_out_of_scope() -> None:
    items = [_item(n, Action.FLAG) for n in range(1, 4)]
    links = {f"c{n}": _link(n) for n in range(1, 4)}
    seen = {("a1", "deleted"), ("a2", "out_of_scope")}
    _, held, _ = screen_inbound(items, links, {}, seen=seen, held={}, limits=Limits(0, 0),
                                linked=3, moved={"a1"})  # fmt: skip
    assert [c.item.credential_id for c in held] == ["c3"]


def test_the_reason_says_whose_threshold_was_crossed() -> None:
    said = Limits(3, 10, "the vault-wide", "the built-in").crossed(4, 100, "changes", "inbound_cap")
    assert said == "4 changes, over the vault-wide inbound_cap of 3"
    said = Limits(50, 10, "the vault-wide", "the built-in").crossed(
        20, 100, "changes", "inbound_cap"
    )
    assert said is not None
    assert said.endswith("over the built-in inbound_cap_percent of 10%")
