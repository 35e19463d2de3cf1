"""What the capture pipeline reads while it applies one batch, asked once for the batch.

:func:`credsync.storage.capture_prefetch.prefetch` reads, with a few IN-list queries, what
applying each event asks (is it in the ledger, the account's link and state, the newest
change applied to it, its credential's state and current password, open flags, pending
captures, auto-created shells). :class:`BatchView` answers from that and stays true as the
batch writes: the :class:`~credsync.vault.capture_apply.Applier` tells it what it changed (a
new secret version, a link made, a flag opened or closed, a capture kept or dropped), and
anything it no longer knows is asked of the database again. The ledger rows of the batch are
written together at the end (:meth:`BatchView.flush`), in the same transaction.

Without a prefetch (``BatchView(conn, directory_id)``) every answer comes from the database,
one statement each, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.engine import Connection

from credsync.storage import capture as capture_rows
from credsync.storage.capture_prefetch import Prefetched, SealedCurrent, prefetch

__all__ = ["BatchView"]


class BatchView:
    def __init__(
        self, conn: Connection, directory_id: str, known: Prefetched | None = None
    ) -> None:
        self.conn = conn
        self.directory_id = directory_id
        self._known = known
        self._ledger: list[capture_rows.LedgerEvent] = []

    @classmethod
    def of(
        cls,
        conn: Connection,
        directory_id: str,
        event_keys: Sequence[str],
        guids: Sequence[str],
        *,
        flag_statuses: Sequence[str] = (),
        full: bool = True,
    ) -> BatchView:
        """A view with everything about these events and accounts read in advance (with
        ``full`` false: only whether each event is in the ledger and each account's state)."""
        known = prefetch(
            conn, directory_id, event_keys, guids, flag_statuses=flag_statuses, full=full
        )
        return cls(conn, directory_id, known)

    # -- the ledger ----------------------------------------------------------------------------
    def has_event(self, event_key: str) -> bool:
        if self._known is None:
            return capture_rows.has_event(self.conn, self.directory_id, event_key)
        return event_key in self._known.seen

    def record(self, event: capture_rows.LedgerEvent) -> None:
        """A ledger row, written at :meth:`flush` (at once without a prefetch)."""
        if self._known is None:
            capture_rows.record_event(self.conn, event)
            return
        self._known.seen.add(event.event_key)
        applied = event.kind == "password" and event.outcome == "accepted"
        if applied and event.pwd_last_set is not None:
            newest = self._known.newest.get(event.object_guid)
            if newest is None or event.pwd_last_set > newest:
                self._known.newest[event.object_guid] = event.pwd_last_set
        self._ledger.append(event)

    def flush(self) -> None:
        if self._ledger:
            capture_rows.record_events(self.conn, self._ledger)
            self._ledger.clear()

    def newest_applied(self, guid: str) -> int | None:
        if self._known is None or not self._known.answers(guid):
            return capture_rows.newest_applied(self.conn, self.directory_id, guid)
        return self._known.newest.get(guid)

    # -- accounts and credentials ------------------------------------------------------------
    def account(self, guid: str) -> capture_rows.AccountState:
        known = None if self._known is None else self._known.account(guid)
        if known is None:
            return capture_rows.account_state(self.conn, self.directory_id, guid)
        return known

    def account_changed(self, guid: str) -> None:
        """The account's link changed (auto-create linked it): ask the database for its state
        next time (what was applied to it is still known: the batch's ledger rows are written
        at the end)."""
        if self._known is not None:
            self._known.accounts.pop(guid, None)

    def link_confirmed(self, guid: str, stamp: str | None, version: int) -> None:
        """The account's link was confirmed at ``stamp`` for secret ``version``."""
        known = None if self._known is None else self._known.account(guid)
        if known is not None and self._known is not None:
            self._known.accounts[guid] = known._replace(
                confirmed_stamp=stamp, confirmed_secret_version=version
            )

    def credential(self, credential_id: str) -> capture_rows.CredentialState | None:
        if self._known is not None and credential_id in self._known.credentials:
            return self._known.credentials[credential_id]
        return capture_rows.credential_state(self.conn, credential_id)

    def credential_changed(self, credential_id: str) -> None:
        """A new secret version (or other change) of the credential: ask the database next."""
        if self._known is not None:
            self._known.credentials.pop(credential_id, None)
            self._known.current.pop(credential_id, None)

    def current_sealed(self, credential_id: str, version: int) -> SealedCurrent | None:
        """The credential's password at ``version`` as stored, when read in advance."""
        if self._known is None:
            return None
        found = self._known.current.get(credential_id)
        return found if found is not None and found.version == version else None

    def _unless_known(self, credential_id: str, among: Callable[[Prefetched], set[str]]) -> bool:
        """True unless the prefetch asked about the credential and it is not ``among``."""
        known = self._known
        if known is None or credential_id not in known.credential_ids:
            return True
        return credential_id in among(known)

    def may_have_unsettled_links(self, credential_id: str) -> bool:
        """False only when no link of the credential holds an accepted or unknown directory
        password (what a new password version would have to clear)."""
        return self._unless_known(credential_id, lambda known: known.unsettled)

    def may_be_relayed(self, credential_id: str) -> bool:
        """False only when no relay pair carries the credential (nothing to relay)."""
        return self._unless_known(credential_id, lambda known: known.relayed)

    def links_settled(self, credential_id: str) -> None:
        if self._known is not None:
            self._known.unsettled.discard(credential_id)

    # -- flags, pending captures, shells ---------------------------------------------------------
    def may_have_flag(self, credential_id: str, status: str) -> bool:
        """False only when the credential surely has no open flag of ``status`` here."""
        if self._known is None or status not in self._known.flag_statuses:
            return True
        open_flags = self._known.open_flags
        return self._unless_known(
            credential_id, lambda _: {c for c, s in open_flags if s == status}
        )

    def flag_opened(self, credential_id: str, status: str) -> None:
        if self._known is not None:
            self._known.open_flags.add((credential_id, status))

    def flag_closed(self, credential_id: str, status: str) -> None:
        if self._known is not None:
            self._known.open_flags.discard((credential_id, status))

    def may_have_pending(self, credential_id: str) -> bool:
        """False only when the credential surely has no pending capture here."""
        return self._unless_known(credential_id, lambda known: known.pending)

    def pending_kept(self, credential_id: str) -> None:
        if self._known is not None:
            self._known.pending.add(credential_id)

    def pending_dropped(self, credential_id: str) -> None:
        if self._known is not None:
            self._known.pending.discard(credential_id)

    def may_be_shell(self, guid: str) -> bool:
        """False only when the account surely is no auto-created shell."""
        if self._known is None or not self._known.answers(guid):
            return True
        return guid in self._known.shells

    def shell_filled(self, guid: str) -> None:
        if self._known is not None:
            self._known.shells.discard(guid)
