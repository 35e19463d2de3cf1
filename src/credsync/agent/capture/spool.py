"""The forwarder's state directory: the hook, the spool of ciphertext, the dead letters, ``seq``.

Layout (``STATE``, mode 700; everything in it is ciphertext or bookkeeping, never a password
or a private key)::

    STATE/hook            the per-object script syncpasswords runs (written by the forwarder)
    STATE/cache.ldb       syncpasswords' cache and DirSync cookie
    STATE/spool/          one LDIF per changed object, as Samba gave it (ciphertext only):
                          ``<hook pid>.ldif``, complete once its last line is
                          ``# credsync-end``; delivered in the order the hooks finished them
    STATE/dead-letter/    records the server refused as malformed (400), each with a ``.reason``
    STATE/seq             the last sequence number the server accepted (fsync'd)
    STATE/forwarder.log   syncpasswords' own log (DNs and counts; no secret attributes)

The hook must be fast: Samba runs it once per object, one after the other, and waits for it
(the burst benchmark compares it with a script that does nothing). Measured on a loaded 2-core
machine, per object: a do-nothing ``sh`` script ~1-2 ms; ``sh`` with ``date``/``cat``/``mv``
(a timestamped name, write to a temporary file and rename) ~5-6 ms (three processes); ``bash``
with builtins only (``read -d ''`` reads a pipe byte by byte) ~4-8 ms; ``sh`` with one ``cat``
~2-4 ms. So the hook is ``sh`` with one ``cat`` into ``<pid>.ldif`` (``set -C``: never over an
older record of a reused pid; that fails the hook and Samba retries) followed by an ``echo``
of an end marker: the forwarder takes a record only once the marker is its last line, which
gives what a rename would (a reader never takes half a record) without a second process. The
order is the order the hooks finished (modification time, then pid); the server orders an
account's captures by pwdLastSet anyway. ``--fsync`` adds a ``sync FILE`` per object (one
more process, ~+3 ms): without it a power cut can lose records Samba has already been told
were spooled (its own cache.ldb is not synced per object either).

Only after ``DONE-EXIT: spooled`` does Samba record the object's cookie, so a crash between
the two delivers it again (at-least-once; the server is idempotent); a record a killed hook
left unfinished is swept (:meth:`Spool.sweep`). Everything heavier (parsing, batching, signing,
HTTP) happens in the long-lived forwarder process, which polls the spool every 20 ms.
"""

from __future__ import annotations

import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["END_MARKER", "HOOK_REPLY", "Spool", "SpoolEntry", "hook_script"]

HOOK_REPLY = "DONE-EXIT: spooled"
END_MARKER = "# credsync-end"
SUFFIX = ".ldif"
_MARKER_BYTES = f"\n{END_MARKER}\n".encode()
_MARKER_LEN = len(_MARKER_BYTES)
_ABANDONED_AFTER_S = 30.0


def hook_script(spool_dir: Path, *, fsync: bool = False) -> str:
    """The text of ``STATE/hook`` for ``spool_dir``. With ``fsync`` each record is flushed to
    disk before it is marked complete (``sync FILE``: one more process per object)."""
    spool = shlex.quote(str(spool_dir))
    flush = 'sync "$f" || { rm -f "$f"; echo "spool sync failed"; exit 1; }\n' if fsync else ""
    return (
        "#!/bin/sh\n"
        "# Written by `credsync capture samba`: spool one object's LDIF (ciphertext only) for\n"
        "# the forwarder. Do not edit: the forwarder rewrites it at start.\n"
        "umask 077\n"
        "set -C\n"  # noclobber: a record left by an earlier process of the same pid is kept
        f"f={spool}/$${SUFFIX}\n"
        'cat >"$f" || { echo "spool write failed"; exit 1; }\n'
        f"{flush}"
        f'echo "{END_MARKER}" >>"$f" || {{ rm -f "$f"; echo "spool write failed"; exit 1; }}\n'
        f"echo '{HOOK_REPLY}'\n"
    )


@dataclass(frozen=True)
class SpoolEntry:
    path: Path
    mtime_ns: int  # when the hook finished writing it
    pid: int  # the hook's process

    @property
    def name(self) -> str:
        return self.path.name


def _entry(path: Path) -> SpoolEntry | None:
    """A complete record (its last line is the end marker), else None (not ours, or still
    being written)."""
    stem = path.name.removesuffix(SUFFIX)
    if stem == path.name or not stem.isdigit():
        return None
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < _MARKER_LEN:
                return None
            handle.seek(size - _MARKER_LEN)
            if handle.read() != _MARKER_BYTES:
                return None
            mtime = os.fstat(handle.fileno()).st_mtime_ns
    except FileNotFoundError:
        return None
    return SpoolEntry(path, mtime, int(stem))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """The state directory of one forwarder (see the module docstring)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.spool_dir = state_dir / "spool"
        self.dead_dir = state_dir / "dead-letter"
        self.hook = state_dir / "hook"
        self.cache = state_dir / "cache.ldb"
        self.log = state_dir / "forwarder.log"
        self._seq_file = state_dir / "seq"

    def prepare(self, *, fsync: bool = False) -> None:
        """Create the directories (mode 700) and (re)write the hook."""
        for path in (self.state_dir, self.spool_dir, self.dead_dir):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.chmod(0o700)
        tmp = self.hook.with_name(".hook.tmp")
        tmp.write_text(hook_script(self.spool_dir, fsync=fsync), encoding="utf-8")
        tmp.chmod(0o700)
        tmp.replace(self.hook)

    def pending(self, limit: int | None = None) -> list[SpoolEntry]:
        """Complete records in delivery order (oldest first)."""
        entries = [e for p in self.spool_dir.iterdir() if (e := _entry(p)) is not None]
        entries.sort(key=lambda e: (e.mtime_ns, e.pid))
        return entries if limit is None else entries[:limit]

    def depth(self) -> int:
        return len(self.pending())

    def sweep(self) -> list[str]:
        """Remove records a hook never finished (its process is gone, no end marker, older than
        30 s): Samba got no ``DONE-EXIT`` for them and delivers the object again. Their names."""
        swept = []
        now = time.time_ns()
        for path in self.spool_dir.iterdir():
            stem = path.name.removesuffix(SUFFIX)
            if stem == path.name or not stem.isdigit() or _entry(path) is not None:
                continue
            try:
                age = (now - path.stat().st_mtime_ns) / 1e9
                os.kill(int(stem), 0)
                continue  # the hook still runs
            except ProcessLookupError:
                pass
            except (FileNotFoundError, PermissionError):
                continue
            if age > _ABANDONED_AFTER_S:
                path.unlink(missing_ok=True)
                swept.append(path.name)
        return swept

    def remove(self, entries: list[SpoolEntry]) -> None:
        """Drop records the server acknowledged (or that carried nothing)."""
        for entry in entries:
            entry.path.unlink(missing_ok=True)

    def dead_letter(self, entries: list[SpoolEntry], reason: str) -> None:
        """Move records aside with ``reason`` (no secrets in it), never to be retried."""
        for entry in entries:
            target = self.dead_dir / entry.name
            entry.path.replace(target)
            target.with_suffix(".reason").write_text(reason + "\n", encoding="utf-8")
        _fsync_dir(self.dead_dir)

    def last_seq(self) -> int:
        try:
            return int(self._seq_file.read_text(encoding="ascii").strip() or 0)
        except FileNotFoundError:
            return 0

    def save_seq(self, seq: int) -> None:
        """Record ``seq`` durably (write, fsync, rename, fsync the directory)."""
        tmp = self._seq_file.with_name(".seq.tmp")
        with open(tmp, "w", encoding="ascii") as handle:
            handle.write(f"{seq}\n")
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self._seq_file)
        _fsync_dir(self.state_dir)
