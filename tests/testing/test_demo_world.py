"""The demo's world as it is built (``credsync demo`` serves it): what its flags say, and
when they say it happened."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from credsync.testing.demo import CLIENT, build_demo


def test_a_flag_is_never_dated_before_the_change_it_reports(tmp_path: Path) -> None:
    """A flag's "since" (its ``updated_at``) was seconds before the change its detail
    reports: the demo moved the Graph simulator's clock ahead of the wall clock to get past
    Graph's whole-second timestamps, so every later change in the tenant was dated after the
    run that found it. The demo now waits for the next second instead."""
    world = build_demo(tmp_path / "home", users=20)
    try:
        flags = world.vault.flags.list(world.admin, CLIENT)
        assert sorted(f.status for f in flags) == [
            "changed_in_directory",
            "changed_in_directory",
            "changed_in_directory",
            "mismatch",
        ]
        # The two-way credential's reset in the tenant is flagged, not pushed over.
        (two_way,) = [f for f in flags if f.username.startswith("grady.archie@")]
        assert "two-way mode does not push over" in two_way.detail, two_way.detail
        for flag in flags:
            if flag.status != "changed_in_directory":
                continue
            found = re.search(r"\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\)", flag.detail)
            assert found, flag.detail
            changed = dt.datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S")
            assert changed.replace(tzinfo=dt.UTC) <= flag.updated_at, flag.detail
            assert world.sim.now() <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
            # The demo's app may read the audit log: the flag says who reset it.
            assert "reset by admin@contoso.test in the portal" in flag.detail, flag.detail
        # The enforce and two-way credentials' new links were confirmed by the demo's
        # operator, so the reset in the tenant of the enforce one was pushed back.
        confirmed = world.vault.audit.list(world.admin, action="link.confirmed")
        assert len(confirmed) == 3
    finally:
        world.close()
