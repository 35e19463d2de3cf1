"""The simulator's clock: wall-clock time plus an offset that tests move on.

Every timestamp the simulator hands out (lastPasswordChangeDateTime, createdDateTime, token iat/exp,
deletedDateTime) comes from here, and so does the time the throttling buckets refill by, so
``advance_clock`` also refills them.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

__all__ = ["SimClock", "iso"]


def iso(moment: datetime) -> str:
    """Graph's timestamp form: ISO 8601, UTC, whole seconds, a trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SimClock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the simulator's clock only moves forward")
        with self._lock:
            self._offset += seconds

    def timestamp(self) -> float:
        """Seconds since the epoch, as the simulator sees it."""
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def monotonic(self) -> float:
        """A monotonic reading that also moves with :meth:`advance` (throttling buckets)."""
        return time.monotonic() + self._offset

    def iso_now(self) -> str:
        return iso(self.now())
