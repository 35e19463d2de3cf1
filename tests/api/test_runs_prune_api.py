"""The retention's prune over the API (issue 20): ``POST /runs/prune`` deletes what the
server's retention no longer keeps (``?dry_run=true``: counts it), audited ``runs.pruned``;
only an admin reaching every client may (the permission matrix covers every role)."""

from __future__ import annotations

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"


def test_an_admin_prunes_and_others_are_refused(api: ApiWorld) -> None:
    for role in ("technician", "directory_manager", "auditor", "viewer"):
        refused = api.as_role(role).post(f"{V1}/runs/prune")
        assert_error(refused, 403, "forbidden")
    counted = api.admin.post(f"{V1}/runs/prune", params={"dry_run": True})
    assert counted.status_code == 200, counted.text
    assert counted.json()["dry_run"] is True
    assert (counted.json()["items_days"], counted.json()["runs_days"]) == (90, 400)
    done = api.admin.post(f"{V1}/runs/prune").json()
    assert (done["dry_run"], done["run_items"], done["runs"]) == (False, 0, 0)
    audit = api.admin.get(f"{V1}/audit", params={"action": "runs.pruned"}).json()
    [entry] = audit["items"]
    assert entry["details"]["run_items"] == 0
