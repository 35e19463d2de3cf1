"""Whether a directory's users and groups still exist, and bringing deleted ones back (a
connector's ``deleted_objects`` capability,
:attr:`~credsync.connectors.base.Capability.DELETED_OBJECTS`; issue 16, "Check deleted
objects").

A connector with it answers, in the vault's words:

* ``object_states(people, groups)``: for each object id (users in ``people``, groups in
  ``groups``), one :class:`ObjectStatus`: ``live``, ``disabled`` (a user that may not sign
  in), ``deleted`` (in the directory's deleted items / tombstones, with when and the name it
  had, and whether it can be restored) or ``gone`` (purged, or never there). Every id asked
  for has exactly one answer, in the order asked.
* ``restore(object_id, kind, new_username=None)``: bring a deleted object back; for a user
  ``new_username`` is the sign-in name it gets instead of its old one (the kind's package says
  which attribute that is). A name the directory refuses (taken, a bad domain) is an
  :class:`~credsync.errors.InvalidInput` naming ``new_username``; an object that is not
  deleted (live, or gone) is :class:`~credsync.errors.AccountNotFound`; a kind that cannot restore
  says :class:`~credsync.errors.NotSupported`.
* ``enable(object_id)``: let a disabled user sign in again (the restore of a mass disable:
  :mod:`credsync.sync.quarantine`); an enabled one is left as it is; an id that is no live
  user of the directory is :class:`~credsync.errors.AccountNotFound`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = ["DeletedObjects", "ObjectKind", "ObjectState", "ObjectStatus"]

ObjectKind = Literal["person", "group"]
ObjectState = Literal["live", "disabled", "deleted", "gone"]


@dataclass(frozen=True)
class ObjectStatus:
    """One object's state. ``name``: its sign-in name (a group: its name) as the directory
    has it, for a deleted object the one it had before the delete (empty when the directory
    kept none); ``deleted_at``: when it was deleted (as near as the directory tells);
    ``restorable``: whether :meth:`DeletedObjects.restore` can bring it back."""

    object_id: str
    kind: ObjectKind
    state: ObjectState
    name: str = ""
    deleted_at: dt.datetime | None = None
    restorable: bool = False

    @property
    def stamp(self) -> str:
        """What identifies this state of the object: a ``keep`` decision holds while the
        stamp is the same (a restore and a new delete, or a re-enable and a new disable,
        change it)."""
        when = self.deleted_at.isoformat() if self.deleted_at is not None else ""
        return f"{self.state}:{when}"


@runtime_checkable
class DeletedObjects(Protocol):
    async def object_states(
        self, people: Sequence[str], groups: Sequence[str]
    ) -> list[ObjectStatus]: ...

    async def restore(
        self, object_id: str, kind: ObjectKind, *, new_username: str | None = None
    ) -> ObjectStatus: ...

    async def enable(self, object_id: str) -> None: ...

    async def close(self) -> None: ...
