"""The one-time grants a reveal leaves for the page it redirects to
(credsync.web.reveals): once, for its session and credential, while they last."""

from __future__ import annotations

import datetime as dt

from credsync.types import Secret
from credsync.vault.models import HistoryEntry
from credsync.web.reveals import Revealed, Reveals


def _revealed(credential_id: str = "c1") -> Revealed:
    entry = HistoryEntry(
        credential_id=credential_id,
        version=1,
        source="created",
        reason="created",
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        created_by="alice",
        current=False,
        password=Secret("Grant-Pa55word!"),
    )
    return Revealed(credential_id, version=entry)


def test_a_grant_is_taken_once_by_its_session_for_its_credential() -> None:
    grants = Reveals()
    key = grants.add("s1", _revealed())
    assert grants.take("s2", "c1", key) is None
    assert grants.take("s1", "c2", key) is None
    assert grants.take("s1", "c1", None) is None
    taken = grants.take("s1", "c1", key)
    assert taken is not None
    assert taken.version is not None
    assert taken.version.password == Secret("Grant-Pa55word!")
    assert grants.take("s1", "c1", key) is None
    assert "Grant-Pa55word!" not in repr(taken)


def test_grants_expire_and_the_oldest_go_first() -> None:
    expired = Reveals(seconds=0)
    key = expired.add("s1", _revealed())
    assert expired.take("s1", "c1", key) is None
    few = Reveals(limit=2)
    keys = [few.add("s1", _revealed()) for _ in range(3)]
    assert few.take("s1", "c1", keys[0]) is None
    assert few.take("s1", "c1", keys[1]) is not None
    assert few.take("s1", "c1", keys[2]) is not None
