"""Applying a relay's plan to the vault, a slice of it at a time: what an applied relay run
(:mod:`credsync.sync.relay`) stores for each source user before pushing.

For each matched user with a credential, inside the caller's write transaction:

- the target credential (the source's own, or the one the target user is already linked to:
  kept in step, see :mod:`credsync.vault.relays`) gets its link to the target user, confirmed
  for pushes (applying the relay is the confirmation); a credential linked to another user of
  the target directory is a ``conflict`` (unlink one first);
- a kept-apart target credential whose password differs takes the source's (source ``relay``);
- the pair is recorded (with an audit entry) when it is new or changed;
- the push to make is returned (:class:`credsync.sync.relay_push.PushJob`).

Refused and conflicting users with a credential are flagged. A slice costs one read of its
credentials' links in the target directory and its audit entries are written together
(:meth:`credsync.vault.audit.AuditLog.batched`), so thousands of users are stored in a few
statements per slice, and a run can push one slice while it stores the next.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from credsync.storage import credentials as credential_rows
from credsync.storage import flags as flag_rows
from credsync.storage import links as link_rows
from credsync.storage import relays as relay_rows
from credsync.sync.model import Status
from credsync.sync.relay_plan import Match, MatchStatus
from credsync.sync.relay_push import PushJob
from credsync.vault.auth import Actor
from credsync.vault.keyring import KeyRing
from credsync.vault.relays import Relay
from credsync.vault.secrets import read_secrets, write_secret_version
from credsync.vault.service import Vault

__all__ = ["Paired", "Pairer"]


@dataclass(frozen=True)
class Paired:
    """What storing one plan item did: ``match`` (a conflict when the target credential is
    linked to another user), ``action`` (none | link | flag) and the push to make, if any."""

    match: Match
    action: str = "none"
    job: PushJob | None = None


class Pairer:
    """Stores one relay's plan, slice by slice (``pairs``: the pairs recorded before the run,
    source account id -> pair)."""

    def __init__(
        self,
        vault: Vault,
        keys: KeyRing,
        actor: Actor,
        relay: Relay,
        pairs: Mapping[str, relay_rows.PairRow],
    ) -> None:
        self._vault = vault
        self._keys = keys
        self._actor = actor
        self._relay = relay
        self._pairs = pairs

    def apply(self, conn: Connection, plan: Sequence[Match], now: dt.datetime) -> list[Paired]:
        """Store ``plan`` (a slice of the run's) in ``conn``'s write transaction."""
        relay = self._relay
        wanted = [
            m.target_credential or m.source_credential
            for m in plan
            if m.status is MatchStatus.MATCHED and m.target is not None and m.source_credential
        ]
        linked = {
            link.credential_id: (link.account_id, link.link_confirmed_at is not None)
            for link in link_rows.of_directory(conn, relay.target.id, [c for c in wanted if c])
        }
        out: list[Paired] = []
        new_links: list[link_rows.NewLink] = []
        new_pairs: list[relay_rows.PairRow] = []
        with self._vault.audit.batched(conn):
            for match in plan:
                if match.status is MatchStatus.MATCHED and match.target is not None:
                    out.append(self._pair(conn, match, now, linked, new_links, new_pairs))
                elif match.status in (MatchStatus.REFUSED, MatchStatus.CONFLICT) and (
                    match.source_credential
                ):
                    self._flag(conn, match, now)
                    out.append(Paired(match, "flag"))
                else:
                    out.append(Paired(match))
            link_rows.add_confirmed_many(
                conn, relay.target.id, new_links, by=self._actor.name, now=now,
                status=Status.PENDING,
            )  # fmt: skip
            relay_rows.put_pairs(conn, new_pairs)
        return out

    def _flag(self, conn: Connection, match: Match, now: dt.datetime) -> None:
        relay = self._relay
        assert match.source_credential is not None  # noqa: S101 - the caller checked
        flag_rows.raise_flag(
            conn,
            client_id=relay.client_id,
            credential_id=match.source_credential,
            directory_id=relay.target.id,
            account_id=match.target.account.id if match.target else None,
            status=Status.CONFLICT,
            detail=f"relay {relay.name}: the AD password of "
            f"{match.source.account.upn or match.source.account.username} is not "
            f"carried to Office 365: {match.reason}",
            now=now,
        )

    def _pair(
        self,
        conn: Connection,
        match: Match,
        now: dt.datetime,
        linked: dict[str, tuple[str, bool]],
        new_links: list[link_rows.NewLink],
        new_pairs: list[relay_rows.PairRow],
    ) -> Paired:
        """Link the target credential to the target user (confirmed), keep a kept-apart one
        in step, record the pair; the push to make (None: not linked). ``linked``: the slice's
        target credentials' links, credential id -> (account id, confirmed), kept up to date as
        links are made; ``new_links`` and ``new_pairs`` take what to insert at the slice's end."""
        relay = self._relay
        if match.target is None or match.source_credential is None:
            return Paired(match)
        source_cred, target = match.source_credential, match.target.account
        target_cred = match.target_credential or source_cred
        existing = linked.get(target_cred)
        if existing is not None and existing[0] != target.id:
            refused = Match(
                match.source,
                MatchStatus.CONFLICT,
                match.target,
                match.rule,
                "its credential is linked to another user of the target "
                "directory: unlink one first",
                source_cred,
            )
            return Paired(refused)
        action = "none"
        if existing is None:
            new_links.append(
                link_rows.NewLink(target_cred, target.id, f"linked by relay {relay.name} "
                                  f"({match.rule})")
            )  # fmt: skip
            linked[target_cred] = (target.id, True)
            action = "link"
        elif not existing[1]:
            link_rows.confirm_links(
                conn, [(target_cred, relay.target.id, target.id)], by=self._actor.name, now=now
            )
            linked[target_cred] = (target.id, True)
            action = "link"
        if target_cred != source_cred:
            self._keep_in_step(conn, source_cred, target_cred)
        known = self._pairs.get(match.source.account.id)
        if known is None or (known.target_account_id, known.target_credential_id) != (
            target.id,
            target_cred,
        ):
            new_pairs.append(
                relay_rows.PairRow(
                    relay.id,
                    match.source.account.id,
                    target.id,
                    source_cred,
                    target_cred,
                    match.rule or "link",
                    now,
                    self._actor.name,
                )
            )
            self._vault.audit.append(
                conn,
                self._actor,
                "credential.relay_pair",
                target_type="credential",
                target_id=source_cred,
                client_id=relay.client_id,
                details={
                    "relay": relay.name,
                    "account": match.source.account.username,
                    "target": target.upn or target.username,
                    "rule": match.rule,
                    "target_credential_id": target_cred,
                },
            )
        job = PushJob(target_cred, target, relay.name, relay.settings.never_expires)
        return Paired(match, action, job)

    def _keep_in_step(self, conn: Connection, source: str, target: str) -> None:
        """A kept-apart target credential takes the source's password when they differ."""
        relay = self._relay
        versions = {
            cid: int(credential_rows.get(conn, cid).secret_version) for cid in (source, target)
        }
        secrets = read_secrets(conn, self._keys, relay.client_id, versions)
        if secrets[source].reveal() != secrets[target].reveal():
            write_secret_version(
                conn,
                self._vault.audit,
                self._actor,
                self._keys,
                target,
                secrets[source],
                source="relay",
                reason=f"kept in step with credential {source} by relay {relay.name}",
                relay=False,
            )
