"""Issue 20: a run whose directory can't be read (a 429 storm, a tenant or DC that is down)
flags every linked credential with the reason; its report stores a first failure and a
changed one as items, and counts a failure found again exactly as the credential's open flag
already says (``flagged_unchanged``), so a throttled tenant's every run stores a summary, not
a row per credential. On SQLite and PostgreSQL, against the Graph simulator."""

from __future__ import annotations

from credsync.sync.reports import stored_run

from .entra import EntraWorld

THROTTLED = {"method": "GET", "path_prefix": "/v1.0/users", "times": 1000}


def _stored_items(ew: EntraWorld, run_id: str) -> int:
    with ew.vault.db.read() as conn:
        return stored_run(conn, run_id).item_count


def test_a_failed_runs_repeat_is_counted_a_first_or_changed_failure_stored(
    ew_both: EntraWorld,
) -> None:
    ew = ew_both
    creds = [ew.add(ew.add_user()) for _ in range(3)]
    ew.run(full=True)
    ew.tenant.inject_fault(status=429, retry_after=0, **THROTTLED)  # type: ignore[arg-type]
    first = ew.run()
    assert first.state == "failed"
    assert ew.items(first) == {c.id: ("unreachable", "flag") for c in creds}  # first: stored
    assert "flagged_unchanged" not in first.summary
    assert ew.flags() == {c.id: "unreachable" for c in creds}
    [said] = {i.detail for i in first.items}
    assert "HTTP 429" in said

    again = ew.run()  # the same failure, as every credential's open flag says: counted
    assert again.state == "failed"
    assert ew.items(again) == {}
    assert _stored_items(ew, again.id) == 0
    assert again.summary["flagged_unchanged"] == 3
    assert again.summary["statuses"] == {"unreachable": 3}  # the counts keep their meaning
    assert all(ew.still_flagged(again, c.id, "unreachable") for c in creds)
    assert again.flagged_text is not None
    assert again.flagged_text.startswith("3 credentials checked and still flagged")
    assert "HTTP 429" in again.message  # the run's message says what failed

    # The failure changes (the connection now dropped, not throttled): stored for each.
    ew.tenant.inject_fault(status=0, **THROTTLED)  # type: ignore[arg-type]
    changed = ew.run()
    assert changed.state == "failed"
    assert ew.items(changed) == {c.id: ("unreachable", "flag") for c in creds}
    assert all("HTTP 429" not in i.detail for i in changed.items)
    assert "flagged_unchanged" not in changed.summary

    ew.tenant.inject_fault(times=0, method="GET", path_prefix="/v1.0/users")
    recovered = ew.run(full=True)  # reachable again: every flag closes, each stored
    assert recovered.state == "done"
    assert {ew.items(recovered)[c.id][0] for c in creds} == {"in_sync"}
    assert ew.flags() == {}
