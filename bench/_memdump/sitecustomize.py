"""Loaded by the agent msp_scale.py starts with ``--memdump DIR`` (this directory first on its
PYTHONPATH, PYTHONTRACEMALLOC set): on SIGUSR1 the process writes a tracemalloc snapshot and
a count of its live objects by type to DIR (``snap-N.pickle``, ``objects-N.txt``, N counting
from 1), with its RSS and tracemalloc's total. A benchmark aid: never installed with the
product."""

from __future__ import annotations

import collections
import gc
import os
import signal
import threading
import tracemalloc
from pathlib import Path

_DIR = os.environ.get("MSP_MEMDUMP_DIR")
_count = 0


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _maps() -> str:
    """RSS by kind of mapping: glibc's main heap, anonymous mappings (pymalloc's arenas,
    large blocks, the threads' malloc arenas), files; and how many thread arenas there are
    (each reserves 64 MB, its unused part mapped without access)."""
    rss: dict[str, int] = collections.Counter()
    kind, arenas = "file", 0
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
            name = head[5] if len(head) > 5 else ""
            kind = "heap" if name == "[heap]" else ("anon" if not name else "other")
            start, end = (int(x, 16) for x in head[0].split("-"))
            if not name and head[1] == "---p" and end - start > 2**20:  # not a guard page
                arenas += 1
        elif line.startswith("Rss:"):
            rss[kind] += int(head[1])
    parts = [f"{k}_mb {v / 1024:.1f}" for k, v in sorted(rss.items())]
    return " ".join(parts) + f" thread_arenas {arenas}"


def _dump(*_: object) -> None:
    global _count
    _count += 1
    out = Path(str(_DIR))
    gc.collect()
    types = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    lines = [f"rss_mb {_rss_mb():.1f}", _maps(), f"threads {threading.active_count()}"]
    if tracemalloc.is_tracing():
        current, peak = tracemalloc.get_traced_memory()
        lines.append(f"traced_mb {current / 2**20:.1f} peak {peak / 2**20:.1f}")
        tracemalloc.take_snapshot().dump(str(out / f"snap-{_count}.pickle"))
    lines += [f"{n} {t}" for t, n in types.most_common(60)]
    (out / f"objects-{_count}.txt").write_text("\n".join(lines) + "\n")


if _DIR:
    signal.signal(signal.SIGUSR1, _dump)
