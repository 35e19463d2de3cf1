"""A run whose directory could not be read (unreachable, TLS refused, our bind refused): every
linked credential flagged with the reason, in the run's report. The engine calls it in a worker
thread (its reads and writes keep the agent's event loop free)."""

from __future__ import annotations

from credsync.errors import ConnectorError
from credsync.storage.database import Database
from credsync.sync import store
from credsync.sync.executor import status_of_error
from credsync.sync.model import Action, Outcome, PlanItem, Status
from credsync.sync.recorder import RunRecorder

__all__ = ["flag_linked"]


def flag_linked(db: Database, recorder: RunRecorder, exc: ConnectorError) -> str:
    """Store the failure's outcomes (a flag on each linked credential); returns the run's
    message."""
    status = status_of_error(exc)
    if status in (Status.ACCOUNT_MISSING, Status.POLICY_REJECTED):
        status = Status.ERROR
    directory = recorder.directory
    with db.read() as conn:
        creds = store.sync_credentials(conn, directory.client_id)
        links = store.load_links(conn, directory.id)
    outcomes = [
        Outcome(
            PlanItem(c.id, c.title, links[c.id].account_id, c.username, Action.FLAG,
                     status, str(exc)),
            status,
            Action.FLAG,
            str(exc),
        )
        for c in creds
        if c.id in links
    ]  # fmt: skip
    recorder.store_failure(outcomes)
    return f"{status.value}: {exc}"
