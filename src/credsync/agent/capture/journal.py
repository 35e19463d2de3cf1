"""The spool journal's record format, and how a sealed journal is read only once it is whole.

The hook appends each object's LDIF framed by two lines that carry its own pid (``$$``) and
syncpasswords' (``$PPID``), both from shell builtins; each marker line starts with a newline
of its own, so that it is a line of its own even after the unfinished tail of a killed hook::

    \\n# credsync-begin PID PPID\\n<Samba's LDIF, byte for byte>\\n# credsync-end PID PPID\\n

A record is complete when its end line follows its begin line with the same pid and ppid. A
begin followed by another begin (or by the end of the file) is a hook that was killed mid-record:
Samba got no ``DONE-EXIT`` for it and delivers the object again, so it is dropped. Samba's LDIF
has no line that starts with ``# credsync-`` (attribute lines, ``#`` comments of its own,
continuation lines that start with a space), so the markers are unambiguous; a reused pid is
told apart by the begin line that precedes it.

**Reading a sealed file.** The sender renames ``journal`` to a sealed name and reads it only
once no process has it open: a hook that looked the path up before the rename writes its record
into the sealed file, one that looks it up after creates a new journal (``>>`` with O_CREAT). On
Linux a write lease (``F_SETLEASE F_WRLCK``) is granted only when no other open file description
of the file exists, readers included; the kernel counts an opener before it breaks leases and
checks the count after it installs one, so an open racing with the lease either makes it refused
(EAGAIN: try again later) or breaks it, which ``F_GETLEASE`` shows after the read (then the read
is thrown away and tried later). What this cannot see is an open that resolved the old name
before the rename and is still inside the ``open`` system call, not yet counted, after the read
and the check (a process stalled inside one system call for the whole rename, lease and read):
its record would land in a file already read. The break notification is sent as SIGURG
(``F_SETSIG``), whose default action is to ignore it: the default SIGIO would end the
forwarder. Where leases are not available (EINVAL: a file system without them or leases
disabled; EACCES: not the file's owner), a sealed file is taken once it has not changed for a
second and ends with a complete record (or has not changed for 30 s: a killed hook's tail).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import signal
import time
from dataclasses import dataclass, field

__all__ = ["Record", "Scan", "complete", "parse", "read_sealed"]

_MARKER = re.compile(rb"\n# credsync-(begin|end) (\d+) (\d+)\n")
_SETTLED_S = 1.0
_ABANDONED_S = 30.0


@dataclass(frozen=True)
class Record:
    """One object's LDIF as the hook spooled it (ciphertext only; never logged)."""

    pid: int  # the hook's process
    ppid: int  # syncpasswords' process (0: adopted from the older one-file-per-object layout)
    data: bytes

    def framed(self) -> bytes:
        """The record as the hook writes it."""
        return (
            f"\n# credsync-begin {self.pid} {self.ppid}\n".encode()
            + self.data
            + f"\n# credsync-end {self.pid} {self.ppid}\n".encode()
        )


@dataclass
class Scan:
    """What a journal holds: complete records in file order, and what was dropped."""

    records: list[Record] = field(default_factory=list)
    incomplete: list[Record] = field(default_factory=list)  # a killed hook's partial record
    stray_bytes: int = 0  # outside any record (none in a journal only the hook wrote)


def parse(data: bytes) -> Scan:
    """The records of a journal (see the module docstring)."""
    scan = Scan()
    opened: tuple[int, int, int] | None = None  # pid, ppid, where its data starts
    pos = 0
    for match in _MARKER.finditer(data):
        kind, pid, ppid = match.group(1), int(match.group(2)), int(match.group(3))
        if opened is not None:
            body = data[opened[2] : match.start()]
            if kind == b"end" and (pid, ppid) == opened[:2]:
                scan.records.append(Record(pid, ppid, body))
            else:
                scan.incomplete.append(Record(opened[0], opened[1], body))
                if kind == b"end":
                    scan.stray_bytes += match.end() - match.start()
        else:
            scan.stray_bytes += match.start() - pos
            if kind == b"end":
                scan.stray_bytes += match.end() - match.start()
        opened = (pid, ppid, match.end()) if kind == b"begin" else None
        pos = match.end()
    if opened is not None:
        scan.incomplete.append(Record(opened[0], opened[1], data[opened[2] :]))
    else:
        scan.stray_bytes += len(data) - pos
    return scan


def complete(data: bytes) -> bool:
    """Whether ``data`` ends with a complete record (its last marker is a matching end)."""
    last = None
    for match in _MARKER.finditer(data):
        last = match
    return last is not None and last.end() == len(data) and last.group(1) == b"end"


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _read_settled(fd: int) -> bytes | None:
    """Without leases: the content once unchanged for a second and complete (or abandoned)."""
    before = os.fstat(fd)
    age = time.time() - before.st_mtime_ns / 1e9
    if age < _SETTLED_S:
        return None
    data = _read_all(fd)
    after = os.fstat(fd)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        return None
    return data if complete(data) or age >= _ABANDONED_S or not data else None


def read_sealed(path: str | os.PathLike[str]) -> tuple[bytes, int] | None:
    """The content of a sealed journal and its mtime (ns), or None while some process may still
    write to it (try again later). Raises FileNotFoundError when it is gone."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
        except AttributeError:  # not Linux: no leases
            data = _read_settled(fd)
        except OSError as err:
            if err.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return None  # a hook (or anyone) still has it open
            if err.errno not in (errno.EINVAL, errno.EACCES, errno.EPERM):
                raise
            data = _read_settled(fd)
        else:
            try:
                data = _read_all(fd)
                if fcntl.fcntl(fd, fcntl.F_GETLEASE) != fcntl.F_WRLCK:
                    return None  # opened while we read: broken lease, read again later
            finally:
                fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        if data is None:
            return None
        return data, os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)
