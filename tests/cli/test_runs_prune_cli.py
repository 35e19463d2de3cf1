"""``credsync runs prune`` (issue 20): the retention's prune now, a dry run counting what would
go, admin only, audited; the retention's settings refused with the variable named. What the
prune deletes and keeps is tests/sync/test_retention.py's (runs against the simulator)."""

from __future__ import annotations


def test_runs_prune_counts_deletes_and_is_audited(cli) -> None:
    dry = cli.ok("runs", "prune", "--dry-run").out
    assert "would delete 0 run items (older than 90 days) and 0 runs (older than 400 days)" in dry
    assert cli.json("audit", "--action", "runs.pruned") == []  # a dry run writes nothing
    done = cli.json("runs", "prune", "--json", env={"CREDSYNC_RUN_ITEMS_DAYS": "30"})
    assert (done["dry_run"], done["run_items"], done["runs"], done["items_days"]) == (
        False, 0, 0, 30,
    )  # fmt: skip
    [entry] = cli.json("audit", "--action", "runs.pruned")
    assert entry["actor"] == cli.admin
    assert entry["details"]["items_days"] == 30


def test_runs_prune_is_admin_only(cli) -> None:
    cli.ok(
        "operator", "add", "bob", "--role", "directory_manager", "--password-stdin",
        stdin="bob-cli-password-5521",
    )  # fmt: skip
    bob = {"CREDSYNC_OPERATOR": "bob", "CREDSYNC_OPERATOR_PASSWORD": "bob-cli-password-5521"}
    assert "admin" in cli.fails(3, "runs", "prune", env=bob)


def test_bad_retention_settings_are_refused(cli) -> None:
    line = cli.fails(2, "runs", "prune", env={"CREDSYNC_RUNS_DAYS": "a year"})
    assert "CREDSYNC_RUNS_DAYS must be a whole number of days, 1 to 3650" in line
    line = cli.fails(2, "runs", "prune", env={"CREDSYNC_RUNS_DAYS": "30"})
    assert "must be at least CREDSYNC_RUN_ITEMS_DAYS (90)" in line
