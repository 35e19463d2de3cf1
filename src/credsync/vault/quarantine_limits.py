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
    (0: no percentage) once there are at least :data:`PERCENT_FLOOR`; ``count_from`` and
    ``percent_from`` say whose value each is (the directory's own option, the vault-wide
    value or the built-in default), for the reason."""

    count: int
    percent: int
    count_from: str = "this directory's"
    percent_from: str = "this directory's"

    @classmethod
    def of(cls, directory: Directory, option: str) -> Limits:
        def whose(name: str) -> str:
            source = directory.option_source(name)
            return {"directory": "this directory's", "vault": "the vault-wide"}.get(
                source, "the built-in"
            )

        percent = f"{option}_percent"
        return cls(directory.option(option), directory.option(percent), whose(option),
                   whose(percent))  # fmt: skip

    @classmethod
    def outbound(cls, directory: Directory) -> Limits:
        return cls.of(directory, "push_cap")

    @classmethod
    def changes(cls, directory: Directory) -> Limits:
        return cls.of(directory, "change_cap")

    @classmethod
    def inbound(cls, directory: Directory) -> Limits:
        return cls.of(directory, "inbound_cap")

    def crossed(self, n: int, linked: int, what: str, option: str) -> str | None:
        """The figures, in words, when ``n`` crosses the threshold; else None."""
        if n > self.count:
            return f"{n} {what}, over {self.count_from} {option} of {self.count}"
        if self.percent and n >= PERCENT_FLOOR and linked and n * 100 > linked * self.percent:
            share = n * 100 // linked
            return (
                f"{n} {what} of {linked} linked accounts ({share}%), over {self.percent_from} "
                f"{option}_percent of {self.percent}%"
            )
        return None
