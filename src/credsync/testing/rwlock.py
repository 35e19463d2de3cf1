"""A readers-writer lock between processes on one machine, over ``flock(2)`` on two files.

The tests share one Samba DC per machine (pytest-xdist's workers of one run, and every other test
session on the machine). Using it is the readers' side (:meth:`FileRWLock.shared`, held around
every test that touches the DC); restarting it (two-way capture's set-up) is the writer's side
(:meth:`FileRWLock.exclusive`), which waits until no test uses the DC and keeps new ones out
until it is done. A writer waiting holds the *gate* file, which every reader takes briefly before
its shared lock, so a steady stream of readers cannot starve it.

The kernel drops a lock when its process dies, so a crashed test leaves nothing behind. Locks are
per open file: a process must not take :meth:`exclusive` inside its own :meth:`shared`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["FileRWLock"]


class FileRWLock:
    """``<path>`` (shared or exclusive) and ``<path>.gate`` (exclusive, briefly)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.gate = path.with_name(path.name + ".gate")

    def _open(self, path: Path) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        # 0666: every user's test sessions on the machine share the lock (umask permitting).
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)

    @contextlib.contextmanager
    def _held(self, path: Path, operation: int) -> Iterator[None]:
        fd = self._open(path)
        try:
            fcntl.flock(fd, operation)
            yield
        finally:
            os.close(fd)  # closing the file drops its lock

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Held with other readers; waits while a writer holds or waits for the lock."""
        fd = self._open(self.path)
        try:
            with self._held(self.gate, fcntl.LOCK_EX):  # behind any writer already waiting
                fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held alone: waits until every reader is done; readers wait meanwhile."""
        with self._held(self.gate, fcntl.LOCK_EX), self._held(self.path, fcntl.LOCK_EX):
            yield
