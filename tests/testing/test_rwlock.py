"""FileRWLock between real processes: readers together, a writer alone, a waiting writer first.

Each holder is a Python process of its own that takes the lock when told (a line on its
stdin), says so (a line on its stdout) and lets go when told again. Nothing here measures time:
a process that must wait is shown waiting by the lock's files (a non-blocking try fails), and
the timeouts only keep a broken run from hanging."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from credsync.testing.rwlock import FileRWLock

SRC = Path(__file__).resolve().parents[2] / "src"
HOLDER = """
import sys
from pathlib import Path
from credsync.testing.rwlock import FileRWLock
lock = FileRWLock(Path(sys.argv[1]))
sys.stdin.readline()
with getattr(lock, sys.argv[2])():
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


class Holder:
    def __init__(self, path: Path, mode: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path), mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(SRC)},
        )

    def tell(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def hears(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def holders(tmp_path: Path) -> Iterator[list[Holder]]:
    made: list[Holder] = []
    yield made
    for holder in made:
        holder.close()


def _can_take(path: Path, operation: int) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def test_readers_share_and_keep_a_writer_out(tmp_path: Path, holders: list[Holder]) -> None:
    path = tmp_path / "users.lock"
    first, second = Holder(path, "shared"), Holder(path, "shared")
    holders += [first, second]
    for holder in (first, second):
        holder.tell()
        assert holder.hears() == "held"  # both at once
    assert not _can_take(path, fcntl.LOCK_EX)
    assert _can_take(path, fcntl.LOCK_SH)
    first.tell()
    assert first.hears() == "released"
    assert not _can_take(path, fcntl.LOCK_EX)  # the second reader still holds it
    second.tell()
    assert second.hears() == "released"
    assert _can_take(path, fcntl.LOCK_EX)


def test_a_waiting_writer_goes_before_new_readers(tmp_path: Path, holders: list[Holder]) -> None:
    lock = FileRWLock(tmp_path / "users.lock")
    reader, writer, late = (Holder(lock.path, m) for m in ("shared", "exclusive", "shared"))
    holders += [reader, writer, late]
    reader.tell()
    assert reader.hears() == "held"
    writer.tell()
    # The writer waits for the reader, holding the gate: a new reader can't get past it.
    _until(lambda: not _can_take(lock.gate, fcntl.LOCK_EX), "the writer to take the gate")
    late.tell()
    assert not _can_take(lock.path, fcntl.LOCK_EX)  # the reader still holds it: writer waits
    reader.tell()
    assert reader.hears() == "released"
    assert writer.hears() == "held"
    assert not _can_take(lock.path, fcntl.LOCK_SH)  # alone: the late reader waits too
    writer.tell()
    assert writer.hears() == "released"
    assert late.hears() == "held"
    late.tell()
    assert late.hears() == "released"
    assert _can_take(lock.path, fcntl.LOCK_EX)
    assert _can_take(lock.gate, fcntl.LOCK_EX)


def test_a_dead_holder_leaves_no_lock(tmp_path: Path, holders: list[Holder]) -> None:
    lock = FileRWLock(tmp_path / "deeper" / "users.lock")  # makes the folder
    writer = Holder(lock.path, "exclusive")
    holders.append(writer)
    writer.tell()
    assert writer.hears() == "held"
    assert not _can_take(lock.path, fcntl.LOCK_SH)
    writer.close()  # SIGKILL: no goodbye
    with lock.shared():
        assert not _can_take(lock.path, fcntl.LOCK_EX)
    with lock.exclusive():
        assert not _can_take(lock.path, fcntl.LOCK_SH)
