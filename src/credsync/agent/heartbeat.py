"""The agent's heartbeat file: how a server on the same home knows that an agent running as
its own process (``credsync agent``) is alive (``serve --expect-agent``; its ``/readyz``).

The agent touches ``$CREDSYNC_HOME/agent.heartbeat`` (:data:`FILE`) as its loop goes round,
at most every :data:`EVERY` seconds (:class:`Heartbeat`); the server reads the file's
modification time (:func:`age_of`). The file holds the agent's ``host:pid``, nothing else.
An agent on another host (no shared home) is not seen this way: its server is started without
``--expect-agent`` and the agent's own process is watched by its service manager.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

__all__ = ["EVERY", "FILE", "Heartbeat", "age_of"]

FILE = "agent.heartbeat"
EVERY = 5.0  # seconds between two touches of the file at most


class Heartbeat:
    """Touches ``path`` (with ``owner`` in it) at most every :data:`EVERY` seconds."""

    def __init__(self, path: Path, owner: str) -> None:
        self._path = path
        self._owner = owner
        self._at = -float("inf")

    def beat(self) -> None:
        now = time.monotonic()
        if now - self._at < EVERY:
            return
        self._at = now
        with contextlib.suppress(OSError):  # a full disk must not stop the agent
            tmp = self._path.with_name(f".{self._path.name}.{os.getpid()}")
            tmp.write_text(self._owner + "\n", encoding="utf-8")
            tmp.replace(self._path)


def age_of(path: Path, now: float) -> float | None:
    """Seconds since ``path`` was last touched (``now``: ``time.time()``), None when it is
    not there."""
    try:
        return max(0.0, now - path.stat().st_mtime)
    except OSError:
        return None
