"""The inbound threshold at the capture intake (issue 18): a mass password reset at the
domain controller is held in quarantine, not taken into the vault.

A run counts the linked accounts changed in the directory since the vault last saw them
(:mod:`credsync.sync.quarantine`). Captures arrive between runs, one batch at a time, so
the intake counts on its own: per directory, the accounts whose captured password change
was **taken as a new version** (two-way) **or held**, in the last :data:`WINDOW` (five
minutes, a sliding window over the capture ledger's ``received_at``). A window, not "since
the last run": a directory with capture may run seldom (or only on demand), and a mass reset
script's burst lasts seconds to minutes whenever it comes. Five minutes is the default run
interval, so a capture and a run count about the same span of changes.

The thresholds are the run's (:meth:`Limits.inbound`: ``inbound_cap``,
``inbound_cap_percent`` of the directory's links, the percentage from
:data:`~credsync.vault.quarantine_limits.PERCENT_FLOOR` changes on). The change that takes
the count over it, and every one after it while the window is over, is **held**: its link is
a ``quarantine_items`` row (direction ``inbound``, action ``password_changed``, observed
``stamp:<pwdLastSet>``, as a run holds it, so a later run neither counts nor holds it twice
and skips the link while it is held), the captured password kept sealed under the client's
data key as a pending capture without a flag (never in clear at rest), and the event's
outcome is ``held``. The changes before it were applied as usual. One ``quarantine.hold``
audit entry per batch that held any.

Deciding (:mod:`credsync.sync.quarantine_service`): **accept** makes the held password the
credential's new version (:func:`take_held`), as the capture would have; **restore** pushes
the vault's password back and drops the held one (:func:`drop_held`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from credsync.storage import capture as capture_rows
from credsync.storage import link_reads
from credsync.storage import links as link_rows
from credsync.storage import quarantine as quarantine_rows
from credsync.types import Secret, new_id
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import SYSTEM, Actor
from credsync.vault.capture_batch import CaptureEvent
from credsync.vault.capture_outcomes import IN_SYNC, PENDING_FIELD
from credsync.vault.directories import directory_model, find_directory_row
from credsync.vault.keyring import KeyRing
from credsync.vault.quarantine_defaults import vault_defaults
from credsync.vault.quarantine_limits import Limits
from credsync.vault.secrets import write_secret_version

__all__ = ["NEW_VERSION", "WINDOW", "CaptureHold", "drop_held", "held_capture", "take_held"]

WINDOW = dt.timedelta(minutes=5)
NEW_VERSION = "a new version"  # how the detail of a capture taken as a new version starts


@dataclass
class CaptureHold:
    """The inbound threshold over one batch of one directory (in its transaction)."""

    conn: Connection
    directory_id: str
    run_id: str = field(default_factory=new_id)  # the hold's id, in its rows' run_id
    held: int = 0
    _limits: Limits | None = None
    _linked: int = 0
    _counted: set[str] = field(default_factory=set)

    def reason(self, object_guid: str) -> str | None:
        """Why this account's captured change must be held (it takes the directory over its
        inbound threshold), or None: apply it. Counted either way."""
        if self._limits is None:
            row = find_directory_row(self.conn, self.directory_id, SYSTEM)
            self._limits = Limits.inbound(directory_model(row, vault_defaults(self.conn)))
            self._linked = link_reads.count_of_directory(self.conn, self.directory_id)
            since = utcnow() - WINDOW
            self._counted = capture_rows.changed_since(
                self.conn, self.directory_id, since, NEW_VERSION
            )
        self._counted.add(object_guid.lower())
        figures = self._limits.crossed(
            len(self._counted), self._linked,
            "accounts' captured password changes in the last 5 minutes", "inbound_cap",
        )  # fmt: skip
        if figures is None:
            return None
        return (
            f"quarantined by the inbound threshold: {figures}; not applied (restore the "
            "directory's previous state or accept the captured passwords with `credsync "
            "quarantine`)"
        )

    def hold(self, event: CaptureEvent, cred: capture_rows.CredentialState, reason: str) -> str:
        """Hold the account's link: its quarantine row (the caller keeps the password)."""
        item_id, name = new_id(), event.sam or event.upn or cred.title
        quarantine_rows.insert(
            self.conn,
            [
                quarantine_rows.QuarantineRow(
                    item_id, cred.client_id, self.directory_id, self.run_id,
                    quarantine_rows.INBOUND, cred.id, event.object_guid, name[:255],
                    "password_changed", f"stamp:{event.pwd_last_set}"[:80], reason[:1000],
                    quarantine_rows.HELD, utcnow(),
                )
            ],
        )  # fmt: skip
        self.held += 1
        return item_id

    def audit(
        self, audit: AuditLog, actor: Actor, client_id: str, forwarder_id: str, seq: int
    ) -> None:
        """One ``quarantine.hold`` entry for the batch, when it held any."""
        if not self.held:
            return
        audit.append(
            self.conn,
            actor,
            "quarantine.hold",
            target_type="directory",
            target_id=self.directory_id,
            client_id=client_id,
            details={
                "run": self.run_id,
                "direction": quarantine_rows.INBOUND,
                "source": "capture",
                "forwarder": forwarder_id,
                "seq": seq,
                "count": self.held,
            },
        )


def held_capture(
    conn: Connection, row: quarantine_rows.QuarantineRow
) -> capture_rows.PendingRow | None:
    """The captured password a capture hold keeps for a held item (None: the item is a
    run's, or the password was replaced)."""
    if row.credential_id is None or row.action != "password_changed":
        return None
    pending = capture_rows.pending_of(conn, row.credential_id, row.directory_id)
    if pending is None or pending.flag_id is not None:
        return None
    return pending if f"stamp:{pending.pwd_last_set}" == row.observed else None


def take_held(
    conn: Connection,
    audit: AuditLog,
    keys: KeyRing,
    actor: Actor,
    row: quarantine_rows.QuarantineRow,
    directory_name: str,
) -> int | None:
    """Accepting a held capture: its password becomes the credential's new version (source
    ``directory``), the link confirmed at its pwdLastSet, as two-way would have done. The new
    version; None when the item holds no captured password."""
    pending = held_capture(conn, row)
    if pending is None or row.credential_id is None:
        return None
    key = keys.data_key(conn, row.client_id)
    password: Secret = key.open_text(pending.id, 0, PENDING_FIELD, pending.ciphertext)
    when = pending.captured_at.strftime("%Y-%m-%d %H:%M:%S")
    version = write_secret_version(
        conn, audit, actor, keys, row.credential_id, password, source="directory",
        reason=f"changed in {directory_name} by a user or admin at {when} UTC, captured; held "
        f"in quarantine, accepted by {actor.name} (item {row.id[:8]})",
    )  # fmt: skip
    capture_rows.drop_pending(conn, row.credential_id, row.directory_id)
    stamp = None if pending.pwd_last_set is None else str(pending.pwd_last_set)
    link_rows.confirm(
        conn, row.credential_id, row.directory_id, stamp=stamp, secret_version=version,
        status=IN_SYNC, detail=f"captured password accepted from quarantine by {actor.name}",
        now=utcnow(),
    )  # fmt: skip
    return version


def drop_held(conn: Connection, row: quarantine_rows.QuarantineRow) -> bool:
    """Restoring: the held captured password is discarded. Whether there was one."""
    if held_capture(conn, row) is None or row.credential_id is None:
        return False
    capture_rows.drop_pending(conn, row.credential_id, row.directory_id)
    return True
