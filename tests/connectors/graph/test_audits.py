"""The audit log's password activities in words, the vault's own app left out, and the
watermark's overlap and de-duplication (credsync.connectors.graph._audits)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from credsync.connectors.graph import _audits

OWN = "11111111-1111-1111-1111-111111111111"
USER = "22222222-2222-2222-2222-222222222222"


def _entry(
    activity: str,
    *,
    service: str = "Core Directory",
    app: str | None = None,
    by: str | None = None,
    by_id: str = "33333333-3333-3333-3333-333333333333",
    at: str = "2026-12-06T10:00:00Z",
    result: str = "success",
    key: str = "e1",
) -> dict[str, Any]:
    initiator: dict[str, Any] = {"app": None, "user": None}
    if app is not None:
        initiator["app"] = {"appId": app, "displayName": "Other tool"}
    else:
        initiator["user"] = {"id": by_id, "userPrincipalName": by}
    return {
        "id": key,
        "activityDisplayName": activity,
        "activityDateTime": at,
        "loggedByService": service,
        "result": result,
        "initiatedBy": initiator,
        "targetResources": [{"id": USER, "type": "User"}],
    }


def test_who_and_how_in_words() -> None:
    describe = _audits.describe
    admin = _entry("Reset user password", by="admin@contoso.test")
    assert describe(admin, OWN) == "reset by admin@contoso.test in the portal"
    own = _entry("Change user password", by="ada@contoso.test", by_id=USER)
    assert describe(own, OWN) == "changed by the user"
    sspr = _entry("Reset password (self-service)", service=_audits.SSPR, by_id=USER)
    assert describe(sspr, OWN) == "self-service reset by the user"
    by_admin = _entry("Reset password (by admin)", service=_audits.SSPR, by="hd@contoso.test")
    assert "reset by hd@contoso.test" in str(describe(by_admin, OWN))
    force = _entry("Set force change user password", by="admin@contoso.test")
    assert "must change at next sign-in" in str(describe(force, OWN))
    assert describe(_entry("Reset user password", app="999"), OWN) == "reset by the app Other tool"
    assert describe(_entry("Reset user password", app=OWN.upper()), OWN) is None


def test_only_new_successful_password_activities_are_attributed() -> None:
    mark = _audits.Watermark()
    entries = [
        _entry("Reset user password", by="a@x", key="ok", at="2026-12-06T10:00:00Z"),
        _entry(
            "Reset user password",
            by="b@x",
            key="failed",
            result="failure",
            at="2026-12-06T10:01:00Z",
        ),
        _entry("Update user", by="c@x", key="other", at="2026-12-06T10:02:00Z"),
    ]
    found = _audits.attribute(entries, mark, OWN)
    assert found[USER].by == "reset by a@x in the portal"
    assert mark.at == dt.datetime(2026, 12, 6, 10, 2, tzinfo=dt.UTC)
    # Read again (the overlap): nothing is reported twice.
    assert _audits.attribute(entries, mark, OWN) == {}
    # The vault's own push after it: the user's newest entry names no one.
    push = _entry("Reset user password", app=OWN, key="push", at="2026-12-06T10:03:00Z")
    later = [entries[0], push]
    assert _audits.attribute(later, _audits.Watermark(), OWN)[USER].by is None


def test_the_watermark_overlaps_and_forgets_old_ids() -> None:
    mark = _audits.Watermark()
    assert _audits.query(mark.since())["$filter"] == (
        "category eq 'UserManagement' and result eq 'success'"
    )
    mark.add("old", dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC))
    mark.add("new", dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC))
    mark.prune()
    assert set(mark.seen) == {"new"}
    assert "activityDateTime ge 2026-12-06T09:50:00Z" in _audits.query(mark.since())["$filter"]
    again = _audits.Watermark.load(mark.dump())
    assert again == mark
    assert _audits.Watermark.load("junk") == _audits.Watermark()
