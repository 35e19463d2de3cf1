"""The periodic runs' schedule: each directory on its own point of its interval, so that many
directories due at once (an agent's start) spread evenly over the interval from their second
run on, and each then runs every interval."""

from __future__ import annotations

import datetime as dt
import uuid

from credsync.sync.schedule import next_run, phase_of

NOW = dt.datetime(2026, 12, 7, 17, 30, 0, 123456, tzinfo=dt.UTC)


def test_a_directory_runs_every_interval_on_its_own_point_of_it() -> None:
    directory = str(uuid.uuid4())
    first = next_run(NOW, 60, directory, 0)
    assert 30 <= (first - NOW).total_seconds() <= 90
    # a run that took 4 s: the next is one interval after the last, not after the run's end
    second = next_run(first + dt.timedelta(seconds=4), 60, directory, 0)
    assert abs((second - first).total_seconds() - 60) < 1e-3
    # the same point after a restart, or in another agent: drawn from the id alone
    assert next_run(NOW, 60, directory, 0) == first
    assert 0 <= phase_of(directory) < 1


def test_the_jitter_is_added_on_top_and_does_not_move_the_grid() -> None:
    directory = str(uuid.uuid4())
    plain = next_run(NOW, 60, directory, 0)
    jittered = next_run(NOW, 60, directory, 7.5)
    assert abs((jittered - plain).total_seconds() - 7.5) < 1e-3
    # run at the jittered time: the next run is back on the grid, an interval later
    again = next_run(jittered + dt.timedelta(seconds=2), 60, directory, 0)
    assert abs((again - plain).total_seconds() - 60) < 1e-3


def test_directories_due_together_spread_over_the_interval() -> None:
    ids = [str(uuid.UUID(int=n * 7919 + 13)) for n in range(500)]  # fixed, not drawn
    # all 500 ran at the same moment (an agent's start): their next runs fall across the minute
    seconds = sorted((next_run(NOW, 60, d, 0) - NOW).total_seconds() for d in ids)
    buckets = [0] * 6  # 10-second slices of the interval the next runs fall in
    for s in seconds:
        buckets[int((s - 30) // 10) if s < 90 else 5] += 1
    assert all(40 <= count <= 130 for count in buckets), buckets  # about 83 each, not 500 in one
    assert seconds[0] >= 30
    assert seconds[-1] <= 90


def test_an_interval_of_zero_runs_again_after_the_jitter_alone() -> None:
    assert next_run(NOW, 0, "d", 3) == NOW + dt.timedelta(seconds=3)
