"""The agent's memory (credsync.agent.memory, issue 20) on this machine's glibc: the malloc
arenas are capped, and memory freed in the middle of the heap - which glibc otherwise keeps -
is handed back to the system by :func:`trim`, at most once a minute (:func:`trim_due`)."""

from __future__ import annotations

from pathlib import Path

from credsync.agent import memory


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_the_arenas_are_capped() -> None:
    assert memory.limit_arenas(8)  # glibc's own default on a machine with one core
    assert memory.limit_arenas()


def test_freed_heap_memory_is_handed_back() -> None:
    start = _rss_mb()
    blocks = [bytearray(64 * 1024) for _ in range(1600)]  # 100 MB of heap, below mmap's size
    pin = bytearray(64 * 1024)  # above them: freeing them leaves a hole, not the heap's top
    assert _rss_mb() - start > 80
    del blocks
    kept = _rss_mb()
    assert kept - start > 80, "glibc keeps freed blocks below the top (what trim is for)"
    assert memory.trim()
    assert _rss_mb() < kept - 80
    assert len(pin) == 64 * 1024


def test_a_trim_is_due_once_a_minute_at_most() -> None:
    assert memory.trim_due(1_000_000.0)
    assert not memory.trim_due(1_000_000.0 + memory.TRIM_EVERY - 1)
    assert memory.trim_due(1_000_000.0 + memory.TRIM_EVERY)
