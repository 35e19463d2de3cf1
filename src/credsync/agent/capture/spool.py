"""The forwarder's state directory: the hook, the spool of ciphertext, the dead letters, ``seq``.

Layout (``STATE``, mode 700; everything in it is ciphertext or bookkeeping, never a password
or a private key)::

    STATE/hook            the per-object script syncpasswords runs (written by the forwarder)
    STATE/cache.ldb       syncpasswords' cache and DirSync cookie
    STATE/spool/          one LDIF per changed object, as Samba gave it (ciphertext only):
                          ``<microseconds since 1970>.<hook pid>.ldif``, so names sort in
                          the order Samba delivered them; ``.tmp.*`` files are being written
    STATE/dead-letter/    records the server refused as malformed (400), each with a ``.reason``
    STATE/seq             the last sequence number the server accepted (fsync'd)
    STATE/forwarder.log   syncpasswords' own log (DNs and counts; no secret attributes)

The hook must be fast: Samba runs it once per object, one after the other, and waits for it. It
is a few lines of ``sh`` with one ``cat`` and one ``mv`` (write to a temporary name, rename:
a reader never sees half a file), and answers ``DONE-EXIT: spooled``; only then does Samba
record the object's cookie, so a crash between the two delivers it again (at-least-once; the
server is idempotent). Everything heavier (parsing, batching, signing, HTTP) happens in the
long-lived forwarder process, which polls the spool.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HOOK_REPLY", "Spool", "SpoolEntry", "hook_script"]

HOOK_REPLY = "DONE-EXIT: spooled"


def hook_script(spool_dir: Path, *, fsync: bool = False) -> str:
    """The text of ``STATE/hook`` for ``spool_dir``. With ``fsync`` each record is flushed to
    disk before the rename (``sync FILE``, one more process per object)."""
    spool = shlex.quote(str(spool_dir))
    flush = 'sync "$tmp" || exit 1\n' if fsync else ""
    return (
        "#!/bin/sh\n"
        "# Written by `credsync capture samba`: spool one object's LDIF (ciphertext only) for\n"
        "# the forwarder. Do not edit: the forwarder rewrites it at start.\n"
        "umask 077\n"
        f"d={spool}\n"
        "t=$(date +%s%6N)\n"
        'tmp="$d/.tmp.$t.$$"\n'
        'cat >"$tmp" || { rm -f "$tmp"; echo "spool write failed"; exit 1; }\n'
        f"{flush}"
        'mv "$tmp" "$d/$t.$$.ldif" || { rm -f "$tmp"; echo "spool rename failed"; exit 1; }\n'
        f"echo '{HOOK_REPLY}'\n"
    )


@dataclass(frozen=True)
class SpoolEntry:
    path: Path
    micros: int  # when the hook wrote it (microseconds since 1970)
    pid: int

    @property
    def name(self) -> str:
        return self.path.name


def _entry(path: Path) -> SpoolEntry | None:
    parts = path.name.split(".")
    if len(parts) != 3 or parts[2] != "ldif" or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return SpoolEntry(path, int(parts[0]), int(parts[1]))


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
        """Spooled records in delivery order (oldest first)."""
        entries = [e for p in self.spool_dir.iterdir() if (e := _entry(p)) is not None]
        entries.sort(key=lambda e: (e.micros, e.pid))
        return entries if limit is None else entries[:limit]

    def depth(self) -> int:
        return sum(1 for p in self.spool_dir.iterdir() if _entry(p) is not None)

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
