"""The sender: spooled records -> signed, sequenced batches -> the server; acknowledged ones go.

One batch at a time, oldest records first, so the server sees Samba's order: the sealed journals
(:mod:`credsync.agent.capture.spool`) by name, records in file order, at most ``MAX_EVENTS``
events; a sealed file with more is cut (after the 200, the rest goes to new sealed files of
``MAX_EVENTS`` records that sort right after it). Records that carry nothing for the vault
and a killed hook's unfinished record (with a warning) go with the batch; a record that is not
LDIF goes to the dead letters.
Per answer:

* 200: every event in it is durably recorded: remove its records, keep ``seq``.
* 409 ``capture_sequence``: the server's ``last_seq`` is ahead of ours (state lost or a lost
  answer): go on from ``last_seq + 1`` with the same records (the server answers duplicates).
* 409 ``capture_replayed``: send again with a fresh nonce.
* 400: the batch is malformed: its records go to the dead letters with the reason (never a loop).
* no answer, 5xx, 401 (revoked, clock skew), 429 and anything else: keep everything, back off
  (0.2 s doubling to 30 s) and try again: nothing is lost, the order is kept.

Logs say how many events went and what came back; never a ciphertext, token or signature.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from credsync.agent.capture.journal import Record
from credsync.agent.capture.ldif import LdifError, events_from_ldif, rfc3339
from credsync.agent.capture.reply import ServerUnavailable
from credsync.agent.capture.spool import SealedFile, Spool

if TYPE_CHECKING:
    from credsync.agent.capture.client import CaptureClient

__all__ = ["MAX_EVENTS", "SendResult", "Sender"]

log = logging.getLogger("credsync.capture.forwarder")

MAX_EVENTS = 500
_BUSY_GIVE_UP_S = 30.0  # --once: a sealed file some process keeps open
_BACKOFF_MIN = 0.2
_BACKOFF_MAX = 30.0


@dataclass
class SendResult:
    """What one :meth:`Sender.send_once` did."""

    sent: int = 0  # events acknowledged
    dropped: int = 0  # records that carried nothing, and incomplete ones (killed hooks)
    dead: int = 0  # records moved to the dead letters
    retry: bool = False  # the server could not take it now: back off
    busy: bool = False  # the oldest sealed file is still open (a hook finishing): poll again
    more: bool = False  # the batch was full: more is waiting
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class _Batch:
    """Records taken from the oldest sealed files, up to ``MAX_EVENTS`` events."""

    whole: list[SealedFile] = field(default_factory=list)  # taken entirely
    cut: tuple[SealedFile, int] | None = None  # of this one, its first n records
    events: list[dict[str, Any]] = field(default_factory=list)
    carrying: list[Record] = field(default_factory=list)  # the records the events come from
    unreadable: list[tuple[Record, str]] = field(default_factory=list)
    empty: int = 0
    incomplete: int = 0
    busy: bool = False

    @property
    def taken(self) -> bool:
        return bool(self.whole) or (self.cut is not None and self.cut[1] > 0)


class Sender:
    """Delivers one forwarder's spool (see the module docstring)."""

    def __init__(self, spool: Spool, client: CaptureClient, *, dc: str | None) -> None:
        self.spool = spool
        self.client = client
        self.dc = dc
        self.delivered = 0

    def _take(self, sealed: SealedFile, batch: _Batch) -> bool:
        """Add ``sealed``'s records to ``batch``; False when it filled up inside it."""
        captured = datetime.fromtimestamp(sealed.mtime_ns / 1e9, UTC)
        for n, record in enumerate(sealed.records):
            try:
                found = events_from_ldif(record.data, captured_at=captured, dc=self.dc)
            except (LdifError, UnicodeDecodeError) as err:
                batch.unreadable.append((record, f"unreadable LDIF: {err}"))
                continue
            if not found:
                batch.empty += 1
            elif batch.events and len(batch.events) + len(found) > MAX_EVENTS:
                batch.cut = (sealed, n)
                return False
            else:
                batch.carrying.append(record)
                batch.events.extend(found)
        batch.whole.append(sealed)
        return True

    def _batch(self) -> _Batch:
        batch = _Batch()
        for sealed in self.spool.waiting():
            if not self._take(sealed, batch):
                break
        else:
            batch.busy = self.spool.in_use is not None
        return batch

    def _finish(self, batch: _Batch) -> None:
        """Remove what the batch took; dead-letter its unreadable records first."""
        for record, reason in batch.unreadable:
            log.warning("capture: a record of hook %d is %s: moved to dead-letter", record.pid,
                        reason)  # fmt: skip
            self.spool.dead_letter([record], reason)
        cut = [batch.cut[0]] if batch.cut is not None and batch.cut[1] > 0 else []
        for sealed in [*batch.whole, *cut]:
            for record in sealed.scan.incomplete:
                log.warning(
                    "capture: hook %d left its record unfinished (killed): dropped, Samba "
                    "delivers that object again",
                    record.pid,
                )
                batch.incomplete += 1
        self.spool.finish(batch.whole, batch.cut, chunk=MAX_EVENTS)

    def _body(self, seq: int, events: list[dict[str, Any]]) -> bytes:
        body = {
            "forwarder_id": self.client.sender_id,
            "seq": seq,
            "nonce": secrets.token_hex(16),
            "sent_at": rfc3339(datetime.now(UTC)),
            "events": events,
        }
        return json.dumps(body, separators=(",", ":")).encode("utf-8")

    def send_once(self) -> SendResult:
        """Send the oldest batch once (see the module docstring for each answer)."""
        result = SendResult()
        batch = self._batch()
        result.busy = batch.busy
        result.more = batch.cut is not None
        if not batch.taken:
            return result
        events = batch.events
        if not events:
            self._finish(batch)
            result.dropped = batch.empty + batch.incomplete
            result.dead = len(batch.unreadable)
            return result
        for _attempt in range(3):  # a sequence or nonce correction is retried at once
            seq = self.spool.last_seq() + 1
            try:
                reply = self.client.post_captures(self._body(seq, events))
            except ServerUnavailable as err:
                log.warning("capture: server unreachable (%s); %d events kept", err, len(events))
                result.retry = True
                return result
            if reply.status == 200:
                self.spool.save_seq(int(reply.body.get("seq", seq)))
                self._finish(batch)
                result.dropped = batch.empty + batch.incomplete
                result.dead = len(batch.unreadable)
                for item in reply.body.get("results", []):
                    if isinstance(item, dict):
                        result.outcomes[str(item.get("outcome"))] += 1
                result.sent = len(events)
                self.delivered += len(events)
                log.info(
                    "capture: batch seq %d: %d events delivered (%s)",
                    seq,
                    len(events),
                    ", ".join(f"{k} {v}" for k, v in sorted(result.outcomes.items())),
                )
                return result
            if reply.status == 409 and reply.code == "capture_sequence":
                last = reply.body.get("last_seq")
                if not isinstance(last, int):
                    last = reply.body.get("error", {}).get("last_seq")
                if isinstance(last, int):
                    log.warning(
                        "capture: the server is at seq %d; going on from %d", last, last + 1
                    )
                    self.spool.save_seq(last)
                    continue
            if reply.status == 409 and reply.code == "capture_replayed":
                continue
            if reply.status == 400:
                reason = f"the server refused the batch (400 {reply.code}): {reply.message}"
                log.error(
                    "capture: %s; %d records moved to dead-letter", reason, len(batch.carrying)
                )
                self.spool.dead_letter(batch.carrying, reason)
                self._finish(batch)
                result.dropped = batch.empty + batch.incomplete
                result.dead = len(batch.carrying) + len(batch.unreadable)
                return result
            log.warning(
                "capture: the server answered %d %s: %s; %d events kept",
                reply.status,
                reply.code or "",
                reply.message,
                len(events),
            )
            result.retry = True
            return result
        result.retry = True
        return result

    def drain(
        self,
        stop: threading.Event,
        *,
        poll: float = 0.02,
        linger: float = 0.2,
        until_empty: bool = False,
    ) -> bool:
        """Send until ``stop`` is set (or, with ``until_empty``, the spool is empty: returns
        whether it is). Polls the spool every ``poll`` seconds when idle (a ``stat`` of the
        journal); backs off on failure.

        The first change after a quiet spell goes at once (latency); when more arrived while a
        batch was on its way (a burst), the next batch waits ``linger`` seconds, so that a
        burst travels in batches of many events rather than one request (and one server
        transaction) each; when nothing did, the next change goes at once again."""
        backoff = _BACKOFF_MIN
        busy_since: float | None = None
        while not stop.is_set():
            result = self.send_once()
            if result.retry:
                if until_empty:
                    return False
                stop.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
                continue
            backoff = _BACKOFF_MIN
            if result.sent:
                if not until_empty and not result.more and self.spool.arriving():
                    stop.wait(linger)
                continue
            if result.dropped or result.dead:
                continue
            if result.busy:  # a hook is finishing its record in the oldest sealed file
                busy_since = busy_since if busy_since is not None else time.monotonic()
                if until_empty and time.monotonic() - busy_since > _BUSY_GIVE_UP_S:
                    return False
                stop.wait(poll)
                continue
            busy_since = None
            if until_empty:
                return True
            stop.wait(poll)
        return self.spool.depth() == 0
