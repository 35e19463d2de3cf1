"""Incremental reads: the cursor, and the pure parts of the two ways to ask what changed.

**Content synchronisation** (RFC 4533, refreshOnly), when the root DSE offers the Sync Request
control (OpenLDAP's syncprov overlay, 389-DS's content synchronisation plugin). The cursor
holds the server's cookie. One search returns the entries added or changed since the cookie
(their whole current state, as asked for) and - in the *delete* mode of a refresh - the
entryUUIDs of entries deleted, moved out of the base or no longer matching the filter: the
server keeps that record (syncprov's session log), so removals need no full pass, and the
boundary is the server's business (the cookie is its contextCSN; writes still in flight when
it answered come next time). A refresh in *present* mode (the cookie is older than the session
log, or the server keeps none) lists what is still there instead: removals can only be told
against a full list, so the connector then reads everything (``full=True``). So does a cookie
the server refuses (e-syncRefreshRequired).

**modifyTimestamp**, on any other server. The cursor holds the newest modifyTimestamp seen
(the server's clock, never ours) and each entry's version (entryCSN, where the server keeps
one, else its modifyTimestamp) for the entries changed in the last :data:`OVERLAP` seconds
before it. The next read asks for ``modifyTimestamp >= newest - OVERLAP`` and drops the
entries whose version it already reported: a change in the same second as the last read, or
a write that was still committing when we read (its timestamp is taken when it starts) is not
lost, and nothing is reported twice. Deletions are invisible to such a search: they are found
by the engine's periodic full pass (``full_pass_hours``), whose full ChangeSet replaces its
cache; until then a deleted account answers ``AccountNotFound`` to whatever is done with it.

A cursor of another kind, base DN, filter or mode, or one that cannot be read, gives a full
read that starts a new cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from credsync.connectors.ldap._controls import (
    SyncState,
    decode_sync_done,
    decode_sync_info,
    decode_sync_state,
)
from credsync.connectors.ldap._mapping import entry_uuid, parse_generalized_time

__all__ = [
    "OVERLAP",
    "Cursor",
    "SyncAnswer",
    "read_refresh",
    "since_filter",
    "window",
]

OVERLAP = timedelta(seconds=10)
_PREFIX = "ldap1:"

RawEntry = Mapping[str, Sequence[bytes]]


@dataclass(frozen=True)
class Cursor:
    """Where the last read stopped: ``mode`` ``sync`` (with the server's ``cookie``) or
    ``timestamp`` (``since`` and the ``seen`` versions), for one base DN and filter."""

    mode: str
    base: str
    filter: str
    cookie: bytes | None = None
    since: str | None = None
    seen: Mapping[str, str] = field(default_factory=dict)

    def encode(self) -> str:
        state = {
            "mode": self.mode,
            "base": self.base.lower(),
            "filter": self.filter,
            "cookie": base64.b64encode(self.cookie).decode() if self.cookie else None,
            "since": self.since,
            "seen": dict(sorted(self.seen.items())),
        }
        raw = json.dumps(state, separators=(",", ":")).encode()
        return _PREFIX + base64.urlsafe_b64encode(raw).decode()

    @classmethod
    def decode(cls, text: str | None, *, base: str, search_filter: str) -> Cursor | None:
        """The cursor in ``text`` when it is ours and for this base and filter; else None."""
        if not text or not text.startswith(_PREFIX):
            return None
        try:
            state = json.loads(base64.urlsafe_b64decode(text[len(_PREFIX) :]))
            if state["base"] != base.lower() or state["filter"] != search_filter:
                return None
            if state["mode"] not in ("sync", "timestamp"):
                return None
            cookie = base64.b64decode(state["cookie"]) if state.get("cookie") else None
            seen = {str(k): str(v) for k, v in (state.get("seen") or {}).items()}
            since = state.get("since")
            return cls(state["mode"], base, search_filter, cookie, since, seen)
        except (ValueError, binascii.Error, TypeError, KeyError, AttributeError):
            return None


# --- content synchronisation -----------------------------------------------------------------
@dataclass
class SyncAnswer:
    """A refresh, read: entries added or changed (dn, attributes), entryUUIDs removed, the new
    cookie (None: keep the old one), and whether it was a present phase (removals unknown)."""

    changed: list[tuple[str, dict[str, list[bytes]]]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    cookie: bytes | None = None
    present_phase: bool = False


def read_refresh(
    entries: Iterable[tuple[str, dict[str, list[bytes]], bytes | None]],
    infos: Iterable[bytes],
    done: bytes,
) -> SyncAnswer:
    """Make sense of a refreshOnly answer (raises ValueError for a value it can't read)."""
    answer = SyncAnswer()
    removed: dict[str, None] = {}
    for dn, attrs, state_value in entries:
        state = decode_sync_state(state_value) if state_value else None
        if state is None or state.state in (SyncState.ADD, SyncState.MODIFY):
            if entry_uuid(attrs):
                answer.changed.append((dn, attrs))
        elif state.state is SyncState.DELETE:
            removed[state.entry_uuid] = None
        if state is not None and state.cookie:
            answer.cookie = state.cookie
    for value in infos:
        info = decode_sync_info(value)
        if info.kind == "id_set" and info.deletes:
            removed.update(dict.fromkeys(info.uuids))
        if info.cookie:
            answer.cookie = info.cookie
    finished = decode_sync_done(done)
    if finished.cookie:
        answer.cookie = finished.cookie
    answer.present_phase = not finished.refresh_deletes
    changed_ids = {(entry_uuid(attrs) or "").lower() for _, attrs in answer.changed}
    answer.removed = [i for i in removed if i.lower() not in changed_ids]
    return answer


# --- modifyTimestamp ----------------------------------------------------------------------------
def _first(entry: RawEntry, name: str) -> str | None:
    for key, values in entry.items():
        if key.lower() == name.lower():
            return bytes(values[0]).decode() if values else None
    return None


def since_filter(user_filter: str, since: str) -> str:
    """The user filter, narrowed to entries modified at or after ``since`` minus the overlap."""
    moment = parse_generalized_time(since)
    if moment is None:
        raise ValueError(f"not a GeneralizedTime: {since!r}")
    floor = (moment - OVERLAP).strftime("%Y%m%d%H%M%SZ")
    return f"(&{user_filter}(modifyTimestamp>={floor}))"


def window(
    entries: Iterable[RawEntry], since: str | None, seen: Mapping[str, str]
) -> tuple[list[int], str | None, dict[str, str]]:
    """For the entries of a timestamp read: the positions of those not reported yet, the new
    newest modifyTimestamp, and the versions of the entries within the new overlap window."""
    listed = list(entries)
    stamps: list[tuple[str | None, str | None, str | None]] = []
    newest = since
    for entry in listed:
        stamp = _first(entry, "modifyTimestamp")
        version = _first(entry, "entryCSN") or stamp
        stamps.append((entry_uuid(entry), stamp, version))
        if stamp and (newest is None or _later(stamp, newest)):
            newest = stamp
    fresh = [
        i
        for i, (uid, _, version) in enumerate(stamps)
        if uid is None or seen.get(uid.lower()) != version
    ]
    latest = parse_generalized_time(newest)
    floor = latest - OVERLAP if latest is not None else None
    kept: dict[str, str] = {}
    for uid, stamp, version in stamps:
        moment = parse_generalized_time(stamp)
        if uid and version and moment is not None and floor is not None and moment >= floor:
            kept[uid.lower()] = version
    return fresh, newest, kept


def _later(a: str, b: str) -> bool:
    first, second = parse_generalized_time(a), parse_generalized_time(b)
    if first is None or second is None:
        return False
    return first > second
