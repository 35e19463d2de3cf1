"""Quarantine (issue 18): the actions runs held back because a threshold was crossed, and the
decisions on them. The rules, and who may, are :mod:`credsync.sync.quarantine_service`'s:
reading needs vault.read; approve, discard and accept need vault.write and
directory_admin.use; restore also directory.setup. The vault-wide thresholds
(``/quarantine/defaults``) are :mod:`credsync.vault.quarantine_defaults`'s: reading needs
vault.read, setting admin."""

from __future__ import annotations

from fastapi import Query

from credsync.api.deps import Caller, State
from credsync.api.routes.sync import run_coroutine
from credsync.api.routing import api_router
from credsync.api.schemas_quarantine import (
    QuarantineDecideIn,
    QuarantineDefaultsIn,
    QuarantineRestoreIn,
)
from credsync.sync.quarantine_restore import Quarantine
from credsync.sync.quarantine_service import QuarantineDoneJson, QuarantineItemJson
from credsync.vault.quarantine_defaults import QuarantineDefaultsJson

router = api_router(prefix="/quarantine", tags=["quarantine"])


@router.get("", response_model=list[QuarantineItemJson])
def list_quarantine(
    actor: Caller,
    state: State,
    directory: str | None = Query(None, max_length=200, description="A directory's name or id."),
    include_decided: bool = Query(False, alias="all", description="Decided items too."),
) -> list[QuarantineItemJson]:
    """The held items (and decided ones with ``all``), oldest first."""
    return Quarantine(state.vault, state.keys, actor).list(
        directory, include_decided=include_decided
    )


@router.get("/defaults", response_model=QuarantineDefaultsJson)
def show_quarantine_defaults(actor: Caller, state: State) -> QuarantineDefaultsJson:
    """The vault-wide thresholds: each one's value for a directory without its own option,
    the vault-wide value (null: not set) and the built-in default."""
    return state.vault.quarantine_defaults.show(actor)


@router.put("/defaults", response_model=QuarantineDefaultsJson)
def set_quarantine_defaults(
    body: QuarantineDefaultsIn, actor: Caller, state: State
) -> QuarantineDefaultsJson:
    """Set the thresholds given (null: back to the built-in; left out: unchanged). A refused
    value: 400 naming its field. Needs admin; audited ``quarantine.defaults_set``."""
    given = body.model_dump(exclude_unset=True)
    return state.vault.quarantine_defaults.set(actor, given)


@router.get("/{ref}", response_model=QuarantineItemJson)
def show_quarantine(ref: str, actor: Caller, state: State) -> QuarantineItemJson:
    """One item, by its id or its first 8 characters or more."""
    return Quarantine(state.vault, state.keys, actor).show(ref)


@router.post("/approve", response_model=QuarantineDoneJson)
def approve_quarantine(body: QuarantineDecideIn, actor: Caller, state: State) -> QuarantineDoneJson:
    """Carry out held actions: pushes as one run per directory (trigger ``quarantine``),
    relayed passwords as a relay run, provisioning and group export as an apply of only
    those (which also needs ``directory.setup``)."""
    service = Quarantine(state.vault, state.keys, actor)
    return run_coroutine(lambda: service.approve(body.ids, body.directory))


@router.post("/discard", response_model=QuarantineDoneJson)
def discard_quarantine(body: QuarantineDecideIn, actor: Caller, state: State) -> QuarantineDoneJson:
    """Drop held actions: nothing is written."""
    return Quarantine(state.vault, state.keys, actor).discard(body.ids, body.directory)


@router.post("/restore", response_model=QuarantineDoneJson)
def restore_quarantine(
    body: QuarantineRestoreIn, actor: Caller, state: State
) -> QuarantineDoneJson:
    """Put the directory back as it was before a mass change (restore deleted accounts, push
    the vault's passwords back, enable disabled accounts); ``dry_run`` lists the steps."""
    service = Quarantine(state.vault, state.keys, actor)
    return run_coroutine(lambda: service.restore(body.ids, body.directory, dry_run=body.dry_run))


@router.post("/accept", response_model=QuarantineDoneJson)
def accept_quarantine(body: QuarantineDecideIn, actor: Caller, state: State) -> QuarantineDoneJson:
    """Release held links: the next run takes the directory's state."""
    return Quarantine(state.vault, state.keys, actor).accept(body.ids, body.directory)
