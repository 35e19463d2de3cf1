"""A tenant's directory data in memory: users and groups (live, soft-deleted, gone), group
members, password hashes and admin roles, and the change log that delta queries read.

Every change takes the next number of the tenant's sequence and is appended to a log (the
object's id, and for memberships who was added or removed); a delta token is a position in
that sequence. Objects keep the position (ordinal) they were created at, so paging by
``$skiptoken`` is stable across deletions and restores. Callers hold :attr:`Store.lock`.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["Collection", "Store"]

Record = dict[str, Any]


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class Collection:
    """Users or groups: live records in creation order, the soft-deleted, and the gone."""

    def __init__(self) -> None:
        self.live: dict[str, Record] = {}
        self.deleted: dict[str, Record] = {}
        self.gone: set[str] = set()
        self.ordinal: dict[str, int] = {}
        self._ordinals: list[int] = []
        self._by_ordinal: dict[int, str] = {}
        self._next = 0
        self._log_seqs: list[int] = []
        self._log_ids: list[str] = []
        self._indexes: dict[str, tuple[tuple[int, int, int], dict[Any, list[str]]]] = {}

    def __len__(self) -> int:
        return len(self.live)

    def lookup(self, name: str, values: Iterable[Any]) -> list[Record]:
        """Live records whose ``name`` equals one of ``values`` (strings compared ignoring
        case, as ``$filter`` does), in creation order. The index behind it is built on first
        use and again after any change (every change is logged, or adds records)."""
        version = (len(self._log_seqs), self._next, len(self.live))
        cached = self._indexes.get(name)
        if cached is None or cached[0] != version:
            index: dict[Any, list[str]] = {}
            for object_id, record in self.live.items():
                value = record.get(name)
                if value is not None:
                    index.setdefault(_fold(value), []).append(object_id)
            cached = self._indexes[name] = (version, index)
        found = {i for v in values for i in cached[1].get(_fold(v), ())}
        return [self.live[i] for i in sorted(found, key=self.ordinal.__getitem__)]

    def log(self, object_id: str, seq: int) -> None:
        self._log_seqs.append(seq)
        self._log_ids.append(object_id)

    def add(self, record: Record) -> None:
        """A new live record (ids are unique: the caller made sure)."""
        object_id = record["id"]
        ordinal = self._next
        self._next += 1
        self.live[object_id] = record
        self.ordinal[object_id] = ordinal
        self._ordinals.append(ordinal)
        self._by_ordinal[ordinal] = object_id

    def bulk_add(self, records: list[Record]) -> None:
        start = self._next
        ids = [r["id"] for r in records]
        self.live.update(zip(ids, records, strict=True))
        ordinals = range(start, start + len(ids))
        self.ordinal.update(zip(ids, ordinals, strict=True))
        self._ordinals.extend(ordinals)
        self._by_ordinal.update(zip(ordinals, ids, strict=True))
        self._next = start + len(ids)

    def soft_delete(self, object_id: str) -> Record:
        record = self.live.pop(object_id)
        self._unlist(object_id)
        self.deleted[object_id] = record
        return record

    def restore(self, object_id: str) -> Record:
        record = self.deleted.pop(object_id)
        record.pop("deletedDateTime", None)
        self.live[object_id] = record
        ordinal = self.ordinal[object_id]
        bisect.insort(self._ordinals, ordinal)
        self._by_ordinal[ordinal] = object_id
        return record

    def purge(self, object_id: str) -> None:
        """Gone for good (from live or deleted)."""
        if object_id in self.live:
            self.live.pop(object_id)
            self._unlist(object_id)
        self.deleted.pop(object_id, None)
        self.ordinal.pop(object_id, None)
        self.gone.add(object_id)

    def _unlist(self, object_id: str) -> None:
        ordinal = self.ordinal[object_id]
        index = bisect.bisect_left(self._ordinals, ordinal)
        if index < len(self._ordinals) and self._ordinals[index] == ordinal:
            del self._ordinals[index]
        self._by_ordinal.pop(ordinal, None)

    def scan(self, start_ordinal: int) -> Iterator[tuple[int, Record]]:
        """Live records from ``start_ordinal`` on, in creation order (holding the lock)."""
        index = bisect.bisect_left(self._ordinals, start_ordinal)
        ordinals, by_ordinal, live = self._ordinals, self._by_ordinal, self.live
        while index < len(ordinals):
            ordinal = ordinals[index]
            yield ordinal, live[by_ordinal[ordinal]]
            index += 1

    def page(
        self, start_ordinal: int, limit: int, keep: Callable[[Record], bool] | None
    ) -> tuple[list[Record], int | None]:
        """Up to ``limit`` live records from ``start_ordinal`` that ``keep``, and where the next
        page starts (None: this was the last)."""
        found: list[Record] = []
        for ordinal, record in self.scan(start_ordinal):
            if len(found) == limit:
                return found, ordinal
            if keep is None or keep(record):
                found.append(record)
        return found, None

    def changed(self, since: int, upto: int) -> list[str]:
        """Ids changed after sequence ``since`` up to ``upto``, each once, by last change."""
        low = bisect.bisect_right(self._log_seqs, since)
        high = bisect.bisect_right(self._log_seqs, upto)
        last: dict[str, None] = {}
        for object_id in self._log_ids[low:high]:
            last.pop(object_id, None)
            last[object_id] = None
        return list(last)


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.seq = 0
        self.users = Collection()
        self.groups = Collection()
        self.upn_index: dict[str, str] = {}
        # a soft-deleted user's user principal name before the delete prefixed its id
        self.deleted_upn: dict[str, str] = {}
        self.password_hash: dict[str, bytes] = {}
        self.admin_role: dict[str, str] = {}
        self.members: dict[str, dict[str, None]] = {}
        # (seq, group id, member id, added) of every membership change, in order
        self._member_seqs: list[int] = []
        self._member_changes: list[tuple[str, str, bool]] = []

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def touch_user(self, user_id: str) -> None:
        self.users.log(user_id, self.next_seq())

    def touch_group(self, group_id: str) -> None:
        self.groups.log(group_id, self.next_seq())

    def user(self, key: str) -> Record | None:
        """A live user by id or user principal name (case-insensitive)."""
        found = self.users.live.get(key)
        if found is None:
            user_id = self.upn_index.get(key.lower())
            found = self.users.live.get(user_id) if user_id else None
        return found

    def add_member(self, group_id: str, member_id: str) -> None:
        self.members.setdefault(group_id, {})[member_id] = None
        self._log_member(group_id, member_id, True)

    def remove_member(self, group_id: str, member_id: str) -> None:
        self.members.get(group_id, {}).pop(member_id, None)
        self._log_member(group_id, member_id, False)

    def _log_member(self, group_id: str, member_id: str, added: bool) -> None:
        seq = self.next_seq()
        self._member_seqs.append(seq)
        self._member_changes.append((group_id, member_id, added))
        self.groups.log(group_id, seq)

    def member_changes(self, group_id: str, since: int, upto: int) -> dict[str, bool]:
        """Members of ``group_id`` added (True) or removed (False) in (since, upto], net."""
        low = bisect.bisect_right(self._member_seqs, since)
        high = bisect.bisect_right(self._member_seqs, upto)
        net: dict[str, bool] = {}
        for gid, member_id, added in self._member_changes[low:high]:
            if gid == group_id:
                net[member_id] = added
        return net

    def drop_from_groups(self, member_id: str) -> list[str]:
        """Remove a (hard-deleted) member from every group; the groups it was in."""
        found = [gid for gid, members in self.members.items() if member_id in members]
        for gid in found:
            self.remove_member(gid, member_id)
        return found
