"""Throttling by resource units, as Entra's identity limits: one token bucket for reads and one
for writes per (tenant, app). A bucket holds ``units`` and refills at ``units / window`` per
second (on the simulator's clock, so ``advance_clock`` refills it). A request that finds too few
units is refused with 429 and a Retry-After of the whole seconds until enough have come back;
refused requests cost nothing.

Costs (per request): GET of users 2 units, of group members 3, anything else 1; ``$select``
takes one off (never below 1); writes cost 1 (a PATCH with a passwordProfile too).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

__all__ = ["Decision", "ThrottleConfig", "Throttler", "read_cost"]


@dataclass(frozen=True)
class ThrottleConfig:
    """Per (tenant, app) limits; the defaults are Entra's (largest tenants for reads)."""

    enabled: bool = True
    read_units: int = 8000
    read_window: float = 10.0
    write_units: int = 3000
    write_window: float = 150.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0
    used_fraction: float = 0.0  # of the bucket's capacity, after this request


def read_cost(path: str, selected: bool) -> int:
    """Resource units of a GET of ``path`` (below /v1.0)."""
    segments = [s for s in path.lower().split("/") if s]
    if segments[-1:] == ["members"] or segments[-2:] == ["members", "$ref"]:
        cost = 3
    elif segments[:1] == ["users"]:
        cost = 2
    else:
        cost = 1
    return max(1, cost - 1) if selected else cost


class _Bucket:
    __slots__ = ("capacity", "level", "rate", "stamp")

    def __init__(self, capacity: int, window: float, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = capacity / window if window > 0 else math.inf
        self.level = float(capacity)
        self.stamp = now

    def take(self, cost: int, now: float) -> Decision:
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now
        if self.level >= cost:
            self.level -= cost
            return Decision(True, 0, 1.0 - self.level / self.capacity)
        wait = (cost - self.level) / self.rate if self.rate else math.inf
        return Decision(False, max(1, math.ceil(wait)), 1.0 - self.level / self.capacity)


class Throttler:
    """The buckets of one tenant; replaced (full again) whenever its config is assigned."""

    def __init__(self, config: ThrottleConfig) -> None:
        self.config = config
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def charge(self, app_id: str, write: bool, cost: int, now: float) -> Decision:
        config = self.config
        if not config.enabled:
            return Decision(True)
        kind = "write" if write else "read"
        with self._lock:
            bucket = self._buckets.get((app_id, kind))
            if bucket is None:
                units, window = (
                    (config.write_units, config.write_window)
                    if write
                    else (config.read_units, config.read_window)
                )
                bucket = self._buckets[(app_id, kind)] = _Bucket(units, window, now)
            return bucket.take(cost, now)
