"""runs commands: the retention of stored runs (prune)."""

from __future__ import annotations

import click

from credsync.cli.output import emit, json_option
from credsync.cli.runtime import runtime

__all__ = ["runs_group"]


@click.group("runs")
def runs_group() -> None:
    """Stored sync runs: the retention that keeps the database's growth bounded.

    A run's per-object report is kept CREDSYNC_RUN_ITEMS_DAYS (90 by default), the run
    itself (its summary) CREDSYNC_RUNS_DAYS (400); the agent prunes every hour. The audit
    log is never pruned.
    """


@runs_group.command("prune")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@json_option
@click.pass_context
def runs_prune(ctx: click.Context, dry_run: bool, as_json: bool) -> None:
    """Delete the runs and run items the retention no longer keeps, now (needs admin).

    Each directory's newest run, its newest whole run, runs under way and runs an open flag
    or a held quarantine action names are kept, with their items. Audited (runs.pruned).

    \b
    Examples:
      credsync runs prune --dry-run
      credsync runs prune --json
    """
    done = runtime(ctx).ports.sync.prune(dry_run=dry_run)
    verb = "would delete" if done["dry_run"] else "deleted"
    emit(
        done,
        as_json,
        f"{verb} {done['run_items']} run items (older than {done['items_days']} days) and "
        f"{done['runs']} runs (older than {done['runs_days']} days)",
    )
