"""Links confirmed for pushes: a new link never leads to a push unless someone with
directory.setup confirmed it.

A run links a credential to a directory account by matching its username. In enforce mode
that link hands the account's password to the vault, so whoever can name a credential (an
operator with vault.write, a CSV import, the API, the dashboard) could otherwise pick an
account to overwrite. Hence, at the sync layer and whatever made the credential:

- a link a run makes is stored **unconfirmed**; while a credential in enforce mode has an
  unconfirmed link, runs check it as in report mode, push nothing through it (the push
  journal refuses to, too), and keep a flag ``awaiting_confirmation`` open naming the
  credential and the account;
- an operator with ``directory.setup`` (and vault.write) confirms it: one flag or several, or
  every one of a client (:meth:`LinkConfirmations.confirm`: ``credsync flags confirm``, ``POST
  /flags/confirm``, the Flags page), after the question a switch to enforce asks, naming the
  accounts whose password the next run overwrites (unconfirmed:
  :class:`~credsync.sync.enforce.EnforceUnconfirmed` with that preview); the next run
  pushes through them;
- a switch of a credential or a client's default to enforce, confirmed with its preview,
  confirms the links that preview named (:mod:`credsync.sync.enforce`); pushing through an
  unconfirmed link by hand (``flags resolve --push``) needs directory.setup and confirms it.

Nothing else confirms a link: not the role of whoever made the credential, nor its mode then
(a vault.write operator may change a credential's username later). Links made before schema
revision 0012 count as confirmed. Each confirmation is audited (``link.confirmed``).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from credsync.errors import InvalidInput
from credsync.storage import link_reads
from credsync.sync.enforce import EnforcePreview, EnforceUnconfirmed, record_confirmations
from credsync.sync.model import Status
from credsync.sync.preview import EnforceImpact
from credsync.types import SyncMode
from credsync.vault._time import utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.flags import Flag
from credsync.vault.service import Vault

__all__ = ["AWAITING", "LinkConfirmations"]

AWAITING = Status.AWAITING_CONFIRMATION.value


def _what(flags: Sequence[Flag]) -> str:
    if len(flags) == 1:
        flag = flags[0]
        return f"the new link of {flag.title!r} ({flag.username or 'no username'})"
    return f"the {len(flags)} new links to confirm"


class LinkConfirmations:
    """Links awaiting confirmation, and confirming them (see the module docstring)."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def waiting(self, actor: Actor, client_ref: str | None = None) -> builtins.list[Flag]:
        """The open ``awaiting_confirmation`` flags (of one client), the newest first."""
        return [f for f in self._vault.flags.list(actor, client_ref) if f.status == AWAITING]

    def _chosen(
        self, actor: Actor, refs: Sequence[str], client_ref: str | None
    ) -> builtins.list[Flag]:
        if bool(refs) == (client_ref is not None):
            raise InvalidInput("name the flags to confirm, or a client (every link it has waiting)")
        if client_ref is not None:
            found = self.waiting(actor, client_ref)
            if not found:
                raise InvalidInput(f"no link of {client_ref!r} awaits confirmation")
            return found
        chosen: dict[str, Flag] = {}
        for ref in refs:
            flag = self._vault.flags.get(actor, ref)
            if flag.status != AWAITING or flag.resolved_at is not None:
                raise InvalidInput(
                    f"flag {flag.id[:8]} is not a link awaiting confirmation "
                    f"({flag.status}{', resolved' if flag.resolved_at else ''})",
                    field="flags",
                )
            chosen[flag.id] = flag
        return list(chosen.values())

    def preview(self, actor: Actor, flags: Sequence[Flag]) -> EnforcePreview:
        """What confirming these flags' links overwrites, as a switch to enforce says it (to
        two-way, when every one of them is two-way: a password changed in the directory
        since the last check is not overwritten there, it waits for its capture)."""
        pairs = [(f.credential_id, f.directory_id) for f in flags]
        with self._vault.db.read() as conn:
            rows = link_reads.pair_impact(conn, pairs)
        modes = {
            cid: self._vault.credentials.get(actor, cid, trashed=True).effective_sync_mode
            for cid in {f.credential_id for f in flags}
        }
        impact = []
        for r in rows:
            confirmed = (
                r.status == Status.IN_SYNC.value
                and r.confirmed_stamp is not None
                and r.confirmed_stamp == r.password_stamp
            )
            waits = (
                modes.get(r.credential_id) is SyncMode.TWO_WAY
                and r.confirmed_stamp is not None
                and r.confirmed_stamp != r.password_stamp
            )
            impact.append(
                EnforceImpact(
                    r.credential_id,
                    r.title,
                    r.username,
                    r.directory,
                    r.account,
                    r.status,
                    not confirmed and not waits,
                    waits,
                )
            )
        two_way = bool(modes) and all(m is SyncMode.TWO_WAY for m in modes.values())
        mode = SyncMode.TWO_WAY if two_way else SyncMode.ENFORCE
        return EnforcePreview(_what(flags), tuple(impact), mode)

    def confirm(
        self,
        actor: Actor,
        refs: Sequence[str] = (),
        *,
        client_ref: str | None = None,
        confirmed: bool = False,
    ) -> builtins.list[Flag]:
        """Confirm the links of these ``awaiting_confirmation`` flags (by id or 8+ characters
        of it), or of every one of ``client_ref``'s; only when ``confirmed`` (else
        EnforceUnconfirmed naming the accounts it overwrites). Needs vault.read, vault.write
        and directory.setup. Returns the flags, closed as ``confirmed``."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)
        flags = self._chosen(actor, refs, client_ref)
        if not confirmed:
            raise EnforceUnconfirmed(self.preview(actor, flags))
        now = utcnow()
        with self._vault.db.write() as conn:
            rows = link_reads.pair_impact(conn, [(f.credential_id, f.directory_id) for f in flags])
            by_flag = {(f.credential_id, f.directory_id): f for f in flags}
            mine = [
                r
                for r in rows
                if r.link_confirmed_at is None
                and r.account_id == by_flag[(r.credential_id, r.directory_id)].account_id
            ]
            record_confirmations(conn, self._vault.audit, actor, mine, how="confirmed", now=now)
        return [self._vault.flags.get(actor, f.id) for f in flags]
