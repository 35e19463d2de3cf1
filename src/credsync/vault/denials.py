"""Refusals leave a trace: every :class:`~credsync.errors.PermissionDenied` a boundary answers
(the API's 403, the dashboard's "Not allowed" page, the CLI's exit 3 on a local vault) is
logged, and audited as ``permission.denied``, rate-limited.

The entry: the operator as its actor; as its target, what the request named (its kind and the
id or name as given: ``credential`` ``3f2a9c``, ``client`` ``Contoso``; an empty id for a
request that named none, such as a list); and in its details the permissions lacking, the
operation (``POST /api/v1/credentials/{ref}/reveal``, ``cred show``), where it came from
(``api``, ``dashboard``, ``cli``) and the refusal's message. None of these hold a secret.

Why rate-limited: the audit log is append-only and kept for ever (its chain can't lose an
entry), and a refusal costs the one refused almost nothing: a script retrying a forbidden call,
or a stolen low-privilege token probing every route, would otherwise grow the log without
bound. So, over any :data:`WINDOW`:

- one entry per refusal (the same operator refused the same permissions for the same operation
  on the same target): a retry loop leaves one entry a minute;
- at most :data:`PER_OPERATOR` entries per operator: one operator probing many targets leaves
  that many a minute, and can't use up the ceiling below by itself;
- at most :data:`CEILING` entries in all (about 144,000 a day at the very most).

A refusal past a limit is still logged, saying that it was not audited. The limits are kept
in the audit log itself (its newest ``permission.denied`` entries, read by the index on the
action), checked again under the lock that serialises appends: every process on the vault
counts the same entries, and nothing else is stored.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from sqlalchemy.engine import Connection

from credsync.errors import PermissionDenied
from credsync.storage import Database, meta
from credsync.storage import audit as audit_rows
from credsync.vault._time import as_utc, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor

__all__ = ["ACTION", "CEILING", "PER_OPERATOR", "WINDOW", "Denials", "kind_of"]

log = logging.getLogger("credsync.audit")

ACTION = "permission.denied"
WINDOW = dt.timedelta(minutes=1)
PER_OPERATOR = 20  # entries per operator per window
CEILING = 100  # entries per window in all

_Key = tuple[str, str, str, tuple[str, ...], str]  # operator, kind, id, permissions, operation


def kind_of(collection: str) -> str:
    """The kind of record a collection holds, as a target's kind: ``directories`` is
    ``directory``, ``clients`` ``client``; a word that is no plural stays as it is."""
    if collection.endswith("ies"):
        return collection[:-3] + "y"
    return collection.removesuffix("s") if collection.endswith("s") else collection


class Denials:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def record(
        self,
        denied: PermissionDenied,
        *,
        via: str,
        operation: str,
        target_kind: str,
        target_id: str,
    ) -> bool:
        """Log a refusal and audit it unless a limit is reached (see the module's doc);
        whether it was audited."""
        operator = (denied.operator or "(unknown)")[:64]
        permissions = tuple(sorted(denied.permissions))
        key: _Key = (operator, target_kind[:32], target_id[:64], permissions, operation[:200])
        now = utcnow()
        with self._db.read() as conn:
            limited = self._limited(conn, key, now)
        if limited is None:
            with self._db.write() as conn:
                meta.lock_audit_head(conn)  # counted again with appends held off
                limited = self._limited(conn, key, now)
                if limited is None:
                    self._audit.append(
                        conn,
                        Actor(None, operator, "", frozenset(), via),
                        ACTION,
                        target_type=key[1],
                        target_id=key[2],
                        details={
                            "permissions": list(permissions),
                            "operation": key[4],
                            "via": via,
                            "reason": str(denied)[:300],
                        },
                    )
        log.warning(
            "permission denied (%s): %s: %s [%s %s]%s",
            via,
            key[4],
            denied,
            key[1],
            key[2] or "-",
            "" if limited is None else f"; not audited: {limited}",
        )
        return limited is None

    def _limited(self, conn: Connection, key: _Key, now: dt.datetime) -> str | None:
        """Which limit an entry for ``key`` now would pass (None: none)."""
        since = now - WINDOW
        recent = [
            row
            for row in audit_rows.page(conn, action=ACTION, limit=CEILING)
            if as_utc(row.at) > since
        ]
        if len(recent) >= CEILING:
            return f"{CEILING} refusals audited in the last minute"
        mine = [row for row in recent if row.actor == key[0]]
        if len(mine) >= PER_OPERATOR:
            return f"{PER_OPERATOR} refusals of {key[0]} audited in the last minute"
        if any(_key_of(row) == key for row in mine):
            return "the same refusal was audited less than a minute ago"
        return None


def _key_of(row: audit_rows.AuditRow) -> _Key:
    details = json.loads(row.details)
    return (
        row.actor,
        row.target_type,
        row.target_id,
        tuple(details.get("permissions", ())),
        str(details.get("operation", "")),
    )
