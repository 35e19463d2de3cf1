"""The forwarder's state directory: the hook, the spool journal, the dead letters, ``seq``.

Layout (``STATE``, mode 700; everything in it is ciphertext or bookkeeping, never a password
or a private key)::

    STATE/hook            the per-object script syncpasswords runs (written by the forwarder)
    STATE/cache.ldb       syncpasswords' cache and DirSync cookie
    STATE/spool/          (mode 700; files mode 600) Samba's LDIF per changed object, ciphertext
      journal             the live journal: the hook appends each object's record to it
      sealed-<ns>[.<n>]   journals the sender took from the hooks (and the rest of one it
                          cut after a batch), delivered in name order
    STATE/dead-letter/    records the server refused (400) or that are not LDIF, never retried:
                          ``<ns>.journal`` (the records, in the journal's format) and
                          ``<ns>.reason``
    STATE/seq             the last sequence number the server accepted (fsync'd)
    STATE/forwarder.log   syncpasswords' own log (DNs and counts; no secret attributes)

The hook must be fast: Samba runs it once per object, one after the other, and waits for it
(the burst benchmark compares it with a script that does nothing). Measured on this 2-core
machine (Popen of the hook with a 2.4 KB LDIF on stdin, as Samba does; ms per call): a
do-nothing ``sh`` script (``cat >/dev/null``) 1.7-2.3; the earlier hook, one new file per
object (``cat >spool/<pid>.ldif`` then an end-marker line) 3.2-3.7: creating a file on ext4
costs ~1-1.5 ms, 25-40% of the baseline's whole time for a burst; appending to ONE existing file
2.0-2.3, the same as doing nothing. So each record is appended to ``spool/journal`` between a
begin and an end line (:mod:`credsync.agent.capture.journal`) by ``sh`` with one ``cat`` and
``printf`` (a builtin) for the marker lines. Measured again with this hook, 3 x 400 calls each,
alternating, in four runs under a load average of 3-5 (other sessions' tests): do-nothing
2.8-5.3 (mean 4.3), this hook 2.5-4.7 (mean 3.6), the earlier hook 3.1-8.1 (mean 5.5),
this hook with ``--fsync`` 7.3-11.5 (mean 10.4): the journal costs nothing measurable.

The sender never reads the live journal: it renames it to ``sealed-<time_ns>`` (the next hook
creates a new journal by itself: one file creation per batch, not per object) and reads a
sealed file once no hook has it open (a write lease, see the journal module). ``--fsync`` adds a
``sync FILE`` per object (one more process, ~+6 ms): without it a power cut can lose records
Samba has already been told were spooled (its own cache.ldb is not synced per object either).

Only after ``DONE-EXIT: spooled`` does Samba record the object's cookie, so a crash between the
two delivers it again (at-least-once; the server is idempotent); a record a killed hook left
unfinished is dropped when its sealed file is delivered. Everything heavier (parsing, batching,
signing, HTTP) happens in the long-lived forwarder process, which polls with a ``stat`` of the
journal every 20 ms and reads nothing while nothing changed.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from credsync.agent.capture.journal import Record, Scan, parse, read_sealed

__all__ = ["HOOK_REPLY", "JOURNAL", "SEALED_PREFIX", "SealedFile", "Spool", "hook_script"]

HOOK_REPLY = "DONE-EXIT: spooled"
JOURNAL = "journal"
SEALED_PREFIX = "sealed-"
_OLD_SUFFIX = ".ldif"  # the earlier layout: spool/<pid>.ldif ending with "# credsync-end"
_OLD_END = b"\n# credsync-end\n"
_OLD_ABANDONED_S = 30.0


def hook_script(spool_dir: Path, *, fsync: bool = False) -> str:
    """The text of ``STATE/hook`` for ``spool_dir``. With ``fsync`` each record is flushed to
    disk before the hook answers (``sync FILE``: one more process per object)."""
    journal = shlex.quote(str(spool_dir / JOURNAL))
    flush = 'sync "$j" || { echo "spool sync failed"; exit 1; }\n' if fsync else ""
    return (
        "#!/bin/sh\n"
        "# Written by `credsync capture samba`: append one object's LDIF (ciphertext only) to\n"
        "# the forwarder's journal. Do not edit: the forwarder rewrites it at start.\n"
        "umask 077\n"
        f"j={journal}\n"
        "{ printf '\\n# credsync-begin %s %s\\n' $$ $PPID && cat &&"
        " printf '\\n# credsync-end %s %s\\n' $$ $PPID; } >>\"$j\""
        ' || { echo "spool write failed"; exit 1; }\n'
        f"{flush}"
        f"echo '{HOOK_REPLY}'\n"
    )


def _sealed_name(ns: int) -> str:
    return f"{SEALED_PREFIX}{ns:020d}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes, mtime_ns: int | None = None) -> None:
    """``data`` into ``path`` (mode 600) via a temporary file, fsync'd, then renamed."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if mtime_ns is not None:
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
    tmp.replace(path)


@dataclass(frozen=True)
class SealedFile:
    """A sealed journal, read whole: no hook writes to it any more."""

    path: Path
    mtime_ns: int  # when its last record was written: the records' capture time
    scan: Scan

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def records(self) -> list[Record]:
        return self.scan.records


class Spool:
    """The state directory of one forwarder (see the module docstring). One process (the
    sender) seals and removes; it keeps the list of sealed files it knows in memory, so that an
    idle poll is one ``stat`` of the journal."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.spool_dir = state_dir / "spool"
        self.journal = self.spool_dir / JOURNAL
        self.dead_dir = state_dir / "dead-letter"
        self.hook = state_dir / "hook"
        self.cache = state_dir / "cache.ldb"
        self.log = state_dir / "forwarder.log"
        self._seq_file = state_dir / "seq"
        self._sealed: list[str] | None = None
        self.in_use: str | None = None  # the sealed file :meth:`waiting` last stopped at

    def prepare(self, *, fsync: bool = False) -> None:
        """Create the directories (mode 700), (re)write the hook, seal a journal left by an
        earlier run and adopt records in the earlier one-file-per-object layout. Call it before
        syncpasswords runs."""
        for path in (self.state_dir, self.spool_dir, self.dead_dir):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.chmod(0o700)
        tmp = self.hook.with_name(".hook.tmp")
        tmp.write_text(hook_script(self.spool_dir, fsync=fsync), encoding="utf-8")
        tmp.chmod(0o700)
        tmp.replace(self.hook)
        self._sealed = None
        self._adopt_old_layout()
        self.seal()

    def _adopt_old_layout(self) -> None:
        """Records an earlier forwarder spooled as ``<pid>.ldif`` (complete once their last
        line is ``# credsync-end``) become one sealed file that sorts by their time, in their
        order (modification time, then pid). Unfinished ones older than 30 s are removed: their
        hook was killed and Samba delivers the object again."""
        found: list[tuple[int, int, bytes]] = []
        old = [p for p in self.spool_dir.glob(f"*{_OLD_SUFFIX}") if p.stem.isdigit()]
        for path in old:
            data, stat = path.read_bytes(), path.stat()
            if data.endswith(_OLD_END):
                found.append((stat.st_mtime_ns, int(path.stem), data[: -len(_OLD_END) + 1]))
            elif time.time() - stat.st_mtime_ns / 1e9 > _OLD_ABANDONED_S:
                path.unlink()
        if found:
            found.sort(key=lambda item: item[:2])
            ns = found[0][0]
            while (self.spool_dir / _sealed_name(ns)).exists():
                ns += 1
            body = b"".join(Record(pid, 0, data).framed() for _, pid, data in found)
            _write_durably(self.spool_dir / _sealed_name(ns), body, found[-1][0])
            self._sealed = None
        for _, pid, _ in found:
            (self.spool_dir / f"{pid}{_OLD_SUFFIX}").unlink(missing_ok=True)
        _fsync_dir(self.spool_dir)

    def _names(self) -> list[str]:
        if self._sealed is None:
            self._sealed = sorted(
                n for n in os.listdir(self.spool_dir) if n.startswith(SEALED_PREFIX)
            )
        return self._sealed

    def arriving(self) -> bool:
        """Whether records wait (the journal has some, or a sealed file is left): one
        ``stat`` and the sealed names already known."""
        if self._names():
            return True
        try:
            return os.stat(self.journal).st_size > 0
        except FileNotFoundError:
            return False

    def seal(self) -> str | None:
        """Rename a non-empty journal to the next sealed name (its name; None if there was
        nothing to seal). The next hook creates a new journal."""
        try:
            if os.stat(self.journal).st_size == 0:
                return None
        except FileNotFoundError:
            return None
        names = self._names()
        name = _sealed_name(time.time_ns())
        if names and name <= names[-1]:  # the clock went back: keep the order
            name = _sealed_name(int(names[-1][len(SEALED_PREFIX) :].split(".")[0]) + 1)
        os.rename(self.journal, self.spool_dir / name)
        names.append(name)
        return name

    def waiting(self) -> Iterator[SealedFile]:
        """Sealed files in delivery order, each read once no hook has it open; stops at the
        first one still in use (the order is kept). When nothing sealed waits, the journal is
        sealed first."""
        self.in_use = None
        if not self._names():
            self.seal()
        for name in list(self._names()):
            path = self.spool_dir / name
            try:
                read = read_sealed(path)
            except FileNotFoundError:
                self._names().remove(name)
                continue
            if read is None:
                self.in_use = name
                return
            yield SealedFile(path, read[1], parse(read[0]))

    def finish(
        self,
        whole: list[SealedFile],
        cut: tuple[SealedFile, int] | None = None,
        *,
        chunk: int = 500,
    ) -> None:
        """Drop delivered sealed files: ``whole`` ones entirely; of ``cut`` = (file, n) its
        first n records. The rest of a cut file goes first to new sealed files of at most
        ``chunk`` records, ``<name>.000001``, ``<name>.000002``..., which sort right after it
        (each later batch then reads and removes one whole file, rather than cutting one large
        file again and again); a crash in between sends some again at worst: at-least-once."""
        names = self._names()
        if cut is not None and cut[1] > 0:
            sealed, n = cut
            rest = sealed.records[n:]
            at = names.index(sealed.name) + 1 if sealed.name in names else 0
            for k, start in enumerate(range(0, len(rest), chunk), start=1):
                name = f"{sealed.name}.{k:06d}"
                body = b"".join(r.framed() for r in rest[start : start + chunk])
                _write_durably(self.spool_dir / name, body, sealed.mtime_ns)
                names.insert(at + k - 1, name)
            whole = [*whole, sealed]
        for sealed in whole:
            sealed.path.unlink(missing_ok=True)
            if sealed.name in names:
                names.remove(sealed.name)
        _fsync_dir(self.spool_dir)

    def records(self) -> list[Record]:
        """Every complete record waiting, in delivery order (sealed files, then the journal),
        read without waiting for the hooks: for counting and tests, not for delivery."""
        found: list[Record] = []
        names = sorted(n for n in os.listdir(self.spool_dir) if n.startswith(SEALED_PREFIX))
        for name in [*names, JOURNAL]:
            try:
                found.extend(parse((self.spool_dir / name).read_bytes()).records)
            except FileNotFoundError:
                continue
        return found

    def depth(self) -> int:
        """How many records wait for the server."""
        return len(self.records())

    def dead_letter(self, records: list[Record], reason: str) -> None:
        """Put ``records`` aside with ``reason`` (no secrets in it), never to be retried:
        ``dead-letter/<ns>.journal`` in the journal's format (an operator may move it back as
        ``spool/sealed-<ns>`` to send it again) and ``<ns>.reason``."""
        ns = time.time_ns()
        while (self.dead_dir / f"{ns}.journal").exists():
            ns += 1
        target = self.dead_dir / f"{ns}.journal"
        _write_durably(target, b"".join(r.framed() for r in records))
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
