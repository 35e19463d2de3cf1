"""The Graph connector's group export helpers that need no tenant: the mail alias it sends and
what it says Graph can't create or change (the writes themselves: tests/sync/
test_provision_groups.py, against the simulator)."""

from __future__ import annotations

from credsync.connectors.graph._provision_groups import GroupWrites, mail_nickname
from credsync.connectors.group_export import ExportedGroup


def test_the_mail_alias_keeps_what_graph_takes() -> None:
    assert mail_nickname("sales.team") == "sales.team"
    assert mail_nickname("Nordic sales (SE)") == "NordicsalesSE"
    assert mail_nickname("Försäljning") == "Frsljning"
    assert mail_nickname("@@@") == "group"
    assert len(mail_nickname("x" * 100)) == 64


def test_what_graph_cant_create_or_change() -> None:
    writes = GroupWrites()
    assert writes.cannot_create("security", "") is None
    assert writes.cannot_create("microsoft365", "team@x.test") is None
    assert "mail-enabled security group" in (writes.cannot_create("security", "s@x.test") or "")
    assert writes.cannot_create("distribution", "d@x.test") is not None
    plain = ExportedGroup("g", "Ops", "security")
    assert writes.cannot_change_members(plain) is None
    assert writes.cannot_change_members(ExportedGroup("g", "Ops", "security", synced=True))
    listed = ExportedGroup("g", "News", "distribution", mail_enabled=True)
    assert writes.cannot_change_members(listed)
    team = ExportedGroup("g", "Team", "microsoft365", mail_enabled=True)
    assert writes.cannot_change_members(team) is None
