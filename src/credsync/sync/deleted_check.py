"""The check of deleted and disabled objects (issue 16, "Check deleted objects"): which of a
client's people and groups linked to one of its directories have an object there that is
deleted, disabled or gone, and an action per object.

``check`` reads the state of every object the directory's people and groups are linked to
(the connector's ``deleted_objects`` capability) and lists, in display / name order:

- a person whose user is ``deleted`` (in the directory's deleted items / tombstones), ``gone``
  (purged, or never found), or ``disabled`` while the person is enabled in the vault (a
  disabled user whose person is disabled too is in step: not listed);
- a group whose object is ``deleted`` or ``gone`` (groups have no disabled state);

each with the actions that apply: ``disable`` (the person in the vault; only while enabled
there), ``delete`` (to the vault's trash), ``restore`` (in the directory: a deleted object the
directory can bring back; a user whose old sign-in name another user took needs a new one),
``keep`` (leave both as they are and do not ask again while the object stays in this state:
a restore and a new delete, or a re-enable and a new disable, list it again). Kept objects
are counted, and listed only when asked for (``include_kept``). It writes nothing.

``apply`` takes chosen actions (:class:`~credsync.sync.deleted_report.Choice`), reads the
chosen objects' states again (a decision made on a stale list is not carried out: an object
that is no longer one the check lists is ``skipped``, as is an action that does not apply to
it) and reports each: ``done``, ``refused`` (the vault's or the directory's reason) or
``skipped``. ``disable`` of a person whose ``enabled`` this directory is the source of truth
of is the directory's own state taken into the vault (as an import would); while another
directory is that source, the vault refuses it (the person's page says so). After a
``restore`` with a new name, a person this directory is the source of truth of takes the
new name (and the restored user's enabled state). Every action is audited: the vault's own
entries for disable and delete (``person.*`` / ``group.*``), ``*.directory_restore`` and
``*.deleted_keep`` for the others.

Who may: ``check`` needs ``directory.setup`` and ``vault.read`` on the directory's client (it
reads the directory with the client's bind credential); ``apply`` also ``vault.write``
(restore writes to the customer's directory: ``directory.setup`` + ``vault.write``; disable,
delete and keep write to the vault). A client outside the operator's client access is
NotFound. A restore is refused while the client's ``directory_sync`` switch is off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from credsync.connectors.base import Capability
from credsync.connectors.deleted_objects import DeletedObjects, ObjectStatus
from credsync.errors import CredsyncError, InvalidInput, NotSupported
from credsync.storage import deleted_keeps as keep_rows
from credsync.storage import groups as group_rows
from credsync.storage import people as people_rows
from credsync.sync.connect import DirectoryService, directory_config
from credsync.sync.deleted_report import (
    ACTIONS,
    Action,
    Choice,
    DeletedApplyJson,
    DeletedCheckJson,
    DeletedFindingJson,
    DeletedOutcomeJson,
    ObjectKind,
    totals,
)
from credsync.vault._time import utcnow
from credsync.vault.auth import Permission
from credsync.vault.directories import Directory
from credsync.vault.identities import split_sourced

__all__ = ["MAX_CHOICES", "DeletedCheck"]

MAX_CHOICES = 5000


class _Linked:
    """A person or group of the vault linked to an object of the directory."""

    def __init__(self, kind: ObjectKind, row: Any, object_id: str) -> None:
        self.kind = kind
        self.row = row
        self.object_id = object_id
        self.name: str = row.display_name if kind == "person" else row.name
        self.enabled: bool | None = bool(row.enabled) if kind == "person" else None


def _actions(linked: _Linked, status: ObjectStatus) -> list[Action]:
    offered: list[Action] = []
    if linked.kind == "person" and linked.enabled:
        offered.append("disable")
    offered.append("delete")
    if status.state == "deleted" and status.restorable:
        offered.append("restore")
    offered.append("keep")
    return offered


def _pick(linked: dict[tuple[str, str], _Linked], choice: Choice) -> _Linked | None:
    kinds = (choice.kind,) if choice.kind else ("person", "group")
    for kind in kinds:
        found = linked.get((kind, choice.object_id))
        if found is not None:
            return found
    return None


def _listed(linked: _Linked, status: ObjectStatus) -> bool:
    if status.state in ("deleted", "gone"):
        return True
    return status.state == "disabled" and linked.kind == "person" and bool(linked.enabled)


class DeletedCheck(DirectoryService):
    # -- the directory and its linked records ------------------------------------------------
    def _directory(
        self, client_ref: str, directory_ref: str, *permissions: Permission
    ) -> tuple[Any, Directory]:
        self._actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP, *permissions)
        return self._client_directory(client_ref, directory_ref)

    def _open(self, directory: Directory) -> DeletedObjects:
        connector = self._factory(directory_config(self._db, self._keys, directory))
        if Capability.DELETED_OBJECTS not in connector.capabilities:
            raise NotSupported(
                f"directory {directory.name!r} can't tell deleted objects (its kind has no "
                "deleted items)"
            )
        return cast(DeletedObjects, connector)

    def _linked(self, directory: Directory) -> list[_Linked]:
        with self._db.read() as conn:
            people = people_rows.linked_to(conn, directory.id)
            groups = group_rows.linked_to(conn, directory.id)
        return [
            *(_Linked("person", row, object_id) for row, object_id in people),
            *(_Linked("group", row, object_id) for row, object_id in groups),
        ]

    async def _states(
        self, directory: Directory, linked: Sequence[_Linked]
    ) -> dict[tuple[str, str], ObjectStatus]:
        if not linked:
            return {}
        source = self._open(directory)
        try:
            found = await source.object_states(
                [x.object_id for x in linked if x.kind == "person"],
                [x.object_id for x in linked if x.kind == "group"],
            )
        finally:
            await source.close()
        return {(s.kind, s.object_id): s for s in found}

    # -- check -------------------------------------------------------------------------------
    async def check(
        self, client_ref: str, directory_ref: str, *, include_kept: bool = False
    ) -> DeletedCheckJson:
        """The client's people and groups whose object in the directory is deleted, disabled
        or gone (see the module docstring); writes nothing."""
        client, directory = self._directory(client_ref, directory_ref)
        linked = self._linked(directory)
        states = await self._states(directory, linked)
        with self._db.read() as conn:
            kept = keep_rows.kept(conn, directory.id)
        findings: list[DeletedFindingJson] = []
        kept_count = 0
        for item in linked:
            status = states.get((item.kind, item.object_id))
            if status is None or not _listed(item, status):
                continue
            keep = kept.get((item.kind, item.object_id))
            is_kept = keep is not None and keep.stamp == status.stamp
            kept_count += is_kept
            if is_kept and not include_kept:
                continue
            findings.append(self._finding(item, status, is_kept))
        return DeletedCheckJson(
            client=client.name,
            directory=directory.name,
            checked=len(linked),
            kept=kept_count,
            findings=findings,
        )

    def _finding(self, item: _Linked, status: ObjectStatus, kept: bool) -> DeletedFindingJson:
        state = cast(Any, status.state)
        return DeletedFindingJson(
            kind=item.kind,
            vault_id=item.row.id,
            name=item.name,
            object_id=item.object_id,
            state=state,
            directory_name=status.name,
            deleted_at=status.deleted_at.isoformat() if status.deleted_at else None,
            restorable=status.restorable,
            vault_enabled=item.enabled,
            actions=_actions(item, status),
            kept=kept,
        )

    # -- apply -------------------------------------------------------------------------------
    @staticmethod
    def _check_choices(choices: Sequence[Choice]) -> None:
        if not choices:
            raise InvalidInput("choose at least one object and its action", field="choices")
        if len(choices) > MAX_CHOICES:
            raise InvalidInput(f"at most {MAX_CHOICES} objects at a time", field="choices")
        seen: set[str] = set()
        for choice in choices:
            if choice.kind not in ("person", "group", None):
                raise InvalidInput(f"{choice.kind!r} is not person or group", field="kind")
            if choice.action not in ACTIONS:
                raise InvalidInput(
                    f"{choice.action!r} is not one of {', '.join(ACTIONS)}", field="action"
                )
            if not choice.object_id.strip() or len(choice.object_id) > 64:
                raise InvalidInput(f"{choice.object_id!r} is not an object id", field="object_id")
            if choice.new_username is not None:
                name = choice.new_username.strip()
                if choice.action != "restore":
                    raise InvalidInput(
                        "a new username goes with restore only", field="new_username"
                    )
                if not name or len(name) > 320 or any(c.isspace() for c in name):
                    raise InvalidInput(
                        f"{choice.new_username!r} is not a username (no spaces, at most 320)",
                        field="new_username",
                    )
            if choice.object_id in seen:
                raise InvalidInput(f"{choice.object_id} is chosen twice", field="choices")
            seen.add(choice.object_id)

    async def apply(
        self, client_ref: str, directory_ref: str, choices: Sequence[Choice]
    ) -> DeletedApplyJson:
        """Carry out the chosen actions (see the module docstring): one line per choice."""
        self._check_choices(choices)
        client, directory = self._directory(client_ref, directory_ref, Permission.VAULT_WRITE)
        wanted = {c.object_id for c in choices}
        linked: dict[tuple[str, str], _Linked] = {
            (x.kind, x.object_id): x for x in self._linked(directory)
        }
        chosen = [x for x in linked.values() if x.object_id in wanted]
        states = await self._states(directory, chosen)
        lines: list[DeletedOutcomeJson] = []
        source: DeletedObjects | None = None
        try:
            for choice in choices:
                item = _pick(linked, choice)
                line = DeletedOutcomeJson(
                    kind=item.kind if item else choice.kind or "person",
                    vault_id=item.row.id if item else None,
                    name=item.name if item else choice.object_id,
                    object_id=choice.object_id,
                    action=choice.action,
                    outcome="skipped",
                    detail="",
                )
                lines.append(line)
                status = states.get((item.kind, item.object_id)) if item else None
                if item is None or status is None:
                    line["detail"] = (
                        f"no {choice.kind or 'person or group'} of the client (out of the "
                        "trash) is linked to this object of the directory"
                    )
                    continue
                if not _listed(item, status):
                    line["detail"] = f"the object is {status.state} in the directory now"
                    continue
                if choice.action not in _actions(item, status):
                    line["detail"] = f"{choice.action} does not apply to this {item.kind} now"
                    continue
                try:
                    if choice.action == "restore" and source is None:
                        source = self._open(directory)
                    line["detail"] = await self._do(client, directory, item, status, choice,
                                                    source)  # fmt: skip
                    line["outcome"] = "done"
                except CredsyncError as exc:
                    line["outcome"], line["detail"] = "refused", str(exc)
        finally:
            if source is not None:
                await source.close()
        return DeletedApplyJson(
            client=client.name, directory=directory.name, totals=totals(lines), objects=lines
        )

    async def _do(
        self,
        client: Any,
        directory: Directory,
        item: _Linked,
        status: ObjectStatus,
        choice: Choice,
        source: DeletedObjects | None,
    ) -> str:
        if choice.action == "disable":
            return self._disable(directory, item)
        if choice.action == "delete":
            service: Any = self._vault.people if item.kind == "person" else self._vault.groups
            service.delete(self._actor, item.row.id)
            self._forget_keep(directory, item)
            return "moved to the vault's trash"
        if choice.action == "keep":
            self._keep(directory, item, status)
            return f"kept as it is; not asked again while it stays {status.state}"
        if not client.directory_sync:
            raise NotSupported(
                f"client {client.name!r} has directory sync off: nothing of it touches a directory"
            )
        assert source is not None  # noqa: S101 - opened by apply for a restore
        new_name = choice.new_username.strip() if choice.new_username else None
        back = await source.restore(item.object_id, item.kind, new_username=new_name)
        self._audit(directory, item, "directory_restore",
                    {"new_username": new_name, "state": back.state})  # fmt: skip
        self._forget_keep(directory, item)
        detail = f"restored in {directory.name} ({back.state}"
        detail += f", as {back.name})" if back.name else ")"
        return detail + self._after_restore(directory, item, back, new_name)

    def _disable(self, directory: Directory, item: _Linked) -> str:
        row = item.row
        if row.source_directory_id == directory.id and "enabled" in split_sourced(row.sourced):
            self._vault.people.upsert_from_directory(
                self._actor, directory.id, item.object_id, {"enabled": False}
            )
            return f"disabled in the vault, as in {directory.name}"
        self._vault.people.set_enabled(self._actor, row.id, False)
        return "disabled in the vault"

    def _after_restore(
        self, directory: Directory, item: _Linked, back: ObjectStatus, new_name: str | None
    ) -> str:
        """A person this directory is the source of truth of takes the restored user's new
        name and enabled state."""
        if item.kind != "person" or item.row.source_directory_id != directory.id:
            return ""
        values: dict[str, Any] = {"enabled": back.state == "live"}
        if new_name and back.name:
            values["username"] = back.name
        try:
            done = self._vault.people.upsert_from_directory(
                self._actor, directory.id, item.object_id, values
            )
        except CredsyncError as exc:
            return f"; the person was left as is: {exc}"
        return "; the person: " + ", ".join(done.changed) if done.changed else ""

    def _keep(self, directory: Directory, item: _Linked, status: ObjectStatus) -> None:
        with self._db.write() as conn:
            keep_rows.put(
                conn,
                keep_rows.KeepRow(
                    directory.id,
                    item.kind,
                    item.object_id,
                    status.stamp,
                    utcnow(),
                    self._actor.name,
                ),
            )
            self._append(conn, directory, item, "deleted_keep", {"state": status.state})

    def _forget_keep(self, directory: Directory, item: _Linked) -> None:
        with self._db.write() as conn:
            keep_rows.forget(conn, directory.id, item.kind, item.object_id)

    def _audit(
        self, directory: Directory, item: _Linked, action: str, details: dict[str, Any]
    ) -> None:
        with self._db.write() as conn:
            self._append(conn, directory, item, action, details)

    def _append(
        self, conn: Any, directory: Directory, item: _Linked, action: str, details: dict[str, Any]
    ) -> None:
        self._vault.audit.append(
            conn,
            self._actor,
            f"{item.kind}.{action}",
            target_type=item.kind,
            target_id=item.row.id,
            client_id=item.row.client_id,
            details={"directory": directory.name, "object_id": item.object_id, **details},
        )
