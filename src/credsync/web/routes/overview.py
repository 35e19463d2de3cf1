"""The overview page: per client and directory the checks by status, open flags and the last
runs; runs and flags over the last 30 days as charts; password ages per client (see
:mod:`credsync.sync.overview`, which reads it all in a fixed number of statements)."""

from __future__ import annotations

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.sync.overview import overview
from credsync.web.charts import Series, stacked_bars
from credsync.web.pages import page, page_router
from credsync.web.session import ViewerDep

router = page_router()

RUN_SERIES = (
    Series("done", "completed"),
    Series("aborted", "aborted"),
    Series("failed", "failed"),
    Series("running", "running"),
)
FLAG_SERIES = (Series("opened", "opened"), Series("resolved", "resolved"))
OPEN_LINE = Series("open", "open at the day's end")


@router.get("/overview")
def overview_page(request: Request, state: State, viewer: ViewerDep) -> Response:
    """The shop at a glance (needs vault.read)."""
    actor = viewer.actor
    db = state.vault.db
    with db.one_read():  # the clients and the overview's reads: one transaction
        found = overview(db, actor, state.vault.clients.list(actor))
    days = [d.day for d in found.runs_by_day]
    runs_chart = stacked_bars("Runs a day", days, [d.counts for d in found.runs_by_day], RUN_SERIES)
    flags_chart = stacked_bars(
        "Flags a day",
        [d.day for d in found.flags_by_day],
        [d.counts for d in found.flags_by_day],
        FLAG_SERIES,
        line=OPEN_LINE,
    )
    return page(
        request,
        "overview.html",
        viewer,
        title="Overview",
        found=found,
        runs_chart=runs_chart,
        flags_chart=flags_chart,
        run_series=RUN_SERIES,
    )
