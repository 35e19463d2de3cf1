"""The sender: spooled records -> signed, sequenced batches -> the server; acknowledged ones go.

One batch at a time, oldest records first, so the server sees Samba's order. Per answer:

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
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from credsync.agent.capture.client import CaptureClient, ServerUnavailable
from credsync.agent.capture.ldif import LdifError, events_from_ldif, rfc3339
from credsync.agent.capture.spool import Spool, SpoolEntry

__all__ = ["MAX_EVENTS", "SendResult", "Sender"]

log = logging.getLogger("credsync.capture.forwarder")

MAX_EVENTS = 500
_BACKOFF_MIN = 0.2
_BACKOFF_MAX = 30.0


@dataclass
class SendResult:
    """What one :meth:`Sender.send_once` did."""

    sent: int = 0  # events acknowledged
    dropped: int = 0  # records that carried nothing
    dead: int = 0  # records moved to the dead letters
    retry: bool = False  # the server could not take it now: back off
    outcomes: Counter[str] = field(default_factory=Counter)


class Sender:
    """Delivers one forwarder's spool (see the module docstring)."""

    def __init__(self, spool: Spool, client: CaptureClient, *, dc: str | None) -> None:
        self.spool = spool
        self.client = client
        self.dc = dc
        self.delivered = 0

    def _events(
        self, entries: list[SpoolEntry]
    ) -> tuple[list[SpoolEntry], list[dict[str, Any]], int]:
        """Parse records into events; drop the empty ones, dead-letter the unreadable ones."""
        carrying: list[SpoolEntry] = []
        events: list[dict[str, Any]] = []
        empty: list[SpoolEntry] = []
        for entry in entries:
            try:
                data = entry.path.read_bytes()
            except FileNotFoundError:
                continue
            captured = datetime.fromtimestamp(entry.mtime_ns / 1e9, UTC)
            try:
                found = events_from_ldif(data, captured_at=captured, dc=self.dc)
            except (LdifError, UnicodeDecodeError) as err:
                log.warning("capture: %s is unreadable (%s): moved to dead-letter", entry.name, err)
                self.spool.dead_letter([entry], f"unreadable LDIF: {err}")
                continue
            if not found:
                empty.append(entry)
            elif len(events) + len(found) > MAX_EVENTS:
                break  # the next batch takes it
            else:
                carrying.append(entry)
                events.extend(found)
        self.spool.remove(empty)
        return carrying, events, len(empty)

    def _body(self, seq: int, events: list[dict[str, Any]]) -> bytes:
        body = {
            "forwarder_id": self.client.signer.forwarder_id,
            "seq": seq,
            "nonce": secrets.token_hex(16),
            "sent_at": rfc3339(datetime.now(UTC)),
            "events": events,
        }
        return json.dumps(body, separators=(",", ":")).encode("utf-8")

    def send_once(self) -> SendResult:
        """Send the oldest batch once (see the module docstring for each answer)."""
        result = SendResult()
        entries = self.spool.pending(MAX_EVENTS)
        if not entries:
            for name in self.spool.sweep():
                log.warning("capture: %s was left unfinished by its hook: removed", name)
        if not entries:
            return result
        carrying, events, result.dropped = self._events(entries)
        if not events:
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
                self.spool.remove(carrying)
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
                log.error("capture: %s; %d records moved to dead-letter", reason, len(carrying))
                self.spool.dead_letter(carrying, reason)
                result.dead = len(carrying)
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
        linger: float = 0.1,
        until_empty: bool = False,
    ) -> bool:
        """Send until ``stop`` is set (or, with ``until_empty``, the spool is empty: returns
        whether it is). Polls the spool every ``poll`` seconds when idle; backs off on failure.

        The first change after a quiet spell goes at once (latency); while changes keep coming,
        each batch waits ``linger`` seconds after the previous one, so that a burst travels in
        batches of many events rather than one request (and one server transaction) each."""
        backoff = _BACKOFF_MIN
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
                if not until_empty and len(self.spool.pending(MAX_EVENTS)) < MAX_EVENTS:
                    stop.wait(linger)
                continue
            if result.dropped or result.dead:
                continue
            if until_empty:
                return True
            stop.wait(poll)
        return self.spool.depth() == 0
