"""The quarantine thresholds of a directory (issue 18), read by a run's screen
(:mod:`credsync.sync.quarantine`) and by the capture intake
(:mod:`credsync.vault.capture_hold`) alike: one place, so that where a threshold comes from
(a directory option, its default) reaches both."""

from __future__ import annotations

from dataclasses import dataclass

from credsync.vault.directories import Directory

__all__ = ["PERCENT_FLOOR", "Limits"]

PERCENT_FLOOR = 5


@dataclass(frozen=True)
class Limits:
    """A threshold: more than ``count`` actions, or more than ``percent`` % of ``linked``
    (0: no percentage) once there are at least :data:`PERCENT_FLOOR`."""

    count: int
    percent: int

    @classmethod
    def outbound(cls, directory: Directory) -> Limits:
        return cls(directory.option("push_cap"), directory.option("push_cap_percent"))

    @classmethod
    def inbound(cls, directory: Directory) -> Limits:
        return cls(directory.option("inbound_cap"), directory.option("inbound_cap_percent"))

    def crossed(self, n: int, linked: int, what: str, option: str) -> str | None:
        """The figures, in words, when ``n`` crosses the threshold; else None."""
        if n > self.count:
            return f"{n} {what}, over this directory's {option} of {self.count}"
        if self.percent and n >= PERCENT_FLOOR and linked and n * 100 > linked * self.percent:
            share = n * 100 // linked
            return (
                f"{n} {what} of {linked} linked accounts ({share}%), over this directory's "
                f"{option}_percent of {self.percent}%"
            )
        return None
