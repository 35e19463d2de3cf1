"""Deleted and disabled users and groups of Active Directory (and Samba AD), and their restore
(the connector's ``deleted_objects`` capability, see
:mod:`credsync.connectors.deleted_objects`).

* **States**: one subtree search from the domain's naming context for up to 50 objectGUIDs
  at a time, with the Show Deleted control (LDAP_SERVER_SHOW_DELETED_OID,
  ``1.2.840.113556.1.4.417``), which makes the deleted objects under ``CN=Deleted Objects``
  visible too. An object with ``isDeleted`` is ``deleted``, with ``whenChanged`` as the time of
  the delete (a tombstone changes no more) and its ``sAMAccountName`` as the name it had (a
  tombstone keeps sAMAccountName but loses userPrincipalName); a live user whose
  userAccountControl has ACCOUNTDISABLE (0x2) is ``disabled``; an id found nowhere, or an
  object of another class (a user's id asked as a group's), is ``gone``. The search is the
  whole domain's, not only the directory's base DN: a moved user is still live, and deleted
  objects live outside every OU.
* **Restore** is tombstone reanimation ([MS-ADTS] 3.1.1.5.3.7, "Undelete"): one modify of
  the deleted object that removes ``isDeleted`` and replaces ``distinguishedName`` with its
  old RDN (the part of the deleted name before ``\\0ADEL:``) under ``lastKnownParent``, sent
  with the Show Deleted control. Samba does it (source4/dsdb/samdb/ldb_modules/
  tombstone_reanimate.c, tested against the DC here) and refuses any other change in the same
  request, so a second modify then sets what the restore asks: with ``new_username`` the
  user's sAMAccountName (and its RDN, when the old name is taken in the old place: AD's
  ``entryAlreadyExists`` becomes an InvalidInput naming ``new_username``).
* **What comes back**: without the AD Recycle Bin (Samba has none) a tombstone keeps only
  a few attributes (objectGUID, objectSid, sAMAccountName, userAccountControl...): no
  password, no userPrincipalName, no group memberships. A restored user is therefore left
  **disabled** (userAccountControl | ACCOUNTDISABLE) until a password is set and it is
  enabled (from the vault, a push then an enable); its userPrincipalName is set again when
  the restore is given one (``new_username`` with an ``@``: the UPN, and its part before the
  ``@`` the sAMAccountName).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, Connection
from ldap3.core import exceptions as lx

from credsync.connectors.ad._mapping import UF_ACCOUNTDISABLE, guid_filter_value, guid_text
from credsync.connectors.deleted_objects import ObjectKind, ObjectState, ObjectStatus
from credsync.errors import AccountNotFound, InvalidInput, PermanentConnectorError

if TYPE_CHECKING:
    from credsync.connectors.ad._client import Entry
    from credsync.connectors.ad.connector import ActiveDirectoryConnector

__all__ = ["SHOW_DELETED_OID", "DeletedAd"]

SHOW_DELETED_OID = "1.2.840.113556.1.4.417"
SHOW_DELETED = (SHOW_DELETED_OID, True, None)
_BATCH = 50
_ATTRIBUTES = (
    "objectGUID",
    "objectClass",
    "isDeleted",
    "userAccountControl",
    "sAMAccountName",
    "userPrincipalName",
    "whenChanged",
    "lastKnownParent",
)


def _text(entry: Entry, name: str) -> str:
    values = entry[1].get(name) or []
    return bytes(values[0]).decode("utf-8", "replace") if values else ""


def _classes(entry: Entry) -> set[str]:
    return {bytes(v).decode().lower() for v in entry[1].get("objectClass") or []}


def _when(value: str) -> dt.datetime | None:
    """An LDAP GeneralizedTime (``20261206225507.0Z``) as an aware datetime."""
    try:
        return dt.datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _is_kind(entry: Entry, kind: ObjectKind) -> bool:
    classes = _classes(entry)
    if kind == "group":
        return "group" in classes
    return "user" in classes and "computer" not in classes


def _status(entry: Entry, kind: ObjectKind) -> ObjectStatus:
    object_id = guid_text(entry[1]["objectGUID"][0])
    if _text(entry, "isDeleted").upper() == "TRUE":
        return ObjectStatus(
            object_id,
            kind,
            "deleted",
            _text(entry, "userPrincipalName") or _text(entry, "sAMAccountName"),
            _when(_text(entry, "whenChanged")),
            restorable=bool(_text(entry, "lastKnownParent")),
        )
    state: ObjectState = "live"
    if kind == "person":
        uac = int(_text(entry, "userAccountControl") or "0")
        state = "disabled" if uac & UF_ACCOUNTDISABLE else "live"
    name = _text(entry, "sAMAccountName") if kind == "group" else ""
    name = name or _text(entry, "userPrincipalName") or _text(entry, "sAMAccountName")
    return ObjectStatus(object_id, kind, state, name)


def _old_rdn(deleted_dn: str) -> str:
    """``CN=anna\\0ADEL:<guid>,CN=Deleted Objects,...`` -> ``CN=anna``."""
    rdn = deleted_dn.split(",", 1)[0]
    for mark in ("\\0ADEL:", "\\0aDEL:", "\nDEL:"):
        if mark in rdn:
            return rdn.split(mark, 1)[0]
    return rdn


def _escape_rdn(value: str) -> str:
    out = "".join("\\" + c if c in ',+"\\<>;=' else c for c in value)
    if out.startswith(("#", " ")):
        out = "\\" + out
    return out[:-1] + "\\ " if out.endswith(" ") else out


class DeletedAd:
    """The ``deleted_objects`` capability of :class:`ActiveDirectoryConnector` (a mixin)."""

    def _ad(self) -> ActiveDirectoryConnector:
        return cast("ActiveDirectoryConnector", self)

    async def _find(self, ids: Sequence[str]) -> dict[str, Entry]:
        """objectGUID -> entry (live or deleted) for those of ``ids`` found in the domain."""
        ad = self._ad()
        await ad._facts()
        root = ad._naming_context or ad._base
        found: dict[str, Entry] = {}
        valid = [i for i in dict.fromkeys(ids) if _is_guid(i)]
        for start in range(0, len(valid), _BATCH):
            chunk = valid[start : start + _BATCH]
            wanted = "".join(f"(objectGUID={guid_filter_value(i)})" for i in chunk)
            entries = await ad._call(
                f"look for {len(chunk)} objects by objectGUID (deleted ones too)",
                ad._client.search,
                root,
                f"(|{wanted})",
                list(_ATTRIBUTES),
                controls=[SHOW_DELETED],
                not_found=PermanentConnectorError,
            )
            for entry in entries:
                raw = entry[1].get("objectGUID") or []
                if raw:
                    found[guid_text(raw[0])] = entry
        return found

    async def object_states(
        self, people: Sequence[str], groups: Sequence[str]
    ) -> list[ObjectStatus]:
        asked: list[tuple[ObjectKind, str]] = [
            *(("person", i) for i in dict.fromkeys(people)),
            *(("group", i) for i in dict.fromkeys(groups)),
        ]
        found = await self._find([i for _kind, i in asked])
        out: list[ObjectStatus] = []
        for kind, object_id in asked:
            entry = found.get(_norm(object_id))
            if entry is None or not _is_kind(entry, kind):
                out.append(ObjectStatus(object_id, kind, "gone"))
            else:
                status = _status(entry, kind)
                out.append(ObjectStatus(object_id, kind, status.state, status.name,
                                        status.deleted_at, status.restorable))  # fmt: skip
        return out

    async def restore(
        self, object_id: str, kind: ObjectKind, *, new_username: str | None = None
    ) -> ObjectStatus:
        ad = self._ad()
        entry = (await self._find([object_id])).get(_norm(object_id))
        if entry is None or not _is_kind(entry, kind) or not _status(entry, kind).restorable:
            raise AccountNotFound(
                f"{ad._config.name}: restore {object_id}: not a deleted {_WORD[kind]} of the "
                "domain (restored already, gone for good, or never there)"
            )
        parent = _text(entry, "lastKnownParent")
        rdn = _old_rdn(entry[0])
        sam, upn = "", ""
        if new_username:
            upn = new_username if "@" in new_username else ""
            sam = new_username.split("@", 1)[0]
            rdn = f"{rdn.split('=', 1)[0]}={_escape_rdn(sam)}"
        target = f"{rdn},{parent}"
        reanimate: dict[str, Any] = {
            "isDeleted": [(MODIFY_DELETE, [])],
            "distinguishedName": [(MODIFY_REPLACE, [target])],
        }
        done = await ad._call(f"restore {object_id}", self._reanimate, entry[0], reanimate)
        if not done:
            raise InvalidInput(
                f"{ad._config.name}: {rdn} exists in {parent} already: restore it under a new name",
                field="new_username",
            )
        changes: dict[str, Any] = {}
        if sam:
            changes["sAMAccountName"] = [(MODIFY_REPLACE, [sam])]
        if upn:
            changes["userPrincipalName"] = [(MODIFY_REPLACE, [upn])]
        if kind == "person":
            uac = int(_text(entry, "userAccountControl") or "512")
            changes["userAccountControl"] = [(MODIFY_REPLACE, [str(uac | UF_ACCOUNTDISABLE)])]
        if changes:
            await ad._call(f"set the names of restored {object_id}", ad._client.modify,
                           target, changes)  # fmt: skip
        [status] = await self.object_states(
            [object_id] if kind == "person" else [], [object_id] if kind == "group" else []
        )
        return status

    async def enable(self, object_id: str) -> None:
        """Clear ACCOUNTDISABLE in the user's userAccountControl (a delete-old/add-new
        modify, so a concurrent change of the flags is not overwritten)."""
        ad = self._ad()
        entry = (await self._find([object_id])).get(_norm(object_id))
        if entry is None or not _is_kind(entry, "person") or _status(entry, "person").restorable:
            raise AccountNotFound(f"{ad._config.name}: enable {object_id}: no such live user")
        old = int(_text(entry, "userAccountControl") or "512")
        if not old & UF_ACCOUNTDISABLE:
            return
        changes = {
            "userAccountControl": [
                (MODIFY_DELETE, [str(old)]),
                (MODIFY_ADD, [str(old & ~UF_ACCOUNTDISABLE)]),
            ]
        }
        await ad._call(f"enable {object_id}", ad._client.modify, entry[0], changes)

    def _reanimate(self, dn: str, changes: dict[str, Any]) -> bool:
        """The reanimating modify, with the Show Deleted control (blocking); False when an
        object has the name it would take back."""

        def go(conn: Connection) -> bool:
            try:
                conn.modify(dn, changes, controls=[SHOW_DELETED])
            except lx.LDAPEntryAlreadyExistsResult:
                return False
            return True

        return self._ad()._client.run_admin(go)


_WORD: dict[ObjectKind, str] = {"person": "user", "group": "group"}


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _norm(value: str) -> str:
    return str(uuid.UUID(value)) if _is_guid(value) else value
