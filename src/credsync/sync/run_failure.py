"""A run whose directory could not be read (unreachable, TLS refused, our bind refused): every
linked credential flagged with the reason, in the run's report. The engine calls it in a worker
thread (its reads and writes keep the agent's event loop free). A wait the directory asked for
(a throttled tenant's Retry-After) goes in the run's summary as ``retry_after`` (whole
seconds): the agent's next periodic run of the directory waits at least that long
(:func:`credsync.sync.schedule.schedule_after_run`)."""

from __future__ import annotations

import math

from credsync.errors import ConnectorError, TransientConnectorError
from credsync.storage.database import Database
from credsync.sync import store
from credsync.sync.executor import status_of_error
from credsync.sync.model import Action, Outcome, PlanItem, Status
from credsync.sync.recorder import RunRecorder

__all__ = ["RETRY_AFTER", "flag_linked", "wait_asked"]

RETRY_AFTER = "retry_after"  # the summary's key: seconds the directory asked us to wait


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


def wait_asked(exc: ConnectorError) -> dict[str, int]:
    """The summary's ``retry_after`` for a failure that said how long to wait (else empty)."""
    if isinstance(exc, TransientConnectorError) and exc.retry_after:
        return {RETRY_AFTER: math.ceil(exc.retry_after)}
    return {}
