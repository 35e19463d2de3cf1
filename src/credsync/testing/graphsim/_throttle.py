"""Throttling by resource units, as Entra's identity limits: one token bucket for reads and one for
writes per (tenant, app), and one for the writes of all apps of the tenant together. A bucket
holds ``units`` and refills at ``units / window`` per second (on the simulator's clock, so
``advance_clock`` refills it). A request that finds too few units is refused with 429 and a
Retry-After of the whole seconds until enough have come back; refused requests cost nothing.

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
    tenant_write_units: int = 18000  # all apps of the tenant together
    tenant_write_window: float = 300.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0
    used_fraction: float = 0.0  # of the bucket's capacity, after this request
    tenant_wide: bool = False  # refused by the tenant's limit (all apps), not the app's


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

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now

    def used(self) -> float:
        return 1.0 - self.level / self.capacity

    def wait(self, cost: int) -> int:
        """Whole seconds until ``cost`` units are there (0: they are)."""
        if self.level >= cost:
            return 0
        return max(1, math.ceil((cost - self.level) / self.rate)) if self.rate else 2**31 - 1

    def take(self, cost: int, now: float) -> Decision:
        self.refill(now)
        wait = self.wait(cost)
        if wait:
            return Decision(False, wait, self.used())
        self.level -= cost
        return Decision(True, 0, self.used())


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
        with self._lock:
            if not write:
                return self._bucket(app_id, "read", now).take(cost, now)
            # A write needs units in the app's bucket and in the tenant's; it takes from both
            # or from neither.
            app = self._bucket(app_id, "write", now)
            tenant = self._bucket("", "tenant-write", now)
            app.refill(now)
            tenant.refill(now)
            app_wait, tenant_wait = app.wait(cost), tenant.wait(cost)
            if app_wait or tenant_wait:
                return Decision(
                    False,
                    max(app_wait, tenant_wait),
                    max(app.used(), tenant.used()),
                    tenant_wide=tenant_wait > app_wait,
                )
            app.level -= cost
            tenant.level -= cost
            return Decision(True, 0, max(app.used(), tenant.used()))

    def _bucket(self, app_id: str, kind: str, now: float) -> _Bucket:
        bucket = self._buckets.get((app_id, kind))
        if bucket is None:
            config = self.config
            units, window = {
                "read": (config.read_units, config.read_window),
                "write": (config.write_units, config.write_window),
                "tenant-write": (config.tenant_write_units, config.tenant_write_window),
            }[kind]
            bucket = self._buckets[(app_id, kind)] = _Bucket(units, window, now)
        return bucket
