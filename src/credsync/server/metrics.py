"""``GET /metrics``: the server's figures in Prometheus' text format.

**What.** The database's figures, read at each scrape by :class:`VaultCollector` from
:func:`credsync.storage.gauges.read` (a few indexed aggregates: every server process on the
vault answers the same), and the events counted by the processes of this server
(:mod:`credsync.telemetry`: pushes and their latency, captures, sign-ins, a directory's
throttling, run items), summed across them:

==========================================  ======  ============================================
metric                                      type    labels
==========================================  ======  ============================================
credsync_runs                               gauge   state (running, done, aborted, failed)
credsync_checks                             gauge   status (each link's last check)
credsync_open_flags                         gauge   status
credsync_push_queue_depth                   gauge   state (waiting, given_up)
credsync_push_queue_oldest_age_seconds      gauge   (0 when nothing waits)
credsync_captures_waiting                   gauge   (captures waiting for an operator)
credsync_scrape_duration_seconds            gauge   (the database part of this scrape)
credsync_pushes_total                       counter outcome
credsync_push_duration_seconds              histo.
credsync_captures_total                     counter outcome
credsync_capture_batch_duration_seconds     histo.
credsync_sign_ins_total                     counter who (operator, person, federated), outcome
credsync_directory_throttled_responses_...  counter status (429, 503, 504)
credsync_directory_retries_total            counter
credsync_directory_retry_wait_seconds_total counter
credsync_run_items_total                    counter status
==========================================  ======  ============================================

**Who may read it.** The labels are closed sets of states, statuses and outcomes: no client,
directory, credential or person is ever named, so an MSP's clients do not leak through it.
The counts still tell how big the vault is, so ``/metrics`` is off unless the server is given
a scrape token (``serve --metrics-token-file PATH`` or ``CREDSYNC_METRICS_TOKEN_FILE``: a file
holding the token, e.g. a systemd credential); then a scrape must send
``Authorization: Bearer <token>`` (Prometheus: ``authorization: {credentials_file: ...}``).
Without a token configured the answer is 404, with a wrong or missing one 401. The token is
compared in constant time and never logged. It is a scrape token only: it opens nothing else.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from starlette.requests import Request

from credsync import telemetry
from credsync.api.errors import error_body
from credsync.api.state import ServerState
from credsync.config import read_secret_file
from credsync.storage import Database, gauges
from credsync.types import Secret
from credsync.vault._time import as_utc, utcnow

__all__ = ["VaultCollector", "install_metrics", "read_token", "render"]

_NO_STORE = {"Cache-Control": "no-store"}


class VaultCollector(Collector):
    """The database's figures, read when collected (see the module's doc)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        with self._db.read() as conn:
            found = gauges.read(conn)
        took = time.perf_counter() - started
        yield _by("credsync_runs", "Sync runs by state.", "state", found.runs_by_state)
        yield _by(
            "credsync_checks",
            "Credential-account links by the status of their last check.",
            "status",
            found.checks_by_status,
        )
        yield _by(
            "credsync_open_flags", "Open flags by status.", "status", found.open_flags_by_status
        )
        yield _by(
            "credsync_push_queue_depth",
            "Pushes in the queue: waiting (due or backing off) and given up.",
            "state",
            {"waiting": found.queue_waiting, "given_up": found.queue_given_up},
        )
        oldest = 0.0
        if found.queue_oldest is not None:
            oldest = max(0.0, (utcnow() - as_utc(found.queue_oldest)).total_seconds())
        yield GaugeMetricFamily(
            "credsync_push_queue_oldest_age_seconds",
            "Age of the oldest waiting push (0 when none waits).",
            value=oldest,
        )
        yield GaugeMetricFamily(
            "credsync_captures_waiting",
            "Captured passwords waiting for an operator (report mode, conflicts).",
            value=found.captures_waiting,
        )
        yield GaugeMetricFamily(
            "credsync_scrape_duration_seconds",
            "Time this scrape took to read the database's figures.",
            value=took,
        )


def _by(name: str, doc: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for value, count in sorted(values.items()):
        family.add_metric([value], count)
    return family


def render(db: Database) -> bytes:
    """The text a scrape gets: the database's figures and the shared event counters."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VaultCollector(db))
    registry.register(_Events())
    return generate_latest(registry)


class _Events(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from telemetry.collector().collect()


def read_token(path: Path) -> Secret:
    """The scrape token held by the file ``path`` (``--metrics-token-file``)."""
    token = read_secret_file(path, "metrics_token_file")
    if len(token) < 16:
        from credsync.errors import ConfigError

        raise ConfigError(f"metrics_token_file: the token in {path} is shorter than 16 characters")
    return Secret(token)


def install_metrics(app: FastAPI, state: ServerState, token: Secret | None) -> None:
    """Add ``/metrics`` to ``app`` (figures of ``state``'s vault): answering a scrape that
    sends ``token``; off (404) without one."""
    expected = token.reveal().encode() if token is not None else None

    def metrics(request: Request) -> Response:  # sync: FastAPI runs it in a thread
        if expected is None:
            return JSONResponse(
                error_body(
                    404,
                    "not_found",
                    "metrics are off: start the server with --metrics-token-file "
                    "(or CREDSYNC_METRICS_TOKEN_FILE)",
                ),
                404,
                headers=_NO_STORE,
            )
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
            return JSONResponse(
                error_body(401, "unauthenticated", "send the scrape token: Authorization: Bearer"),
                401,
                headers={**_NO_STORE, "WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return Response(render(state.vault.db), media_type=CONTENT_TYPE_LATEST, headers=_NO_STORE)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
