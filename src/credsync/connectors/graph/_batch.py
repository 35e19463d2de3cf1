"""Many small Graph requests sent as few ``POST /$batch`` requests.

Callers :meth:`Batcher.submit` a *group*: one or more requests that must run in order (each
``dependsOn`` the one before, e.g. a PATCH and the GET that reads the result back). Groups
submitted while nothing is being sent wait a few milliseconds for company; groups submitted
while batches are in flight wait for a free slot and go out together, up to 20 requests per
batch (Graph's limit) and :data:`MAX_BATCHES` batches under way at once. So 40 concurrent
set_password calls cost about four round trips, not eighty.

Graph answers each inner request on its own. An inner 429 (or 503/504) sends the group back to
the queue from the first request that did not run - a throttled PATCH with the GET that depends
on it (424), never a GET alone ahead of its PATCH - after the answer's Retry-After, which also
holds back every other request of the connector (see :meth:`GraphClient.hold`). A group that
stays throttled past the retry limits is answered with its last (429) responses, which the
caller maps to DirectoryUnreachable.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from credsync import telemetry
from credsync.connectors.graph._client import MAX_ATTEMPTS, MAX_WAIT, GraphClient, backoff
from credsync.connectors.graph._errors import RETRY_STATUSES, graph_error, retry_after
from credsync.errors import ConnectorError, PermanentConnectorError

__all__ = ["MAX_BATCHES", "MAX_REQUESTS", "Batcher", "Inner", "Reply", "reply_error"]

MAX_REQUESTS = 20  # Graph's limit of requests in one $batch
MAX_BATCHES = 4  # $batch requests under way at once
WINDOW = 0.003  # seconds a lone group waits for others to join it


@dataclass(frozen=True)
class Inner:
    """One request inside a batch; ``url`` is relative to /v1.0 (``/users/{id}``)."""

    method: str
    url: str
    body: Mapping[str, Any] | None = None

    def __repr__(self) -> str:  # the body may hold a password
        return f"Inner({self.method} {self.url})"


@dataclass(frozen=True)
class Reply:
    """Graph's answer to one inner request."""

    status: int
    headers: Mapping[str, str]
    body: Any

    def __repr__(self) -> str:
        return f"Reply({self.status})"


@dataclass(eq=False)
class _Job:
    group: Sequence[Inner]
    future: asyncio.Future[list[Reply]]
    done: list[Reply] = field(default_factory=list)  # replies of the group's finished head
    attempts: int = 0
    waited: float = 0.0

    @property
    def todo(self) -> Sequence[Inner]:
        return self.group[len(self.done) :]


class Batcher:
    """Groups of requests, coalesced into $batch requests (one Batcher per connector)."""

    def __init__(self, client: GraphClient, *, window: float = WINDOW) -> None:
        self._client = client
        self._window = window
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: deque[_Job] = deque()
        self._slots = asyncio.Semaphore(MAX_BATCHES)
        self._runner: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self.batches_sent = 0

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop: whatever the old one held is gone
            self._loop = loop
            self._pending = deque()
            self._slots = asyncio.Semaphore(MAX_BATCHES)
            self._runner = None
            self._sending = set()
        return loop

    async def submit(self, group: Sequence[Inner]) -> list[Reply]:
        """Graph's replies to ``group``'s requests, in order."""
        if not group or len(group) > MAX_REQUESTS:
            raise ValueError("a group holds 1 to 20 requests")
        loop = self._bind()
        job = _Job(group, loop.create_future())
        self._pending.append(job)
        self._kick()
        return await job.future

    def _kick(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run())

    def _queued(self) -> int:
        return sum(len(job.todo) for job in self._pending)

    async def _run(self) -> None:
        while self._pending:
            await self._slots.acquire()
            if self._queued() < MAX_REQUESTS and not self._sending:
                await asyncio.sleep(self._window)  # a lone caller: let others join
            taken: list[_Job] = []
            size = 0
            while self._pending and size + len(self._pending[0].todo) <= MAX_REQUESTS:
                job = self._pending.popleft()
                taken.append(job)
                size += len(job.todo)
            if not taken:
                self._slots.release()
                continue
            task = asyncio.get_running_loop().create_task(self._send(taken))
            self._sending.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._slots.release()

    async def _send(self, jobs: list[_Job]) -> None:
        requests: list[dict[str, Any]] = []
        ids: list[list[str]] = []
        for job in jobs:
            job_ids: list[str] = []
            for inner in job.todo:
                rid = str(len(requests) + 1)
                item: dict[str, Any] = {"id": rid, "method": inner.method, "url": inner.url}
                if inner.body is not None:
                    item["body"] = inner.body
                    item["headers"] = {"Content-Type": "application/json"}
                if job_ids:
                    item["dependsOn"] = [job_ids[-1]]
                requests.append(item)
                job_ids.append(rid)
            ids.append(job_ids)
        client = self._client
        where = f"send a batch of {len(requests)} requests"
        try:
            response = await client.request(
                "POST", "/$batch", where=where, json={"requests": requests},
                retry_connection=False,
            )  # fmt: skip
            self.batches_sent += 1
            body = response.json() if response.content else None
            if response.status_code != 200:
                raise graph_error(
                    response.status_code, body, name=client.name, where=where,
                    headers=response.headers, not_found=PermanentConnectorError,
                )  # fmt: skip
            answers = _answers(body)
        except (ConnectorError, ValueError) as exc:
            err = exc if isinstance(exc, ConnectorError) else PermanentConnectorError(
                f"{client.name}: {where}: Graph's answer was not a batch response"
            )  # fmt: skip
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(err)
            return
        again: list[tuple[_Job, float]] = []
        for job, job_ids in zip(jobs, ids, strict=True):
            delay = self._settle(job, [answers.get(rid) for rid in job_ids])
            if delay is not None:
                again.append((job, delay))
        for job, delay in again:
            if delay > 0:
                asyncio.get_running_loop().call_later(delay, self._requeue, job)
            else:
                self._requeue(job)

    def _requeue(self, job: _Job) -> None:
        if self._loop is asyncio.get_running_loop() and not job.future.done():
            self._pending.appendleft(job)
            self._kick()

    def _settle(self, job: _Job, replies: list[Reply | None]) -> float | None:
        """Finish ``job`` with ``replies`` (None), or keep its finished head and say how long
        to wait before the rest is sent again (0 when a 429 already holds every request)."""
        if job.future.done():  # the caller went away (cancelled)
            return None
        first_retry = next(
            (
                i
                for i, r in enumerate(replies)
                if r is None or r.status in RETRY_STATUSES or r.status == 424
            ),
            None,
        )
        throttled = [r for r in replies if r is not None and r.status in RETRY_STATUSES]
        if first_retry is None or (not throttled and all(r is not None for r in replies)):
            # Done; a 424 here follows a prerequisite that failed for good (e.g. 400).
            job.future.set_result([*job.done, *(r for r in replies if r is not None)])
            return None
        waits = [retry_after(r.headers) for r in throttled]
        given = [w for w in waits if w is not None]
        delay = max(given) if given else backoff(job.attempts)
        held = any(r.status == 429 for r in throttled)
        if held:
            self._client.hold(delay)
        job.attempts += 1
        job.waited += delay
        spent = job.attempts >= MAX_ATTEMPTS or job.waited > MAX_WAIT
        for reply in throttled:  # /metrics: the directory's throttling, per answer
            telemetry.events().throttle(reply.status, None if spent else delay / len(throttled))
        if spent:
            last = [r if r is not None else _MISSING for r in replies]
            job.future.set_result([*job.done, *last])
            return None
        job.done.extend(r for r in replies[:first_retry] if r is not None)
        return 0.0 if held else delay


_MISSING = Reply(503, {}, {"error": {"code": "missing", "message": "no answer in the batch"}})


def _answers(body: Any) -> dict[str, Reply]:
    if not isinstance(body, dict) or not isinstance(body.get("responses"), list):
        raise ValueError("not a batch response")
    out: dict[str, Reply] = {}
    for item in body["responses"]:
        if isinstance(item, dict) and "id" in item:
            headers = item.get("headers") or {}
            out[str(item["id"])] = Reply(int(item.get("status") or 0), headers, item.get("body"))
    return out


def reply_error(reply: Reply, *, name: str, where: str, **options: Any) -> ConnectorError:
    """The credsync error for an inner reply with an error status."""
    return graph_error(reply.status, reply.body, name=name, where=where, headers=reply.headers,
                       **options)  # fmt: skip
