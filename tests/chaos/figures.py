"""The chaos tests' figures: for each scenario, the operations attempted, the passwords lost and
the duplicates (both asserted to be 0 by the test) and the time to recover (measured, printed,
never asserted). Each test prints its line; with ``CREDSYNC_CHAOS_REPORT=PATH`` the figures
are also kept in the JSON file at PATH (one object per scenario, the newest run of a scenario
replacing the one before), which ``bench/chaos_table.py`` turns into the Markdown table of
docs/chaos.md."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPORT = "CREDSYNC_CHAOS_REPORT"


@dataclass
class Figure:
    scenario: str
    operations: int = 0  # attempted: pushes, report runs, vault writes...
    lost: int = 0  # passwords (or committed writes) not where they should be at the end
    duplicates: int = 0  # the same password written twice
    recover_seconds: float | None = None  # from the fault's end to all work done
    detail: str = ""  # what the operations were, what was seen on the way
    extra: dict[str, float | int | str] = field(default_factory=dict)

    def line(self) -> str:
        recover = "-" if self.recover_seconds is None else f"{self.recover_seconds:.2f} s"
        return (
            f"chaos {self.scenario}: operations={self.operations} lost={self.lost} "
            f"duplicates={self.duplicates} recover={recover} {self.detail}"
        )


class Stopwatch:
    """Seconds since :meth:`start` (or since it was made), on the monotonic clock."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def start(self) -> None:
        self.started = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 3)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def record(figure: Figure) -> None:
    """Print the figure (``pytest -s`` shows it) and keep it in the report file if asked."""
    print(figure.line())
    target = os.environ.get(REPORT)
    if not target:
        return
    path = Path(target)
    with _locked(path):
        kept: list[dict[str, object]] = []
        if path.exists() and path.stat().st_size:
            kept = [f for f in json.loads(path.read_text()) if f["scenario"] != figure.scenario]
        kept.append(asdict(figure))
        path.write_text(json.dumps(kept, indent=1) + "\n")
