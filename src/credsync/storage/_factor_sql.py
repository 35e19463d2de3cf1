"""The SQL that operators' and people's second factors share, over the tables their owners
bind it to: :mod:`credsync.storage.mfa` and :mod:`credsync.storage.webauthn` (operators),
:mod:`credsync.storage.person_mfa` (people). This module imports no table, so each table keeps
its one owner (the module that makes the :class:`SeedSql` or :class:`KeySql` of it and
exports its methods); only the statements' shape is shared. ``owner`` names the column
holding whose factor it is (``operator_id``, ``person_id``).

- a TOTP time step is accepted by :meth:`SeedSql.accept_step` alone, a conditional update
  (the new step must be above the last one), so a replayed code can't pass twice, even at one
  moment;
- a WebAuthn challenge is taken by :meth:`KeySql.take_challenge` alone, a conditional delete,
  so two answers to one challenge can't both pass;
- a key's sign count moves by :meth:`KeySql.record_use` alone, a conditional update on the
  count read (a concurrent sign-in with the same key loses)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["KeySql", "SeedSql"]


class SeedSql:
    """The statements on a table of TOTP seeds (``owner``, ``confirmed_at``, ``last_step``)."""

    def __init__(self, seeds: sa.Table, owner: str) -> None:
        self._seeds = seeds
        self._owner = seeds.c[owner]

    def set_confirmed(self, conn: Connection, owner_id: str, step: int, now: dt.datetime) -> bool:
        """Confirm the pending seed with the step of its first good code; whether it was
        pending."""
        seeds = self._seeds
        done = conn.execute(
            seeds.update()
            .where(self._owner == owner_id, seeds.c.confirmed_at.is_(None))
            .values(confirmed_at=now, last_step=step)
        )
        return bool(done.rowcount)

    def accept_step(self, conn: Connection, owner_id: str, step: int) -> bool:
        """Record ``step`` as the last accepted, only if it is newer than the last one;
        whether it was (False: a replayed or older code)."""
        seeds = self._seeds
        last = seeds.c.last_step
        done = conn.execute(
            seeds.update()
            .where(
                self._owner == owner_id,
                seeds.c.confirmed_at.is_not(None),
                sa.or_(last.is_(None), last < step),
            )
            .values(last_step=step)
        )
        return bool(done.rowcount)


class KeySql:
    """The statements on a table of security keys and its table of challenges (both with an
    ``owner`` column)."""

    def __init__(self, keys: sa.Table, challenges: sa.Table, owner: str) -> None:
        self._keys = keys
        self._challenges = challenges
        self._owner = owner

    def record_use(
        self, conn: Connection, key_id: str, *, old_count: int, new_count: int, now: dt.datetime
    ) -> bool:
        """The key signed a sign-in: its new count and the time, only if its count is still
        ``old_count``; whether it was."""
        keys = self._keys
        done = conn.execute(
            keys.update()
            .where(keys.c.id == key_id, keys.c.sign_count == old_count)
            .values(sign_count=new_count, last_used_at=now)
        )
        return bool(done.rowcount)

    def add_challenge(
        self,
        conn: Connection,
        challenge: str,
        owner_id: str,
        purpose: str,
        *,
        now: dt.datetime,
        expires_at: dt.datetime,
    ) -> None:
        """A challenge handed out (and the expired ones dropped)."""
        table = self._challenges
        conn.execute(table.delete().where(table.c.expires_at <= now))
        conn.execute(
            table.insert().values(
                {"challenge": challenge, self._owner: owner_id, "purpose": purpose,
                 "expires_at": expires_at}
            )
        )  # fmt: skip

    def take_challenge(
        self, conn: Connection, challenge: str, owner_id: str, purpose: str, now: dt.datetime
    ) -> bool:
        """Take (delete) the owner's live challenge for ``purpose``; whether there was one."""
        table = self._challenges
        done = conn.execute(
            table.delete().where(
                table.c.challenge == challenge,
                table.c[self._owner] == owner_id,
                table.c.purpose == purpose,
                table.c.expires_at > now,
            )
        )
        return bool(done.rowcount)
