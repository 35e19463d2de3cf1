"""Relays on the dashboard (issue 15: AD -> Office 365): a client's relays with their last
run, a relay's settings, the form to add or change one, its plan (a dry run: reads both
directories, writes and stores nothing), a run that applies it after a confirmation page
listing what it would push, its report, and its removal after a confirm page.

The rules are the vault's and the runner's (:mod:`credsync.vault.relays`,
:mod:`credsync.sync.relay`): this module calls them and shows their refusals. Seeing and
planning need vault.read; adding, changing, removing and applying need directory.setup (and
applying vault.write), and a client outside the operator's reach answers "Not found".

An applied run goes to the background as "sync now" does (:mod:`credsync.sync.background`):
the request returns at once and the run's report page follows it (``web.js`` polls the run's
progress and reloads). The stored run keeps each account's status, action and detail; its
rule and target come from the report this server kept when the run ended.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from typing import Any

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.errors import Conflict, ConnectorError, InvalidInput, NotFound, RunInProgress
from credsync.sync.background import background_runs
from credsync.sync.relay import RelayReport, RelayRunner
from credsync.sync.reports import StoredRuns
from credsync.sync.views import last_relay_runs
from credsync.vault import Permission
from credsync.vault.directories import Directory
from credsync.vault.models import Client
from credsync.vault.relay_settings import RULES, parse_settings
from credsync.vault.relays import Relay
from credsync.web.forms import form_version
from credsync.web.pages import page, page_router, redirect
from credsync.web.relay_form import RelayForm, form_of, read_form
from credsync.web.session import Fields, Viewer, ViewerDep

router = page_router()

TRIGGER = "web"
KEPT_REPORTS = 50  # finished relay run reports kept in memory for their pages


class _Reports:
    """The reports of the relay runs this server ran, the newest KEPT_REPORTS (a report
    is shown only to an operator who may see its relay)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, RelayReport] = OrderedDict()

    def keep(self, report: RelayReport) -> None:
        if report.run_id is None:
            return
        with self._lock:
            self._kept[report.run_id] = report
            while len(self._kept) > KEPT_REPORTS:
                self._kept.popitem(last=False)

    def get(self, run_id: str) -> RelayReport | None:
        with self._lock:
            return self._kept.get(run_id)


_reports = _Reports()


# -- what the pages share ----------------------------------------------------------------------
def _choices(state: State, viewer: Viewer, client: Client) -> dict[str, list[Directory]]:
    """The client's directories a relay may carry passwords from, and to (each kind's
    descriptor says)."""
    found = [d for d in state.vault.directories.list(viewer.actor) if d.client_id == client.id]
    return {
        "sources": [d for d in found if d.descriptor.relay_source],
        "targets": [d for d in found if d.descriptor.relay_target],
    }


def _form_page(
    request: Request,
    state: State,
    viewer: Viewer,
    client: Client,
    form: RelayForm,
    *,
    relay: Relay | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        "relay_form.html",
        viewer,
        status=status,
        title=f"Change relay {relay.name}" if relay else f"Add a relay to {client.name}",
        client=client,
        relay=relay,
        form=form,
        rules=RULES,
        **_choices(state, viewer, client),
    )


def _report_page(
    request: Request,
    viewer: Viewer,
    relay: Relay,
    report: RelayReport | None,
    *,
    run: Any = None,
    title: str,
) -> Response:
    items = [i.to_json() for i in report.items] if report else []
    counts = report.counts() if report else {}
    if report is None and run is not None:
        counts = dict(run.summary.get("statuses", {}))
    return page(
        request,
        "relay_report.html",
        viewer,
        title=title,
        relay=relay,
        report=report,
        run=run,
        items=items,
        counts=counts,
        statuses=("matched", "no_credential", "unmatched", "conflict", "refused"),
    )


# -- list --------------------------------------------------------------------------------------
@router.get("/relays")
def relays_page(
    request: Request,
    state: State,
    viewer: ViewerDep,
    client: str | None = Query(None, max_length=200),
) -> Response:
    """The relays (of one client when given) with their last run."""
    vault, actor = state.vault, viewer.actor
    shown = vault.clients.get(actor, client) if client else None
    found = vault.relays.list(actor, shown.id if shown else None)
    return page(
        request,
        "relays.html",
        viewer,
        title=f"Relays of {shown.name}" if shown else "Relays",
        client=shown,
        relays=found,
        last=last_relay_runs(vault.db, actor, found),
    )


# -- add ---------------------------------------------------------------------------------------
def _require_setup(viewer: Viewer) -> None:
    # What the vault asks to add, change or remove a relay (asked before the form is shown).
    viewer.actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP)


@router.get("/relays/new")
def new_relay(
    request: Request,
    state: State,
    viewer: ViewerDep,
    client: str = Query(..., max_length=200),
) -> Response:
    """The form for a client's new relay."""
    _require_setup(viewer)
    shown = state.vault.clients.get(viewer.actor, client)
    form = form_of()
    choices = _choices(state, viewer, shown)
    if len(choices["sources"]) == 1:
        form.values["source"] = choices["sources"][0].id
    if len(choices["targets"]) == 1:
        form.values["target"] = choices["targets"][0].id
    return _form_page(request, state, viewer, shown, form)


@router.post("/relays/new")
def add_relay(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Add the relay; its page (or the form again, with what was wrong on its field)."""
    _require_setup(viewer)
    vault, actor = state.vault, viewer.actor
    client = vault.clients.get(actor, fields.get("client", ""))
    form = read_form(fields)
    for name, what in (("source", "the directory passwords come from"),
                       ("target", "the directory they go to")):  # fmt: skip
        if not form.values[name]:
            form.error(name, f"Choose {what}.")
    if not form.errors:
        try:
            relay = vault.relays.add(
                actor,
                client.id,
                form.values["name"],
                source=form.values["source"],
                target=form.values["target"],
                settings=form.settings(),
            )
        except (InvalidInput, NotFound, Conflict) as exc:
            form.refused(exc)
        else:
            return redirect(request, f"/relays/{relay.id}", viewer, f"Relay {relay.name} added.")
    return _form_page(request, state, viewer, client, form, status=400)


# -- a relay -----------------------------------------------------------------------------------
@router.get("/relays/{ref}")
def relay_page(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """A relay's settings and last run, with plan, run, change and remove."""
    vault, actor = state.vault, viewer.actor
    relay = vault.relays.get(actor, ref)
    return page(
        request,
        "relay.html",
        viewer,
        title=f"Relay {relay.name}",
        relay=relay,
        settings=relay.settings.to_json(),
        last=last_relay_runs(vault.db, actor, [relay]).get(relay.id),
        running=background_runs.running_relay(relay.id),
    )


# -- change ------------------------------------------------------------------------------------
@router.get("/relays/{ref}/edit")
def edit_relay(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The form to change a relay's settings (its name and directories stay)."""
    _require_setup(viewer)
    relay = state.vault.relays.get(viewer.actor, ref)
    client = state.vault.clients.get(viewer.actor, relay.client_id)
    return _form_page(request, state, viewer, client, form_of(relay), relay=relay)


@router.post("/relays/{ref}/edit")
def change_relay(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Save the settings; the relay's page (or the form again, with what was wrong)."""
    _require_setup(viewer)
    vault, actor = state.vault, viewer.actor
    relay = vault.relays.get(actor, ref)
    client = vault.clients.get(actor, relay.client_id)
    form = read_form(
        {**fields, "name": relay.name, "source": relay.source.id, "target": relay.target.id}
    )
    try:
        given = form.settings()
        if parse_settings(given) == relay.settings:
            return redirect(request, f"/relays/{relay.id}", viewer, "Nothing changed.", "info")
        expected = form_version(form.values["version"])
        changed = vault.relays.update(actor, relay.id, given, expected_version=expected)
    except (InvalidInput, Conflict) as exc:
        form.refused(exc)
        return _form_page(request, state, viewer, client, form, relay=relay, status=400)
    return redirect(request, f"/relays/{changed.id}", viewer, "Changes saved.")


# -- plan and run ------------------------------------------------------------------------------
@router.post("/relays/{ref}/plan")
def plan_relay(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """What a run would do for every in-scope account (reads both directories; writes and
    stores nothing)."""
    relay = state.vault.relays.get(viewer.actor, ref)
    runner = RelayRunner(state.vault, state.keys, viewer.actor)
    try:
        report = asyncio.run(runner.plan(relay.id))
    except (InvalidInput, ConnectorError) as exc:
        return redirect(
            request, f"/relays/{relay.id}", viewer, f"The plan could not be made: {exc}", "error"
        )
    return _report_page(request, viewer, relay, report, title=f"Plan of relay {relay.name}")


def _require_apply(viewer: Viewer) -> None:
    # What the runner asks of an applied run (asked before the confirmation page too).
    viewer.actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP, Permission.VAULT_WRITE)


@router.post("/relays/{ref}/run")
def run_relay(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Without ``confirm``: the confirmation page, with the plan (what the run would link
    and push). With it: the run starts in the background and its report page follows it."""
    _require_apply(viewer)
    vault, actor = state.vault, viewer.actor
    relay = vault.relays.get(actor, ref)
    back = f"/relays/{relay.id}"
    if fields.get("confirm") != "yes":
        try:
            plan = asyncio.run(RelayRunner(vault, state.keys, actor).plan(relay.id))
        except (InvalidInput, ConnectorError) as exc:
            return redirect(request, back, viewer, f"The plan could not be made: {exc}", "error")
        client = vault.clients.get(actor, relay.client_id)
        pushes = [i.to_json() for i in plan.items if i.action == "push"]
        return page(
            request,
            "relay_confirm.html",
            viewer,
            title=f"Apply relay {relay.name}?",
            relay=relay,
            client=client,
            pushes=pushes,
            counts=plan.counts(),
        )
    run_id = background_runs.running_relay(relay.id)  # this server's: follow that one
    if run_id is None:
        try:
            run_id = background_runs.start_relay(
                vault, state.keys, actor, relay, trigger=TRIGGER, apply=True,
                on_report=_reports.keep, timeout=10.0,
            )  # fmt: skip
        except (RunInProgress, InvalidInput) as exc:
            return redirect(request, back, viewer, f"The run did not start: {exc}", "error")
        except TimeoutError:
            return redirect(
                request, back, viewer, "The run did not start: the server log says why.", "error"
            )
    return redirect(request, f"/relays/{relay.id}/runs/{run_id}")


@router.get("/relays/{ref}/runs/{run_id}")
def relay_run_page(
    ref: str, run_id: str, request: Request, state: State, viewer: ViewerDep
) -> Response:
    """A relay run's report: followed while under way; every account with its status,
    rule, target, action and detail once it ended (as stored, without rule and target,
    for a run this server did not keep)."""
    relay = state.vault.relays.get(viewer.actor, ref)
    run = StoredRuns(state.vault.db).load(viewer.actor, run_id)
    if run.kind != "relay" or run.directory_id != relay.target.id:
        raise NotFound(f"relay {relay.name} has no run {run_id}")
    kept = _reports.get(run.id) if run.state != "running" else None
    if kept is not None and kept.relay.id != relay.id:
        kept = None
    return _report_page(
        request, viewer, relay, kept, run=run, title=f"Run {run.id[:8]} of relay {relay.name}"
    )


# -- remove ------------------------------------------------------------------------------------
@router.get("/relays/{ref}/remove")
def confirm_remove(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """What removing the relay forgets, and the button that does it."""
    _require_setup(viewer)
    relay = state.vault.relays.get(viewer.actor, ref)
    return page(request, "relay_remove.html", viewer, title=f"Remove {relay.name}", relay=relay)


@router.post("/relays/{ref}/remove")
def remove_relay(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Forget the relay and its pairs; back to the client's relays."""
    _require_setup(viewer)
    removed = state.vault.relays.remove(viewer.actor, ref)
    return redirect(
        request,
        f"/relays?client={removed.client_id}",
        viewer,
        f"Relay {removed.name} removed; the links it made stay.",
    )
