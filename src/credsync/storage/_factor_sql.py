"""The SQL that operators' and people's second factors share, over the tables their owners
pass in: :mod:`credsync.storage.mfa` and :mod:`credsync.storage.webauthn` (operators),
:mod:`credsync.storage.person_mfa` (people). This module imports no table, so each table keeps
its one owner; only the shape of the statements is shared.

``owner`` names the column holding whose factor it is (``operator_id``, ``person_id``).

- a TOTP time step is accepted by :func:`accept_step` alone, a conditional update (the new
  step must be above the last one), so a replayed code can't pass twice, even at one moment;
- a WebAuthn challenge is taken by :func:`take_challenge` alone, a conditional delete, so two
  answers to one challenge can't both pass;
- a key's sign count moves by :func:`record_use` alone, a conditional update on the count
  read (a concurrent sign-in with the same key loses)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["accept_step", "add_challenge", "record_use", "set_confirmed", "take_challenge"]


# -- TOTP seeds ------------------------------------------------------------------------------
def set_confirmed(
    conn: Connection, seeds: sa.Table, owner: str, owner_id: str, step: int, now: dt.datetime
) -> bool:
    """Confirm the pending seed with the step of its first good code; whether it was
    pending."""
    done = conn.execute(
        seeds.update()
        .where(seeds.c[owner] == owner_id, seeds.c.confirmed_at.is_(None))
        .values(confirmed_at=now, last_step=step)
    )
    return bool(done.rowcount)


def accept_step(conn: Connection, seeds: sa.Table, owner: str, owner_id: str, step: int) -> bool:
    """Record ``step`` as the last accepted, only if it is newer than the last one; whether it
    was (False: a replayed or older code)."""
    last = seeds.c.last_step
    done = conn.execute(
        seeds.update()
        .where(
            seeds.c[owner] == owner_id,
            seeds.c.confirmed_at.is_not(None),
            sa.or_(last.is_(None), last < step),
        )
        .values(last_step=step)
    )
    return bool(done.rowcount)


# -- security keys ---------------------------------------------------------------------------
def record_use(
    conn: Connection,
    keys: sa.Table,
    key_id: str,
    *,
    old_count: int,
    new_count: int,
    now: dt.datetime,
) -> bool:
    """The key signed a sign-in: its new count and the time, only if its count is still
    ``old_count``; whether it was."""
    done = conn.execute(
        keys.update()
        .where(keys.c.id == key_id, keys.c.sign_count == old_count)
        .values(sign_count=new_count, last_used_at=now)
    )
    return bool(done.rowcount)


def add_challenge(
    conn: Connection,
    challenges: sa.Table,
    owner: str,
    *,
    challenge: str,
    owner_id: str,
    purpose: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    """A challenge handed out (and the expired ones dropped)."""
    conn.execute(challenges.delete().where(challenges.c.expires_at <= now))
    conn.execute(
        challenges.insert().values(
            {"challenge": challenge, owner: owner_id, "purpose": purpose, "expires_at": expires_at}
        )
    )


def take_challenge(
    conn: Connection,
    challenges: sa.Table,
    owner: str,
    *,
    challenge: str,
    owner_id: str,
    purpose: str,
    now: dt.datetime,
) -> bool:
    """Take (delete) the owner's live challenge for ``purpose``; whether there was one."""
    done = conn.execute(
        challenges.delete().where(
            challenges.c.challenge == challenge,
            challenges.c[owner] == owner_id,
            challenges.c.purpose == purpose,
            challenges.c.expires_at > now,
        )
    )
    return bool(done.rowcount)
