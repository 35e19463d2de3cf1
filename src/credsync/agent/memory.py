"""The agent's memory (issue 20: RSS under 500 MB with 550 directories).

The agent's database work and its LDAP searches run in asyncio's default executor (up to
6 threads on 2 cores). glibc gives every thread that allocates while another does a malloc
arena of its own (up to 8 per core, each reserving 64 MB), and memory freed in an arena
mostly stays with the process: after the first runs (every directory's full pass at once)
the agent kept ~75 MB in 6 thread arenas besides its main heap (bench/README.md,
msp_scale.py). So, where the C library is glibc:

- :func:`limit_arenas` (at the agent's start, before its threads allocate): at most
  :data:`ARENAS` malloc arenas (``mallopt(M_ARENA_MAX)``; the threads share them, which
  costs nothing measurable here: they mostly wait on the database and the network);
- :func:`trim` (after a full run, the agent's largest allocations, at most once every
  :data:`TRIM_EVERY` seconds: :func:`trim_due`): freed heap memory is handed back to the
  system (``malloc_trim(0)``: it walks the heap's free blocks holding malloc's locks, which
  a busy agent must not pay after each of 550 first runs).

Elsewhere (musl, macOS) both do nothing and say so (False).
"""

from __future__ import annotations

import ctypes
import logging
import time

__all__ = ["ARENAS", "TRIM_EVERY", "limit_arenas", "trim", "trim_due"]

ARENAS = 2
TRIM_EVERY = 60.0  # seconds between two trims at least
_M_ARENA_MAX = -8  # glibc's malloc.h

log = logging.getLogger(__name__)
_trimmed_at = -TRIM_EVERY  # monotonic time of the last trim_due() that said yes


def _libc_function(name: str) -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        return getattr(ctypes.CDLL(None), name)  # the process's own symbols: its C library
    except (OSError, AttributeError):
        return None


def limit_arenas(arenas: int = ARENAS) -> bool:
    """At most ``arenas`` malloc arenas from now on (True: glibc took it)."""
    mallopt = _libc_function("mallopt")
    done = mallopt is not None and mallopt(_M_ARENA_MAX, arenas) == 1
    log.debug("malloc arenas limited to %d: %s", arenas, done)
    return bool(done)


def trim() -> bool:
    """Freed heap memory handed back to the system (True: glibc released some)."""
    malloc_trim = _libc_function("malloc_trim")
    return malloc_trim is not None and malloc_trim(0) == 1


def trim_due(now: float | None = None) -> bool:
    """Whether a :func:`trim` is due (then it counts as made): not within :data:`TRIM_EVERY`
    seconds of the last."""
    global _trimmed_at
    at = time.monotonic() if now is None else now
    if at - _trimmed_at < TRIM_EVERY:
        return False
    _trimmed_at = at
    return True
