"""A run's page after issue 20's compaction and retention, in-process against the Graph
simulator: a run that found every credential in step as before says how many it checked
(counted, not listed) instead of "Nothing to check", and a run whose items the retention
deleted says so, its counts kept."""

from __future__ import annotations

import datetime as dt

from credsync.config import Retention
from credsync.sync.retention import prune
from sync.entra import EntraWorld, strong

from .conftest import WebWorld, page_text
from .entra_pages import ew, graph_sim

__all__ = ["ew", "graph_sim"]  # the fixtures, shared with tests/sync


def test_a_compacted_run_and_a_pruned_one_tell_the_truth(web: WebWorld, ew: EntraWorld) -> None:
    for _ in range(2):
        ew.add(ew.add_user())
    first = ew.run(full=True)
    quiet = ew.run(full=True)
    ew.run(full=True)  # the newest (kept)
    viewer = web.signed_in("viewer")
    shown = page_text(viewer.get(f"/runs/{quiet.id}").text)
    assert "In step, unchanged: 2 credentials checked and still in step" in shown
    assert "every credential checked was in step as before" in shown
    assert "Nothing to check" not in shown
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=91)
    prune(ew.vault.db, ew.vault.audit, ew.admin, Retention(), later)
    pruned = page_text(viewer.get(f"/runs/{first.id}").text)
    assert "Report: deleted by the retention on" in pruned
    assert "Per-object report deleted by the retention." in pruned
    assert "Statuses: in sync 2" in pruned  # the counts stay


def test_a_problem_found_again_as_its_flag_says_is_counted_on_the_page(
    web: WebWorld, ew: EntraWorld
) -> None:
    user = ew.add_user()
    cred = ew.add(user)
    ew.add(ew.add_user())
    ew.run(full=True)
    ew.later()
    ew.tenant.set_password(user.id, strong())  # changed in the directory: a flag
    flagged = ew.run(full=True)
    again = ew.run(full=True)
    viewer = web.signed_in("viewer")
    first = page_text(viewer.get(f"/runs/{flagged.id}").text)
    assert "since the vault's last push or confirmation" in first  # listed when found
    shown = page_text(viewer.get(f"/runs/{again.id}").text)
    assert "Still flagged, unchanged: 1 credentials checked and still flagged" in shown
    assert "In step, unchanged: 1 credentials checked and still in step" in shown
    assert "every credential checked was as before (still flagged: see the flags)" in shown
    assert "since the vault's last push or confirmation" not in shown  # counted, not listed
    assert ew.flags() == {cred.id: "changed_in_directory"}


def test_a_failed_run_found_again_counts_its_flags_on_the_page(
    web: WebWorld, ew: EntraWorld
) -> None:
    creds = [ew.add(ew.add_user()) for _ in range(2)]
    ew.run(full=True)
    ew.tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=429, retry_after=0,
                           times=1000)  # fmt: skip
    first = ew.run()
    again = ew.run()
    assert (first.state, again.state) == ("failed", "failed")
    viewer = web.signed_in("viewer")
    listed = page_text(viewer.get(f"/runs/{first.id}").text)
    assert "HTTP 429" in listed  # the first failure: listed for each credential
    assert "Still flagged" not in listed
    shown = page_text(viewer.get(f"/runs/{again.id}").text)
    assert "Still flagged, unchanged: 2 credentials checked and still flagged" in shown
    assert "every credential checked was as before (still flagged: see the flags)" in shown
    assert ew.flags() == {c.id: "unreachable" for c in creds}
