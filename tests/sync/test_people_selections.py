"""Saved import selections (issue 16): saved, listed, run by hand and by the agent (which
re-synchronises one after a change in the directory, and whose second run changes nothing),
one run of a selection at a time (the lease), each run's report kept, and who may."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from credsync.agent.loop import Agent
from credsync.errors import InvalidInput, NotFound, RunInProgress
from credsync.storage import import_selections as rows
from credsync.sync.people_import import Selection
from credsync.sync.people_selections import SavedSelections
from credsync.vault._time import utcnow

from .entra import EntraWorld


def saved(ew: EntraWorld, actor: Any = None, **kwargs: Any) -> SavedSelections:
    return SavedSelections(ew.vault, ew.keys, actor or ew.admin, **kwargs)


def user(ew: EntraWorld, alias: str, display: str) -> str:
    return str(ew.tenant.create_user(upn=f"{alias}@{ew.tenant.domain}", display_name=display).id)


@pytest.fixture
def team(ew: EntraWorld) -> dict[str, str]:
    ids = {"ada": user(ew, "ada", "Ada Lovelace"), "bob": user(ew, "bob", "Bob Berg")}
    ids["sales"] = ew.tenant.create_group("Sales", members=[ids["ada"]])
    return ids


def test_a_saved_selection_is_listed_run_and_its_runs_kept(
    ew: EntraWorld, team: dict[str, str]
) -> None:
    chosen = Selection(ids=(team["sales"],), members=True)
    made = saved(ew).save(ew.client, ew.directory, "Sales team", chosen, interval=3600)
    shown = made.to_json()
    assert (shown["name"], shown["ids"], shown["members"]) == ("Sales team", [team["sales"]], True)
    assert shown["interval_seconds"] == 3600
    assert shown["next_run_at"] is not None
    assert shown["last_run_at"] is None
    assert [s.name for s in saved(ew).list(ew.client)] == ["Sales team"]
    first = asyncio.run(saved(ew).run(ew.client, "sales TEAM"))  # names: any case
    assert first["state"] == "done"
    assert first["trigger"] == "manual"
    assert (first["totals"]["created"], first["totals"]["members_added"]) == (2, 1)
    again = asyncio.run(saved(ew).run(ew.client, made.id))
    assert again["totals"]["unchanged"] == 2
    assert again["totals"]["created"] == 0
    after = saved(ew).get(ew.client, "Sales team").to_json()
    assert after["last_state"] == "done"
    assert after["last_totals"] == again["totals"]
    assert [r["id"] for r in saved(ew).runs(ew.client, "Sales team")] == [again["id"], first["id"]]
    # saving under the same name replaces it
    saved(ew).save(ew.client, ew.directory, "SALES team", Selection(query="ada"), interval=None)
    [only] = saved(ew).list(ew.client)
    assert (only.to_json()["query"], only.to_json()["interval_seconds"]) == ("ada", None)
    assert only.to_json()["next_run_at"] is None
    saved(ew).remove(ew.client, "sales team")
    assert saved(ew).list(ew.client) == []
    with pytest.raises(NotFound):
        saved(ew).get(ew.client, "sales team")
    actions = [e.action for e in ew.vault.audit.list(ew.admin, limit=30)]
    for action in ("selection_save", "selection_run", "selection_remove"):
        assert f"people_import.{action}" in actions


def test_refused_lines_are_kept_with_the_run(ew: EntraWorld, team: dict[str, str]) -> None:
    ew.vault.people.add(ew.admin, ew.client, {"username": f"bob@{ew.tenant.domain}"})
    saved(ew).save(ew.client, ew.directory, "all", Selection(query=""))
    run = asyncio.run(saved(ew).run(ew.client, "all"))
    assert run["totals"]["refused"] == 1
    [refused] = run["refused"]
    assert refused["object_id"] == team["bob"]
    assert "the vault owns" in (refused["reason"] or "")


def test_bad_input_names_its_field(ew: EntraWorld) -> None:
    cases = [
        ({"name": " ", "selection": Selection(query="")}, "name"),
        ({"name": "x", "selection": Selection()}, "selection"),
        ({"name": "x", "selection": Selection(query=""), "interval": 5}, "interval"),
    ]
    for kwargs, field in cases:
        with pytest.raises(InvalidInput) as bad:
            saved(ew).save(ew.client, ew.directory, **kwargs)
        assert bad.value.field == field
    assert saved(ew).list(ew.client) == []


def test_the_agent_resynchronises_a_due_selection_and_a_second_run_is_unchanged(
    ew: EntraWorld, team: dict[str, str]
) -> None:
    chosen = Selection(ids=(team["sales"],), members=True)
    saved(ew).save(ew.client, ew.directory, "Sales", chosen, interval=600)
    first = asyncio.run(saved(ew).run(ew.client, "Sales"))
    assert first["totals"]["created"] == 2
    # the directory changes: a renamed user, a new member of the group
    ew.tenant.update_user(team["ada"], displayName="Ada King")
    ew.tenant.add_member(team["sales"], team["bob"])
    later = [utcnow() + dt.timedelta(seconds=601)]

    def agent_round() -> None:
        agent = Agent(ew.vault, ew.keys, ew.admin, poll_seconds=0.05, clock=lambda: later[0])
        asyncio.run(agent.run(once=True))

    agent_round()
    runs = saved(ew).runs(ew.client, "Sales")
    assert len(runs) == 2
    second = runs[0]
    assert (second["trigger"], second["state"]) == ("agent", "done")
    assert second["totals"]["updated"] == 1  # Ada renamed
    assert second["totals"]["created"] == 1  # Bob, the new member
    assert second["totals"]["members_added"] == 1
    people = {p.row.display_name for p in ew.vault.people.list(ew.admin, ew.client)[0]}
    assert {"Ada King", "Bob Berg"} <= people
    # not due again until the interval has passed once more
    agent_round()
    assert len(saved(ew).runs(ew.client, "Sales")) == 2
    later[0] += dt.timedelta(seconds=601)
    agent_round()
    third = saved(ew).runs(ew.client, "Sales")[0]
    assert third["trigger"] == "agent"
    assert third["totals"]["unchanged"] == 3
    assert third["totals"]["created"] + third["totals"]["updated"] == 0
    assert third["totals"]["members_added"] + third["totals"]["members_removed"] == 0


def test_one_run_of_a_selection_at_a_time(ew_both: EntraWorld) -> None:
    """On SQLite and PostgreSQL: a running run with a fresh heartbeat holds the lease; one
    silent for too long was abandoned, and the next start marks it aborted."""
    ew = ew_both
    user(ew, "ada", "Ada Lovelace")
    made = saved(ew).save(ew.client, ew.directory, "all", Selection(query=""))
    now = utcnow()
    with ew.vault.db.write() as conn:
        rows.insert_run(
            conn,
            rows.RunRow("r-elsewhere", made.id, "agent", "system", "elsewhere:1", "running",
                        now, now, None, "{}", "[]", ""),
        )  # fmt: skip
    with pytest.raises(RunInProgress):
        asyncio.run(saved(ew).run(ew.client, "all"))
    # the agent skips it this round, and nothing is counted
    later = now + dt.timedelta(minutes=1)
    assert asyncio.run(saved(ew, clock=lambda: later).run_due()) == []
    # silent for longer than the lease: abandoned
    stale = now + dt.timedelta(minutes=5)
    done = asyncio.run(saved(ew, clock=lambda: stale).run(ew.client, "all"))
    assert done["state"] == "done"
    states = {r["id"]: r["state"] for r in saved(ew).runs(ew.client, "all")}
    assert states["r-elsewhere"] == "aborted"


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may_save_list_run_and_remove(ew: EntraWorld, role: str) -> None:
    saved(ew).save(ew.client, ew.directory, "all", Selection(query=""))
    who, expected = ew.refused_operator(role)
    them = saved(ew, who)
    with pytest.raises(expected):
        them.save(ew.client, ew.directory, "mine", Selection(query=""))
    with pytest.raises(expected):
        them.list(ew.client)
    with pytest.raises(expected):
        asyncio.run(them.run(ew.client, "all"))
    with pytest.raises(expected):
        them.remove(ew.client, "all")
    assert [s.name for s in saved(ew).list(ew.client)] == ["all"]
    assert saved(ew).runs(ew.client, "all") == []
